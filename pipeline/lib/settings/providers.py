"""The live providers' settings (CRM, news, grants). API keys are not read here: the resources take them through dg.EnvVar at run time
(pipeline.defs.shared.env), and only whether they are set is looked at."""

from __future__ import annotations

import os
from dataclasses import dataclass

from pipeline.lib.settings import is_set

# Where each provider answers unless its *_BASE_URL variable says otherwise.
GRANTS_GOV_API_BASE_URL = "https://api.grants.gov"
SIMPLER_GRANTS_BASE_URL = "https://api.simpler.grants.gov"
# Grants.gov publishes the whole database as a zip every day; {date} is the UTC fetch date.
GRANTS_GOV_EXTRACT_URL = (
    "https://prod-grants-gov-chatbot.s3.amazonaws.com/extracts/GrantsDBExtract{date:%Y%m%d}v2.zip"
)
HUBSPOT_BASE_URL = "https://api.hubapi.com"
SALESFORCE_LOGIN_URL = "https://login.salesforce.com"
GOOGLE_SEARCH_BASE_URL = "https://www.googleapis.com"
NEWSAPI_BASE_URL = "https://newsapi.org"
SERPER_BASE_URL = "https://google.serper.dev"

# A provider is live when all its variables are set; otherwise it runs on its bundled sample.
LIVE_PROVIDER_VARIABLES = {
    "openai": ("OPENAI_API_KEY",),
    "newsapi": ("NEWSAPI_KEY",),
    "google_search": ("GOOGLE_SEARCH_API_KEY", "GOOGLE_SEARCH_ENGINE_ID"),
    "serper": ("SERPER_API_KEY",),
    "salesforce": ("SALESFORCE_CLIENT_ID",),
    "hubspot": ("HUBSPOT_TOKEN",),
    "grants_gov": ("GRANTS_GOV_LIVE",),
    "simpler_grants": ("SIMPLER_GRANTS_API_KEY",),
    "smtp": ("SMTP_HOST",),
}


def live_providers() -> list[str]:
    """Providers whose credentials are set; the rest run on their bundled samples."""
    return [
        name
        for name, variables in LIVE_PROVIDER_VARIABLES.items()
        if all(is_set(variable) for variable in variables)
    ]


def crm_is_an_api() -> bool:
    """Whether the clients come from Salesforce or HubSpot rather than a CSV."""
    return bool({"salesforce", "hubspot"} & set(live_providers()))


@dataclass(frozen=True)
class CrmSettings:
    """The CRM resource's settings besides its credentials (field names are the resource's)."""

    clients_csv: str | None
    tenant_id: str
    salesforce_login_url: str
    salesforce_instance_url: str | None
    salesforce_aliases_field: str | None
    hubspot_base_url: str
    hubspot_aliases_property: str | None


def crm_settings() -> CrmSettings:
    return CrmSettings(
        clients_csv=os.environ.get("PIPELINE_CLIENTS_CSV") or None,
        tenant_id=os.environ.get("PIPELINE_CRM_TENANT", "default"),
        salesforce_login_url=os.environ.get("SALESFORCE_BASE_URL", SALESFORCE_LOGIN_URL),
        salesforce_instance_url=os.environ.get("SALESFORCE_INSTANCE_URL") or None,
        salesforce_aliases_field=os.environ.get("SALESFORCE_ALIASES_FIELD") or None,
        hubspot_base_url=os.environ.get("HUBSPOT_BASE_URL", HUBSPOT_BASE_URL),
        hubspot_aliases_property=os.environ.get("HUBSPOT_ALIASES_PROPERTY") or None,
    )


@dataclass(frozen=True)
class NewsSourceSettings:
    newsapi_base_url: str
    serper_base_url: str
    google_search_base_url: str


def news_source_settings() -> NewsSourceSettings:
    return NewsSourceSettings(
        newsapi_base_url=os.environ.get("NEWSAPI_BASE_URL", NEWSAPI_BASE_URL),
        serper_base_url=os.environ.get("SERPER_BASE_URL", SERPER_BASE_URL),
        google_search_base_url=os.environ.get("GOOGLE_SEARCH_BASE_URL", GOOGLE_SEARCH_BASE_URL),
    )


@dataclass(frozen=True)
class GrantSourceSettings:
    grants_gov_live: bool
    grants_gov_base_url: str
    grants_gov_extract_url: str
    simpler_grants_base_url: str


def grant_source_settings() -> GrantSourceSettings:
    return GrantSourceSettings(
        grants_gov_live=os.environ.get("GRANTS_GOV_LIVE", "").lower() in ("1", "true"),
        grants_gov_base_url=os.environ.get("GRANTS_GOV_BASE_URL", GRANTS_GOV_API_BASE_URL),
        grants_gov_extract_url=os.environ.get("GRANTS_GOV_EXTRACT_URL", GRANTS_GOV_EXTRACT_URL),
        simpler_grants_base_url=os.environ.get("SIMPLER_GRANTS_BASE_URL", SIMPLER_GRANTS_BASE_URL),
    )
