"""News sources per client: live provider clients (NewsAPI, Serper, Google Custom Search,
RSS/Atom) and their bundled-sample stand-ins, all returning provider items through the same
parsers. One source failing never stops the others: `collect` records each outcome."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from pipeline.lib.http import HttpSettings, ProviderError, redact
from pipeline.lib.news.clients import CrmClient
from pipeline.lib.news.parsers import (
    GOOGLE_CSE,
    NEWSAPI,
    RESPONSE_PARSERS,
    RSS,
    SERPER,
    feed_items,
    parse_item,
)
from pipeline.lib.raw_events import Fetched, RawEvent, SourceFetch, utc_now
from pipeline.lib.settings.providers import (
    GOOGLE_SEARCH_BASE_URL,
    NEWSAPI_BASE_URL,
    SERPER_BASE_URL,
)

SAMPLE_FILES = {
    NEWSAPI: "newsapi_everything.json",
    SERPER: "serper_news.json",
    GOOGLE_CSE: "google_cse.json",
}


def search_query(client: CrmClient) -> str:
    return " OR ".join(f'"{term}"' for term in client.search_terms)


class _KeyedSearchSource:
    """A live search provider called with one API key, at its own address by default."""

    provider: str
    default_base_url: str
    is_sample = False

    def __init__(self, api_key: str, base_url: str | None = None, http: HttpSettings | None = None):
        self._key = api_key
        self._base_url = self.default_base_url if base_url is None else base_url
        self._http = http or HttpSettings()


class NewsAPISource(_KeyedSearchSource):
    provider = NEWSAPI
    default_base_url = NEWSAPI_BASE_URL

    def fetch(self, client: CrmClient, now: dt.datetime) -> Fetched:
        params = {
            "q": search_query(client),
            "searchIn": "title,description",
            "sortBy": "publishedAt",
            "pageSize": 50,
            "from": (now - dt.timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%S"),
        }
        with self._http.client(NEWSAPI, self._base_url, {"X-Api-Key": self._key}) as http:
            body = http.json("GET", "/v2/everything", params=params)
        return Fetched(
            NEWSAPI,
            RESPONSE_PARSERS[NEWSAPI](body),
            False,
            f"{self._base_url}/v2/everything?{urlencode(params)}",
        )


class SerperSource(_KeyedSearchSource):
    provider = SERPER
    default_base_url = SERPER_BASE_URL

    def fetch(self, client: CrmClient, now: dt.datetime) -> Fetched:
        query = {"q": search_query(client), "num": 20, "tbs": "qdr:w"}
        with self._http.client(SERPER, self._base_url, {"X-API-KEY": self._key}) as http:
            body = http.json("POST", "/news", json=query)
        return Fetched(SERPER, RESPONSE_PARSERS[SERPER](body), False, f"{self._base_url}/news")


class GoogleSearchSource:
    provider = GOOGLE_CSE
    is_sample = False

    def __init__(
        self,
        api_key: str,
        engine_id: str,
        base_url: str = GOOGLE_SEARCH_BASE_URL,
        http: HttpSettings | None = None,
    ):
        self._key = api_key
        self._engine_id = engine_id
        self._base_url = base_url
        self._http = http or HttpSettings()

    def fetch(self, client: CrmClient, now: dt.datetime) -> Fetched:
        params = {"q": search_query(client), "num": 10, "sort": "date", "dateRestrict": "w1"}
        with self._http.client(GOOGLE_CSE, self._base_url, {}) as http:
            body = http.json(
                "GET",
                "/customsearch/v1",
                params={**params, "key": self._key, "cx": self._engine_id},
            )
        return Fetched(
            GOOGLE_CSE,
            RESPONSE_PARSERS[GOOGLE_CSE](body),
            False,
            f"{self._base_url}/customsearch/v1?{urlencode(params)}",
        )


class SampleSearchSource:
    """A bundled response file standing in for a search provider with no key. The file holds
    results for every sample client, so only items that name the client are kept, as a live
    query for that client would return."""

    is_sample = True

    def __init__(self, provider: str, path: Path):
        self.provider = provider
        self._path = path

    def fetch(self, client: CrmClient, now: dt.datetime) -> Fetched:
        body = json.loads(self._path.read_text(encoding="utf-8"))
        items = [
            item
            for item in RESPONSE_PARSERS[self.provider](body)
            if (article := parse_item(self.provider, item, fetched_at=now))
            and client.mentioned_in(article.title, article.description, article.url)
        ]
        return Fetched(self.provider, items, True, f"sample:{self._path.name}")


class FeedSource:
    """One RSS/Atom feed of one client: an http(s) URL is fetched live; any other entry is a
    file name under the bundled sample feeds folder."""

    provider = RSS

    def __init__(self, feed: str, sample_feeds_dir: Path, http: HttpSettings | None = None):
        self.feed = feed
        self._sample_dir = sample_feeds_dir
        self._http = http or HttpSettings()
        self.is_sample = not feed.startswith(("http://", "https://"))

    def fetch(self, client: CrmClient, now: dt.datetime) -> Fetched:
        if self.is_sample:
            path = (self._sample_dir / self.feed).resolve()
            if self._sample_dir.resolve() not in path.parents:
                raise ProviderError(RSS, f"sample feed {self.feed!r} is outside {self._sample_dir}")
            if not path.is_file():
                raise ProviderError(
                    RSS, f"sample feed {self.feed!r} not found in {self._sample_dir}"
                )
            return Fetched(
                RSS, feed_items(path.read_bytes(), feed_url=self.feed), True, f"sample:{self.feed}"
            )
        content = self._http.fetch_feed(RSS, self.feed)
        return Fetched(
            RSS, feed_items(content, feed_url=redact(self.feed)), False, redact(self.feed)
        )


@dataclass
class SourceOutcome:
    """Events to store and the fetch record of one source for one client."""

    events: list[RawEvent]
    fetch: SourceFetch


def collect(
    client: CrmClient,
    source,
    *,
    partition_date: dt.date,
    now: dt.datetime | None = None,
) -> SourceOutcome:
    """Fetch one source for one client. Any error becomes an error fetch record (with a
    redacted message) and no events; it never propagates to the other sources."""
    started = utc_now()
    now = now or started

    def outcome(events: list[RawEvent], error: str | None = None) -> SourceOutcome:
        fetch = SourceFetch.of(
            "news",
            source,
            partition_date,
            started,
            items=len(events),
            error=error,
            scope=client.client_id,
            tenant_id=client.tenant_id,
        )
        return SourceOutcome(events, fetch)

    try:
        fetched = source.fetch(client, now)
    except (ProviderError, OSError, ValueError) as error:
        return outcome([], redact(f"{type(error).__name__}: {error}")[:1000])
    events = fetched.events(
        "news",
        fetched.items,
        partition_date=partition_date,
        scope=client.client_id,
        tenant_id=client.tenant_id,
        fetched_at=now,
    )
    return outcome(events)
