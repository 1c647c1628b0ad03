"""Live source clients against a loopback server: requests, error codes, 429, 5xx, timeouts,
and one failing source never stopping the others."""

import datetime as dt
import json

import pytest

from pipeline.lib.http import HttpSettings
from pipeline.lib.news.clients import CrmClient
from pipeline.lib.news.sources import (
    FeedSource,
    GoogleSearchSource,
    NewsAPISource,
    SerperSource,
    collect,
    search_query,
)
from pipeline.lib.settings import REPO_ROOT
from pipeline_tests.fakes.http_server import Reply

NOW = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)
DAY = NOW.date()
CLIENT = CrmClient(
    client_id="acme-northwind",
    tenant_id="acme",
    name="Northwind Robotics",
    aliases=("Northwind",),
    domain="northwindrobotics.com",
)
SAMPLES = REPO_ROOT / "data" / "samples" / "news"
FAST = HttpSettings(timeout_s=0.5, max_attempts=2, backoff_s=0.01, sleep=lambda s: None)


def newsapi_body() -> dict:
    return json.loads((SAMPLES / "newsapi_everything.json").read_text())


def test_search_query_quotes_name_and_aliases():
    assert search_query(CLIENT) == '"Northwind Robotics" OR "Northwind"'


def test_newsapi_request_and_parse(http_server):
    http_server.add("GET", "/v2/everything", Reply(200, newsapi_body()))
    outcome = collect(
        CLIENT, NewsAPISource("k-123", http_server.base_url, FAST), partition_date=DAY, now=NOW
    )
    assert outcome.fetch.status == "ok"
    assert outcome.fetch.items == 11
    request = http_server.requests_to("/v2/everything")[0]
    assert request.headers["X-Api-Key"] == "k-123"
    assert request.query["q"] == ['"Northwind Robotics" OR "Northwind"']
    assert all(e.tenant_id == "acme" and e.scope == "acme-northwind" for e in outcome.events)
    assert not any(e.is_sample for e in outcome.events)
    # The key never reaches the stored source URL.
    assert all("k-123" not in (e.source_url or "") for e in outcome.events)


@pytest.mark.parametrize(
    ("status", "code", "retryable"),
    [
        (401, "apiKeyInvalid", False),
        (401, "apiKeyDisabled", False),
        (429, "apiKeyExhausted", False),
        (400, "parameterInvalid", False),
        (429, "rateLimited", True),
    ],
)
def test_newsapi_error_codes_are_recorded(http_server, status, code, retryable):
    http_server.add(
        "GET",
        "/v2/everything",
        Reply(status, {"status": "error", "code": code, "message": f"{code} message"}),
    )
    outcome = collect(
        CLIENT, NewsAPISource("secret-key", http_server.base_url, FAST), partition_date=DAY, now=NOW
    )
    assert outcome.fetch.status == "error"
    assert code in outcome.fetch.error
    assert "secret-key" not in outcome.fetch.error
    assert outcome.events == []


def test_newsapi_status_error_with_http_200(http_server):
    http_server.add(
        "GET",
        "/v2/everything",
        Reply(200, {"status": "error", "code": "unexpectedError", "message": "oops"}),
    )
    outcome = collect(
        CLIENT, NewsAPISource("k", http_server.base_url, FAST), partition_date=DAY, now=NOW
    )
    assert outcome.fetch.status == "error" and "unexpectedError" in outcome.fetch.error


def test_429_then_success_is_retried(http_server):
    http_server.add(
        "GET",
        "/v2/everything",
        Reply(
            429, {"status": "error", "code": "rateLimited", "message": "slow"}, {"Retry-After": "0"}
        ),
        Reply(200, newsapi_body()),
    )
    outcome = collect(
        CLIENT, NewsAPISource("k", http_server.base_url, FAST), partition_date=DAY, now=NOW
    )
    assert outcome.fetch.status == "ok"
    assert len(http_server.requests_to("/v2/everything")) == 2


def test_5xx_exhausts_retries(http_server):
    http_server.add(
        "GET", "/v2/everything", Reply(503, "<html><title>Service Unavailable</title></html>")
    )
    outcome = collect(
        CLIENT, NewsAPISource("k", http_server.base_url, FAST), partition_date=DAY, now=NOW
    )
    assert outcome.fetch.status == "error"
    assert "HTTP 503" in outcome.fetch.error and "Service Unavailable" in outcome.fetch.error
    assert len(http_server.requests_to("/v2/everything")) == FAST.max_attempts


def test_timeout_is_an_error_not_a_hang(http_server):
    http_server.add("GET", "/v2/everything", Reply(200, newsapi_body(), delay_s=2))
    outcome = collect(
        CLIENT, NewsAPISource("k", http_server.base_url, FAST), partition_date=DAY, now=NOW
    )
    assert outcome.fetch.status == "error" and "timed out" in outcome.fetch.error


def test_html_instead_of_json(http_server):
    http_server.add(
        "GET",
        "/v2/everything",
        Reply(200, "<html><title>Captive portal</title></html>", {"Content-Type": "text/html"}),
    )
    outcome = collect(
        CLIENT, NewsAPISource("k", http_server.base_url, FAST), partition_date=DAY, now=NOW
    )
    assert outcome.fetch.status == "error" and "expected JSON" in outcome.fetch.error


def test_serper_request_and_credits_exhausted(http_server):
    body = json.loads((SAMPLES / "serper_news.json").read_text())
    http_server.add(
        "POST",
        "/news",
        Reply(200, body),
        Reply(400, {"message": "Not enough credits", "statusCode": 400}),
    )
    source = SerperSource("serper-key", http_server.base_url, FAST)
    ok = collect(CLIENT, source, partition_date=DAY, now=NOW)
    assert ok.fetch.status == "ok" and ok.fetch.items == len(body["news"])
    request = http_server.requests_to("/news")[0]
    assert request.headers["X-API-KEY"] == "serper-key"
    assert request.json()["q"] == '"Northwind Robotics" OR "Northwind"'
    failed = collect(CLIENT, source, partition_date=DAY, now=NOW)
    assert failed.fetch.status == "error" and "Not enough credits" in failed.fetch.error


def test_google_cse_request_and_quota(http_server):
    body = json.loads((SAMPLES / "google_cse.json").read_text())
    http_server.add(
        "GET",
        "/customsearch/v1",
        Reply(200, body),
        Reply(403, {"error": {"code": 403, "message": "Daily Limit Exceeded"}}),
    )
    source = GoogleSearchSource("g-key", "engine-1", http_server.base_url, FAST)
    ok = collect(CLIENT, source, partition_date=DAY, now=NOW)
    assert ok.fetch.status == "ok" and ok.fetch.items == len(body["items"])
    request = http_server.requests_to("/customsearch/v1")[0]
    assert request.query["cx"] == ["engine-1"] and request.query["key"] == ["g-key"]
    assert all("g-key" not in e.source_url for e in ok.events)
    failed = collect(CLIENT, source, partition_date=DAY, now=NOW)
    assert failed.fetch.status == "error" and "Daily Limit Exceeded" in failed.fetch.error
    assert "g-key" not in failed.fetch.error


def test_live_feed_and_broken_feed(http_server, realdata):
    http_server.add(
        "GET",
        "/feed.xml",
        Reply(
            200,
            (realdata / "feeds" / "techcrunch_rss2_leading_newline.xml").read_bytes(),
            {"Content-Type": "application/rss+xml"},
        ),
    )
    http_server.add(
        "GET",
        "/broken.xml",
        Reply(200, b"<html><body>moved</body></html>", {"Content-Type": "text/html"}),
    )
    ok = collect(
        CLIENT,
        FeedSource(f"{http_server.base_url}/feed.xml", SAMPLES / "feeds", FAST),
        partition_date=DAY,
        now=NOW,
    )
    assert ok.fetch.status == "ok" and ok.fetch.items == 20 and not ok.fetch.is_sample
    broken = collect(
        CLIENT,
        FeedSource(f"{http_server.base_url}/broken.xml", SAMPLES / "feeds", FAST),
        partition_date=DAY,
        now=NOW,
    )
    assert broken.fetch.status == "error" and "not a readable feed" in broken.fetch.error
    missing = collect(
        CLIENT,
        FeedSource(f"{http_server.base_url}/gone.xml", SAMPLES / "feeds", FAST),
        partition_date=DAY,
        now=NOW,
    )
    assert missing.fetch.status == "error" and "HTTP 404" in missing.fetch.error


def test_sample_feed_outside_samples_is_refused():
    outcome = collect(
        CLIENT, FeedSource("../clients.csv", SAMPLES / "feeds"), partition_date=DAY, now=NOW
    )
    assert outcome.fetch.status == "error" and "outside" in outcome.fetch.error
