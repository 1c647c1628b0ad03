"""The exactly-once outbox over notify.email_log.

Every message is rendered and recorded (status `pending`, deterministic message_id) together
with the items it carries (notify.delivered_items) in one transaction BEFORE anything is sent,
so an item is never put into a second message and a rerun never builds the message again.

Delivery claims due rows (`pending` -> `sending`, committed), sends them with no warehouse
connection held, then records the outcome:
  accepted           -> `sent` (SMTP) / `written` (.eml outbox)
  transient (4xx, refused/dropped connection, timeout)
                     -> `pending` again with a backoff; retried in this run (retry_delays)
                        and by the next run; `failed` after max_attempts
  permanent (5xx)    -> `failed` with the server's reason
  unsubscribed since it was recorded -> `cancelled`, never sent (checked against the
                        recipient event store just before each send, so an unsubscribe
                        counts before the fold-in has copied it into the warehouse)

A crash between sending and recording leaves rows in `sending`. On a later run:
  * the .eml outbox can tell (the file exists or not): `written`, or `pending` to write again;
  * SMTP cannot ask the server, so the row becomes `uncertain` and is NOT resent. The trade-off:
    at most one message per crash may be lost (operators see `uncertain` rows and can requeue
    them by setting status back to `pending`) instead of a recipient getting a duplicate.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import duckdb
import polars as pl

from pipeline.lib import warehouse
from pipeline.lib.frames import attribute_frame
from pipeline.lib.merge import merge_sql
from pipeline.lib.notify.recipient_events import RecipientEvents, default_store
from pipeline.lib.notify.transport import Transport
from pipeline.lib.raw_events import utc_now
from pipeline.lib.warehouse import Warehouse, transaction

log = logging.getLogger(__name__)

DELIVERED = ("sent", "written")
DEFAULT_RETRY_DELAYS_S = (2.0, 5.0)
DEFAULT_MAX_ATTEMPTS = 6
NEXT_RUN_BACKOFF_S = 60.0
MAX_BACKOFF_S = 3600.0
STALE_SENDING_S = 900.0


@dataclass(frozen=True)
class OutgoingMessage:
    message_id: str
    recipient: str
    kind: str
    subject: str
    raw_message: str
    user_id: str | None = None
    tenant_id: str | None = None
    period: str | None = None
    item_keys: tuple[str, ...] = ()
    is_sample: bool = False


@dataclass
class DeliveryReport:
    delivered: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)
    uncertain: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    cancelled: int = 0

    def as_metadata(self) -> dict[str, int]:
        return {
            "delivered": len(self.delivered),
            "failed": len(self.failed),
            "retrying": len(self.retrying),
            "uncertain": len(self.uncertain),
            "cancelled": self.cancelled,
        }


MESSAGE_SCHEMA = {
    "message_id": pl.String,
    "recipient": pl.String,
    "user_id": pl.String,
    "tenant_id": pl.String,
    "kind": pl.String,
    "period": pl.String,
    "subject": pl.String,
    "item_keys": pl.List(pl.String),
    "item_count": pl.Int32,
    "raw_message": pl.String,
    "is_sample": pl.Boolean,
}
ITEM_SCHEMA = {
    "user_id": pl.String,
    "kind": pl.String,
    "item_key": pl.String,
    "message_id": pl.String,
}


def record(
    conn: duckdb.DuckDBPyConnection, messages: Sequence[OutgoingMessage], now: dt.datetime
) -> list[str]:
    """Record messages as `pending` and mark their items delivered to their user, atomically.
    A message is skipped when its message_id is already recorded, or when it carries an item
    its user was already given in that kind (another run got there first: the next run builds
    what is left). Returns the ids recorded. Bulk inserts: a digest run records 10,000s."""
    unique: dict[str, OutgoingMessage] = {}
    for message in messages:
        unique.setdefault(message.message_id, message)
    if not unique:
        return []
    batch = list(unique.values())
    frame = attribute_frame(
        batch,
        MESSAGE_SCHEMA,
        item_keys=lambda m: list(m.item_keys),
        item_count=lambda m: len(m.item_keys),
    )
    items = pl.DataFrame(
        {
            "user_id": [m.user_id for m in batch if m.user_id for _ in m.item_keys],
            "kind": [m.kind for m in batch if m.user_id for _ in m.item_keys],
            "item_key": [key for m in batch if m.user_id for key in m.item_keys],
            "message_id": [m.message_id for m in batch if m.user_id for _ in m.item_keys],
        },
        schema=ITEM_SCHEMA,
    )
    warehouse.register_frame(conn, "outgoing_messages", frame)
    warehouse.register_frame(conn, "outgoing_items", items)
    try:
        with transaction(conn):
            conn.execute(
                "CREATE OR REPLACE TEMP TABLE outgoing_skipped AS"
                " SELECT message_id FROM outgoing_messages"
                " WHERE message_id IN (SELECT message_id FROM notify.email_log)"
                " UNION SELECT i.message_id FROM outgoing_items i"
                " JOIN notify.delivered_items d USING (user_id, kind, item_key)"
            )
            fresh = [
                row[0]
                for row in conn.execute(
                    "SELECT message_id FROM outgoing_messages"
                    " WHERE message_id NOT IN (SELECT message_id FROM outgoing_skipped)"
                ).fetchall()
            ]
            conn.execute(
                "INSERT INTO notify.email_log (message_id, recipient, user_id, tenant_id, kind,"
                " period, subject, item_keys, item_count, status, attempts, raw_message,"
                " is_sample, created_at, updated_at)"
                " SELECT message_id, recipient, user_id, tenant_id, kind, period, subject,"
                " item_keys, item_count, 'pending', 0, raw_message, is_sample, $now, $now"
                " FROM outgoing_messages"
                " WHERE message_id NOT IN (SELECT message_id FROM outgoing_skipped)",
                {"now": now},
            )
            conn.execute(
                merge_sql(
                    "notify.delivered_items",
                    ["user_id", "kind", "item_key", "message_id", "recorded_at"],
                    "SELECT user_id, kind, item_key, message_id, $now FROM outgoing_items"
                    " WHERE message_id NOT IN (SELECT message_id FROM outgoing_skipped)",
                ),
                {"now": now},
            )
            conn.execute("DROP TABLE outgoing_skipped")
    finally:
        warehouse.unregister_frame(conn, "outgoing_items")
        warehouse.unregister_frame(conn, "outgoing_messages")
    recorded = set(fresh)
    return [m.message_id for m in batch if m.message_id in recorded]


def cancel_unsubscribed(conn: duckdb.DuckDBPyConnection, now: dt.datetime) -> int:
    """Messages still waiting for a (user, kind) that has since unsubscribed are never sent:
    `cancelled`, with the reason. Returns how many."""
    return conn.execute(
        "UPDATE notify.email_log e SET status = 'cancelled', updated_at = ?,"
        " last_error = 'recipient unsubscribed from ' || e.kind || ' before it was sent'"
        " WHERE e.status = 'pending' AND EXISTS (SELECT 1 FROM notify.unsubscribes s"
        "   WHERE s.user_id = e.user_id AND s.kind = e.kind)",
        [now],
    ).fetchall()[0][0]  # the row count (DuckLake has no RETURNING)


def _kind_filter(kinds: Iterable[str] | None, message_ids: Iterable[str] | None):
    clauses, params = [], []
    if kinds is not None:
        clauses.append("kind IN (SELECT unnest(?))")
        params.append(list(kinds))
    if message_ids is not None:
        clauses.append("message_id IN (SELECT unnest(?))")
        params.append(list(message_ids))
    return "".join(f" AND {c}" for c in clauses), params


def recover_interrupted(
    database: Warehouse,
    transport: Transport,
    *,
    kinds: Iterable[str] | None = None,
    stale_after_s: float = STALE_SENDING_S,
    now: dt.datetime | None = None,
) -> list[str]:
    """Resolve rows a crashed run left in `sending` (see the module docstring)."""
    now = now or utc_now()
    where, params = _kind_filter(kinds, None)
    with warehouse.connection(database) as conn:
        rows = conn.execute(
            "SELECT message_id, transport FROM notify.email_log WHERE status = 'sending'"
            f" AND updated_at <= ?{where}",
            [now - dt.timedelta(seconds=stale_after_s), *params],
        ).fetchall()
        uncertain = []
        for message_id, used_transport in rows:
            location = transport.already_delivered(message_id)
            if location:
                conn.execute(
                    "UPDATE notify.email_log SET status = ?, eml_path = ?, sent_at = ?,"
                    " updated_at = ? WHERE message_id = ?",
                    [transport.delivered_status, location, now, now, message_id],
                )
            elif used_transport == "outbox":
                # The file was never written (writes are atomic), so writing it now is safe.
                conn.execute(
                    "UPDATE notify.email_log SET status = 'pending', updated_at = ?"
                    " WHERE message_id = ?",
                    [now, message_id],
                )
            else:
                conn.execute(
                    "UPDATE notify.email_log SET status = 'uncertain', updated_at = ?,"
                    " last_error = 'interrupted between sending and recording; not resent"
                    " to avoid a duplicate' WHERE message_id = ?",
                    [now, message_id],
                )
                uncertain.append(message_id)
    if uncertain:
        log.warning("%d e-mails may or may not have been sent (status uncertain)", len(uncertain))
    return uncertain


def _claim(conn, where: str, params: list, now: dt.datetime, limit: int, transport: Transport):
    rows = conn.execute(
        "SELECT message_id, recipient, raw_message, attempts, user_id, kind FROM notify.email_log"
        " WHERE status = 'pending' AND (next_attempt_at IS NULL OR next_attempt_at <= ?)"
        f"{where} ORDER BY created_at, message_id LIMIT ?",
        [now, *params, limit],
    ).fetchall()
    if rows:
        conn.execute(
            "UPDATE notify.email_log SET status = 'sending', attempts = attempts + 1,"
            " transport = ?, updated_at = ? WHERE message_id IN (SELECT unnest(?))",
            [transport.name, now, [r[0] for r in rows]],
        )
    return rows


def deliver_pending(
    database: Warehouse,
    transport: Transport,
    *,
    kinds: Iterable[str] | None = None,
    message_ids: Iterable[str] | None = None,
    retry_delays_s: Sequence[float] = DEFAULT_RETRY_DELAYS_S,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    batch_size: int = 20,
    stale_after_s: float = STALE_SENDING_S,
    now: Callable[[], dt.datetime] = utc_now,
    sleep: Callable[[float], None] = time.sleep,
    after_send: Callable[[str], None] | None = None,
    events: RecipientEvents | None = None,
) -> DeliveryReport:
    """Send every due `pending` message (optionally only some kinds / ids). `after_send` is a
    test hook called between a send and its recording. `events`: where unsubscribes are
    accepted (the deployment's recipient event store by default)."""
    kinds = list(kinds) if kinds is not None else None
    report = DeliveryReport()
    own_events = events is None
    events = events or default_store()
    with warehouse.connection(database) as conn:
        report.cancelled = cancel_unsubscribed(conn, now())
    report.uncertain = recover_interrupted(
        database, transport, kinds=kinds, stale_after_s=stale_after_s, now=now()
    )
    where, params = _kind_filter(kinds, message_ids)
    retry_round = 0
    try:
        while True:
            sent_any = _deliver_due(
                database, transport, where, params, report, max_attempts, batch_size,
                now, after_send, events,
            )  # fmt: skip
            if sent_any:
                continue
            # Nothing due: retry this run's transient failures after a short wait.
            waiting = [m for m in report.retrying if m not in report.delivered]
            if not waiting or retry_round >= len(retry_delays_s):
                break
            sleep(retry_delays_s[retry_round])
            retry_round += 1
            with warehouse.connection(database) as conn:
                conn.execute(
                    "UPDATE notify.email_log SET next_attempt_at = NULL"
                    " WHERE status = 'pending' AND message_id IN (SELECT unnest(?))",
                    [waiting],
                )
    finally:
        transport.close()
        if own_events:
            events.close()
    finished = set(report.delivered) | set(report.failed)
    report.retrying = sorted({m for m in report.retrying if m not in finished})
    return report


def _deliver_due(
    database, transport, where, params, report, max_attempts, batch_size, now, after_send,
    events,
) -> bool:  # fmt: skip
    with warehouse.connection(database) as conn:
        claimed = _claim(conn, where, params, now(), batch_size, transport)
    if not claimed:
        return False
    results, unsubscribed = [], []
    for message_id, recipient, raw_message, attempts, user_id, kind in claimed:
        if user_id and events.is_unsubscribed(user_id, kind):
            unsubscribed.append(message_id)
            continue
        outcome = transport.send(message_id, recipient, raw_message)
        if after_send:
            after_send(message_id)
        results.append((message_id, attempts + 1, outcome))
    at = now()
    with warehouse.connection(database) as conn:
        if unsubscribed:
            conn.execute(
                "UPDATE notify.email_log SET status = 'cancelled', updated_at = ?, last_error ="
                " 'recipient unsubscribed from ' || kind || ' before it was sent'"
                " WHERE message_id IN (SELECT unnest(?))",
                [at, unsubscribed],
            )
            report.cancelled += len(unsubscribed)
        for message_id, attempts, outcome in results:
            if outcome.accepted:
                conn.execute(
                    "UPDATE notify.email_log SET status = ?, sent_at = ?, updated_at = ?,"
                    " eml_path = ?, last_error = NULL WHERE message_id = ?",
                    [transport.delivered_status, at, at, outcome.location, message_id],
                )
                report.delivered.append(message_id)
            elif outcome.status == "transient" and attempts < max_attempts:
                backoff = min(NEXT_RUN_BACKOFF_S * 2 ** (attempts - 1), MAX_BACKOFF_S)
                conn.execute(
                    "UPDATE notify.email_log SET status = 'pending', last_error = ?,"
                    " next_attempt_at = ?, updated_at = ? WHERE message_id = ?",
                    [outcome.detail, at + dt.timedelta(seconds=backoff), at, message_id],
                )
                report.retrying.append(message_id)
                report.errors[message_id] = outcome.detail
            else:
                reason = outcome.detail
                if outcome.status == "transient":
                    reason = f"gave up after {attempts} attempts: {reason}"
                conn.execute(
                    "UPDATE notify.email_log SET status = 'failed', last_error = ?,"
                    " updated_at = ? WHERE message_id = ?",
                    [reason, at, message_id],
                )
                report.failed.append(message_id)
                report.errors[message_id] = reason
    return True
