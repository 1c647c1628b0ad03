import dagster as dg

from pipeline.defs.health.assets import ASSET_GRAPH_RESOURCE


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources={ASSET_GRAPH_RESOURCE: None})
