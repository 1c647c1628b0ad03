"""Password-less sign-in for the team's pages of `pipeline serve`: a single-use link valid 15
minutes, then a session. Sessions and used link ids live in the recipient event store's database
(SQLite or PostgreSQL), never in the warehouse; only hashes of session ids are stored.

Roles: `operator` may use every team page, `analyst` the sales uploads and dashboard; the
recipient roles (account_manager, org_contact) none."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from pipeline.lib.notify.recipient_events import RecipientEvents

LINK_TTL = dt.timedelta(minutes=15)
SESSION_TTL = dt.timedelta(hours=12)
UPLOADS, DASHBOARD, OPERATIONS = "uploads", "dashboard", "operations"
TEAM_ROLES = {
    "operator": frozenset({UPLOADS, DASHBOARD, OPERATIONS}),
    "analyst": frozenset({UPLOADS, DASHBOARD}),
}
SESSIONS, USED_LINKS = "pipeline_web_sessions", "pipeline_used_signin_links"
_DDL = f"""
CREATE TABLE IF NOT EXISTS {SESSIONS} (
    session_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, expires_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS {USED_LINKS} (link_id TEXT PRIMARY KEY, used_at TEXT NOT NULL);
"""


def may_use(role: str, page: str) -> bool:
    return page in TEAM_ROLES.get(role, frozenset())


def _sign(secret: str, payload: str) -> str:
    mac = hmac.new(secret.encode(), b"signin\x1f" + payload.encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()[:24]).decode().rstrip("=")


def make_link_token(secret: str, user_id: str, now: dt.datetime) -> str:
    """`<link id>.<expiry epoch>.<address, base64>.<signature>`: nothing to store until used."""
    address = base64.urlsafe_b64encode(user_id.encode()).decode().rstrip("=")
    payload = f"{secrets.token_urlsafe(16)}.{int((now + LINK_TTL).timestamp())}.{address}"
    return f"{payload}.{_sign(secret, payload)}"


@dataclass(frozen=True)
class SignInLink:
    link_id: str
    user_id: str
    expires_at: dt.datetime


def verify_link_token(secret: str, token: str, now: dt.datetime) -> SignInLink | None:
    """The link, or None when it is forged, altered or expired (used links: `use_link`)."""
    payload, _, signature = token.rpartition(".")
    if not payload or not hmac.compare_digest(_sign(secret, payload), signature):
        return None
    link_id, expires, address = payload.split(".")
    expires_at = dt.datetime.fromtimestamp(int(expires), dt.UTC)
    if now >= expires_at:
        return None
    user_id = base64.urlsafe_b64decode(address + "=" * (-len(address) % 4)).decode()
    return SignInLink(link_id, user_id, expires_at)


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class WebSessions:
    def __init__(self, store: RecipientEvents) -> None:
        self.store = store
        # As for the events: concurrent CREATE TABLE IF NOT EXISTS races in PostgreSQL.
        lock = f"SELECT pg_advisory_xact_lock(hashtext('{SESSIONS}'));" if store.is_postgres else ""
        store.execute(lock + _DDL, script=True)

    def use_link(self, link: SignInLink, now: dt.datetime) -> bool:
        """Mark the link used; False when it was used before (single use, across processes)."""
        rows = self.store.execute(
            f"INSERT INTO {USED_LINKS} (link_id, used_at) VALUES (?, ?)"
            " ON CONFLICT (link_id) DO NOTHING RETURNING link_id",
            (link.link_id, now.isoformat()),
        )
        return bool(rows)

    def start(self, user_id: str, now: dt.datetime) -> str:
        """A new session for the user; its id goes in the cookie, its hash in the store."""
        session_id = secrets.token_urlsafe(32)
        self.store.execute(
            f"INSERT INTO {SESSIONS} (session_hash, user_id, expires_at) VALUES (?, ?, ?)",
            (_hash(session_id), user_id, (now + SESSION_TTL).isoformat()),
        )
        return session_id

    def user(self, session_id: str, now: dt.datetime) -> str | None:
        """The signed-in user of a live session, else None."""
        if not session_id:
            return None
        rows = self.store.execute(
            f"SELECT user_id, expires_at FROM {SESSIONS} WHERE session_hash = ?",
            (_hash(session_id),),
        )
        if not rows or dt.datetime.fromisoformat(rows[0][1]) <= now:
            return None
        return rows[0][0]

    def end(self, session_id: str) -> None:
        self.store.execute(f"DELETE FROM {SESSIONS} WHERE session_hash = ?", (_hash(session_id),))
