"""Sign-in sessions and used links in the event store's database, SQLite and PostgreSQL alike:
a link is used once even by services starting and racing in parallel, a session ends on
sign-out or expiry."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pytest

from pipeline.lib import web_sessions
from pipeline.lib.notify.recipient_events import RecipientEvents

NOW = dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC)
SECRET = "sessions-test-secret-0123456789abcdef"


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        location = tmp_path / "events.sqlite"
    else:
        location = request.getfixturevalue("postgres_url")
    opened = RecipientEvents(location)
    yield opened
    opened.close()


def test_a_link_is_used_once_even_by_racing_services(store):
    link = web_sessions.verify_link_token(
        SECRET, web_sessions.make_link_token(SECRET, "anna@example.org", NOW), NOW
    )
    assert link.user_id == "anna@example.org"
    assert link.expires_at == NOW + web_sessions.LINK_TTL
    with ThreadPoolExecutor(4) as pool:
        # Services starting at once each create the tables if missing.
        services = list(
            pool.map(lambda _: web_sessions.WebSessions(RecipientEvents(store.location)), range(4))
        )
        used = list(pool.map(lambda s: s.use_link(link, NOW), services))
    assert sorted(used) == [False, False, False, True]
    for service in services:
        service.store.close()


def test_a_session_ends_on_sign_out_and_expiry(store):
    sessions = web_sessions.WebSessions(store)
    session = sessions.start("anna@example.org", NOW)
    assert sessions.user(session, NOW) == "anna@example.org"
    assert sessions.user(session + "x", NOW) is None
    assert sessions.user(session, NOW + web_sessions.SESSION_TTL) is None
    # Only a hash of the session id is stored.
    stored = store.execute(f"SELECT session_hash FROM {web_sessions.SESSIONS}")
    assert session not in str(stored)
    sessions.end(session)
    assert sessions.user(session, NOW) is None


def test_expired_or_foreign_links_are_refused():
    token = web_sessions.make_link_token(SECRET, "anna@example.org", NOW)
    assert web_sessions.verify_link_token(SECRET, token, NOW + web_sessions.LINK_TTL) is None
    assert web_sessions.verify_link_token("other-secret-0123456789", token, NOW) is None
    assert web_sessions.verify_link_token(SECRET, "a.b.c", NOW) is None
