"""The messages: instant alerts, daily and weekly digests and deadline reminders, planned per
user from routed items (pipeline.lib.notify.routing) and composed into OutgoingMessages that
the outbox records before anything is sent.

* Instant alerts (users with frequency `instant`): everything routed to them that was scored,
  first seen or changed since the last instant-alert run (a 24-hour overlap catches scores
  committed late; notify.delivered_items keeps each item to one alert). One e-mail per user
  and run; its Message-ID is made from the items it carries.
* Digests (frequency `daily` / `weekly`): for each user whose period is due (see periods.py),
  what is new since their last digest of that kind, grouped into grant matches, new grants on
  their watchlists, grant updates and client news, each sorted by score then deadline and
  capped at `cap` items with "and N more". One per (user, kind, period) at most: the
  Message-ID comes from the period, and a period already in email_log is not built again. A
  user with nothing new gets no e-mail.
* Deadline reminders (everyone): grants they are matched to or watch that close 14, 7 or 2
  days ahead of their local date, one reminder per (user, grant, deadline, mark).

Items left out of a capped list ("and N more") are recorded as delivered with the message: the
digest told the user they exist, and carrying them over would grow every later digest.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import duckdb

from pipeline.lib import warehouse
from pipeline.lib.merge import REPLACE, merge_sql
from pipeline.lib.notify import periods, routing
from pipeline.lib.notify.digest_emails import (
    DEFAULT_CAP,
    PlannedEmail,
    build_deadline_reminders,
    build_digests,
    build_instant_alerts,
)
from pipeline.lib.notify.mailer import MailSettings
from pipeline.lib.notify.outbox import OutgoingMessage
from pipeline.lib.notify.users import (
    DAILY_DIGEST,
    DEADLINE_REMINDER,
    INSTANT_ALERT,
    WEEKLY_DIGEST,
)

# How far before the previous run (or digest) new items are looked for again. Scores carry
# the time their scoring run started, which may commit well after that; delivered_items keeps
# the overlap from repeating anything.
OVERLAP = dt.timedelta(hours=24)
INSTANT_CURSOR = "instant_alerts"


@dataclass
class Plan:
    kind: str
    emails: list[PlannedEmail]
    recipients: int = 0  # users with this kind who are not unsubscribed
    due: int = 0  # of them, those whose period was due and not yet sent (digests)
    routed: int = 0  # (user, item) rows routed before capping

    @property
    def items(self) -> int:
        return sum(len(p.item_keys) for p in self.emails)


# --- reading what is due -----------------------------------------------------------------


def _sent_periods(conn: duckdb.DuckDBPyConnection, kind: str, wanted: set[str]):
    if not wanted:
        return set()
    return set(
        conn.execute(
            "SELECT user_id, period FROM notify.email_log"
            " WHERE kind = ? AND period IN (SELECT unnest(?))",
            [kind, sorted(wanted)],
        ).fetchall()
    )


def _last_created(conn: duckdb.DuckDBPyConnection, kind: str) -> dict[str, dt.datetime]:
    return dict(
        conn.execute(
            "SELECT user_id, max(created_at) FROM notify.email_log"
            " WHERE kind = ? AND user_id IS NOT NULL GROUP BY user_id",
            [kind],
        ).fetchall()
    )


def plan_digests(
    conn: duckdb.DuckDBPyConnection,
    kind: str,
    now: dt.datetime,
    *,
    due_now_only: bool,
    cap: int = DEFAULT_CAP,
) -> Plan:
    if kind not in (DAILY_DIGEST, WEEKLY_DIGEST):
        raise ValueError(f"not a digest kind: {kind!r}")
    people = routing.recipients(conn, kind)
    candidates = {}
    for person in people:
        period = periods.due_period(
            kind,
            now,
            person.timezone,
            person.digest_day,
            person.digest_hour,
            due_now_only=due_now_only,
        )
        if period is not None:
            candidates[person.user_id] = period
    sent = _sent_periods(conn, kind, set(candidates.values()))
    due = {u: p for u, p in candidates.items() if (u, p) not in sent}
    plan = Plan(kind, [], recipients=len(people), due=len(due))
    if not due:
        return plan
    last = _last_created(conn, kind)
    first_look = now - periods.PERIOD_LENGTH[kind]
    due_people = [p for p in people if p.user_id in due]
    since = {p.user_id: min(last.get(p.user_id, first_look), now) - OVERLAP for p in due_people}
    local_dates = {p.user_id: periods.local_date(now, p.timezone) for p in due_people}
    with routing.Audience(
        conn, routing.audience_frame(due_people, since, now, local_dates)
    ) as group:
        routed = group.new_items(kind)
    plan.routed = routed.rows
    plan.emails = build_digests(kind, due_people, due, routed, now, cap)
    return plan


def read_cursor(conn: duckdb.DuckDBPyConnection, name: str) -> dt.datetime | None:
    return warehouse.scalar(conn, "SELECT value FROM notify.cursors WHERE name = ?", [name])


def write_cursor(conn: duckdb.DuckDBPyConnection, name: str, value: dt.datetime) -> None:
    conn.execute(
        merge_sql(
            "notify.cursors", ["name", "value", "updated_at"], "VALUES (?, ?, ?)", update=REPLACE
        ),
        [name, value, dt.datetime.now(dt.UTC)],
    )


def plan_instant_alerts(
    conn: duckdb.DuckDBPyConnection, now: dt.datetime, cap: int = DEFAULT_CAP
) -> Plan:
    """What instant users get now: items since the last run (minus the overlap)."""
    people = routing.recipients(conn, INSTANT_ALERT)
    plan = Plan(INSTANT_ALERT, [], recipients=len(people), due=len(people))
    if not people:
        return plan
    last = read_cursor(conn, INSTANT_CURSOR)
    start = min(last or now, now) - OVERLAP
    with _audience_since(conn, people, start, now) as group:
        routed = group.new_items(INSTANT_ALERT)
    plan.routed = routed.rows
    plan.emails = build_instant_alerts(people, routed, now, cap)
    return plan


def _audience_since(conn, people, start: dt.datetime, now: dt.datetime) -> routing.Audience:
    """Everyone in `people` looking at items since one `start`, on their own local date."""
    since = {p.user_id: start for p in people}
    local_dates = {p.user_id: periods.local_date(now, p.timezone) for p in people}
    return routing.Audience(conn, routing.audience_frame(people, since, now, local_dates))


def plan_deadline_reminders(
    conn: duckdb.DuckDBPyConnection,
    now: dt.datetime,
    *,
    due_now_only: bool,
    cap: int = DEFAULT_CAP,
) -> Plan:
    """Reminders due on each user's local date; with `due_now_only` only for users whose
    local digest hour has come today (so reminders arrive at the time digests do)."""
    people = routing.recipients(conn, DEADLINE_REMINDER)
    if due_now_only:
        people = [
            p
            for p in people
            if now
            >= periods.local_wall_time(
                periods.local_date(now, p.timezone), p.digest_hour, p.timezone
            )
        ]
    plan = Plan(DEADLINE_REMINDER, [], recipients=len(people), due=len(people))
    if not people:
        return plan
    with _audience_since(conn, people, dt.datetime(1970, 1, 1, tzinfo=dt.UTC), now) as group:
        due = group.deadlines(DEADLINE_REMINDER)
    plan.routed = due.height
    plan.emails = build_deadline_reminders(people, due, now, cap)
    return plan


def compose(
    mail: MailSettings, planned: Iterable[PlannedEmail], now: dt.datetime
) -> list[OutgoingMessage]:
    """Render every planned e-mail into the message the outbox records."""
    return [
        mail.compose(
            p.email,
            identity=p.identity,
            user_id=p.recipient.user_id,
            tenant_id=p.recipient.tenant_id,
            period=p.period,
            item_keys=p.item_keys,
            is_sample=p.is_sample,
            date=now,
        )
        for p in planned
    ]
