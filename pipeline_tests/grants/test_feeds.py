"""Funders' RSS/Atom feeds as grant records: the samples, real feeds from ../shared/realdata,
and bodies that are not feeds."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from pipeline.lib.grants.feeds import (
    close_date_in,
    grant_feed_items,
    grants_gov_opportunity_id,
    normalise_feed_item,
    opportunity_number_in,
)
from pipeline.lib.grants.models import GRANT_FEED, GrantParseError, NotAGrantError

TAG = re.compile(r"</?[a-zA-Z][^>]*>")
REALDATA_FEEDS = [
    "craigslist_rss1_rdf.xml",
    "feedburner_atom_with_stylesheet.xml",
    "google_alerts_atom.xml",
    "guardian_us_rss2.xml",
    "heise_developer_atom.xml",
    "huffpost_canada_rss2.xml",
    "jn_pt_rss2_iso-8859-1.xml",
    "qq_news_rss2_gb2312.xml",
    "reddit_frontpage_rss2_oneline.xml",
    "techcrunch_rss2_leading_newline.xml",
    "uol_noticias_rss_undeclared_latin1.xml",
]


def feed_records(path: Path) -> list:
    """The entries that announce funding; news posts of a funder are told apart."""
    records = []
    for item in grant_feed_items(path.read_bytes(), path.name):
        try:
            records.append(normalise_feed_item(item))
        except NotAGrantError:
            continue
    return records


def test_news_posts_of_a_funder_are_not_grants(samples: Path):
    items = grant_feed_items((samples / "feeds" / "community_foundation.xml").read_bytes(), "cf")
    report = next(i for i in items if "annual report" in i["title"])
    with pytest.raises(NotAGrantError, match="does not announce funding"):
        normalise_feed_item(report)
    # A post that names a Grants.gov opportunity is kept: it joins that grant.
    webinar = grant_feed_items((samples / "feeds" / "green_futures_fund.atom").read_bytes(), "g")
    assert normalise_feed_item(next(i for i in webinar if "Webinar" in i["title"])).opportunity_id


def test_community_foundation_rss(samples: Path):
    records = feed_records(samples / "feeds" / "community_foundation.xml")
    assert len(records) == 3  # the fourth item is the annual report
    assert {r.provider for r in records} == {GRANT_FEED}
    assert {r.record_type for r in records} == {"feed_item"}
    by_id = {r.source_id: r for r in records}
    youth = by_id["orvcf-youth-learning-2027"]
    assert youth.title == "Spring 2027 Youth Learning Grants now open"
    assert youth.agency == "Ohio River Valley Community Foundation: Grant Opportunities"
    assert youth.url == "https://www.example.org/orvcf/grants/youth-learning-2027"
    assert youth.posted_date == dt.date(2026, 11, 16)
    assert youth.close_date == dt.date(2027, 3, 31)  # "Closing Date: 03/31/2027"
    assert youth.description.startswith("Grants of up to $40,000 for after-school STEM")
    assert "<" not in youth.description
    assert youth.opportunity_id is None and youth.opportunity_number is None
    federal = by_id["orvcf-federal-360101"]
    assert federal.opportunity_id == "360101"  # view-opportunity.html?oppId=360101
    assert federal.opportunity_number == "ED-2027-OESE-0117"
    assert federal.close_date == dt.date(2027, 3, 15)  # "Close date: 2027-03-15."
    health = by_id["orvcf-health-capacity-2027"]
    assert health.close_date == dt.date(2027, 2, 26)  # "Applications due 2027-02-26."
    assert "<b>" not in health.description and "$5,000 to $15,000" in health.description


def test_green_futures_atom(samples: Path):
    records = feed_records(samples / "feeds" / "green_futures_fund.atom")
    assert len(records) == 3
    coastal, monitoring, webinar = records
    assert coastal.source_id == "urn:uuid:7a1d0c3e-8f42-4b6a-b1c9-coastal-2027"
    assert coastal.agency == "Green Futures Fund: Open Calls"
    assert coastal.posted_date == dt.date(2026, 11, 23)
    assert coastal.close_date == dt.date(2027, 4, 15)
    assert "oyster reef restoration" in coastal.description
    assert monitoring.close_date is None  # "Rolling deadline."
    # A Grants.gov link inside the summary and the number in its text.
    assert webinar.opportunity_id == "360106"
    assert webinar.opportunity_number == "DOC-2027-NOAA-NMFS-0012"


@pytest.mark.parametrize("name", REALDATA_FEEDS)
def test_real_feeds_parse_into_records(realdata: Path, name: str):
    path = realdata / "feeds" / name
    items = grant_feed_items(path.read_bytes(), name)
    assert items
    # News feeds: every entry is either read as a grant or told apart as not funding news.
    records = feed_records(path)
    for record in records:
        assert record.title and record.source_id
        assert record.record_type == "feed_item"
        assert not TAG.search(record.description or ""), record.description


def test_google_alerts_and_techcrunch(realdata: Path):
    alert_items = grant_feed_items(
        (realdata / "feeds" / "google_alerts_atom.xml").read_bytes(), "alerts"
    )
    assert len(alert_items) == 20
    alerts = feed_records(realdata / "feeds" / "google_alerts_atom.xml")
    assert all("<b>" not in r.title for r in alerts)
    techcrunch_items = grant_feed_items(
        (realdata / "feeds" / "techcrunch_rss2_leading_newline.xml").read_bytes(), "tc"
    )
    assert len(techcrunch_items) == 20
    techcrunch = feed_records(realdata / "feeds" / "techcrunch_rss2_leading_newline.xml")
    # Tech news that talks about funding rounds reads as funding news; the rest does not.
    assert len(techcrunch) < 20
    assert all(r.agency and r.url.startswith("http") for r in techcrunch)
    # News text carries no Grants.gov ids or opportunity numbers.
    assert not any(r.opportunity_id or r.opportunity_number for r in alerts + techcrunch)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"<!DOCTYPE html><html><head><title>404 Not Found</title></head><body>gone</body></html>",
        b'{"error": "not a feed"}',
    ],
)
def test_a_body_that_is_not_a_feed(content: bytes):
    with pytest.raises(
        GrantParseError, match=r"grant_feed: feed https://funder\.example\.org/feed"
    ):
        grant_feed_items(content, "https://funder.example.org/feed?token=abc123")


def test_secret_in_the_feed_url_is_redacted():
    with pytest.raises(GrantParseError) as failure:
        grant_feed_items(b"not a feed", "https://funder.example.org/feed?token=abc123")
    assert "abc123" not in str(failure.value)


def test_a_feed_without_entries_is_empty():
    content = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
    assert grant_feed_items(content, "x.xml") == []


def test_item_without_title_raises():
    with pytest.raises(GrantParseError, match=r"https://x\.example\.org/a has no title"):
        normalise_feed_item({"title": " ", "link": "https://x.example.org/a"})


def test_item_without_id_or_link_gets_a_stable_id():
    payload = {"title": "Open call", "summary": "", "feed_url": "f.xml", "feed_title": "F"}
    first, second = normalise_feed_item(payload), normalise_feed_item(dict(payload))
    assert first.source_id == second.source_id and first.source_id.startswith("f.xml#")
    assert first.url is None and first.posted_date is None


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        (("https://www.grants.gov/search-results-detail/350001",), "350001"),
        (("https://www.grants.gov/web/grants/view-opportunity.html?oppId=289999",), "289999"),
        (("https://grants.gov/search-grants?cfda=93&oppId=12",), "12"),
        (("https://www.example.org/?oppId=12",), None),
        (("", 'see <a href="https://www.grants.gov/search-results-detail/7">x</a>'), "7"),
        (
            (
                "",
                "https://www.grants.gov/search-results-detail/1 and "
                "https://www.grants.gov/search-results-detail/2",
            ),
            None,  # a summary linking to two opportunities names neither
        ),
    ],
)
def test_grants_gov_links(texts, expected):
    assert grants_gov_opportunity_id(*texts) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Apply to HHS-2026-ACF-OCS-EE-0042 today.", "HHS-2026-ACF-OCS-EE-0042"),
        ("(USDA-RMA-RME-2008-03)", "USDA-RMA-RME-2008-03"),
        ("DOC-2027-NOAA-NMFS-0012", "DOC-2027-NOAA-NMFS-0012"),
        ("G12AS20003", None),
        ("DE-FOA-0003000", None),
        ("FY-2026-STEM priorities", None),
        ("COVID-19 relief", None),
        ("call 2027-03-15 now", None),
    ],
)
def test_opportunity_numbers(text, expected):
    assert opportunity_number_in(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Close date: 2027-03-15", dt.date(2027, 3, 15)),
        ("Closing Date: 03/15/2027", dt.date(2027, 3, 15)),
        ("Applications due 2027-02-26.", dt.date(2027, 2, 26)),
        ("Deadline: 2/30/2027", None),
        ("Posted 2026-11-02", None),
        ("", None),
    ],
)
def test_close_dates_in_text(text, expected):
    assert close_date_in(text) == expected
