"""Parsers on the real API responses and feeds in ../shared/realdata, and on our samples."""

import datetime as dt
import json

import pytest

from pipeline.lib.http import ProviderError
from pipeline.lib.news.parsers import (
    GOOGLE_CSE,
    NEWSAPI,
    RSS,
    SERPER,
    feed_items,
    google_cse_items,
    newsapi_items,
    parse_item,
    serper_items,
)
from pipeline.lib.settings import REPO_ROOT

NOW = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)
SAMPLES = REPO_ROOT / "data" / "samples" / "news"

# feed file -> (entries, first title starts with)
REAL_FEEDS = {
    "craigslist_rss1_rdf.xml": (25, "Bright, Spacious"),
    "feedburner_atom_with_stylesheet.xml": (25, "AdWords and DFP"),
    "google_alerts_atom.xml": (20, "Report offers Prediction"),
    "guardian_us_rss2.xml": (55, "Trump State of the Union"),
    "heise_developer_atom.xml": (15, "Java-Anwendungsserver"),
    "huffpost_canada_rss2.xml": (2, "Winnipeg High School"),
    "jn_pt_rss2_iso-8859-1.xml": (40, "Mãe de utente"),
    "qq_news_rss2_gb2312.xml": (20, "习近平"),
    "reddit_frontpage_rss2_oneline.xml": (24, "The water is too deep"),
    "techcrunch_rss2_leading_newline.xml": (20, "Angie’s List"),
    "uol_noticias_rss_undeclared_latin1.xml": (15, "Ibope: Bolsonaro"),
}


def test_every_real_feed_is_covered(realdata):
    assert {p.name for p in (realdata / "feeds").iterdir()} == set(REAL_FEEDS)


@pytest.mark.parametrize("name", sorted(REAL_FEEDS))
def test_real_feeds_parse(realdata, name):
    entries, first_title = REAL_FEEDS[name]
    items = feed_items((realdata / "feeds" / name).read_bytes(), feed_url=name)
    assert len(items) == entries
    articles = [parse_item(RSS, item, fetched_at=NOW) for item in items]
    assert all(a is not None for a in articles)
    assert articles[0].title.startswith(first_title)
    assert all(a.url.startswith("http") for a in articles)
    # Every real feed's dates parse, including gb2312 '2018-09-18 14:38:10' and UOL's
    # Portuguese 'Seg, 24 Set 2018'.
    assert all(a.published_at is not None for a in articles), name
    assert all(a.published_at < NOW for a in articles)
    # No mojibake from a wrong encoding guess.
    assert not any("Ã" in a.title for a in articles)


def test_latin1_feed_keeps_accents(realdata):
    items = feed_items((realdata / "feeds" / "uol_noticias_rss_undeclared_latin1.xml").read_bytes())
    assert any("ç" in i["title"] or "ã" in i["title"] for i in items)


def test_google_alert_links_are_unwrapped_by_canonicalisation(realdata):
    from pipeline.lib.news.urls import canonical_url

    items = feed_items((realdata / "feeds" / "google_alerts_atom.xml").read_bytes())
    canonical = [canonical_url(i["link"]) for i in items]
    assert not any("google.com/url" in url for url in canonical)
    # HTML in Google Alert titles ('<b>Slack</b>') is removed.
    assert "<b>" not in parse_item(RSS, items[0], fetched_at=NOW).title


def test_real_newsapi_response(realdata):
    body = json.loads((realdata / "api" / "newsapi_v2_everything.json").read_text())
    items = newsapi_items(body)
    assert len(items) == 20
    articles = [parse_item(NEWSAPI, item, fetched_at=NOW) for item in items]
    assert all(a and a.published_at and a.published_at.year == 2020 for a in articles)
    assert articles[0].source_name == "Mashable"
    assert not any("chars]" in a.description for a in articles)


def test_real_serper_response_relative_dates(realdata):
    body = json.loads((realdata / "api" / "serper_news_response.json").read_text())
    items = serper_items(body)
    assert len(items) == 10
    articles = [parse_item(SERPER, item, fetched_at=NOW) for item in items]
    assert articles[0].published_at == NOW - dt.timedelta(hours=6)
    assert all(a.published_at is not None for a in articles)
    assert articles[0].source_name == "Yahoo Finance"


def test_real_google_cse_response(realdata):
    body = json.loads((realdata / "api" / "google_cse_response.json").read_text())
    items = google_cse_items(body)
    assert len(items) == 10
    articles = [parse_item(GOOGLE_CSE, item, fetched_at=NOW) for item in items]
    assert all(a is not None and a.url.startswith("http") for a in articles)


def test_serper_search_response_is_not_a_news_response(realdata):
    body = json.loads((realdata / "api" / "serper_search_response.json").read_text())
    with pytest.raises(ProviderError, match="no 'news' list"):
        serper_items(body)


@pytest.mark.parametrize(
    ("provider_parser", "path"),
    [
        (newsapi_items, "newsapi_everything.json"),
        (serper_items, "serper_news.json"),
        (google_cse_items, "google_cse.json"),
    ],
)
def test_bundled_samples_parse(provider_parser, path):
    assert provider_parser(json.loads((SAMPLES / path).read_text()))


@pytest.mark.parametrize("name", ["northwind_press.xml", "helix_newsroom.atom", "quarry_blog.xml"])
def test_bundled_feeds_parse(name):
    items = feed_items((SAMPLES / "feeds" / name).read_bytes())
    assert len(items) == 2
    assert all(parse_item(RSS, i, fetched_at=NOW).published_at for i in items)


def test_newsapi_error_body():
    body = {"status": "error", "code": "apiKeyExhausted", "message": "You have made too many."}
    with pytest.raises(ProviderError, match="apiKeyExhausted") as raised:
        newsapi_items(body)
    assert not raised.value.retryable
    with pytest.raises(ProviderError) as raised:
        newsapi_items({"status": "error", "code": "rateLimited", "message": "slow down"})
    assert raised.value.retryable


def test_serper_out_of_credits():
    with pytest.raises(ProviderError, match="Not enough credits"):
        serper_items({"message": "Not enough credits", "statusCode": 400})


def test_google_cse_error_and_empty():
    with pytest.raises(ProviderError, match="Quota exceeded"):
        google_cse_items({"error": {"code": 429, "message": "Quota exceeded for quota metric"}})
    assert google_cse_items({"kind": "customsearch#search", "searchInformation": {}}) == []


@pytest.mark.parametrize("content", [b"", b"<html><body>Not a feed</body></html>", b"{}"])
def test_not_a_feed(content):
    with pytest.raises(ProviderError, match="not a readable feed"):
        feed_items(content, feed_url="https://example.org/feed")


def test_item_without_url_or_title_is_skipped():
    assert parse_item(NEWSAPI, {"title": None, "url": None}, fetched_at=NOW) is None
    with pytest.raises(ValueError, match="unknown news provider"):
        parse_item("bing", {}, fetched_at=NOW)
