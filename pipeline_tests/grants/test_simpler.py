"""Simpler.Grants.gov: the envelope, the opportunity normaliser, and the paging client against a
real loopback server, with the API key sent as a header and never echoed in an error."""

from __future__ import annotations

import datetime as dt
import json
import logging
import traceback
from pathlib import Path

import pytest

from pipeline.lib.grants.extract import iter_extract_records, open_extract
from pipeline.lib.grants.extract_records import normalise_extract_record
from pipeline.lib.grants.models import SIMPLER_GRANTS, GrantParseError
from pipeline.lib.grants.simpler import (
    SIMPLER_SEARCH_PATH,
    SimplerGrantsClient,
    applicant_type_words,
    normalise_simpler_opportunity,
    simpler_items,
)
from pipeline.lib.http import HttpSettings, ProviderError
from pipeline_tests.fakes.http_server import Recorded, Reply
from pipeline_tests.grants.conftest import HELD_BACK_S

API_KEY = "sg-test-9f8e7d6c5b4a39281706"


def opportunity(n: int) -> dict:
    return {
        "opportunity_id": f"00000000-0000-4000-8000-{n:012d}",
        "legacy_opportunity_id": 360700 + n,
        "opportunity_number": f"ED-2027-TEST-{n:04d}",
        "opportunity_title": f"Test opportunity {n}",
        "agency_code": "ED",
        "agency_name": "Department of Education",
        "opportunity_status": "posted",
        "summary": {"is_forecast": False, "post_date": "2026-11-01", "close_date": "2027-02-01"},
        "updated_at": "2026-11-01T12:00:00+00:00",
    }


def page(items: list[dict], offset: int, total_pages: int, page_size: int = 2) -> dict:
    return {
        "message": "Success",
        "status_code": 200,
        "data": items,
        "pagination_info": {
            "page_offset": offset,
            "page_size": page_size,
            "total_pages": total_pages,
            "total_records": total_pages * page_size,
        },
    }


def paged(total_pages: int):
    def handler(request: Recorded) -> Reply:
        pagination = request.json()["pagination"]
        offset, size = pagination["page_offset"], pagination["page_size"]
        items = [opportunity((offset - 1) * size + k) for k in range(size)]
        return Reply(200, page(items, offset, total_pages, size))

    return handler


def client(server, http: HttpSettings) -> SimplerGrantsClient:
    return SimplerGrantsClient(API_KEY, server.base_url, http)


def assert_no_key(error: BaseException) -> None:
    """Neither the message nor anything chained to it carries the key."""
    rendered = "".join(traceback.format_exception(error))
    assert API_KEY not in rendered
    assert API_KEY not in repr(error)


# --- envelope and normaliser -----------------------------------------------------------------


def test_sample_response(samples: Path):
    items, total_pages = simpler_items(
        json.loads((samples / "simpler_grants_search.json").read_text())
    )
    assert total_pages == 1
    records = {r.opportunity_id: r for r in map(normalise_simpler_opportunity, items)}
    assert set(records) == {"360103", "360106", "360202", "360501"}
    opioid = records["360103"]
    assert opioid.provider == SIMPLER_GRANTS
    assert opioid.source_id == "8c1f3d52-6a0e-4f7b-9d3a-2e5b7c9a0103"
    assert (
        opioid.url == "https://simpler.grants.gov/opportunity/8c1f3d52-6a0e-4f7b-9d3a-2e5b7c9a0103"
    )
    assert opioid.opportunity_number == "HHS-2027-HRSA-RCORP-0033"
    assert (opioid.agency, opioid.agency_code) == (
        "Health Resources and Services Administration",
        "HHS-HRSA",
    )
    assert opioid.posted_date == dt.date(2026, 10, 1)
    assert opioid.close_date == dt.date(2027, 5, 12)
    assert opioid.award_ceiling == 1500000.0 and opioid.award_floor is None
    assert opioid.assistance_listings == ("93.912",)
    assert opioid.category == "Health"
    assert opioid.eligibility == (
        "Nonprofits having a 501(c)(3) status with the IRS; Nonprofits that do not have a "
        "501(c)(3) status; Native American tribal governments"
    )
    assert "<p>" not in opioid.description
    assert opioid.source_updated_at == dt.datetime(2026, 11, 27, 16, 45, tzinfo=dt.UTC)
    assert (opioid.status, opioid.record_type) == ("posted", "synopsis")


def test_sample_is_a_newer_version_of_an_extract_record(samples: Path):
    with open_extract(samples / "grants_gov_extract.xml") as stream:
        extract = {
            r.opportunity_id: r for r in map(normalise_extract_record, iter_extract_records(stream))
        }
    items, _ = simpler_items(json.loads((samples / "simpler_grants_search.json").read_text()))
    simpler = {r.opportunity_id: r for r in map(normalise_simpler_opportunity, items)}
    old, new = extract["360103"], simpler["360103"]
    assert new.close_date > old.close_date
    assert new.award_ceiling > old.award_ceiling
    assert new.source_updated_at > old.source_updated_at
    # The same grant described the same way by both sources where nothing changed.
    same_old, same_new = extract["360106"], simpler["360106"]
    for field in ("title", "eligibility", "category", "close_date", "award_ceiling", "award_floor"):
        assert getattr(same_old, field) == getattr(same_new, field), field
    assert "360501" not in extract


def test_sample_forecast_uses_forecasted_dates(samples: Path):
    items, _ = simpler_items(json.loads((samples / "simpler_grants_search.json").read_text()))
    forecast = {r.opportunity_id: r for r in map(normalise_simpler_opportunity, items)}["360202"]
    assert (forecast.record_type, forecast.status) == ("forecast", "forecasted")
    assert forecast.posted_date == dt.date(2027, 6, 1)
    assert forecast.close_date == dt.date(2027, 11, 16)
    assert forecast.award_floor is None  # 0


def test_applicant_types_in_the_words_of_the_extract():
    assert (
        applicant_type_words(
            [
                "nonprofits_non_higher_education_with_501c3",
                "nonprofits_non_higher_educating_with_501c3",  # the API's own spelling
                "small_businesses",
                "brand_new_type",
            ]
        )
        == "Nonprofits having a 501(c)(3) status with the IRS; Small businesses; brand new type"
    )


def test_first_api_version_without_legacy_id():
    record = normalise_simpler_opportunity(
        {"opportunity_id": 41234, "opportunity_title": "Old shape", "summary": None}
    )
    assert (record.source_id, record.opportunity_id) == ("41234", "41234")
    assert record.posted_date is None and record.source_updated_at is None


def test_opportunity_without_title_or_id():
    with pytest.raises(GrantParseError, match="has no title"):
        normalise_simpler_opportunity({"opportunity_id": "u-1", "opportunity_title": None})
    with pytest.raises(GrantParseError, match="has no opportunity_id"):
        normalise_simpler_opportunity({"opportunity_title": "T"})


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (
            {"message": "Invalid API key", "status_code": 401, "data": {}},
            "status_code 401, message 'Invalid API key'",
        ),
        (
            {"message": "Validation error", "errors": [{"field": "pagination.page_size"}]},
            "errors [{'field': 'pagination.page_size'}]",
        ),
        ({"data": []}, "keys ['data']"),
        ("nope", "expected a JSON object, got str"),
    ],
)
def test_envelope_errors_name_what_came_back(body, fragment):
    with pytest.raises(GrantParseError) as failure:
        simpler_items(body)
    assert fragment in str(failure.value)


# --- the client over HTTP --------------------------------------------------------------------


def test_pages_then_stops_at_total_pages(http_server, fast_http):
    http_server.handle("POST", SIMPLER_SEARCH_PATH, paged(total_pages=2))
    items = list(client(http_server, fast_http).search("coastal resilience", page_size=2))
    assert len(items) == 4
    requests = http_server.requests_to(SIMPLER_SEARCH_PATH)
    assert len(requests) == 2
    first, second = (r.json() for r in requests)
    assert first == {
        "query": "coastal resilience",
        "filters": {"opportunity_status": {"one_of": ["forecasted", "posted"]}},
        "pagination": {
            "page_offset": 1,
            "page_size": 2,
            "sort_order": [{"order_by": "post_date", "sort_direction": "descending"}],
        },
    }
    assert second["pagination"]["page_offset"] == 2
    assert all(r.headers["X-API-Key"] == API_KEY for r in requests)


def test_max_pages_and_max_records(http_server, fast_http):
    http_server.handle("POST", SIMPLER_SEARCH_PATH, paged(total_pages=50))
    items = list(client(http_server, fast_http).search("x", page_size=2, max_pages=3))
    assert len(items) == 6
    assert len(http_server.requests_to(SIMPLER_SEARCH_PATH)) == 3
    items = list(client(http_server, fast_http).search("x", page_size=100, max_records=5))
    assert len(items) == 5
    assert http_server.requests_to(SIMPLER_SEARCH_PATH)[-1].json()["pagination"]["page_size"] == 5


def test_stops_on_an_empty_page(http_server, fast_http):
    http_server.add(
        "POST",
        SIMPLER_SEARCH_PATH,
        Reply(200, page([opportunity(1)], 1, 9)),
        Reply(200, page([], 2, 9)),
    )
    assert len(list(client(http_server, fast_http).search("x"))) == 1
    assert len(http_server.requests_to(SIMPLER_SEARCH_PATH)) == 2


def test_empty_query_is_left_out_and_long_queries_clipped(http_server, fast_http):
    http_server.add("POST", SIMPLER_SEARCH_PATH, Reply(200, page([], 1, 0)))
    list(client(http_server, fast_http).search("", statuses=("posted",)))
    body = http_server.requests_to(SIMPLER_SEARCH_PATH)[-1].json()
    assert "query" not in body
    assert body["filters"]["opportunity_status"]["one_of"] == ["posted"]
    list(client(http_server, fast_http).search("community health " * 20))
    query = http_server.requests_to(SIMPLER_SEARCH_PATH)[-1].json()["query"]
    assert len(query) <= 100 and query.endswith(("community", "health"))


def test_429_with_retry_after_then_ok(http_server, fast_http, sleeps):
    http_server.add(
        "POST",
        SIMPLER_SEARCH_PATH,
        Reply(429, {"message": "Too many requests"}, {"Retry-After": "3"}),
        Reply(200, page([opportunity(1)], 1, 1)),
    )
    assert len(list(client(http_server, fast_http).search("x"))) == 1
    assert sleeps.waits == [3.0]


def test_500_then_ok(http_server, fast_http, sleeps):
    http_server.add(
        "POST",
        SIMPLER_SEARCH_PATH,
        Reply(500, {"message": "Internal error"}),
        Reply(200, page([opportunity(1)], 1, 1)),
    )
    assert len(list(client(http_server, fast_http).search("x"))) == 1
    assert len(sleeps.waits) == 1


def test_timeout_then_ok(http_server, impatient_http):
    http_server.add(
        "POST",
        SIMPLER_SEARCH_PATH,
        Reply(200, page([opportunity(9)], 1, 1), delay_s=HELD_BACK_S),
        Reply(200, page([opportunity(1)], 1, 1)),
    )
    items = list(client(http_server, impatient_http).search("x"))
    assert [i["legacy_opportunity_id"] for i in items] == [360701]


def test_html_page_with_status_200(http_server, fast_http):
    http_server.add(
        "POST",
        SIMPLER_SEARCH_PATH,
        Reply(
            200,
            "<html><head><title>Bad Gateway</title></head></html>",
            {"Content-Type": "text/html"},
        ),
    )
    with pytest.raises(
        ProviderError, match="expected JSON, got text/html: HTML page 'Bad Gateway'"
    ) as failure:
        list(client(http_server, fast_http).search("x"))
    assert_no_key(failure.value)


def test_rejected_key_is_never_echoed(http_server, fast_http, caplog):
    http_server.add(
        "POST",
        SIMPLER_SEARCH_PATH,
        Reply(401, {"message": f"API key {API_KEY} is not valid", "status_code": 401}),
    )
    with caplog.at_level(logging.DEBUG), pytest.raises(ProviderError) as failure:
        list(client(http_server, fast_http).search("x"))
    error = failure.value
    assert error.status == 401 and not error.retryable
    assert "HTTP 401" in str(error) and "***" in str(error)
    assert_no_key(error)
    assert API_KEY not in caplog.text


def test_key_echoed_in_an_error_envelope_is_scrubbed(http_server, fast_http):
    http_server.add(
        "POST",
        SIMPLER_SEARCH_PATH,
        Reply(200, {"message": f"quota exceeded for {API_KEY}", "status_code": 429, "data": {}}),
    )
    with pytest.raises(GrantParseError, match="quota exceeded for \\*\\*\\*") as failure:
        list(client(http_server, fast_http).search("x"))
    assert_no_key(failure.value)


def test_retries_log_nothing_secret(http_server, fast_http, caplog):
    http_server.add(
        "POST",
        SIMPLER_SEARCH_PATH,
        Reply(503, f"upstream refused key {API_KEY}"),
        Reply(200, page([opportunity(1)], 1, 1)),
    )
    with caplog.at_level(logging.DEBUG):
        assert len(list(client(http_server, fast_http).search("x"))) == 1
    assert "HTTP 503" in caplog.text
    assert API_KEY not in caplog.text


def test_a_key_is_required():
    with pytest.raises(ValueError, match="SIMPLER_GRANTS_API_KEY"):
        SimplerGrantsClient("")
