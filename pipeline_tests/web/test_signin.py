"""Sign-in by e-mail link through a real uvicorn: the same answer for every address, a link only
for a team role, single use, 15 minutes, a session cookie with the right flags, sign-out, and
rate limits per address and per client."""

from __future__ import annotations

import datetime as dt
import re

import httpx

from pipeline.lib import web_sessions
from pipeline.lib.settings import recipient_events_location
from pipeline.web import auth
from pipeline.web.app import WebSettings
from pipeline_tests.fakes.ports import reserved_port
from pipeline_tests.notify.web_server import running_app
from pipeline_tests.web.conftest import SECRET, sign_in, signin_links


def answer_text(response: httpx.Response, address: str) -> str:
    return re.sub(r"\s+", " ", response.text.replace(address, "ADDRESS"))


def test_same_answer_for_every_address_and_a_link_only_for_team_roles(site, pipeline_env):
    with httpx.Client(base_url=site, timeout=120) as client:
        answers = {
            address: answer_text(client.post("/login", data={"email": address}), address)
            for address in (
                "anna@example.org",
                "ops@example.org",
                "alice@example.org",  # an account manager: no team pages
                "nobody@example.org",
            )
        }
    assert len(set(answers.values())) == 1
    assert signin_links(pipeline_env, "anna@example.org")
    assert signin_links(pipeline_env, "ops@example.org")
    assert not signin_links(pipeline_env, "alice@example.org")
    assert not signin_links(pipeline_env, "nobody@example.org")


def test_link_signs_in_once_and_sign_out_ends_the_session(site, pipeline_env):
    with httpx.Client(base_url=site, timeout=120) as client:
        assert client.get("/uploads").headers["location"] == "/login"
        sign_in(client, pipeline_env, "anna@example.org")
        cookie = client.cookies.jar.__iter__().__next__()
        assert cookie.name == auth.SESSION_COOKIE
        assert cookie.has_nonstandard_attr("HttpOnly")
        assert not cookie.secure  # the public URL is http here
        page = client.get("/uploads")
        assert page.status_code == 200 and "anna@example.org" in page.text
        token = httpx.URL(signin_links(pipeline_env, "anna@example.org")[-1]).params["t"]
        assert client.post("/login/link", data={"t": token}).status_code == 400  # used
        assert client.post("/logout").status_code == 303
        assert client.get("/uploads").headers["location"] == "/login"


def test_the_session_cookie_is_secure_when_the_public_url_is_https(team_config, pipeline_env):
    config = WebSettings(
        events=recipient_events_location(),
        config_dir=team_config,
        secret=SECRET,
        public_url="https://team.example",
    )
    with running_app(config) as base_url, httpx.Client(base_url=base_url, timeout=120) as client:
        client.post("/login", data={"email": "anna@example.org"})
        [link] = signin_links(pipeline_env, "anna@example.org", public_url="https://team.example")
        answer = client.post("/login/link", data={"t": httpx.URL(link).params["t"]})
    header = answer.headers["set-cookie"].lower()
    assert "httponly" in header and "samesite=lax" in header and "; secure" in header


def test_expired_forged_and_cross_site_links_do_not_sign_in(site, pipeline_env):
    old = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=16)
    expired = web_sessions.make_link_token(SECRET, "anna@example.org", old)
    forged = web_sessions.make_link_token("another-secret-0123456789", "anna@example.org", old)
    fresh = web_sessions.make_link_token(SECRET, "anna@example.org", dt.datetime.now(dt.UTC))
    with httpx.Client(base_url=site, timeout=120) as client:
        for token in (expired, forged, fresh[:-2] + "xx", "garbage"):
            assert client.get("/login/link", params={"t": token}).status_code == 400
            assert client.post("/login/link", data={"t": token}).status_code == 400
        other_site = {"Origin": "https://evil.example"}
        assert client.post("/login/link", data={"t": fresh}, headers=other_site).status_code == 403
        assert client.post("/login/link", data={"t": fresh}).status_code == 303


def test_rate_limits_per_address_and_per_client(site, pipeline_env):
    with httpx.Client(base_url=site, timeout=120) as client:
        for _ in range(auth.PER_ADDRESS.max_runs + 3):
            assert client.post("/login", data={"email": "anna@example.org"}).status_code == 200
        assert len(signin_links(pipeline_env, "anna@example.org")) == auth.PER_ADDRESS.max_runs
        statuses = [
            client.post("/login", data={"email": f"x{i}@example.org"}).status_code
            for i in range(auth.PER_CLIENT.max_runs)
        ]
    assert statuses[-1] == 429


def test_mail_that_cannot_go_out_changes_nothing_in_the_answer(site, pipeline_env, monkeypatch):
    # Live SMTP with the development secret: the mailer refuses to send the link at all.
    monkeypatch.delenv("PIPELINE_UNSUBSCRIBE_SECRET")
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(reserved_port()))  # nothing listens there
    with httpx.Client(base_url=site, timeout=120) as client:
        known = client.post("/login", data={"email": "anna@example.org"})
        unknown = client.post("/login", data={"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 200
    assert answer_text(known, "anna@example.org") == answer_text(unknown, "nobody@example.org")


def test_rate_limit_keys_without_recent_requests_are_dropped():
    limits = auth.RateLimits(auth.PER_ADDRESS)
    start = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    for i in range(auth.RateLimits.MAX_KEYS + 1):
        assert limits.take(f"made-up-{i}@example.org", start)
    later = start + auth.PER_ADDRESS.window + dt.timedelta(seconds=1)
    assert limits.take("next@example.org", later)
    assert list(limits.seen) == ["next@example.org"]
