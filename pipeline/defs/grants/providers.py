"""The grant sources as a configurable resource. Keys arrive through dg.EnvVar (resources.py);
a source that is not live reads its bundled sample through the same parser."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from pipeline.lib.grants.models import GRANTS_GOV_EXTRACT, GRANTS_GOV_SEARCH, SIMPLER_GRANTS
from pipeline.lib.grants.sources import (
    SAMPLE_FILES,
    ExtractSource,
    GrantFeedSource,
    SampleExtractSource,
    SampleResponseSource,
    Search2Source,
    SearchSettings,
    SimplerSource,
)
from pipeline.lib.http import HttpSettings
from pipeline.lib.settings import settings
from pipeline.lib.settings.providers import (
    GRANTS_GOV_API_BASE_URL,
    GRANTS_GOV_EXTRACT_URL,
    SIMPLER_GRANTS_BASE_URL,
)


def grants_samples_dir() -> Path:
    return settings().samples_dir / "grants"


class GrantSourcesResource(dg.ConfigurableResource):
    """Grants.gov (extract + search2) is public: live when `grants_gov_live` is set
    (GRANTS_GOV_LIVE=true). Simpler.Grants.gov is live when its API key is set."""

    grants_gov_live: bool = False
    grants_gov_base_url: str = GRANTS_GOV_API_BASE_URL
    grants_gov_extract_url: str = GRANTS_GOV_EXTRACT_URL
    simpler_grants_api_key: str | None = None
    simpler_grants_base_url: str = SIMPLER_GRANTS_BASE_URL
    timeout_s: float = 30.0
    max_attempts: int = 4
    backoff_s: float = 1.0

    def _http(self, timeout_s: float | None = None) -> HttpSettings:
        return HttpSettings(
            timeout_s=timeout_s or self.timeout_s,
            max_attempts=self.max_attempts,
            backoff_s=self.backoff_s,
        )

    def sources(self, search: SearchSettings, feeds: tuple[str, ...]) -> list:
        samples = grants_samples_dir()
        sources: list = []
        if self.grants_gov_live:
            # The extract is a few hundred MB: give the download time.
            sources.append(ExtractSource(self.grants_gov_extract_url, self._http(600.0)))
            sources.append(Search2Source(self.grants_gov_base_url, search, self._http()))
        else:
            sources.append(SampleExtractSource(samples / SAMPLE_FILES[GRANTS_GOV_EXTRACT]))
            sources.append(
                SampleResponseSource(GRANTS_GOV_SEARCH, samples / SAMPLE_FILES[GRANTS_GOV_SEARCH])
            )
        if self.simpler_grants_api_key:
            sources.append(
                SimplerSource(
                    self.simpler_grants_api_key, self.simpler_grants_base_url, search, self._http()
                )
            )
        else:
            sources.append(
                SampleResponseSource(SIMPLER_GRANTS, samples / SAMPLE_FILES[SIMPLER_GRANTS])
            )
        sources.extend(GrantFeedSource(feed, samples / "feeds", self._http()) for feed in feeds)
        return sources
