"""Configurable resources of the news domain: the CRM a client list comes from and the news
sources. Keys arrive through dg.EnvVar (see resources.py); with no key a source runs on its
bundled sample through the same parser."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from pipeline.lib.http import HttpSettings
from pipeline.lib.news.clients import CrmClient, load_clients_csv
from pipeline.lib.news.crm import (
    HubSpotCRM,
    SalesforceCRM,
)
from pipeline.lib.news.parsers import GOOGLE_CSE, NEWSAPI, SERPER
from pipeline.lib.news.sources import (
    SAMPLE_FILES,
    FeedSource,
    GoogleSearchSource,
    NewsAPISource,
    SampleSearchSource,
    SerperSource,
)
from pipeline.lib.settings import settings
from pipeline.lib.settings.providers import (
    GOOGLE_SEARCH_BASE_URL,
    HUBSPOT_BASE_URL,
    NEWSAPI_BASE_URL,
    SALESFORCE_LOGIN_URL,
    SERPER_BASE_URL,
)


def news_samples_dir() -> Path:
    return settings().samples_dir / "news"


class CrmResource(dg.ConfigurableResource):
    """Where the client list comes from: Salesforce when its refresh-token credentials are
    set, else HubSpot when its token is set, else a CSV (default: the bundled sample clients).
    Salesforce and HubSpot clients all belong to `tenant_id`."""

    clients_csv: str | None = None
    tenant_id: str = "default"
    salesforce_client_id: str | None = None
    salesforce_client_secret: str | None = None
    salesforce_refresh_token: str | None = None
    salesforce_login_url: str = SALESFORCE_LOGIN_URL
    salesforce_instance_url: str | None = None
    salesforce_aliases_field: str | None = None
    hubspot_token: str | None = None
    hubspot_base_url: str = HUBSPOT_BASE_URL
    hubspot_aliases_property: str | None = None
    # Profile field (keywords, topics, not_interested_in, languages, industry, geography) ->
    # the CRM's field/property holding it; industry and country are mapped by default.
    crm_profile_fields: dict[str, str] | None = None

    def load(self) -> tuple[list[CrmClient], list[str], str]:
        """(clients, problems with skipped rows, provider name)."""
        if (
            self.salesforce_client_id
            and self.salesforce_client_secret
            and self.salesforce_refresh_token
        ):
            salesforce = SalesforceCRM(
                client_id=self.salesforce_client_id,
                client_secret=self.salesforce_client_secret,
                refresh_token=self.salesforce_refresh_token,
                tenant_id=self.tenant_id,
                login_url=self.salesforce_login_url,
                instance_url=self.salesforce_instance_url,
                aliases_field=self.salesforce_aliases_field,
                profile_fields=dict(self.crm_profile_fields or {}),
            )
            return (*salesforce.load(), "salesforce")
        if self.hubspot_token:
            hubspot = HubSpotCRM(
                token=self.hubspot_token,
                tenant_id=self.tenant_id,
                base_url=self.hubspot_base_url,
                aliases_property=self.hubspot_aliases_property,
                profile_fields=dict(self.crm_profile_fields or {}),
            )
            return (*hubspot.load(), "hubspot")
        if self.clients_csv:
            clients, problems = load_clients_csv(Path(self.clients_csv), is_sample=False)
        else:
            clients, problems = load_clients_csv(news_samples_dir() / "clients.csv", is_sample=True)
        return clients, problems, "csv"


class NewsSourcesResource(dg.ConfigurableResource):
    """The news sources for each client. A search provider with its key set is queried live;
    without one its bundled sample response is read. Feeds come from each client's list."""

    newsapi_key: str | None = None
    newsapi_base_url: str = NEWSAPI_BASE_URL
    serper_api_key: str | None = None
    serper_base_url: str = SERPER_BASE_URL
    google_search_api_key: str | None = None
    google_search_engine_id: str | None = None
    google_search_base_url: str = GOOGLE_SEARCH_BASE_URL
    timeout_s: float = 20.0
    max_attempts: int = 3
    backoff_s: float = 0.5

    def _http(self) -> HttpSettings:
        return HttpSettings(
            timeout_s=self.timeout_s, max_attempts=self.max_attempts, backoff_s=self.backoff_s
        )

    def search_sources(self) -> list:
        samples = news_samples_dir()
        sources: list = []
        if self.newsapi_key:
            sources.append(NewsAPISource(self.newsapi_key, self.newsapi_base_url, self._http()))
        else:
            sources.append(SampleSearchSource(NEWSAPI, samples / SAMPLE_FILES[NEWSAPI]))
        if self.serper_api_key:
            sources.append(SerperSource(self.serper_api_key, self.serper_base_url, self._http()))
        else:
            sources.append(SampleSearchSource(SERPER, samples / SAMPLE_FILES[SERPER]))
        if self.google_search_api_key and self.google_search_engine_id:
            sources.append(
                GoogleSearchSource(
                    self.google_search_api_key,
                    self.google_search_engine_id,
                    self.google_search_base_url,
                    self._http(),
                )
            )
        else:
            sources.append(SampleSearchSource(GOOGLE_CSE, samples / SAMPLE_FILES[GOOGLE_CSE]))
        return sources

    def sources_for(self, client: CrmClient) -> list:
        feeds = [
            FeedSource(feed, news_samples_dir() / "feeds", self._http()) for feed in client.feeds
        ]
        return [*self.search_sources(), *feeds]
