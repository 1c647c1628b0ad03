"""Fold the recipient event store into the warehouse, idempotently by event id: new events go
to raw.recipient_events once each, and what reads them is derived from those rows, so a
fold that is repeated or interrupted leaves the same result:

* notify.email_log `opens` / `clicks` are recounted from the raw rows (pixel loads, redirects
  followed) for every message a new event touched, with the first open / click times;
* the latest unsubscribe / resubscribe of each (user, kind) a new event touched decides its
  notify.unsubscribes row, and pending messages of unsubscribed pairs are cancelled;
* each user's latest saved preferences become their override row (and effective rows)
  unless the row already holds that save (compared by time, so an interrupted fold heals).

The first fold-in adopts what the warehouse held before the store existed (see
_adopt_warehouse_state), so an upgrade forgets no unsubscribe or saved preference.

The sensor (defs/notify/recipient_events.py) and `pipeline demo` run it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from pipeline.lib import warehouse
from pipeline.lib.notify.outbox import cancel_unsubscribed
from pipeline.lib.notify.preferences import read_overrides, write_overrides
from pipeline.lib.notify.recipient_events import (
    CLICK,
    OPEN,
    PREFERENCES,
    RESUBSCRIBE,
    UNSUBSCRIBE,
    RecipientEvent,
    RecipientEvents,
)
from pipeline.lib.notify.subscriptions import record_unsubscribe, resubscribe
from pipeline.lib.notify.users import load_users_file

log = logging.getLogger(__name__)

# Re-read this many store positions below the last folded one: PostgreSQL hands out sequence
# numbers at insert and concurrent writers may commit out of order, so a late commit can land
# below the cursor. The event id keeps the re-read from counting anything twice.
OVERLAP = 1_000
BATCH = 50_000
_SCHEMA = {
    "event_id": pl.String,
    "seq": pl.Int64,
    "action": pl.String,
    "user_id": pl.String,
    "kind": pl.String,
    "message_id": pl.String,
    "detail": pl.String,
    "recorded_at": pl.Datetime("us", "UTC"),
}


@dataclass
class FoldReport:
    new_events: int = 0
    messages_counted: int = 0
    subscription_changes: int = 0
    cancelled: int = 0
    preferences_applied: int = 0

    def as_metadata(self) -> dict[str, int]:
        """The figures the recipient_events asset publishes as metadata."""
        return {
            "new_events": self.new_events,
            "messages_counted": self.messages_counted,
            "subscription_changes": self.subscription_changes,
            "preferences_applied": self.preferences_applied,
        }


def _frame(events: list[RecipientEvent]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            (e.event_id, e.seq, e.action, e.user_id, e.kind, e.message_id,
             json.dumps(e.detail) if e.detail is not None else None, e.recorded_at)
            for e in events
        ],
        schema=_SCHEMA,
        orient="row",
    )  # fmt: skip


def _insert_new(conn, events: list[RecipientEvent], since: int, now: dt.datetime) -> list:
    known = {
        r[0]
        for r in conn.execute(
            "SELECT event_id FROM raw.recipient_events WHERE seq > ?", [since]
        ).fetchall()
    }
    new = [e for e in events if e.event_id not in known]
    if new:
        warehouse.register_frame(conn, "incoming_events", _frame(new))
        try:
            conn.execute(
                "INSERT INTO raw.recipient_events (event_id, seq, action, user_id, kind,"
                " message_id, detail, recorded_at, folded_at) SELECT event_id, seq, action,"
                " user_id, kind, message_id, detail, recorded_at, ? FROM incoming_events",
                [now],
            )
        finally:
            warehouse.unregister_frame(conn, "incoming_events")
    return new


def _recount(conn, message_ids: list[str]) -> None:
    conn.execute(
        f"""UPDATE notify.email_log SET
            opens = (SELECT count(*) FROM raw.recipient_events r
                     WHERE r.message_id = notify.email_log.message_id AND r.action = '{OPEN}'),
            clicks = (SELECT count(*) FROM raw.recipient_events r
                      WHERE r.message_id = notify.email_log.message_id AND r.action = '{CLICK}'),
            first_opened_at = (SELECT min(recorded_at) FROM raw.recipient_events r
                     WHERE r.message_id = notify.email_log.message_id AND r.action = '{OPEN}'),
            first_clicked_at = (SELECT min(recorded_at) FROM raw.recipient_events r
                     WHERE r.message_id = notify.email_log.message_id AND r.action = '{CLICK}')
        WHERE message_id IN (SELECT unnest(?))""",
        [message_ids],
    )


def _apply_subscriptions(conn, pairs: set[tuple[str, str]]) -> None:
    for user_id, kind in sorted(pairs):
        action, at = conn.execute(
            "SELECT action, recorded_at FROM raw.recipient_events WHERE user_id = ? AND kind = ?"
            " AND action IN (?, ?) ORDER BY seq DESC LIMIT 1",
            [user_id, kind, UNSUBSCRIBE, RESUBSCRIBE],
        ).fetchall()[0]
        if action == UNSUBSCRIBE:
            record_unsubscribe(conn, user_id, kind, at)
        else:
            resubscribe(conn, user_id, kind)


def _apply_preferences(conn, config_dir: Path) -> int:
    """Latest saved preferences per user that their override row does not hold yet."""
    waiting = conn.execute(
        "SELECT r.user_id, r.detail, r.recorded_at FROM raw.recipient_events r"
        " LEFT JOIN notify.preference_overrides o ON o.user_id = r.user_id"
        " WHERE r.action = ? AND r.seq = (SELECT max(seq) FROM raw.recipient_events x"
        "   WHERE x.user_id = r.user_id AND x.action = r.action)"
        " AND o.updated_at IS DISTINCT FROM r.recorded_at",
        [PREFERENCES],
    ).fetchall()
    if not waiting:
        return 0
    try:
        users_file = load_users_file(config_dir)
    except ValueError as error:  # the next fold tries again once users.yaml is fixed
        log.warning("saved preferences not applied yet: %s", error)
        return 0
    applied = 0
    for user_id, detail, at in waiting:
        applied += write_overrides(conn, users_file, user_id, json.loads(detail), at)
    return applied


def _adopt_warehouse_state(conn, events: RecipientEvents) -> int:
    """On the first fold-in ever: unsubscribes and saved preferences the warehouse holds from
    before the event store existed become events (unless the store already has newer ones),
    so the sender and the preferences page, which read the store, keep honouring them."""
    adopted = 0
    for user_id, kind, at in conn.execute(
        "SELECT user_id, kind, unsubscribed_at FROM notify.unsubscribes ORDER BY 3"
    ).fetchall():
        if not events.is_unsubscribed(user_id, kind):
            events.append(UNSUBSCRIBE, user_id=user_id, kind=kind, now=at)
            adopted += 1
    saved_at = dict(
        conn.execute("SELECT user_id, updated_at FROM notify.preference_overrides").fetchall()
    )
    for user_id, changes in read_overrides(conn).items():
        if events.preference_changes(user_id) is None:
            events.append(PREFERENCES, user_id=user_id, detail=changes, now=saved_at[user_id])
            adopted += 1
    return adopted


def fold_into(
    conn: duckdb.DuckDBPyConnection,
    events: RecipientEvents,
    config_dir: Path,
    now: dt.datetime | None = None,
) -> FoldReport:
    now = now or dt.datetime.now(dt.UTC)
    report = FoldReport()
    last = warehouse.scalar(conn, "SELECT coalesce(max(seq), 0) FROM raw.recipient_events")
    if last == 0:
        _adopt_warehouse_state(conn, events)
    since = max(0, last - OVERLAP)
    while batch := events.since(since, BATCH):
        with warehouse.transaction(conn):
            new = _insert_new(conn, batch, since, now)
            counted = sorted({e.message_id for e in new if e.action in (OPEN, CLICK)})
            if counted:
                _recount(conn, counted)
            pairs = {(e.user_id, e.kind) for e in new if e.action in (UNSUBSCRIBE, RESUBSCRIBE)}
            _apply_subscriptions(conn, pairs)
        report.new_events += len(new)
        report.messages_counted += len(counted)
        report.subscription_changes += len(pairs)
        since = batch[-1].seq
    report.cancelled = cancel_unsubscribed(conn, now)
    report.preferences_applied = _apply_preferences(conn, config_dir)
    return report


def fold_events(
    location, events: RecipientEvents, config_dir: Path, now: dt.datetime | None = None
) -> FoldReport:
    """Fold everything new in `events` into the warehouse at `location`."""
    with warehouse.connection(location) as conn:
        return fold_into(conn, events, config_dir, now)
