"""What recipients do (open, click, unsubscribe, resubscribe, preference changes), appended as
events with a unique id to a store made for many concurrent writers, so `pipeline serve` never
opens the warehouse (DuckDB lets one process at a time hold it).

SQLite in WAL mode in the data dir by default; PostgreSQL when the deployment has one
(settings.recipient_events_location). Writers only append; pipeline.lib.notify.event_fold
folds the events into the warehouse idempotently by event id. The sender and the preferences
page read the store directly, so an unsubscribe or a saved preference counts at once.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg2
import psycopg2.pool

from pipeline.lib.settings import recipient_events_location

OPEN, CLICK = "open", "click"
UNSUBSCRIBE, RESUBSCRIBE = "unsubscribe", "resubscribe"
PREFERENCES = "preferences"
ACTIONS = (OPEN, CLICK, UNSUBSCRIBE, RESUBSCRIBE, PREFERENCES)
TABLE = "pipeline_recipient_events"
# A writer waits this long for another writer's commit (SQLite serialises them).
SQLITE_BUSY_TIMEOUT_MS = 30_000

# The two databases differ only in how they spell the auto-numbered key.
_DDL = """
CREATE TABLE IF NOT EXISTS {table} (
    seq {seq_key},
    event_id TEXT NOT NULL UNIQUE,
    action TEXT NOT NULL,
    user_id TEXT,
    kind TEXT,
    message_id TEXT,
    detail TEXT,
    recorded_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS {table}_user ON {table} (user_id, action)
"""
_SQLITE_DDL = _DDL.format(table=TABLE, seq_key="INTEGER PRIMARY KEY AUTOINCREMENT")
# Concurrent CREATE TABLE IF NOT EXISTS races in PostgreSQL (duplicate pg_type row): the
# advisory lock makes starting writers take turns.
_POSTGRES_DDL = f"SELECT pg_advisory_xact_lock(hashtext('{TABLE}'));" + _DDL.format(
    table=TABLE, seq_key="BIGSERIAL PRIMARY KEY"
)
_COLUMNS = "seq, event_id, action, user_id, kind, message_id, detail, recorded_at"


@dataclass(frozen=True)
class RecipientEvent:
    seq: int
    event_id: str
    action: str
    user_id: str | None
    kind: str | None
    message_id: str | None
    detail: dict | None
    recorded_at: dt.datetime


def _event(row: tuple) -> RecipientEvent:
    seq, event_id, action, user_id, kind, message_id, detail, recorded_at = row
    return RecipientEvent(
        seq, event_id, action, user_id, kind, message_id,
        json.loads(detail) if detail else None, dt.datetime.fromisoformat(recorded_at),
    )  # fmt: skip


class RecipientEvents:
    """One store; safe to share between threads (a connection per thread for SQLite, a pool
    for PostgreSQL) and to open from many processes at once."""

    def __init__(self, location: Path | str) -> None:
        self.location = location
        self.is_postgres = isinstance(location, str) and location.startswith("postgres")
        self._local = threading.local()
        self._pool = None
        if self.is_postgres:
            self._pool = psycopg2.pool.ThreadedConnectionPool(1, 32, location)
        else:
            Path(location).parent.mkdir(parents=True, exist_ok=True)
        self._run(_POSTGRES_DDL if self.is_postgres else _SQLITE_DDL, script=True)

    # --- connections ---------------------------------------------------------------------

    def _sqlite(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.location, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000, isolation_level=None
            )
            conn.execute("PRAGMA journal_mode=WAL")
            # NORMAL: a commit survives a crash of the process (not of the machine) and
            # skips an fsync per event; WAL keeps readers and the writer apart.
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            self._local.conn = conn
        return conn

    def _run(self, sql: str, params: tuple = (), *, script: bool = False) -> list[tuple]:
        if not self.is_postgres:
            conn = self._sqlite()
            if script:
                conn.executescript(sql)
                return []
            return conn.execute(sql, params).fetchall()
        conn = self._pool.getconn()
        try:
            with conn, conn.cursor() as cursor:  # one transaction, committed on exit
                cursor.execute(sql.replace("?", "%s"), params)
                return cursor.fetchall() if cursor.description else []
        finally:
            self._pool.putconn(conn)

    def execute(self, sql: str, params: tuple = (), *, script: bool = False) -> list[tuple]:
        """SQL (`?` placeholders) on the store's database: `pipeline serve` keeps its sign-in
        sessions beside the events (pipeline.lib.web_sessions), away from the warehouse."""
        return self._run(sql, params, script=script)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.closeall()
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # --- writing -------------------------------------------------------------------------

    def append(
        self,
        action: str,
        *,
        user_id: str | None = None,
        kind: str | None = None,
        message_id: str | None = None,
        detail: dict | None = None,
        now: dt.datetime | None = None,
    ) -> str:
        """Append one event (committed when this returns); its new unique id."""
        if action not in ACTIONS:
            raise ValueError(f"unknown recipient action {action!r}")
        event_id = uuid.uuid4().hex
        recorded_at = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).isoformat()
        self._run(
            f"INSERT INTO {TABLE} (event_id, action, user_id, kind, message_id, detail,"
            " recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (event_id, action, user_id, kind, message_id,
             json.dumps(detail) if detail is not None else None, recorded_at),
        )  # fmt: skip
        return event_id

    # --- reading -------------------------------------------------------------------------

    def last_seq(self) -> int:
        return self._run(f"SELECT coalesce(max(seq), 0) FROM {TABLE}")[0][0]

    def since(self, seq: int, limit: int = 50_000) -> list[RecipientEvent]:
        """Events after `seq`, oldest first."""
        rows = self._run(
            f"SELECT {_COLUMNS} FROM {TABLE} WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit)
        )
        return [_event(r) for r in rows]

    def action_counts(self) -> dict[str, int]:
        """Events per action (what /metrics publishes as opens and clicks)."""
        return dict(self._run(f"SELECT action, count(*) FROM {TABLE} GROUP BY action"))

    def unsubscribed(self) -> set[tuple[str, str]]:
        """(user_id, kind) pairs whose latest unsubscribe/resubscribe is an unsubscribe."""
        rows = self._run(
            f"SELECT e.user_id, e.kind, e.action FROM {TABLE} e JOIN ("
            f"  SELECT user_id, kind, max(seq) AS seq FROM {TABLE}"
            "   WHERE action IN (?, ?) GROUP BY user_id, kind"
            ") latest ON latest.seq = e.seq",
            (UNSUBSCRIBE, RESUBSCRIBE),
        )
        return {(user_id, kind) for user_id, kind, action in rows if action == UNSUBSCRIBE}

    def is_unsubscribed(self, user_id: str, kind: str) -> bool:
        rows = self._run(
            f"SELECT action FROM {TABLE} WHERE user_id = ? AND kind = ? AND action IN (?, ?)"
            " ORDER BY seq DESC LIMIT 1",
            (user_id, kind, UNSUBSCRIBE, RESUBSCRIBE),
        )
        return bool(rows) and rows[0][0] == UNSUBSCRIBE

    def preference_changes(self, user_id: str) -> dict | None:
        """The override columns of the user's latest saved preferences (None: never saved)."""
        rows = self._run(
            f"SELECT detail FROM {TABLE} WHERE user_id = ? AND action = ?"
            " ORDER BY seq DESC LIMIT 1",
            (user_id, PREFERENCES),
        )
        return json.loads(rows[0][0]) if rows else None


def default_store() -> RecipientEvents:
    return RecipientEvents(recipient_events_location())
