"""Funders' RSS/Atom feeds as grant records. Feeds are read by news' `feed_items` (feedparser),
so there is one feed reader in the project; this module only adds what a grant needs: the
Grants.gov opportunity id of a linked opportunity, an opportunity number written in the text,
and a close date when the summary states one.

`grant_feed_items` raises GrantParseError (not news' ProviderError) for a body that is not a
feed: an HTML page, an empty body, JSON. The fetch itself (HTTP errors) is the caller's, with
ProviderHTTP.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from pipeline.lib.grants.models import GRANT_FEED, GrantParseError, GrantRecord, NotAGrantError
from pipeline.lib.grants.values import first_text, parse_grants_date
from pipeline.lib.hashing import sha256_text
from pipeline.lib.http import ProviderError, redact
from pipeline.lib.news.dates import parse_published
from pipeline.lib.news.parsers import feed_items
from pipeline.lib.text import plain_text

# Grants.gov opportunity links, old and new: view-opportunity.html?oppId=123,
# search-grants.html?...&oppId=123, /search-results-detail/123.
_GRANTS_GOV_LINK = re.compile(
    r"https?://(?:[\w-]+\.)*grants\.gov(?:/[^\s\"'<>]*?)?(?:[?&]oppId=|/search-results-detail/)(\d+)",
    re.I,
)
# An opportunity number shaped AGENCY-YYYY-...: an upper-case agency part (one or more
# segments), a four-digit year, and at least one more segment, so at least two hyphens.
_OPPORTUNITY_NUMBER = re.compile(
    r"(?<![\w-])([A-Z][A-Z0-9]{1,11}(?:-[A-Z0-9]{1,12})*-(?:19|20)\d{2}(?:-[A-Z0-9]{1,12})+)(?![\w-])"
)
_NOT_AGENCIES = frozenset({"FY", "CY", "SFY", "ISO", "RFC", "COVID", "PL"})
_CLOSE_DATE = re.compile(
    r"\b(?:close|closing|due|deadline|application deadline|applications due)"
    r"(?:\s+date)?\s*(?:is|:|-|–|on|by)?\s*(\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{4})\b",
    re.I,
)


def grant_feed_items(content: bytes, feed_url: str) -> list[dict]:
    """Entries of a funder's RSS/Atom feed as plain dicts (title, link, summary, published, id,
    author, feed_title, feed_url): the raw payloads. A body that is not a feed raises
    GrantParseError; a valid feed without entries gives []."""
    try:
        return feed_items(content, feed_url=redact(feed_url))
    except ProviderError as error:
        reason = str(error).split(": ", 1)[-1]
        raise GrantParseError(f"{GRANT_FEED}: {reason}") from None


def grants_gov_opportunity_id(*texts: str) -> str | None:
    """The OpportunityID of the first Grants.gov opportunity link in the texts: the first text
    (the item's link) wins; later ones (the summary) count only when they link to exactly one
    opportunity."""
    for index, text in enumerate(texts):
        ids = list(dict.fromkeys(_GRANTS_GOV_LINK.findall(text or "")))
        if ids and (index == 0 or len(ids) == 1):
            return ids[0]
    return None


def opportunity_number_in(*texts: str) -> str | None:
    """A Grants.gov-style opportunity number (HHS-2026-ACF-OCS-EE-0042, USDA-RMA-RME-2008-03)
    in the texts; looser shapes (G12AS20003, DE-FOA-0003000) are not taken."""
    for text in texts:
        for match in _OPPORTUNITY_NUMBER.finditer(text or ""):
            number = match.group(1)
            if number.split("-", 1)[0] not in _NOT_AGENCIES:
                return number
    return None


def close_date_in(text: str) -> dt.date | None:
    """'Close date: 2027-03-15', 'Closing Date: 03/15/2027', 'Applications due 2027-03-15'."""
    match = _CLOSE_DATE.search(text or "")
    return parse_grants_date(match.group(1)) if match else None


# A funder's feed item announces funding when its title says so (or it names an opportunity).
_FUNDING_TITLE = re.compile(
    r"\b(grants?|mini-grants?|micro-grants?|funding|funds?|awards?|rfps?|request for proposals|"
    r"call for (?:proposals|applications)|open calls?|opportunit(?:y|ies)|scholarships?|"
    r"fellowships?|prizes?|cooperative agreements?)\b",
    re.I,
)


def normalise_feed_item(payload: dict) -> GrantRecord:
    """One feed entry (a `grant_feed_items` dict) as a GrantRecord of record_type 'feed_item'."""
    if not isinstance(payload, dict):
        raise GrantParseError(f"{GRANT_FEED} item must be a dict, got {type(payload).__name__}")
    title = plain_text(first_text(payload.get("title")))
    link = first_text(payload.get("link")) or None
    if not title:
        raise GrantParseError(f"{GRANT_FEED} item {link or payload.get('id') or '?'} has no title")
    raw_summary = first_text(payload.get("summary"))
    description = plain_text(raw_summary) or None
    source_id = first_text(payload.get("id")) or link
    if not source_id:
        feed = first_text(payload.get("feed_url")) or first_text(payload.get("feed_title"))
        source_id = f"{feed}#{sha256_text(title)[:16]}"
    published = parse_published(
        first_text(payload.get("published")) or None, now=dt.datetime.now(dt.UTC)
    )
    extra: dict[str, Any] = {
        k: v
        for k, v in {
            "feed_url": first_text(payload.get("feed_url")),
            "author": first_text(payload.get("author")),
        }.items()
        if v
    }
    opportunity_id = grants_gov_opportunity_id(link or "", raw_summary)
    opportunity_number = opportunity_number_in(title, description or "")
    if not (opportunity_id or opportunity_number or _FUNDING_TITLE.search(title)):
        raise NotAGrantError(f"{GRANT_FEED} item {title!r} does not announce funding")
    return GrantRecord(
        provider=GRANT_FEED,
        source_id=source_id,
        title=title,
        record_type="feed_item",
        opportunity_id=opportunity_id,
        opportunity_number=opportunity_number,
        agency=plain_text(first_text(payload.get("feed_title"))) or None,
        description=description,
        posted_date=published.date() if published else None,
        close_date=close_date_in(description or ""),
        url=link,
        extra=extra,
    )
