"""What a reader notices in an e-mail: one count of days left per grant, an instant alert that
says honestly what is new (found now, published when), links without click trackers or
`#comments` fragments."""

from __future__ import annotations

import datetime as dt
import re
from email import message_from_string, policy

from pipeline.lib import warehouse
from pipeline.lib.news.urls import without_trackers
from pipeline.lib.notify import digest_items, digests
from pipeline.lib.notify.mailer import MailSettings
from pipeline.lib.scoring.local import deadline_verdict
from pipeline_tests.notify.conftest import NOW, TODAY, add_news

SECRET_ENV = {"PIPELINE_UNSUBSCRIBE_SECRET": "email-content-test-secret-0123456789"}


def instant_alert_for_bob(world, **article) -> str:
    add_news(world, "n1", "acme-blue", "acme", "BluePeak buys a rival", 0.9, **article)
    with warehouse.connection(world) as conn:
        plan = digests.plan_instant_alerts(conn, NOW)
    mail = MailSettings.from_env(world.parent / "outbox", SECRET_ENV)
    [message] = digests.compose(mail, plan.emails, NOW)
    return message.raw_message


def test_a_grant_shows_one_count_of_days_left_whenever_it_was_scored():
    close = TODAY + dt.timedelta(days=66)
    scored_yesterday = deadline_verdict(close, TODAY - dt.timedelta(days=1))[1]
    row = {
        "title": "Youth STEM", "url": None, "score": 0.8, "agency": "NSF", "close_date": close,
        "award_floor": None, "award_ceiling": None, "reasons": ["matches STEM", scored_yesterday],
    }  # fmt: skip
    details = " ".join(digest_items.grant_item(row, TODAY).details)
    assert re.findall(r"\d+ days?\b", details) == ["66 days"]
    assert f"closes on {close.isoformat()}" in details


def test_an_instant_alert_says_when_weeks_old_news_was_published(world):
    published = NOW - dt.timedelta(days=21)
    raw = instant_alert_for_bob(world, published_at=published)
    text = message_from_string(raw, policy=policy.default).get_body(("plain",)).get_content()
    assert "just came in" not in text
    assert "1 client news found since your last alert." in text
    assert "The news was published on Mon 9 Feb 2026." in text


def test_links_in_emails_carry_no_trackers_or_comment_fragments(world):
    url = "https://news.example/n1?id=7&utm_source=rss&utm_medium=feed&fbclid=abc#comments"
    raw = instant_alert_for_bob(world, url=url, canonical_url="https://news.example/n1?id=7")
    message = message_from_string(raw, policy=policy.default)
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "https://news.example/n1?id=7\n" in text
    for tracker in ("utm_", "fbclid", "comments"):
        assert tracker not in text and tracker not in html


def test_without_trackers_keeps_everything_else():
    assert (
        without_trackers("http://Example.org/a?b=2&a=1&gclid=x#top")
        == "http://Example.org/a?b=2&a=1"
    )
    assert without_trackers("https://app.example/#/grants/7") == "https://app.example/#/grants/7"
    assert without_trackers("https://example.org/a?b=1") == "https://example.org/a?b=1"
    assert without_trackers(None) is None
