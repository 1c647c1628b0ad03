"""What a recipient does, in headless Chromium against `pipeline serve` started as the real
command: open a rendered e-mail, follow its unsubscribe link, confirm, and the next run sends
them nothing; change the threshold on the preferences page and the next digest (after the
fold-in) follows it; a tampered link gets a clear 4xx page."""

from __future__ import annotations

from collections.abc import Iterator
from email import message_from_string, policy
from pathlib import Path

import pytest

from pipeline.lib.notify.links import Links
from pipeline_tests.conftest import require
from pipeline_tests.fakes.browser import chromium_path
from pipeline_tests.fakes.browser_session import BrowserSession
from pipeline_tests.fakes.ports import reserved_port
from pipeline_tests.notify.conftest import NOW, add_news, as_of, fold, materialize, rows
from pipeline_tests.notify.web_server import serve_command

pytestmark = [pytest.mark.server, pytest.mark.slow]
SECRET = "browser-test-secret-0123456789"


@pytest.fixture
def served(world: Path, config_dir: Path, monkeypatch, tmp_path: Path) -> Iterator[str]:
    """`pipeline serve` on a free port, serving the test world; e-mails link to it."""
    require(chromium_path() is not None, "headless Chromium is not installed (make browser)")
    port = reserved_port()
    monkeypatch.setenv("PIPELINE_UNSUBSCRIBE_SECRET", SECRET)
    monkeypatch.setenv("PIPELINE_PUBLIC_URL", f"http://127.0.0.1:{port}")
    with serve_command(port, tmp_path / "serve.log") as base_url:
        yield base_url


def emails(world: Path) -> list:
    return [
        message_from_string(p.read_text(), policy=policy.default)
        for p in sorted((world.parent / "outbox").glob("*.eml"))
    ]


def test_unsubscribe_from_the_email_in_a_browser_and_the_next_run_skips_them(
    instance, world, served, tmp_path
):
    add_news(world, "n1", "acme-blue", "acme", "BluePeak buys a rival", 0.9)
    selection = ["instant_alerts", "email_log"]
    assert materialize(selection, instance, as_of(NOW, "instant_alerts")).success
    [email] = emails(world)
    page = tmp_path / "email.html"
    page.write_text(email.get_body(("html",)).get_content(), encoding="utf-8")

    with BrowserSession() as browser:
        browser.open(page.as_uri())  # the e-mail as a mail client shows it (loads the pixel)
        browser.click("a[href*='/unsubscribe?token=']")
        assert browser.status == 200
        assert "Stop sending instant alerts to bob@example.org?" in browser.text()
        browser.click("#confirm")
        assert browser.status == 200
        assert "You are unsubscribed" in browser.text()

    fold(world)  # what recipient_events_sensor's run does
    assert rows(world, "SELECT user_id, kind FROM notify.unsubscribes") == [
        ("bob@example.org", "instant_alert")
    ]
    assert rows(world, "SELECT opens FROM notify.email_log") == [(1,)]
    later = NOW.replace(hour=13)
    add_news(world, "n2", "acme-blue", "acme", "BluePeak again", 0.95, scored_at=later)
    assert materialize(selection, instance, as_of(later, "instant_alerts")).success
    assert len(emails(world)) == 1  # nothing new for bob
    assert rows(world, "SELECT count(*) FROM notify.email_log") == [(1,)]


def test_a_threshold_changed_on_the_preferences_page_shapes_the_next_digest(
    instance, world, served
):
    url = Links(served, SECRET).preferences("alice@example.org")
    with BrowserSession() as browser:
        browser.open(url)
        assert browser.status == 200
        assert browser.evaluate("document.getElementById('threshold').value") == "0.5"
        browser.fill("#threshold", "0.8")
        browser.click("#save")
        assert browser.status == 200
        assert "Saved. Your next e-mail follows these settings." in browser.text()
        assert browser.evaluate("document.getElementById('threshold').value") == "0.8"

    fold(world)  # what recipient_events_sensor's run does
    add_news(world, "a1", "acme-north", "acme", "Northwind raises a large round", 0.9)
    add_news(world, "a2", "acme-north", "acme", "Northwind hires a new CFO", 0.7)
    assert materialize(["daily_digest", "email_log"], instance, as_of(NOW, "daily_digest")).success
    [digest] = emails(world)
    body = digest.get_body(("plain",)).get_content()
    assert digest["To"] == "alice@example.org"
    assert "Northwind raises a large round" in body
    assert "Northwind hires a new CFO" not in body  # 0.7: under the new threshold of 0.8


def test_a_tampered_link_gets_a_clear_4xx_page(world, served):
    links = Links(served, SECRET)
    unsubscribe = links.unsubscribe("alice@example.org", "daily_digest")
    preferences = links.preferences("alice@example.org")
    with BrowserSession() as browser:
        for url in (unsubscribe[:-2] + "xx", preferences[:-2] + "xx"):
            browser.open(url)
            assert browser.status == 400
            assert "This link is not valid" in browser.text()
    fold(world)
    assert rows(world, "SELECT count(*) FROM notify.unsubscribes") == [(0,)]
