"""The Simpler.Grants.gov API: POST /v1/opportunities/search with an X-API-Key header, page by
page_offset, and turn each opportunity into a GrantRecord.

Shapes follow the API's own schemas (HHS/simpler-grants-gov, api/src/api/opportunities_v1/
opportunity_schemas.py): the response is ``{"data": [opportunity, ...], "pagination_info":
{"page_offset", "page_size", "total_pages", "total_records", ...}, "message", "status_code"}``;
an opportunity has ``opportunity_id`` (a UUID), ``legacy_opportunity_id`` (the Grants.gov
OpportunityID, which joins it to the extract and search2), ``opportunity_number``,
``opportunity_title``, ``agency_code``, ``agency_name``, ``top_level_agency_name``,
``opportunity_status``, ``category``, ``opportunity_assistance_listings`` and a ``summary``
(description, applicant types, amounts, dates, ``is_forecast``...).

The API key travels in a header and is never part of an error message: any message that
would carry it (a server echoing it back in its error body) has it replaced by ``***``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator, Sequence
from typing import Any

from pipeline.lib.grants.models import SIMPLER_GRANTS, GrantParseError, GrantRecord
from pipeline.lib.grants.values import (
    ELIGIBILITY_CODES,
    FUNDING_CATEGORY_CODES,
    first_text,
    join_eligibility,
    meaningful,
    parse_amount,
    parse_grants_date,
    required_title,
    split_codes,
)
from pipeline.lib.http import HttpSettings, ProviderError
from pipeline.lib.settings.providers import SIMPLER_GRANTS_BASE_URL
from pipeline.lib.text import plain_text

log = logging.getLogger(__name__)

SIMPLER_SEARCH_PATH = "/v1/opportunities/search"
SIMPLER_OPPORTUNITY_URL = "https://simpler.grants.gov/opportunity/{}"
MAX_QUERY_LENGTH = 100  # the API rejects longer queries

# Simpler applicant types -> Grants.gov eligibility codes (the API documents each enum value
# with its legacy code), so both sources describe eligibility in the same words. The API spells
# the nonprofit types "..._higher_educating_...": both spellings are read.
APPLICANT_TYPE_CODES = {
    "state_governments": "00",
    "county_governments": "01",
    "city_or_township_governments": "02",
    "special_district_governments": "04",
    "independent_school_districts": "05",
    "public_and_state_institutions_of_higher_education": "06",
    "federally_recognized_native_american_tribal_governments": "07",
    "public_and_indian_housing_authorities": "08",
    "other_native_american_tribal_organizations": "11",
    "nonprofits_non_higher_education_with_501c3": "12",
    "nonprofits_non_higher_educating_with_501c3": "12",
    "nonprofits_non_higher_education_without_501c3": "13",
    "nonprofits_non_higher_educating_without_501c3": "13",
    "private_institutions_of_higher_education": "20",
    "individuals": "21",
    "for_profit_organizations_other_than_small_businesses": "22",
    "small_businesses": "23",
    "other": "25",
    "unrestricted": "99",
}

# Simpler funding categories -> Grants.gov funding activity codes.
FUNDING_CATEGORY_NAMES = {
    "recovery_act": "RA",
    "agriculture": "AG",
    "arts": "AR",
    "business_and_commerce": "BC",
    "community_development": "CD",
    "consumer_protection": "CP",
    "disaster_prevention_and_relief": "DPR",
    "education": "ED",
    "employment_labor_and_training": "ELT",
    "energy": "EN",
    "environment": "ENV",
    "food_and_nutrition": "FN",
    "health": "HL",
    "housing": "HO",
    "humanities": "HU",
    "infrastructure_investment_and_jobs_act": "IIJ",
    "information_and_statistics": "IS",
    "income_security_and_social_services": "ISS",
    "law_justice_and_legal_services": "LJL",
    "natural_resources": "NR",
    "opportunity_zone_benefits": "OZ",
    "regional_development": "RD",
    "science_technology_and_other_research_and_development": "ST",
    "transportation": "T",
    "affordable_care_act": "ACA",
    "other": "O",
}


def applicant_type_words(types: Any) -> str:
    """['nonprofits_non_higher_education_with_501c3', 'small_businesses'] -> 'Nonprofits having
    a 501(c)(3) status with the IRS; Small businesses'. Unknown types become words as they
    are ('new_type' -> 'new type')."""
    words: dict[str, None] = {}
    for value in split_codes(types):
        key = value.lower()
        code = APPLICANT_TYPE_CODES.get(key)
        words[ELIGIBILITY_CODES[code] if code else key.replace("_", " ")] = None
    return "; ".join(words)


def _category_words(categories: Any, explanation: str | None) -> str | None:
    words: dict[str, None] = {}
    for value in split_codes(categories):
        code = FUNDING_CATEGORY_NAMES.get(value.lower())
        word = FUNDING_CATEGORY_CODES[code] if code else value.replace("_", " ")
        if code == "O" and explanation:
            word = f"Other: {explanation}"
        words[word] = None
    return "; ".join(words) or None


def parse_iso_datetime(value: Any) -> dt.datetime | None:
    """An aware UTC datetime from ISO 8601 text (naive means UTC); None when unreadable."""
    text = first_text(value)
    if not text:
        return None
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed.astimezone(dt.UTC)


def simpler_items(body: Any) -> tuple[list[dict], int]:
    """(opportunities, total_pages) of a search response; anything else raises
    GrantParseError naming what came back (message, status_code, errors)."""
    if not isinstance(body, dict):
        raise GrantParseError(
            f"{SIMPLER_GRANTS}: expected a JSON object, got {type(body).__name__}"
        )
    data = body.get("data")
    pagination = body.get("pagination_info")
    if not isinstance(data, list) or not isinstance(pagination, dict):
        message = plain_text(str(body.get("message") or ""))[:200]
        errors = body.get("errors")
        detail = f"status_code {body.get('status_code')}" if "status_code" in body else ""
        if message:
            detail += f"{', ' if detail else ''}message '{message}'"
        if errors:
            detail += f"{', ' if detail else ''}errors {str(errors)[:200]}"
        raise GrantParseError(
            f"{SIMPLER_GRANTS}: search response has no data list and pagination_info "
            f"({detail or f'keys {sorted(body)[:8]}'})"
        )
    try:
        total_pages = int(pagination.get("total_pages") or 0)
    except (TypeError, ValueError):
        raise GrantParseError(
            f"{SIMPLER_GRANTS}: pagination_info.total_pages is "
            f"{pagination.get('total_pages')!r}, not a number"
        ) from None
    return [item for item in data if isinstance(item, dict)], total_pages


def normalise_simpler_opportunity(item: dict) -> GrantRecord:
    """One Simpler opportunity as a GrantRecord; opportunity_id is the Grants.gov id
    (legacy_opportunity_id) so the three Grants.gov sources meet on it."""
    if not isinstance(item, dict):
        raise GrantParseError(
            f"{SIMPLER_GRANTS} opportunity must be a dict, got {type(item).__name__}"
        )
    summary = item.get("summary") if isinstance(item.get("summary"), dict) else {}
    source_id = first_text(item.get("opportunity_id")) or None
    title = required_title(
        f"{SIMPLER_GRANTS} opportunity", item.get("opportunity_title"), source_id, "opportunity_id"
    )
    legacy = first_text(item.get("legacy_opportunity_id")) or None
    if legacy is None and source_id.isdigit():
        legacy = source_id  # the first API version used the Grants.gov id as opportunity_id
    status = first_text(item.get("opportunity_status")).lower() or None
    forecast = bool(summary.get("is_forecast")) or status == "forecasted"
    if forecast:
        posted = parse_grants_date(summary.get("forecasted_post_date")) or parse_grants_date(
            summary.get("post_date")
        )
        close = parse_grants_date(summary.get("close_date")) or parse_grants_date(
            summary.get("forecasted_close_date")
        )
    else:
        posted = parse_grants_date(summary.get("post_date"))
        close = parse_grants_date(summary.get("close_date"))
    listings = [
        listing.get("assistance_listing_number")
        for listing in item.get("opportunity_assistance_listings") or []
        if isinstance(listing, dict) and listing.get("assistance_listing_number")
    ]
    additional_url = first_text(summary.get("additional_info_url")) or None
    extra = {
        "opportunity_category": first_text(item.get("category")) or None,
        "funding_instruments": split_codes(summary.get("funding_instruments")) or None,
        "archive_date": first_text(summary.get("archive_date")) or None,
        "additional_info_url": additional_url,
        "contact_email": first_text(summary.get("agency_email_address")) or None,
    }
    return GrantRecord(
        provider=SIMPLER_GRANTS,
        source_id=source_id,
        title=title,
        record_type="forecast" if forecast else "synopsis",
        opportunity_id=legacy,
        opportunity_number=first_text(item.get("opportunity_number")) or None,
        agency=meaningful(item.get("agency_name") or item.get("top_level_agency_name")),
        agency_code=meaningful(item.get("agency_code") or item.get("agency")),
        description=plain_text(summary.get("summary_description")) or None,
        eligibility=join_eligibility(
            applicant_type_words(summary.get("applicant_types")),
            meaningful(summary.get("applicant_eligibility_description")),
        ),
        category=_category_words(
            summary.get("funding_categories"),
            meaningful(summary.get("funding_category_description")),
        ),
        assistance_listings=tuple(dict.fromkeys(listings)),
        status=status,
        posted_date=posted,
        close_date=close,
        award_floor=parse_amount(summary.get("award_floor")),
        award_ceiling=parse_amount(summary.get("award_ceiling")),
        estimated_funding=parse_amount(summary.get("estimated_total_program_funding")),
        url=SIMPLER_OPPORTUNITY_URL.format(source_id),
        source_updated_at=parse_iso_datetime(item.get("updated_at"))
        or parse_iso_datetime(summary.get("updated_at")),
        extra={k: v for k, v in extra.items() if v},
    )


def _clip_query(query: str) -> str:
    query = " ".join(query.split())
    if len(query) <= MAX_QUERY_LENGTH:
        return query
    clipped = query[:MAX_QUERY_LENGTH].rsplit(" ", 1)[0] or query[:MAX_QUERY_LENGTH]
    log.warning("%s: query clipped to %d characters: %r", SIMPLER_GRANTS, MAX_QUERY_LENGTH, clipped)
    return clipped


class SimplerGrantsClient:
    """Pages through /v1/opportunities/search for one query. Errors never carry the key."""

    provider = SIMPLER_GRANTS

    def __init__(
        self,
        api_key: str,
        base_url: str = SIMPLER_GRANTS_BASE_URL,
        http: HttpSettings | None = None,
    ):
        if not api_key:
            raise ValueError("Simpler.Grants.gov needs an API key (SIMPLER_GRANTS_API_KEY)")
        self._key = api_key
        self.base_url = base_url.rstrip("/")
        self._http = http or HttpSettings()

    @property
    def url(self) -> str:
        return f"{self.base_url}{SIMPLER_SEARCH_PATH}"

    def _scrub(self, text: str) -> str:
        return text.replace(self._key, "***")

    def search(
        self,
        query: str,
        statuses: Sequence[str] = ("forecasted", "posted"),
        page_size: int = 100,
        max_pages: int = 10,
        max_records: int | None = None,
    ) -> Iterator[dict]:
        """Opportunities for `query`, newest posted first, page after page until
        pagination_info.total_pages, max_pages or max_records is reached or a page comes back
        empty (pages are no larger than max_records needs)."""
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        if max_records is not None:
            page_size = max(1, min(page_size, max_records))
            max_pages = min(max_pages, -(-max_records // page_size))
        seen = 0
        body: dict[str, Any] = {
            "filters": {"opportunity_status": {"one_of": list(statuses)}},
            "pagination": {
                "page_offset": 1,
                "page_size": page_size,
                "sort_order": [{"order_by": "post_date", "sort_direction": "descending"}],
            },
        }
        if query := _clip_query(query or ""):
            body["query"] = query
        try:
            with self._http.client(SIMPLER_GRANTS, self.base_url, {"X-API-Key": self._key}) as http:
                page = 1
                while page <= max_pages:
                    body["pagination"]["page_offset"] = page
                    items, total_pages = simpler_items(
                        http.json("POST", SIMPLER_SEARCH_PATH, json=body)
                    )
                    if not items:
                        return
                    for item in items:
                        if max_records is not None and seen >= max_records:
                            return
                        seen += 1
                        yield item
                    if page >= total_pages:
                        return
                    page += 1
                log.info(
                    "%s: stopped at max_pages=%d for %r (more pages remain)",
                    SIMPLER_GRANTS,
                    max_pages,
                    query,
                )
        except ProviderError as error:
            message = self._scrub(str(error)).removeprefix(f"{SIMPLER_GRANTS}: ")
            raise ProviderError(
                SIMPLER_GRANTS, message, status=error.status, retryable=error.retryable
            ) from None
        except GrantParseError as error:
            raise GrantParseError(self._scrub(str(error))) from None
