"""Provider responses to items, and items to articles. Live responses and the bundled samples
go through exactly these functions.

A raw event stores one provider item (an article as the provider sent it); `parse_item`
turns any stored item into an `Article`, so re-parsing raw events never needs the network.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import feedparser

from pipeline.lib.http import ProviderError
from pipeline.lib.news.dates import parse_published
from pipeline.lib.news.text import clean_text

NEWSAPI = "newsapi"
SERPER = "serper"
GOOGLE_CSE = "google_cse"
RSS = "rss"
PROVIDERS = (NEWSAPI, SERPER, GOOGLE_CSE, RSS)

# NewsAPI error codes that a later run may get past (the rest need an operator).
NEWSAPI_RETRYABLE_CODES = frozenset({"rateLimited", "unexpectedError", "maximumResultsReached"})


@dataclass(frozen=True)
class Article:
    url: str
    title: str
    description: str
    source_name: str
    published_at: dt.datetime | None


def newsapi_items(body: Any) -> list[dict]:
    """Articles of a /v2/everything response; a `status: error` body raises with its code."""
    if not isinstance(body, dict):
        raise ProviderError(NEWSAPI, f"expected a JSON object, got {type(body).__name__}")
    if body.get("status") == "error":
        code = body.get("code") or "unknown"
        raise ProviderError(
            NEWSAPI,
            f"error {code}: {body.get('message') or 'no message'}",
            retryable=code in NEWSAPI_RETRYABLE_CODES,
        )
    articles = body.get("articles")
    if body.get("status") != "ok" or not isinstance(articles, list):
        raise ProviderError(NEWSAPI, "response has no status 'ok' and articles list")
    return [a for a in articles if isinstance(a, dict)]


def serper_items(body: Any) -> list[dict]:
    """News results of a google.serper.dev/news response (errors such as exhausted credits
    come back as {'message': ..., 'statusCode': ...})."""
    if not isinstance(body, dict):
        raise ProviderError(SERPER, f"expected a JSON object, got {type(body).__name__}")
    if "news" not in body:
        message = body.get("message") or "response has no 'news' list"
        raise ProviderError(SERPER, str(message), status=body.get("statusCode"))
    return [item for item in body["news"] or [] if isinstance(item, dict)]


def google_cse_items(body: Any) -> list[dict]:
    """Items of a Custom Search JSON API response; no `items` key means no results."""
    if not isinstance(body, dict):
        raise ProviderError(GOOGLE_CSE, f"expected a JSON object, got {type(body).__name__}")
    if "error" in body:
        error = body["error"] if isinstance(body["error"], dict) else {"message": body["error"]}
        raise ProviderError(
            GOOGLE_CSE,
            f"error {error.get('code', '?')}: {error.get('message', 'no message')}",
            status=error.get("code") if isinstance(error.get("code"), int) else None,
            retryable=error.get("code") in (429, 500, 503),
        )
    if body.get("kind") not in (None, "customsearch#search"):
        raise ProviderError(GOOGLE_CSE, f"unexpected response kind {body.get('kind')!r}")
    return [item for item in body.get("items") or [] if isinstance(item, dict)]


def _prepare_feed_bytes(content: bytes) -> bytes:
    # Some real feeds start with a blank line or a BOM before `<?xml`, which strict XML
    # parsers reject; whitespace before the declaration carries no meaning.
    return content.lstrip(b"\xef\xbb\xbf").lstrip()


def feed_items(content: bytes, *, feed_url: str = "") -> list[dict]:
    """Entries of an RSS 0.9x/1.0/2.0 or Atom document as plain dicts (title, link, summary,
    published, id, feed title). Encodings come from the XML declaration or HTTP-less
    sniffing (feedparser falls back to windows-1252 for undeclared Latin-1)."""
    parsed = feedparser.parse(_prepare_feed_bytes(content))
    if not parsed.entries:
        reason = parsed.get("bozo_exception") or "no entries"
        if parsed.get("bozo") or not parsed.get("version"):
            raise ProviderError(
                RSS, f"feed {feed_url or '(bytes)'} is not a readable feed: {reason}"
            )
        return []
    feed_title = clean_text(parsed.feed.get("title"))
    items = []
    for entry in parsed.entries:
        link = entry.get("link") or next(
            (ln.get("href") for ln in entry.get("links", []) if ln.get("href")), ""
        )
        items.append(
            {
                "title": entry.get("title") or "",
                "link": link,
                "summary": entry.get("summary") or entry.get("description") or "",
                "published": entry.get("published") or entry.get("updated") or "",
                "id": entry.get("id") or link,
                "author": entry.get("author") or "",
                "feed_title": feed_title,
                "feed_url": feed_url,
            }
        )
    return items


def _source_from_url(url: str) -> str:
    match = re.match(r"https?://(?:www\.)?([^/:]+)", url or "")
    return match.group(1) if match else ""


# Where each provider keeps what an Article needs beyond the title: (url, description,
# source name, published date as the provider wrote it).
def _newsapi_fields(item: dict) -> tuple[str, Any, str, Any]:
    url = item.get("url") or ""
    source = item.get("source") or {}
    source_name = source.get("name") if isinstance(source, dict) else None
    description = item.get("description") or item.get("content")
    return url, description, source_name or _source_from_url(url), item.get("publishedAt")


def _serper_fields(item: dict) -> tuple[str, Any, str, Any]:
    url = item.get("link") or ""
    return url, item.get("snippet"), item.get("source") or _source_from_url(url), item.get("date")


def _google_cse_fields(item: dict) -> tuple[str, Any, str, Any]:
    metatags = ((item.get("pagemap") or {}).get("metatags") or [{}])[0]
    published = (
        metatags.get("article:published_time")
        or metatags.get("og:updated_time")
        or metatags.get("date")
    )
    source_name = metatags.get("og:site_name") or item.get("displayLink") or ""
    return item.get("link") or "", item.get("snippet"), source_name, published


def _rss_fields(item: dict) -> tuple[str, Any, str, Any]:
    url = item.get("link") or ""
    source_name = item.get("feed_title") or _source_from_url(url)
    return url, item.get("summary"), source_name, item.get("published")


_ITEM_FIELDS = {
    NEWSAPI: _newsapi_fields,
    SERPER: _serper_fields,
    GOOGLE_CSE: _google_cse_fields,
    RSS: _rss_fields,
}


def parse_item(provider: str, item: dict, *, fetched_at: dt.datetime) -> Article | None:
    """One stored provider item as an Article; None when it has no URL or no title."""
    if provider not in _ITEM_FIELDS:
        raise ValueError(f"unknown news provider {provider!r}")
    url, description, source_name, published = _ITEM_FIELDS[provider](item)
    title = clean_text(item.get("title"))
    if not url or not title:
        return None
    return Article(
        url=url,
        title=title,
        description=clean_text(description),
        source_name=source_name,
        published_at=parse_published(published, now=fetched_at),
    )


RESPONSE_PARSERS = {NEWSAPI: newsapi_items, SERPER: serper_items, GOOGLE_CSE: google_cse_items}
