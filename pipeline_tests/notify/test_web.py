"""`pipeline serve` through a real uvicorn server on a loopback port, driven with httpx: RFC 8058
one-click unsubscribe, the confirmation page, tampered and foreign tokens, the preferences form
with its CSRF check and validation, click redirects (no open redirect) and the open pixel."""

from __future__ import annotations

import re
from email import message_from_string, policy
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from click.testing import CliRunner

from pipeline.lib import warehouse
from pipeline.lib.notify.links import make_preferences_token
from pipeline.lib.notify.recipient_events import default_store
from pipeline.lib.notify.stats import rebuild_stats
from pipeline.lib.notify.subscriptions import UnknownRecipient, unsubscribe_with_token
from pipeline.lib.notify.unsubscribe import make_token
from pipeline.lib.settings import recipient_events_location
from pipeline.web.app import WebSettings
from pipeline_tests.fakes.ports import reserved_port
from pipeline_tests.notify.conftest import NOW, add_news, as_of, fold, materialize, rows
from pipeline_tests.notify.web_server import running_app, serve_command

SECRET = "web-test-secret-0123456789abcdefghij"


@pytest.fixture
def site(world: Path, config_dir: Path, monkeypatch) -> str:
    """The app serving the test world; e-mails rendered from now on link to it."""
    monkeypatch.setenv("PIPELINE_UNSUBSCRIBE_SECRET", SECRET)
    config = WebSettings(events=recipient_events_location(), config_dir=config_dir, secret=SECRET)
    with running_app(config) as base_url:
        monkeypatch.setenv("PIPELINE_PUBLIC_URL", base_url)
        yield base_url


def send_alert_to_bob(instance, world: Path):
    """An instant alert for bob written to the outbox; returns the parsed message."""
    add_news(world, "n1", "acme-blue", "acme", "BluePeak buys a rival", 0.9)
    assert materialize(["instant_alerts", "email_log"], instance, as_of(NOW, "instant_alerts"))
    [eml] = sorted((world.parent / "outbox").glob("*.eml"))
    return message_from_string(eml.read_text(), policy=policy.default)


def unsubscribe_link(message) -> str:
    return message["List-Unsubscribe"].split(",")[0].strip().strip("<>")


def html_links(message) -> list[str]:
    html = message.get_body(("html",)).get_content()
    return [unescape(h) for h in re.findall(r'(?:href|src)="([^"]+)"', html)]


def test_one_click_post_needs_no_cookies_and_is_idempotent(instance, world, site):
    message = send_alert_to_bob(instance, world)
    link = unsubscribe_link(message)
    assert link.startswith(f"{site}/unsubscribe?token=")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    for _ in range(2):  # a mail client may retry: same answer, one row
        response = httpx.post(link, data={"List-Unsubscribe": "One-Click"})
        assert response.status_code == 200 and response.text == "unsubscribed\n"
        assert "set-cookie" not in response.headers
    fold(world)
    assert rows(world, "SELECT user_id, kind FROM notify.unsubscribes") == [
        ("bob@example.org", "instant_alert")
    ]


def test_get_asks_first_and_the_button_unsubscribes(instance, world, site):
    link = unsubscribe_link(send_alert_to_bob(instance, world))
    page = httpx.get(link)
    assert page.status_code == 200
    assert "Stop sending instant alerts to bob@example.org?" in page.text
    assert rows(world, "SELECT count(*) FROM notify.unsubscribes") == [(0,)]  # GET changes nothing
    done = httpx.post(link, data={"confirmed": "page"})
    assert done.status_code == 200 and "You are unsubscribed" in done.text
    again = httpx.get(link)
    assert "no longer receives instant alerts" in again.text and "<form" not in again.text


def test_tampered_or_foreign_tokens_get_a_clear_400(world, site):
    good = make_token(SECRET, "bob@example.org", "instant_alert")
    tampered = good[:-1] + ("A" if good[-1] != "A" else "B")
    other_secret = make_token("another-deployment", "bob@example.org", "instant_alert")
    preferences_token = make_preferences_token(SECRET, "bob@example.org")  # wrong purpose
    for token in (tampered, other_secret, preferences_token, "garbage", ""):
        url = f"{site}/unsubscribe?{urlencode({'token': token})}"
        for response in (httpx.get(url), httpx.post(url, data={"List-Unsubscribe": "One-Click"})):
            assert response.status_code == 400
            assert "This link is not valid" in response.text
    fold(world)
    assert rows(world, "SELECT count(*) FROM notify.unsubscribes") == [(0,)]


def test_a_signed_token_for_an_address_that_is_not_a_user_is_refused(world, config_dir, site):
    token = make_token(SECRET, "mallory@example.org", "daily_digest")
    url = f"{site}/unsubscribe?{urlencode({'token': token})}"
    for response in (httpx.get(url), httpx.post(url, data={"List-Unsubscribe": "One-Click"})):
        assert response.status_code == 404 and "Not a recipient" in response.text
    with pytest.raises(UnknownRecipient, match=r"mallory@example\.org is not a user"):
        unsubscribe_with_token(default_store(), config_dir, token, secret=SECRET)
    fold(world)
    assert rows(world, "SELECT count(*) FROM notify.unsubscribes") == [(0,)]
    preferences = f"{site}/preferences?{urlencode({'token': make_preferences_token(SECRET, 'mallory@example.org')})}"
    assert httpx.get(preferences).status_code == 404


def preferences_form(client: httpx.Client, url: str) -> dict:
    """The form's fields as the browser would send them back unchanged."""
    page = client.get(url)
    assert page.status_code == 200, page.text
    fields = {}
    for name, value in re.findall(
        r'<input type="(?:hidden|text|number)"[^>]*name="([^"]+)" value="([^"]*)"', page.text
    ):
        fields[name] = unescape(value)
    for name in ("frequency", "digest_day"):
        select = re.search(rf'<select id="{name}" name="{name}">(.*?)</select>', page.text, re.S)
        fields[name] = re.search(r'value="([^"]+)" selected', select.group(1)).group(1)
    fields["categories"] = re.findall(r'name="categories" value="([^"]+)" checked', page.text)
    return fields


def test_preferences_save_with_csrf_and_show_validation_errors(world, site):
    token = make_preferences_token(SECRET, "alice@example.org")
    url = f"{site}/preferences?{urlencode({'token': token})}"
    with httpx.Client() as browser:
        fields = preferences_form(browser, url)
        assert fields["threshold"] == "0.5" and fields["categories"] == ["m_and_a", "funding"]
        assert fields["wl0_name"] == "Youth STEM" and fields["timezone"] == "America/New_York"

        # No cookie (another site posting the form), or a forged field: refused, nothing saved.
        assert httpx.post(url, data={**fields, "threshold": "0.9"}).status_code == 403
        forged = browser.post(url, data={**fields, "csrf": "forged", "threshold": "0.9"})
        assert forged.status_code == 403 and "not sent from this page" in forged.text

        bad = browser.post(
            url,
            data={
                **fields,
                "threshold": "2",
                "timezone": "Mars/Olympus",
                "wl0_amount_min": "900000",
            },
        )
        assert bad.status_code == 400
        assert "Nothing was saved" in bad.text
        assert "less than or equal to 1" in bad.text and "unknown timezone" in bad.text
        assert "amount_min 900000 is above amount_max 500000" in bad.text
        fold(world)
        assert rows(world, "SELECT count(*) FROM notify.preference_overrides") == [(0,)]

        saved = browser.post(
            url,
            data={
                **fields,
                "threshold": "0.9",
                "frequency": "weekly",
                "wl1_name": "Parks",
                "wl1_include_keywords": "parks, trails",
            },
        )
        assert saved.status_code == 200 and "Saved." in saved.text
        # The page shows the saved values at once, before any fold-in (read from the store).
        assert preferences_form(browser, url)["threshold"] == "0.9"
    fold(world)
    assert rows(
        world,
        "SELECT threshold, frequency, categories, timezone, json_array_length(watchlists)"
        " FROM notify.preference_overrides",
    ) == [(0.9, "weekly", None, None, 2)]  # only what differs from users.yaml
    assert rows(
        world,
        "SELECT threshold, frequency, kinds FROM notify.notification_preferences"
        " WHERE user_id = 'alice@example.org'",
    ) == [(0.9, "weekly", ["weekly_digest", "deadline_reminder"])]
    assert rows(
        world,
        "SELECT name, include_keywords FROM notify.watchlists WHERE user_id = 'alice@example.org' ORDER BY name",
    ) == [("Parks", ["parks", "trails"]), ("Youth STEM", ["STEM", "after-school"])]


def test_a_preferences_link_of_another_kind_or_user_is_refused(world, site):
    unsubscribe_token = make_token(SECRET, "alice@example.org", "daily_digest")
    response = httpx.get(f"{site}/preferences?{urlencode({'token': unsubscribe_token})}")
    assert response.status_code == 400 and "This link is not valid" in response.text


def test_a_broken_users_file_gives_a_clear_503_page(world, config_dir, site):
    (config_dir / "users.yaml").write_text("users: [", encoding="utf-8")
    url = f"{site}/preferences?{urlencode({'token': make_preferences_token(SECRET, 'alice@example.org')})}"
    response = httpx.get(url)
    assert response.status_code == 503 and "Preferences are unavailable" in response.text
    assert response.headers["retry-after"] == "60"


def test_clicks_redirect_only_where_the_email_linked_and_opens_are_counted(instance, world, site):
    message = send_alert_to_bob(instance, world)
    found = html_links(message)
    [click] = [u for u in found if "/t/click?" in u]
    [pixel] = [u for u in found if "/t/open.gif?" in u]
    assert any("/preferences?token=" in u for u in found)
    query = parse_qs(urlsplit(click).query)
    assert query["u"] == ["https://news.example/n1"]

    response = httpx.get(click, follow_redirects=False)
    assert response.status_code == 302 and response.headers["location"] == "https://news.example/n1"
    evil = click.replace("news.example%2Fn1", "evil.example%2F")
    refused = httpx.get(evil, follow_redirects=False)
    assert refused.status_code == 400 and "location" not in refused.headers
    unsigned = f"{site}/t/click?{urlencode({'m': query['m'][0], 'u': 'https://evil.example/'})}"
    assert httpx.get(unsigned, follow_redirects=False).status_code == 400
    script = f"{site}/t/click?{urlencode({'m': query['m'][0], 'u': 'javascript:alert(1)', 's': query['s'][0]})}"
    assert httpx.get(script, follow_redirects=False).status_code == 400

    image = httpx.get(pixel)
    assert image.status_code == 200 and image.headers["content-type"] == "image/gif"
    assert httpx.get(pixel + "x").status_code == 400
    assert rows(world, "SELECT opens, clicks FROM notify.email_log") == [(0, 0)]  # not folded yet
    fold(world)
    assert rows(world, "SELECT opens, clicks FROM notify.email_log") == [(1, 1)]
    fold(world)  # folding again counts nothing twice
    assert rows(world, "SELECT opens, clicks FROM notify.email_log") == [(1, 1)]
    with warehouse.connection(world) as conn:
        rebuild_stats(conn, NOW)
    assert rows(world, "SELECT opened, clicked, opens, clicks FROM notify.notification_stats") == [
        (1, 1, 1, 1)
    ]


def test_no_token_reaches_the_log_of_pipeline_serve(instance, world, monkeypatch, tmp_path):
    """The real `pipeline serve` start-up, not the test's own server: uvicorn's access log would
    write every request line, signed token included. Run as operators run it, without
    --verbose: the app's own request lines (method, path, status) are in the output too."""
    port = reserved_port()
    monkeypatch.setenv("PIPELINE_UNSUBSCRIBE_SECRET", SECRET)
    monkeypatch.setenv("PIPELINE_PUBLIC_URL", f"http://127.0.0.1:{port}")
    log = tmp_path / "serve.log"
    with serve_command(port, log):  # no --verbose: a service logs its requests
        link = unsubscribe_link(send_alert_to_bob(instance, world))
        token = parse_qs(urlsplit(link).query)["token"][0]
        assert httpx.get(link).status_code == 200
        assert httpx.post(link, data={"List-Unsubscribe": "One-Click"}).status_code == 200
        assert httpx.get(link[:-3]).status_code == 400
    logged = log.read_text()
    assert "GET /unsubscribe 200" in logged and "POST /unsubscribe 200" in logged
    # No access log: not even a redacted request line ("GET /unsubscribe?token=*** HTTP/1.1").
    assert " HTTP/1.1" not in logged and "token=" not in logged
    assert token not in logged and token[-10:] not in logged and SECRET not in logged


def test_serve_refuses_a_short_secret_in_one_line(pipeline_env, monkeypatch):
    from pipeline.cli import main

    monkeypatch.setenv("PIPELINE_UNSUBSCRIBE_SECRET", "short-secret")
    result = CliRunner().invoke(main, ["serve", "--port", "0"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: refusing to start `pipeline serve`: PIPELINE_UNSUBSCRIBE_SECRET is 12 bytes; it"
        " must be at least 32 (unset it to use a generated one, or set e.g. `python -c 'import"
        " secrets; print(secrets.token_urlsafe(32))'`)"
    ]
    assert "short-secret" not in result.output


def test_serve_warns_about_the_public_url(pipeline_env, monkeypatch):
    import uvicorn

    from pipeline.cli import main

    started = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: started.update(options))
    monkeypatch.setenv("PIPELINE_UNSUBSCRIBE_SECRET", SECRET)
    monkeypatch.delenv("PIPELINE_PUBLIC_URL", raising=False)
    result = CliRunner().invoke(main, ["serve", "--port", "9999"])
    assert result.exit_code == 0, result.output
    assert started["port"] == 9999
    assert "PIPELINE_PUBLIC_URL is unset, so e-mails link to http://127.0.0.1:8080" in result.output


def test_preferences_are_bounded_and_numbers_finite(world, site):
    url = f"{site}/preferences?{urlencode({'token': make_preferences_token(SECRET, 'alice@example.org')})}"
    with httpx.Client() as browser:
        fields = preferences_form(browser, url)
        huge = browser.post(url, data={**fields, "wl0_include_keywords": "x," * 100_000})
        assert huge.status_code == 413 and "larger than this service accepts" in huge.text
        many_words = ", ".join(f"w{i}" for i in range(51))
        long_word = "y" * 101
        lists = {f"wl{i}_name": f"list {i}" for i in range(21)}
        for data, expected in (
            ({"wl0_include_keywords": many_words}, "include_keywords: at most 50 entries"),
            ({"wl0_agencies": long_word}, "agencies: each at most 100 characters"),
            ({**lists, "watchlist_count": "21"}, "at most 20 watchlists"),
            ({"wl0_amount_max": "1e400"}, "amount_max: Input should be a finite number"),
        ):
            refused = browser.post(url, data={**fields, **data})
            assert refused.status_code == 400 and expected in unescape(refused.text), expected
    fold(world)
    assert rows(world, "SELECT count(*) FROM notify.preference_overrides") == [(0,)]


def test_a_cross_site_origin_is_refused_even_with_the_csrf_token(world, site):
    url = f"{site}/preferences?{urlencode({'token': make_preferences_token(SECRET, 'alice@example.org')})}"
    with httpx.Client() as browser:
        fields = {**preferences_form(browser, url), "threshold": "0.9"}
        cross = browser.post(url, data=fields, headers={"Origin": "https://evil.example"})
        assert cross.status_code == 403 and "not sent from this page" in cross.text
        assert browser.post(url, data=fields, headers={"Origin": "null"}).status_code == 403
        same = browser.post(url, data=fields, headers={"Origin": site})
        assert same.status_code == 200 and "Saved." in same.text


def test_head_requests_are_answered_but_not_counted(instance, world, site):
    found = html_links(send_alert_to_bob(instance, world))
    [click] = [u for u in found if "/t/click?" in u]
    [pixel] = [u for u in found if "/t/open.gif?" in u]
    assert httpx.head(click).status_code == 302 and httpx.head(pixel).status_code == 200
    fold(world)
    assert rows(world, "SELECT opens, clicks FROM notify.email_log") == [(0, 0)]


def test_the_web_app_does_not_load_the_dagster_definitions():
    """Layers: the service sits on pipeline.lib only (and so never builds the resources)."""
    import subprocess
    import sys

    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, pipeline.web.app;"
         " print(sorted(m for m in sys.modules if m.startswith('pipeline.defs')))"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert loaded.strip() == "[]"
