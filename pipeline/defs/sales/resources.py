"""Sales resources (this module holds only the @definitions: it would hide anything else)."""

import dagster as dg

from pipeline.defs.sales.landing import SalesLandingResource


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources={"sales_landing": SalesLandingResource()})
