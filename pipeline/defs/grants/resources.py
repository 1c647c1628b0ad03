import dataclasses

import dagster as dg

from pipeline.defs.grants.providers import GrantSourcesResource
from pipeline.defs.shared.env import env_var_or
from pipeline.lib.settings.providers import grant_source_settings


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(
        resources={
            "grant_sources": GrantSourcesResource(
                **dataclasses.asdict(grant_source_settings()),
                simpler_grants_api_key=env_var_or("SIMPLER_GRANTS_API_KEY", None),
            )
        }
    )
