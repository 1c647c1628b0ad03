import os

import dagster as dg

from pipeline.defs.grants.providers import GrantSourcesResource
from pipeline.lib.grants.search2 import GRANTS_GOV_API_BASE_URL
from pipeline.lib.grants.simpler import SIMPLER_GRANTS_BASE_URL
from pipeline.lib.grants.sources import GRANTS_GOV_EXTRACT_URL


@dg.definitions
def resources() -> dg.Definitions:
    key = "SIMPLER_GRANTS_API_KEY"
    return dg.Definitions(
        resources={
            "grant_sources": GrantSourcesResource(
                grants_gov_live=os.environ.get("GRANTS_GOV_LIVE", "").lower() in ("1", "true"),
                grants_gov_base_url=os.environ.get("GRANTS_GOV_BASE_URL", GRANTS_GOV_API_BASE_URL),
                grants_gov_extract_url=os.environ.get(
                    "GRANTS_GOV_EXTRACT_URL", GRANTS_GOV_EXTRACT_URL
                ),
                # An unset EnvVar fails the run; an unset key must select the bundled sample.
                simpler_grants_api_key=dg.EnvVar(key) if os.environ.get(key) else None,
                simpler_grants_base_url=os.environ.get(
                    "SIMPLER_GRANTS_BASE_URL", SIMPLER_GRANTS_BASE_URL
                ),
            )
        }
    )
