"""The Grants.gov search2 API (public, no key): POST a keyword, page through the hits, and turn
each hit into a GrantRecord. A hit is short (no description, amounts or eligibility); entity
resolution joins it to the extract's full record through the OpportunityID (`id`).

Envelope errors (a non-zero `errorcode`, no `data.oppHits`) raise GrantParseError naming what
came back; HTTP failures (429/5xx after retries, timeouts, an HTML page instead of JSON) raise
ProviderError from the shared client.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any

from pipeline.lib.grants.models import GRANTS_GOV_SEARCH, GrantParseError, GrantRecord
from pipeline.lib.grants.values import (
    first_text,
    grants_gov_url,
    meaningful,
    parse_grants_date,
    required_title,
    split_codes,
)
from pipeline.lib.http import HttpSettings
from pipeline.lib.settings.providers import GRANTS_GOV_API_BASE_URL
from pipeline.lib.text import plain_text

log = logging.getLogger(__name__)

SEARCH2_PATH = "/v1/api/search2"


def search2_hits(body: Any) -> tuple[list[dict], int]:
    """(hits, hitCount) of a search2 response; an error envelope raises GrantParseError."""
    if not isinstance(body, dict):
        raise GrantParseError(
            f"{GRANTS_GOV_SEARCH}: expected a JSON object, got {type(body).__name__}"
        )
    code = body.get("errorcode")
    message = plain_text(str(body.get("msg") or body.get("message") or ""))[:200]
    if code not in (None, 0, "0"):
        raise GrantParseError(
            f"{GRANTS_GOV_SEARCH}: search2 returned errorcode {code}: {message or 'no message'}"
        )
    data = body.get("data")
    hits = data.get("oppHits") if isinstance(data, dict) else None
    if not isinstance(hits, list):
        what = (
            f"data has keys {sorted(data)[:8]}"
            if isinstance(data, dict)
            else f"keys {sorted(body)[:8]}"
        )
        raise GrantParseError(
            f"{GRANTS_GOV_SEARCH}: search2 response has no data.oppHits list ({what}"
            f"{'; msg: ' + message if message else ''})"
        )
    try:
        total = int(data.get("hitCount", len(hits)))
    except (TypeError, ValueError):
        total = len(hits)
    return [hit for hit in hits if isinstance(hit, dict)], total


def normalise_search2_hit(hit: dict) -> GrantRecord:
    """One search2 `oppHits` item as a GrantRecord. Both spellings the API has used are read:
    `agencyName` or `agency`, `alnist` or `cfdaList`."""
    if not isinstance(hit, dict):
        raise GrantParseError(f"{GRANTS_GOV_SEARCH} hit must be a dict, got {type(hit).__name__}")
    opportunity_id = first_text(hit.get("id")) or None
    title = required_title(f"{GRANTS_GOV_SEARCH} hit", hit.get("title"), opportunity_id, "id")
    doc_type = first_text(hit.get("docType")).lower()
    status = first_text(hit.get("oppStatus")).lower() or None
    listings = hit.get("alnist")
    if listings is None:
        listings = hit.get("cfdaList")
    return GrantRecord(
        provider=GRANTS_GOV_SEARCH,
        source_id=opportunity_id,
        title=title,
        record_type="forecast" if "forecast" in doc_type else "synopsis",
        opportunity_id=opportunity_id,
        opportunity_number=first_text(hit.get("number")) or None,
        agency=meaningful(hit.get("agencyName") or hit.get("agency")),
        agency_code=meaningful(hit.get("agencyCode")),
        assistance_listings=tuple(split_codes(listings)),
        status=status,
        posted_date=parse_grants_date(hit.get("openDate")),
        close_date=parse_grants_date(hit.get("closeDate")),
        url=grants_gov_url(opportunity_id),
        extra={"doc_type": doc_type} if doc_type else {},
    )


class Search2Client:
    """Pages through search2 for one keyword. Network and HTTP behaviour (retries, Retry-After,
    timeouts, non-JSON bodies) is ProviderHTTP's."""

    provider = GRANTS_GOV_SEARCH

    def __init__(self, base_url: str = GRANTS_GOV_API_BASE_URL, http: HttpSettings | None = None):
        self.base_url = base_url.rstrip("/")
        self._http = http or HttpSettings()

    @property
    def url(self) -> str:
        return f"{self.base_url}{SEARCH2_PATH}"

    def search(
        self,
        keyword: str,
        statuses: Sequence[str] = ("forecasted", "posted"),
        rows: int = 100,
        max_records: int = 1000,
    ) -> Iterator[dict]:
        """Hits for `keyword`, page after page (startRecordNum), until hitCount or max_records
        is reached or a page comes back empty."""
        if rows < 1:
            raise ValueError("rows must be at least 1")
        start = 0
        seen = 0
        with self._http.client(GRANTS_GOV_SEARCH, self.base_url, {}) as http:
            while seen < max_records:
                body = http.json(
                    "POST",
                    SEARCH2_PATH,
                    json={
                        "keyword": keyword,
                        "oppStatuses": "|".join(statuses),
                        "rows": rows,
                        "startRecordNum": start,
                    },
                )
                hits, total = search2_hits(body)
                if not hits:
                    return
                for hit in hits[: max_records - seen]:
                    seen += 1
                    yield hit
                start += len(hits)
                if start >= total:
                    return
            log.info(
                "%s: stopped at max_records=%d for %r (more hits remain)",
                GRANTS_GOV_SEARCH,
                max_records,
                keyword,
            )
