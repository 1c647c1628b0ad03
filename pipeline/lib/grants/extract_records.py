"""A raw record of the Grants.gov XML extract (pipeline.lib.grants.extract) as a GrantRecord:
the current format's synopses and forecasts, and the legacy format's synopses."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from pipeline.lib.grants.extract import (
    CURRENT_RECORDS,
    FORECAST_1_0,
    LEGACY_RECORDS,
)
from pipeline.lib.grants.models import GRANTS_GOV_EXTRACT, GrantParseError, GrantRecord
from pipeline.lib.grants.values import (
    category_words,
    eligibility_words,
    first_text,
    grants_gov_url,
    http_url,
    join_eligibility,
    meaningful,
    parse_amount,
    parse_grants_date,
    split_codes,
    utc_midnight,
)
from pipeline.lib.text import plain_text

# The elements the two formats name differently for the fields they share:
# field -> (current format's element, legacy format's element).
_SHARED_ELEMENTS = {
    "agency": ("AgencyName", "Agency"),
    "description": ("Description", "FundingOppDescription"),
    "eligible_applicants": ("EligibleApplicants", "EligibilityCategory"),
    "eligibility_note": ("AdditionalInformationOnEligibility", "AdditionalEligibilityInfo"),
    "categories": ("CategoryOfFundingActivity", "FundingActivityCategory"),
    "category_note": ("CategoryExplanation", "OtherCategoryExplanation"),
    "assistance_listings": ("CFDANumbers", "CFDANumber"),
    "estimated_funding": ("EstimatedTotalProgramFunding", "EstimatedFunding"),
}
_CURRENT_FORMAT, _LEGACY_FORMAT = 0, 1  # columns of _SHARED_ELEMENTS


def _shared_fields(payload: dict, record_format: int) -> dict[str, Any]:
    """The GrantRecord fields both formats fill the same way, from `record_format`'s elements."""
    get = payload.get
    element = {field: names[record_format] for field, names in _SHARED_ELEMENTS.items()}
    return {
        "provider": GRANTS_GOV_EXTRACT,
        "agency": meaningful(get(element["agency"])),
        "agency_code": meaningful(get("AgencyCode")),
        "description": plain_text(first_text(get(element["description"]))) or None,
        "eligibility": join_eligibility(
            eligibility_words(split_codes(get(element["eligible_applicants"]))),
            meaningful(get(element["eligibility_note"])),
        ),
        "category": category_words(
            split_codes(get(element["categories"])), meaningful(get(element["category_note"]))
        ),
        "assistance_listings": tuple(split_codes(get(element["assistance_listings"]))),
        "award_floor": parse_amount(get("AwardFloor")),
        "award_ceiling": parse_amount(get("AwardCeiling")),
        "estimated_funding": parse_amount(get(element["estimated_funding"])),
        "source_updated_at": utc_midnight(parse_grants_date(get("LastUpdatedDate"))),
    }


def _current(payload: dict, kind: str) -> GrantRecord:
    get = payload.get
    forecast = kind == FORECAST_1_0
    opportunity_id = first_text(get("OpportunityID")) or None
    number = first_text(get("OpportunityNumber")) or None
    title = plain_text(first_text(get("OpportunityTitle")))
    if not title:
        raise GrantParseError(
            f"{GRANTS_GOV_EXTRACT} {kind} record {opportunity_id or number or '?'} has no title"
        )
    source_id = opportunity_id or number
    if not source_id:
        raise GrantParseError(
            f"{GRANTS_GOV_EXTRACT} {kind} record '{title[:80]}' has no OpportunityID"
        )
    post_date = parse_grants_date(get("PostDate"))
    forecast_extra = {}
    if forecast:
        # A forecast's dates are estimates: the expected synopsis post date stands for
        # posted_date and the expected close date for close_date. Extracts name the latter
        # EstimatedSynopsisCloseDate; fetchOpportunity calls it estimatedApplicationDueDate.
        source_id += ":forecast"
        posted = parse_grants_date(get("EstimatedSynopsisPostDate")) or post_date
        close = parse_grants_date(
            get("EstimatedSynopsisCloseDate") or get("EstimatedApplicationDueDate")
        )
        forecast_extra = {
            "forecast_post_date": post_date,
            "fiscal_year": first_text(get("FiscalYear")),
        }
    else:
        posted = post_date
        close = parse_grants_date(get("CloseDate"))
    additional_url = http_url(get("AdditionalInformationURL"))
    extra = _extra(
        payload,
        kind,
        first_text,
        _CURRENT_EXTRA,
        **forecast_extra,
        additional_info_url=additional_url,
        contact=meaningful(get("GrantorContactText") or get("GrantorContactName")),
    )
    return GrantRecord(
        **_shared_fields(payload, _CURRENT_FORMAT),
        source_id=source_id,
        title=title,
        record_type="forecast" if forecast else "synopsis",
        opportunity_id=opportunity_id,
        opportunity_number=number,
        status="forecasted" if forecast else "posted",
        posted_date=posted,
        close_date=close,
        url=grants_gov_url(opportunity_id) or additional_url,
        extra=extra,
    )


def _legacy(payload: dict, kind: str) -> GrantRecord:
    get = payload.get
    number = first_text(get("FundingOppNumber")) or None
    title = plain_text(first_text(get("FundingOppTitle")))
    if not title:
        raise GrantParseError(f"{GRANTS_GOV_EXTRACT} {kind} record {number or '?'} has no title")
    if not number:
        raise GrantParseError(
            f"{GRANTS_GOV_EXTRACT} {kind} record '{title[:80]}' has no FundingOppNumber"
        )
    extra = _extra(payload, kind, meaningful, _LEGACY_EXTRA)
    return GrantRecord(
        **_shared_fields(payload, _LEGACY_FORMAT),
        source_id=number,
        title=title,
        record_type="synopsis",
        opportunity_id=None,
        opportunity_number=number,
        status="posted",
        posted_date=parse_grants_date(get("PostDate")),
        close_date=parse_grants_date(get("ApplicationsDueDate")),
        url=http_url(get("FundingOppURL")) or http_url(get("AdditionalInformationURL")),
        extra=extra,
    )


# Provenance each format keeps beside the record: extra key -> the element it is read from.
_CURRENT_EXTRA = {
    "opportunity_category": "OpportunityCategory",
    "expected_awards": "ExpectedNumberOfAwards",
    "version": "Version",
    "contact_email": "GrantorContactEmail",
}
_LEGACY_EXTRA = {
    "office": "Office",
    "modification_number": "ModificationNumber",
    "expected_awards": "NumberOfAwards",
    "close_date_explanation": "ApplicationsDueDateExplanation",
    "contact": "AgencyContact",
    "contact_email": "AgencyEmailAddress",
}


def _extra(
    payload: dict,
    kind: str,
    read: Callable[[Any], Any],
    elements: dict[str, str],
    **values: Any,
) -> dict[str, Any]:
    """Provenance worth keeping beside the record (not part of its content hash): the record's
    kind, what both formats carry alike, the format's `elements` as `read` cleans them, and
    the `values` it works out itself. Dates as ISO text, empty values left out, so `extra`
    stays JSON-ready."""
    values = {
        "archive_date": parse_grants_date(payload.get("ArchiveDate")),
        "funding_instruments": split_codes(payload.get("FundingInstrumentType")),
        **{key: read(payload.get(element)) for key, element in elements.items()},
        **values,
    }
    extra: dict[str, Any] = {"record_kind": kind}
    for key, value in values.items():
        if value:
            extra[key] = value.isoformat() if isinstance(value, dt.date) else value
    return extra


def normalise_extract_record(payload: dict) -> GrantRecord:
    """One raw extract record (any of the four kinds) as a GrantRecord."""
    if not isinstance(payload, dict):
        raise GrantParseError(
            f"{GRANTS_GOV_EXTRACT} record must be a dict, got {type(payload).__name__}"
        )
    kind = payload.get("record_type")
    if kind in CURRENT_RECORDS:
        return _current(payload, kind)
    if kind in LEGACY_RECORDS:
        return _legacy(payload, kind)
    raise GrantParseError(f"{GRANTS_GOV_EXTRACT}: unknown extract record type {kind!r}")
