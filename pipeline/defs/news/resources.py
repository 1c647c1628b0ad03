import dataclasses

import dagster as dg

from pipeline.defs.news.providers import CrmResource, NewsSourcesResource
from pipeline.defs.shared.env import env_var_or
from pipeline.lib.settings.providers import crm_settings, news_source_settings


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(
        resources={
            "crm": CrmResource(
                **dataclasses.asdict(crm_settings()),
                salesforce_client_id=env_var_or("SALESFORCE_CLIENT_ID", None),
                salesforce_client_secret=env_var_or("SALESFORCE_CLIENT_SECRET", None),
                salesforce_refresh_token=env_var_or("SALESFORCE_REFRESH_TOKEN", None),
                hubspot_token=env_var_or("HUBSPOT_TOKEN", None),
            ),
            "news_sources": NewsSourcesResource(
                **dataclasses.asdict(news_source_settings()),
                newsapi_key=env_var_or("NEWSAPI_KEY", None),
                serper_api_key=env_var_or("SERPER_API_KEY", None),
                google_search_api_key=env_var_or("GOOGLE_SEARCH_API_KEY", None),
                google_search_engine_id=env_var_or("GOOGLE_SEARCH_ENGINE_ID", None),
            ),
        }
    )
