import os

import dagster as dg

from pipeline.defs.news.providers import CrmResource, NewsSourcesResource
from pipeline.lib.news.crm import HUBSPOT_BASE_URL, SALESFORCE_LOGIN_URL
from pipeline.lib.news.sources import GOOGLE_SEARCH_BASE_URL, NEWSAPI_BASE_URL, SERPER_BASE_URL


def _secret(name: str) -> dg.EnvVar | None:
    # An unset EnvVar fails the run; an unset key must instead select the bundled sample.
    return dg.EnvVar(name) if os.environ.get(name) else None


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(
        resources={
            "crm": CrmResource(
                clients_csv=os.environ.get("PIPELINE_CLIENTS_CSV") or None,
                tenant_id=os.environ.get("PIPELINE_CRM_TENANT", "default"),
                salesforce_client_id=_secret("SALESFORCE_CLIENT_ID"),
                salesforce_client_secret=_secret("SALESFORCE_CLIENT_SECRET"),
                salesforce_refresh_token=_secret("SALESFORCE_REFRESH_TOKEN"),
                salesforce_login_url=os.environ.get("SALESFORCE_BASE_URL", SALESFORCE_LOGIN_URL),
                salesforce_instance_url=os.environ.get("SALESFORCE_INSTANCE_URL") or None,
                salesforce_aliases_field=os.environ.get("SALESFORCE_ALIASES_FIELD") or None,
                hubspot_token=_secret("HUBSPOT_TOKEN"),
                hubspot_base_url=os.environ.get("HUBSPOT_BASE_URL", HUBSPOT_BASE_URL),
                hubspot_aliases_property=os.environ.get("HUBSPOT_ALIASES_PROPERTY") or None,
            ),
            "news_sources": NewsSourcesResource(
                newsapi_key=_secret("NEWSAPI_KEY"),
                newsapi_base_url=os.environ.get("NEWSAPI_BASE_URL", NEWSAPI_BASE_URL),
                serper_api_key=_secret("SERPER_API_KEY"),
                serper_base_url=os.environ.get("SERPER_BASE_URL", SERPER_BASE_URL),
                google_search_api_key=_secret("GOOGLE_SEARCH_API_KEY"),
                google_search_engine_id=_secret("GOOGLE_SEARCH_ENGINE_ID"),
                google_search_base_url=os.environ.get(
                    "GOOGLE_SEARCH_BASE_URL", GOOGLE_SEARCH_BASE_URL
                ),
            ),
        }
    )
