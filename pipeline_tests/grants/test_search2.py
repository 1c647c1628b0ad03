"""Grants.gov search2: the envelope, the hit normaliser and the paging client against a real
loopback server through the real httpx code."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from pipeline.lib.grants.models import GRANTS_GOV_SEARCH, GrantParseError
from pipeline.lib.grants.search2 import (
    SEARCH2_PATH,
    Search2Client,
    normalise_search2_hit,
    search2_hits,
)
from pipeline.lib.http import ProviderError
from pipeline_tests.fakes.http_server import Recorded, Reply
from pipeline_tests.grants.conftest import HELD_BACK_S

HTML_PAGE = (
    "<html><head><title>Grants.gov - Scheduled Maintenance</title></head>"
    "<body>We will be back soon.</body></html>"
)


def hit(n: int) -> dict:
    return {
        "id": str(360600 + n),
        "number": f"HHS-2027-HRSA-TEST-{n:04d}",
        "title": f"Test opportunity {n}",
        "agencyCode": "HHS-HRSA",
        "agencyName": "Health Resources and Services Administration",
        "openDate": "11/02/2026",
        "closeDate": "03/01/2027",
        "oppStatus": "posted",
        "docType": "synopsis",
        "alnist": ["93.912"],
    }


def envelope(hits: list[dict], total: int, start: int = 0) -> dict:
    return {
        "errorcode": 0,
        "msg": "Webservice Succeeds",
        "data": {"hitCount": total, "startRecord": start, "oppHits": hits},
    }


def paged(total: int, *, empty_after: int | None = None):
    """A handler answering each startRecordNum with the next slice of `total` hits."""

    def handler(request: Recorded) -> Reply:
        body = request.json()
        start, rows = body["startRecordNum"], body["rows"]
        if empty_after is not None and start >= empty_after:
            return Reply(200, envelope([], total, start))
        return Reply(200, envelope([hit(n) for n in range(start, min(start + rows, total))], total))

    return handler


# --- envelope and normaliser -----------------------------------------------------------------


def test_sample_response(samples: Path):
    hits, total = search2_hits(json.loads((samples / "grants_gov_search2.json").read_text()))
    assert total == 4
    records = {r.source_id: r for r in map(normalise_search2_hit, hits)}
    assert set(records) == {"360101", "360106", "360201", "360401"}
    stem = records["360101"]
    assert stem.provider == GRANTS_GOV_SEARCH
    assert stem.opportunity_id == "360101"
    assert stem.opportunity_number == "ED-2027-OESE-0117"
    assert (stem.agency, stem.agency_code) == ("Department of Education", "ED")
    assert stem.assistance_listings == ("84.287",)
    assert stem.posted_date == dt.date(2026, 11, 3)
    assert stem.close_date == dt.date(2027, 3, 15)
    assert (stem.status, stem.record_type) == ("posted", "synopsis")
    assert stem.url == "https://www.grants.gov/search-results-detail/360101"
    # The other spelling: agency + cfdaList.
    coastal = records["360106"]
    assert coastal.agency == "National Oceanic and Atmospheric Administration"
    assert coastal.assistance_listings == ("11.463",)
    forecast = records["360201"]
    assert (forecast.record_type, forecast.status, forecast.close_date) == (
        "forecast",
        "forecasted",
        None,
    )
    assert records["360401"].assistance_listings == ("93.732", "93.912")


def test_errorcode_envelope_is_a_clear_error():
    with pytest.raises(GrantParseError, match="errorcode 500: Invalid search parameters"):
        search2_hits({"errorcode": 500, "msg": "Invalid search parameters", "data": {}})


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (
            {"errorcode": 0, "msg": "ok"},
            "no data.oppHits list (keys ['errorcode', 'msg']; msg: ok)",
        ),
        ({"errorcode": 0, "data": {"hitCount": 3}}, "data has keys ['hitCount']"),
        ([1, 2], "expected a JSON object, got list"),
    ],
)
def test_missing_hits_names_what_came_back(body, fragment):
    with pytest.raises(GrantParseError) as failure:
        search2_hits(body)
    assert fragment in str(failure.value)


def test_hit_without_title_or_id():
    with pytest.raises(GrantParseError, match="hit 5 has no title"):
        normalise_search2_hit({"id": 5, "title": ""})
    with pytest.raises(GrantParseError, match="has no id"):
        normalise_search2_hit({"title": "Something"})


def test_hit_dates_and_listing_shapes():
    record = normalise_search2_hit(
        {"id": 7, "title": "T", "openDate": "2/30/2027", "closeDate": "", "cfdaList": "10.1, 10.2"}
    )
    assert record.source_id == "7" and record.opportunity_id == "7"
    assert record.posted_date is None and record.close_date is None
    assert record.assistance_listings == ("10.1", "10.2")
    assert record.status is None


# --- the client over HTTP --------------------------------------------------------------------


def test_pages_until_hit_count(http_server, fast_http):
    http_server.handle("POST", SEARCH2_PATH, paged(4))
    client = Search2Client(http_server.base_url, fast_http)
    hits = list(client.search("youth STEM", rows=2))
    assert [h["id"] for h in hits] == ["360600", "360601", "360602", "360603"]
    requests = http_server.requests_to(SEARCH2_PATH)
    assert [r.json() for r in requests] == [
        {
            "keyword": "youth STEM",
            "oppStatuses": "forecasted|posted",
            "rows": 2,
            "startRecordNum": 0,
        },
        {
            "keyword": "youth STEM",
            "oppStatuses": "forecasted|posted",
            "rows": 2,
            "startRecordNum": 2,
        },
    ]
    assert requests[0].headers["Content-Type"] == "application/json"


def test_stops_on_an_empty_page(http_server, fast_http):
    http_server.handle("POST", SEARCH2_PATH, paged(10, empty_after=2))
    hits = list(Search2Client(http_server.base_url, fast_http).search("x", rows=2))
    assert len(hits) == 2
    assert len(http_server.requests_to(SEARCH2_PATH)) == 2


def test_stops_at_max_records(http_server, fast_http):
    http_server.handle("POST", SEARCH2_PATH, paged(100))
    client = Search2Client(http_server.base_url, fast_http)
    hits = list(client.search("x", statuses=("posted",), rows=2, max_records=3))
    assert len(hits) == 3
    requests = http_server.requests_to(SEARCH2_PATH)
    assert len(requests) == 2
    assert requests[0].json()["oppStatuses"] == "posted"


def test_429_with_retry_after_then_ok(http_server, fast_http, sleeps):
    http_server.add(
        "POST",
        SEARCH2_PATH,
        Reply(429, {"message": "slow down"}, {"Retry-After": "7"}),
        Reply(200, envelope([hit(1)], 1)),
    )
    hits = list(Search2Client(http_server.base_url, fast_http).search("x"))
    assert [h["id"] for h in hits] == ["360601"]
    assert sleeps.waits == [7.0]


def test_500_then_ok(http_server, fast_http, sleeps):
    http_server.add(
        "POST", SEARCH2_PATH, Reply(500, "Internal Server Error"), Reply(200, envelope([hit(1)], 1))
    )
    assert len(list(Search2Client(http_server.base_url, fast_http).search("x"))) == 1
    assert len(sleeps.waits) == 1


def test_timeout_then_ok(http_server, impatient_http, sleeps):
    http_server.add(
        "POST",
        SEARCH2_PATH,
        Reply(200, envelope([hit(9)], 1), delay_s=HELD_BACK_S),
        Reply(200, envelope([hit(1)], 1)),
    )
    hits = list(Search2Client(http_server.base_url, impatient_http).search("x"))
    assert [h["id"] for h in hits] == ["360601"]
    assert len(sleeps.waits) == 1


def test_timeouts_until_attempts_run_out(http_server, impatient_http):
    http_server.add("POST", SEARCH2_PATH, Reply(200, envelope([], 0), delay_s=HELD_BACK_S))
    with pytest.raises(ProviderError, match="timed out after 2 attempts") as failure:
        list(Search2Client(http_server.base_url, impatient_http).search("x"))
    assert failure.value.retryable


def test_html_page_with_status_200_is_a_clear_error(http_server, fast_http):
    http_server.add(
        "POST", SEARCH2_PATH, Reply(200, HTML_PAGE, {"Content-Type": "text/html; charset=utf-8"})
    )
    with pytest.raises(ProviderError) as failure:
        list(Search2Client(http_server.base_url, fast_http).search("x"))
    assert "expected JSON, got text/html" in str(failure.value)
    assert "Grants.gov - Scheduled Maintenance" in str(failure.value)


def test_errorcode_over_http(http_server, fast_http):
    http_server.add(
        "POST", SEARCH2_PATH, Reply(200, {"errorcode": 1, "msg": "Search service unavailable"})
    )
    with pytest.raises(GrantParseError, match="errorcode 1: Search service unavailable"):
        list(Search2Client(http_server.base_url, fast_http).search("x"))


def test_client_error_is_not_retried(http_server, fast_http, sleeps):
    http_server.add("POST", SEARCH2_PATH, Reply(400, {"message": "bad request"}))
    with pytest.raises(ProviderError, match="HTTP 400") as failure:
        list(Search2Client(http_server.base_url, fast_http).search("x"))
    assert not failure.value.retryable
    assert sleeps.waits == []
    assert len(http_server.requests_to(SEARCH2_PATH)) == 1
