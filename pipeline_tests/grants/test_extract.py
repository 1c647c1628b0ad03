"""The Grants.gov XML extract: opening, streaming records and normalising all four record
kinds, from the bundled sample, the legacy 18F extract and a real current-format record; how
the values are read. Damaged downloads: test_extract_damaged.py."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from pathlib import Path

import pytest

from pipeline.lib.grants.extract import iter_extract_records, open_extract
from pipeline.lib.grants.extract_records import normalise_extract_record
from pipeline.lib.grants.models import GRANTS_GOV_EXTRACT, GrantParseError
from pipeline.lib.grants.values import ELIGIBILITY_CODES, parse_amount, parse_grants_date
from pipeline.lib.text import plain_text
from pipeline_tests.fakes.http_server import Reply

HTML_ERROR_PAGE = (
    b"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>503 Service Unavailable"
    b"</title></head><body><h1>Service Unavailable</h1><p>Try again later.<br></body></html>"
)


def records_of(source: Path | bytes) -> list[dict]:
    if isinstance(source, bytes):
        return list(iter_extract_records(io.BytesIO(source)))
    with open_extract(source) as stream:
        return list(iter_extract_records(stream))


def by_source_id(payloads: list[dict]) -> dict:
    records = [normalise_extract_record(p) for p in payloads]
    return {r.source_id: r for r in records}


# --- the bundled sample ----------------------------------------------------------------------


def test_sample_extract_holds_synopses_and_forecasts(samples: Path):
    payloads = records_of(samples / "grants_gov_extract.xml")
    kinds = [p["record_type"] for p in payloads]
    assert kinds.count("OpportunitySynopsisDetail_1_0") == 11
    assert kinds.count("OpportunityForecastDetail_1_0") == 2
    records = by_source_id(payloads)
    assert len(records) == 13
    assert {r.provider for r in records.values()} == {GRANTS_GOV_EXTRACT}
    assert "360201:forecast" in records and "360202:forecast" in records


def test_sample_synopsis_fields(samples: Path):
    stem = by_source_id(records_of(samples / "grants_gov_extract.xml"))["360101"]
    assert stem.title == "After-School STEM Enrichment for Middle and High School Students"
    assert stem.record_type == "synopsis" and stem.status == "posted"
    assert stem.opportunity_id == "360101"
    assert stem.opportunity_number == "ED-2027-OESE-0117"
    assert (stem.agency, stem.agency_code) == ("Department of Education", "ED")
    assert stem.posted_date == dt.date(2026, 11, 3)
    assert stem.close_date == dt.date(2027, 3, 15)
    assert (stem.award_floor, stem.award_ceiling, stem.estimated_funding) == (
        50000.0,
        500000.0,
        12000000.0,
    )
    assert stem.assistance_listings == ("84.287",)
    assert stem.category == "Education"
    assert stem.eligibility == (
        "Nonprofits having a 501(c)(3) status with the IRS; Independent school districts; "
        "Public and State controlled institutions of higher education. Community-based "
        "organizations must partner with at least one school serving low-income students."
    )
    assert stem.url == "https://www.grants.gov/search-results-detail/360101"
    assert stem.source_updated_at == dt.datetime(2026, 11, 3, tzinfo=dt.UTC)
    assert stem.extra["contact"] == "Program Office, 555-0101 stem-afterschool@example.org"


def test_sample_forecast_uses_estimated_dates(samples: Path):
    forecast = by_source_id(records_of(samples / "grants_gov_extract.xml"))["360201:forecast"]
    assert forecast.record_type == "forecast"
    assert forecast.status == "forecasted"
    assert forecast.opportunity_id == "360201"
    assert forecast.posted_date == dt.date(2027, 2, 1)  # EstimatedSynopsisPostDate
    assert forecast.close_date == dt.date(2027, 4, 30)  # EstimatedSynopsisCloseDate
    assert forecast.extra["forecast_post_date"] == "2026-11-25"
    assert forecast.extra["fiscal_year"] == "2027"


def test_sample_unknown_amounts_and_not_available_are_none(samples: Path):
    records = by_source_id(records_of(samples / "grants_gov_extract.xml"))
    integration = records["360104"]
    assert integration.award_ceiling is None and integration.award_floor is None  # 'none'
    assert integration.estimated_funding == 30000000.0
    assert "Not Available" not in integration.eligibility
    sbir = records["360110"]
    assert sbir.award_floor is None  # 0
    assert sbir.estimated_funding is None  # 'Not Available'
    assert "expected_awards" not in sbir.extra or sbir.extra["expected_awards"] != ""


def test_sample_double_escaped_markup_never_leaks(samples: Path):
    records = by_source_id(records_of(samples / "grants_gov_extract.xml"))
    literacy = records["360102"]
    assert literacy.description == (
        "Funds libraries and nonprofits that run literacy programmes for children and their "
        "families. Priority goes to projects reaching rural and underserved readers."
    )
    for record in records.values():
        for text in (record.description, record.eligibility, record.extra.get("contact")):
            assert "<" not in (text or "") and "&lt;" not in (text or "")
            assert "&amp;" not in (text or "")


def test_sample_close_dates_spread_over_2027_with_one_closed(samples: Path):
    records = by_source_id(records_of(samples / "grants_gov_extract.xml"))
    closes = {sid: r.close_date for sid, r in records.items()}
    assert closes["360105"] == dt.date(2026, 6, 30)
    assert sum(1 for d in closes.values() if d.year == 2027) == 12
    assert len({d.month for d in closes.values() if d.year == 2027}) >= 9


def test_raw_payloads_are_json_and_renormalise_the_same(samples: Path):
    for payload in records_of(samples / "grants_gov_extract.xml"):
        stored = json.loads(json.dumps(payload))  # what a raw event keeps
        assert normalise_extract_record(stored) == normalise_extract_record(payload)
        record = normalise_extract_record(stored)
        json.dumps(record.extra)
        assert record.content_hash == normalise_extract_record(payload).content_hash


def test_repeatable_fields_are_always_lists(samples: Path):
    payloads = records_of(samples / "grants_gov_extract.xml")
    first = payloads[0]
    assert first["CFDANumbers"] == ["84.287"]
    assert first["EligibleApplicants"] == ["12", "05", "06"]
    assert first["FundingInstrumentType"] == ["G"]
    assert first["OpportunityID"] == "360101"
    assert all(isinstance(p["CategoryOfFundingActivity"], list) for p in payloads)


# --- the legacy 18F extract ------------------------------------------------------------------


def test_legacy_extract_reads_all_34_records(legacy_extract: Path):
    payloads = records_of(legacy_extract)
    assert len(payloads) == 34
    kinds = [p["record_type"] for p in payloads]
    assert kinds.count("FundingOppSynopsis") == 17
    assert kinds.count("FundingOppModSynopsis") == 17
    records = by_source_id(payloads)
    assert len(records) == 34
    assert {r.record_type for r in records.values()} == {"synopsis"}
    assert {r.status for r in records.values()} == {"posted"}


def test_legacy_record_fields(legacy_extract: Path):
    record = by_source_id(records_of(legacy_extract))["USDA-RMA-RME-2008-03"]
    assert record.title == "Commodity Partnerships Small Sessions Program"
    assert record.opportunity_id is None
    assert record.opportunity_number == "USDA-RMA-RME-2008-03"
    assert record.agency == "Department of Agriculture"
    assert record.posted_date == dt.date(2008, 1, 30)
    assert record.close_date == dt.date(2008, 3, 24)
    assert record.award_ceiling == 10000.0
    assert record.award_floor is None  # 0 means unknown
    assert record.estimated_funding == 500000.0
    assert record.assistance_listings == ("10.459",)
    assert (
        record.category == "Agriculture; Education; Other: Agricultural Risk Management Education"
    )
    assert record.eligibility.startswith("Others. Eligible applicants include State departments")
    assert record.url == "http://www.rma.usda.gov/aboutrma/agreements/"  # FundingOppURL
    assert record.extra["office"] == "Risk Management Agency"
    assert record.extra["contact"] == (
        "Lon Burke Grants & Agreements Specialist Phone 202-720-5265"
    )
    assert record.extra["contact_email"] == "RMA.Risk-Ed@rma.usda.gov"


def test_legacy_not_available_means_none(legacy_extract: Path):
    records = by_source_id(records_of(legacy_extract))
    afghans = records["PRM-ECA-08-CA-SCA-012508-AFGHANS"]
    assert afghans.estimated_funding is None  # 'Not Available'
    assert "expected_awards" not in afghans.extra
    trails = records["NPS-ARRAWHIS100315"]
    assert trails.eligibility == ELIGIBILITY_CODES["00"]  # 'Not Available' extra info dropped
    assert trails.category == "Recovery Act"
    for record in records.values():
        assert "Not Available" not in (record.eligibility or "")
        assert "Not Available" not in (record.category or "")


def test_legacy_mod_synopsis_and_missing_due_date(legacy_extract: Path):
    records = by_source_id(records_of(legacy_extract))
    mod = records["DE-FOA-0000013"]
    assert mod.extra["record_kind"] == "FundingOppModSynopsis"
    assert mod.record_type == "synopsis"
    assert records["11-547"].close_date is None  # no ApplicationsDueDate at all


def test_legacy_contact_markup_never_leaks(legacy_extract: Path):
    for record in by_source_id(records_of(legacy_extract)).values():
        for text in (record.description, record.eligibility, record.extra.get("contact")):
            assert "<br" not in (text or "") and "&lt;" not in (text or "")


def test_legacy_doctype_is_never_fetched(http_server, legacy_extract: Path):
    http_server.add("GET", "/XMLExtract.dtd", Reply(200, b"<!ELEMENT Grants ANY>"))
    content = legacy_extract.read_bytes().replace(
        b"http://apply07.grants.gov/search/dtd/XMLExtract.dtd",
        f"{http_server.base_url}/XMLExtract.dtd".encode(),
    )
    assert len(records_of(content)) == 34
    assert http_server.requests == []


# --- the real current-format record ----------------------------------------------------------


def test_realdata_current_record(current_fragment: bytes):
    (payload,) = records_of(current_fragment)
    assert payload["record_type"] == "OpportunitySynopsisDetail_1_0"
    record = normalise_extract_record(payload)
    assert record.source_id == "131073"
    assert record.opportunity_id == "131073"
    assert record.opportunity_number == "G12AS20003"
    assert record.title == "Cooperative Ecosystem Studies Unit, Piedmont South Atlantic Coast CESU"
    assert (record.agency, record.agency_code) == ("Geological Survey", "DOI-USGS1")
    assert record.posted_date == dt.date(2011, 11, 17)
    assert record.close_date == dt.date(2011, 11, 29)
    assert record.source_updated_at == dt.datetime(2011, 11, 28, tzinfo=dt.UTC)
    assert record.award_ceiling is None and record.award_floor is None  # 0
    assert record.estimated_funding == 31900.0
    assert record.assistance_listings == ("15.808",)
    assert record.category == "Science and Technology and other Research and Development"
    assert record.eligibility.startswith("Others. This financial assistance opportunity")
    assert record.url == "https://www.grants.gov/search-results-detail/131073"
    assert record.extra["contact"] == "Faith Graves, 703-648-7356 fgraves@usgs.gov"


# --- values ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("03152027", dt.date(2027, 3, 15)),
        ("03/15/2027", dt.date(2027, 3, 15)),
        ("3/5/2027", dt.date(2027, 3, 5)),
        ("2027-03-15", dt.date(2027, 3, 15)),
        ("2027-03-15T10:00:00Z", dt.date(2027, 3, 15)),
        ("00002027", None),
        ("Not Available", None),
        ("", None),
        (None, None),
        (["03152027"], dt.date(2027, 3, 15)),
    ],
)
def test_parse_grants_date(text, expected):
    assert parse_grants_date(text) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("none", None),
        ("Not Available", None),
        ("", None),
        ("0", None),
        (0, None),
        ("-5", None),
        ("nan", None),
        ("1,500,000", 1500000.0),
        ("$250000", 250000.0),
        ("31900", 31900.0),
        (1500000, 1500000.0),
    ],
)
def test_parse_amount(value, expected):
    assert parse_amount(value) == expected


def test_plain_text_unescapes_until_stable():
    assert plain_text("a&amp;lt;br/&amp;gt;b") == "a b"
    assert plain_text("Faith Graves&lt;br/&gt;fgraves@usgs.gov") == "Faith Graves fgraves@usgs.gov"
    assert plain_text("<p>Grants &amp; Agreements</p>\n\n<b>x</b>") == "Grants & Agreements x"
    assert plain_text("  plain text  ") == "plain text"
    assert plain_text(None) == ""


def test_corrupted_zip_member_keeps_the_records_before_it(tmp_path: Path, samples: Path):
    archive = tmp_path / "extract.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:
        zf.write(samples / "grants_gov_extract.xml", "extract.xml")
    damaged = archive.read_bytes().replace(b"Indian Housing Block", b"Indian Housing Blocc")
    archive.write_bytes(damaged)
    got: list[str] = []

    def read_all() -> None:
        with open_extract(archive) as stream:
            got.extend(p["OpportunityID"] for p in iter_extract_records(stream))

    # The CRC is checked when the member's last chunk is read: the records parsed from the
    # chunks before it are yielded, and the message says how many.
    with pytest.raises(GrantParseError, match="reading the extract failed") as failure:
        read_all()
    assert got == [f"36010{i}" for i in range(1, len(got) + 1)] and got
    assert f"after {len(got)} records: Bad CRC-32" in str(failure.value)


def test_forecast_due_date_spelled_as_in_fetch_opportunity():
    record = normalise_extract_record(
        {
            "record_type": "OpportunityForecastDetail_1_0",
            "OpportunityID": "42",
            "OpportunityTitle": "Forecast",
            "PostDate": "11012026",
            "EstimatedApplicationDueDate": "05012027",
        }
    )
    assert record.source_id == "42:forecast"
    assert record.posted_date == dt.date(2026, 11, 1)  # no EstimatedSynopsisPostDate
    assert record.close_date == dt.date(2027, 5, 1)
