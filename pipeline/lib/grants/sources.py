"""Grant sources: the Grants.gov XML extract, the Grants.gov search2 API, the Simpler.Grants.gov
API and funders' RSS/Atom feeds, each live or on its bundled sample through the same parser.

A source returns raw payloads (possibly a stream: the extract is read record by record);
`collect` stores them in batches as raw events and records the outcome of the fetch. One
source failing never stops the others, and what a source delivered before failing is kept.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from pipeline.lib.grants.extract import iter_extract_records, open_extract
from pipeline.lib.grants.feeds import grant_feed_items
from pipeline.lib.grants.models import (
    GRANT_FEED,
    GRANTS_GOV_EXTRACT,
    GRANTS_GOV_SEARCH,
    SIMPLER_GRANTS,
    GrantParseError,
)
from pipeline.lib.grants.search2 import Search2Client, search2_hits
from pipeline.lib.grants.simpler import SimplerGrantsClient, simpler_items
from pipeline.lib.http import HttpSettings, ProviderError, redact
from pipeline.lib.raw_events import Fetched, RawEvent, SourceFetch, utc_now
from pipeline.lib.settings.providers import GRANTS_GOV_EXTRACT_URL

SAMPLE_FILES = {
    GRANTS_GOV_EXTRACT: "grants_gov_extract.xml",
    GRANTS_GOV_SEARCH: "grants_gov_search2.json",
    SIMPLER_GRANTS: "simpler_grants_search.json",
}
STORE_BATCH = 2000


@dataclass(frozen=True)
class SearchSettings:
    """What the search APIs are asked for (data/config/grant_sources.yaml)."""

    keywords: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ("forecasted", "posted")
    max_records: int = 500


class ExtractSource:
    """The daily Grants.gov XML extract: downloaded to a temporary file, then parsed as a stream."""

    provider = GRANTS_GOV_EXTRACT
    is_sample = False
    scope = ""

    def __init__(
        self, url_template: str = GRANTS_GOV_EXTRACT_URL, http: HttpSettings | None = None
    ):
        self._url_template = url_template
        self._http = http or HttpSettings(timeout_s=300.0)

    def fetch(self, now: dt.datetime) -> Fetched:
        url = self._url_template.format(date=now)
        return Fetched(self.provider, self._records(url), False, redact(url))

    def _records(self, url: str) -> Iterator[dict]:
        with tempfile.TemporaryDirectory(prefix="grants-extract-") as folder:
            target = Path(folder) / "extract.zip"
            with self._http.client(self.provider, url, {}) as http:
                http.download(url, target)
            if target.stat().st_size == 0:
                raise ProviderError(self.provider, f"{redact(url)} returned an empty body")
            with open_extract(target) as stream:
                yield from iter_extract_records(stream)


class SampleExtractSource:
    provider = GRANTS_GOV_EXTRACT
    is_sample = True
    scope = ""

    def __init__(self, path: Path):
        self._path = path

    def fetch(self, now: dt.datetime) -> Fetched:
        return Fetched(self.provider, self._records(), True, f"sample:{self._path.name}")

    def _records(self) -> Iterator[dict]:
        with open_extract(self._path) as stream:
            yield from iter_extract_records(stream)


class _KeywordSearchSource:
    """A live search API asked once per keyword (the APIs have no OR across phrases)."""

    provider: str
    search_path: str  # of the search endpoint, below the base URL
    is_sample = False
    scope = ""

    def __init__(
        self, client: Search2Client | SimplerGrantsClient, base_url: str, search: SearchSettings
    ):
        self._client = client
        self._base_url = base_url
        self._search = search

    def fetch(self, now: dt.datetime) -> Fetched:
        url = f"{self._base_url}{self.search_path}"
        return Fetched(self.provider, self._hits(), False, url)

    def _hits(self) -> Iterator[dict]:
        for keyword in self._search.keywords or ("",):
            yield from self._client.search(
                keyword, statuses=self._search.statuses, max_records=self._search.max_records
            )


class Search2Source(_KeywordSearchSource):
    """Grants.gov search2."""

    provider = GRANTS_GOV_SEARCH
    search_path = "/v1/api/search2"

    def __init__(self, base_url: str, search: SearchSettings, http: HttpSettings | None = None):
        super().__init__(Search2Client(base_url, http or HttpSettings()), base_url, search)


class SimplerSource(_KeywordSearchSource):
    """Simpler.Grants.gov opportunity search (needs SIMPLER_GRANTS_API_KEY)."""

    provider = SIMPLER_GRANTS
    search_path = "/v1/opportunities/search"

    def __init__(
        self, api_key: str, base_url: str, search: SearchSettings, http: HttpSettings | None = None
    ):
        client = SimplerGrantsClient(api_key, base_url, http or HttpSettings())
        super().__init__(client, base_url, search)


class SampleResponseSource:
    """A bundled API response standing in for a search provider that is not live."""

    is_sample = True
    scope = ""

    def __init__(self, provider: str, path: Path):
        self.provider = provider
        self._path = path

    def fetch(self, now: dt.datetime) -> Fetched:
        body = json.loads(self._path.read_text(encoding="utf-8"))
        reader = search2_hits if self.provider == GRANTS_GOV_SEARCH else simpler_items
        items, _ = reader(body)
        return Fetched(self.provider, items, True, f"sample:{self._path.name}")


class GrantFeedSource:
    """One funder's RSS/Atom feed: an http(s) URL is fetched live; any other entry names a
    file in the bundled sample feeds folder."""

    provider = GRANT_FEED

    def __init__(self, feed: str, sample_feeds_dir: Path, http: HttpSettings | None = None):
        self.feed = feed
        self.scope = redact(feed)
        self._sample_dir = sample_feeds_dir
        self._http = http or HttpSettings()
        self.is_sample = not feed.startswith(("http://", "https://"))

    def fetch(self, now: dt.datetime) -> Fetched:
        if self.is_sample:
            path = (self._sample_dir / self.feed).resolve()
            if self._sample_dir.resolve() not in path.parents or not path.is_file():
                raise ProviderError(
                    self.provider, f"sample feed {self.feed!r} not found in {self._sample_dir}"
                )
            return Fetched(
                self.provider,
                grant_feed_items(path.read_bytes(), self.feed),
                True,
                f"sample:{self.feed}",
            )
        content = self._http.fetch_feed(self.provider, self.feed)
        return Fetched(self.provider, grant_feed_items(content, self.scope), False, self.scope)


def collect(
    source,
    *,
    partition_date: dt.date,
    store: Callable[[list[RawEvent]], int],
    now: dt.datetime | None = None,
    batch_size: int = STORE_BATCH,
) -> SourceFetch:
    """Fetch one source and hand its payloads to `store` in batches (store returns how many
    were new). An error ends the source with an error record that says how far it got; the
    batches stored before it stay stored."""
    started = utc_now()
    now = now or started
    items = new = 0
    error: str | None = None
    fetched: Fetched | None = None
    batch: list[dict] = []

    def flush() -> int:
        events = fetched.events(
            "grant", batch, partition_date=partition_date, scope=source.scope, fetched_at=now
        )
        batch.clear()
        return store(events)

    try:
        fetched = source.fetch(now)
        for payload in fetched.items:
            batch.append(payload)
            items += 1
            if len(batch) >= batch_size:
                new += flush()
    except (ProviderError, GrantParseError, OSError, ValueError) as failure:
        where = f" (after {items} records)" if items else ""
        error = redact(f"{type(failure).__name__}: {failure}{where}")[:1000]
    if batch:
        new += flush()  # what arrived before a failure is kept
    return SourceFetch.of(
        "grant",
        source,
        partition_date,
        started,
        items=items,
        new_items=new,
        error=error,
        scope=source.scope,
    )


SOURCES_FILE = "grant_sources.yaml"


@dataclass(frozen=True)
class SourceConfig:
    search: SearchSettings
    feeds: tuple[str, ...]


def load_source_config(config_dir: Path, default_keywords: Iterable[str] = ()) -> SourceConfig:
    """grant_sources.yaml; a missing file means no feeds and searches on `default_keywords`."""
    path = Path(config_dir) / SOURCES_FILE
    document = {}
    if path.exists():
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as error:
            raise ValueError(f"{path}: not valid YAML: {error}") from error
    if not isinstance(document, dict):
        raise ValueError(f"{path}: expected a mapping with `search` and `feeds`")
    search = document.get("search") or {}
    feeds = document.get("feeds") or []
    if not isinstance(search, dict) or not isinstance(feeds, list):
        raise ValueError(f"{path}: `search` must be a mapping and `feeds` a list")
    keywords = [str(k).strip() for k in search.get("keywords") or [] if str(k).strip()]
    try:
        max_records = int(search.get("max_records", SearchSettings.max_records))
    except (TypeError, ValueError) as error:
        raise ValueError(f"{path}: search.max_records must be a number") from error
    return SourceConfig(
        search=SearchSettings(
            keywords=tuple(dict.fromkeys(keywords or default_keywords)),
            statuses=tuple(search.get("statuses") or SearchSettings.statuses),
            max_records=max_records,
        ),
        feeds=tuple(str(f) for f in feeds if f),
    )
