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
import functools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import duckdb
import polars as pl

from pipeline.lib import warehouse
from pipeline.lib.hashing import content_hash
from pipeline.lib.merge import REPLACE, merge_sql
from pipeline.lib.news.stories import news_stories, outlet
from pipeline.lib.notify import periods, routing
from pipeline.lib.notify.mailer import MailSettings
from pipeline.lib.notify.outbox import OutgoingMessage
from pipeline.lib.notify.render import Email, Item, Section
from pipeline.lib.notify.routing import DEADLINE_MARKS, Recipient, Routed
from pipeline.lib.notify.users import (
    DAILY_DIGEST,
    DEADLINE_REMINDER,
    INSTANT_ALERT,
    WEEKDAYS,
    WEEKLY_DIGEST,
)
from pipeline.lib.scoring.categories import CATEGORY_LABELS
from pipeline.lib.scoring.news_rules import summary_beyond_title

DEFAULT_CAP = 10
# How far before the previous run (or digest) new items are looked for again. Scores carry
# the time their scoring run started, which may commit well after that; delivered_items keeps
# the overlap from repeating anything.
OVERLAP = dt.timedelta(hours=24)
INSTANT_CURSOR = "instant_alerts"
FIELD_LABELS = {
    "close_date": "Deadline",
    "award_floor": "Award floor",
    "award_ceiling": "Award ceiling",
    "estimated_funding": "Estimated funding",
}
KIND_LABELS = {
    INSTANT_ALERT: "instant alerts",
    DAILY_DIGEST: "the daily digest",
    WEEKLY_DIGEST: "the weekly digest",
    DEADLINE_REMINDER: "deadline reminders",
}


@dataclass(frozen=True)
class PlannedEmail:
    """One message before rendering: what the outbox will record."""

    email: Email
    recipient: Recipient
    identity: tuple[str, ...]  # with recipient and kind, what the Message-ID is made from
    period: str | None
    item_keys: tuple[str, ...]
    is_sample: bool


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


# --- formatting --------------------------------------------------------------------------


def plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


def joined(parts: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'"""
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


@functools.lru_cache(maxsize=4096)
def long_date(day: dt.date) -> str:
    """'Mon 30 Jun 2026'"""
    return f"{WEEKDAYS[day.weekday()].capitalize()} {day.day} {day:%b %Y}"


def money(value: float | None) -> str:
    return "" if value is None else f"${value:,.0f}"


def award_range(floor: float | None, ceiling: float | None) -> str | None:
    if floor and ceiling:
        return f"Award {money(floor)}–{money(ceiling)}"
    if ceiling:
        return f"Award up to {money(ceiling)}"
    if floor:
        return f"Award from {money(floor)}"
    return None


def days_left_text(days: int) -> str:
    if days <= 0:
        return "closes today"
    if days == 1:
        return "closes tomorrow"
    return f"{days} days left"


def closing(close_date: dt.date | None, today: dt.date) -> str | None:
    if close_date is None:
        return None
    return f"Closes {long_date(close_date)} ({days_left_text((close_date - today).days)})"


@functools.lru_cache(maxsize=4096)
def _change_value(field: str, value: str | None) -> str:
    if value is None or value == "":
        return "none"
    if field == "close_date":
        try:
            return long_date(dt.date.fromisoformat(value[:10]))
        except ValueError:
            return value
    try:
        return money(float(value))
    except ValueError:
        return value


def describe_change(change: dict) -> str:
    field = change["field"]
    label = FIELD_LABELS.get(field, field.replace("_", " ").capitalize())
    if field == "close_date":
        label = "Deadline moved"
    return f"{label}: {_change_value(field, change['old'])} → {_change_value(field, change['new'])}"


def _details(*parts: str | None) -> tuple[str, ...]:
    return tuple(p for p in parts if p)


def grant_item(row: dict, today: dt.date) -> Item:
    watchlists = row.get("watchlists") or []
    reasons = row.get("reasons") or []
    return Item(
        title=row["title"],
        url=row["url"],
        score=row["score"],
        details=_details(
            row["agency"],
            closing(row["close_date"], today),
            award_range(row["award_floor"], row["award_ceiling"]),
            "; ".join(reasons[:3]) if reasons else None,
            f"On your watchlist: {', '.join(watchlists)}" if watchlists else None,
        ),
    )


def update_item(row: dict, today: dt.date) -> Item:
    return Item(
        title=row["title"],
        url=row["url"],
        details=_details(
            *(describe_change(c) for c in row["changes"]),
            row["agency"],
            closing(row["close_date"], today),
        ),
        badge="updated",
    )


# Every recipient of a story gets the same summary: worked out once per story.
_summary_shown = functools.lru_cache(maxsize=8192)(summary_beyond_title)


def also_reported_by(outlets: Sequence[str] | None) -> str | None:
    """'Also reported by Reuters and Yahoo Finance' for a story other outlets reported too."""
    named = [o for o in outlets or () if o]
    return f"Also reported by {joined(named)}" if named else None


def news_item(row: dict, today: dt.date) -> Item:
    published = row["published_at"]
    clients = ", ".join([row["client_name"], *(row.get("also") or [])])
    return Item(
        title=row["title"],
        url=row["url"],
        score=row["relevance"],
        details=_details(
            clients + (f" · {published:%d %b %Y}" if published is not None else ""),
            # Older scores (and some model answers) repeat the headline: show only what adds.
            _summary_shown(row["title"], row["summary"] or ""),
            also_reported_by(row.get("also_reported_by")),
        ),
        badge=CATEGORY_LABELS.get(row["category"], row["category"]),
    )


def deadline_item(row: dict, today: dt.date) -> Item:
    return Item(
        title=row["title"],
        url=row["url"],
        score=row["score"],
        details=_details(
            row["agency"],
            f"Closes {long_date(row['close_date'])}",
            award_range(row["award_floor"], row["award_ceiling"]),
            f"On your watchlist: {', '.join(row['watchlists'])}" if row["watchlists"] else None,
        ),
        badge=days_left_text(row["days_left"]),
        urgency=DEADLINE_MARKS[row["mark"]],
    )


# --- grouping ----------------------------------------------------------------------------


@dataclass
class Group:
    """One user's rows of one section: the first `cap` rows in order, and all their keys."""

    rows: list[dict]
    total: int
    keys: tuple[str, ...]  # a tuple, not a list: the collector stops scanning tuples of strings
    is_sample: bool


def group_by_user(
    frame: pl.DataFrame, order: Sequence[tuple[str, bool]], cap: int
) -> dict[str, Group]:
    """Per user: rows sorted by `order` ((column, descending), nulls last), capped at `cap`.
    Sorting, ranking and key lists are done by Polars over all users at once."""
    if frame.is_empty():
        return {}
    # Sorted by `order` alone: the ranks and key lists per user keep that order, and leaving the
    # user out of the sort saves comparing a million user ids.
    frame = frame.sort(
        [c for c, _ in order], descending=[d for _, d in order], nulls_last=True
    ).with_columns(rank=pl.int_range(pl.len()).over("user_id"))
    # Collapsed copies of a story (copy_keys) are delivered with the story they joined.
    copies = (
        pl.col("copy_keys").list.explode(keep_nulls=False, empty_as_null=False)
        if "copy_keys" in frame.columns
        else None
    )
    summary = frame.group_by("user_id").agg(
        total=pl.len(),
        keys=pl.col("item_key"),
        is_sample=pl.col("is_sample").any(),
        copies=copies if copies is not None else pl.lit(None, dtype=pl.List(pl.String)),
    )
    groups = {
        user_id: Group([], total, (*keys, *(copy_keys or ())), is_sample)
        for user_id, total, keys, is_sample, copy_keys in summary.iter_rows()
    }
    for row in frame.filter(pl.col("rank") < cap).iter_rows(named=True):
        groups[row["user_id"]].rows.append(row)
    return groups


GRANT_ORDER = (("score", True), ("close_date", False), ("title", False))
UPDATE_ORDER = (("close_date", False), ("changed_at", True), ("title", False))
NEWS_ORDER = (("relevance", True), ("published_at", True), ("title", False))
DEADLINE_ORDER = (("days_left", False), ("score", True), ("title", False))


@dataclass
class UserItems:
    """One user's sections, in the order they appear in the e-mail."""

    sections: list[tuple[str, str, Group, object]]  # (key, title, group, item builder)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(k for _, _, g, _ in self.sections for k in g.keys)

    @property
    def is_sample(self) -> bool:
        return any(g.is_sample for _, _, g, _ in self.sections)

    def count(self, key: str) -> int:
        return sum(g.total for k, _, g, _ in self.sections if k == key)

    def render(self, today: dt.date) -> tuple[Section, ...]:
        return tuple(
            Section(
                title,
                tuple(build(row, today) for row in group.rows),
                more=group.total - len(group.rows),
            )
            for _, title, group, build in self.sections
            if group.total
        )


SECTION_NOUNS = {
    "matches": ("grant match", "grant matches"),
    "watchlist": ("new grant on your watchlists", "new grants on your watchlists"),
    "updates": ("grant update", None),
    "news": ("client news", "client news"),
}


def counts_phrase(items: UserItems) -> str:
    """'3 grant matches and 5 client news'"""
    parts = []
    for key, (one, many) in SECTION_NOUNS.items():
        count = items.count(key)
        if count:
            parts.append(plural(count, one, many))
    return joined(parts)


def collapse_news_copies(news: pl.DataFrame) -> pl.DataFrame:
    """One row per (user, story): the most relevant copy (then the newest), with `copy_keys`
    (the other copies' item keys, delivered with it), `also` (the other clients it is about)
    and `also_reported_by` (the other outlets that reported it)."""
    if news.is_empty():
        return news
    sources = news["source_name"] if "source_name" in news.columns else [None] * news.height
    ranked = (
        news.with_columns(
            outlet=pl.Series([outlet(s, u) for s, u in zip(sources, news["url"], strict=True)])
        )
        .join(news_stories(news), on=["client_id", "article_id"], how="left")
        .sort(["relevance", "published_at"], descending=True, nulls_last=True)
        .with_columns(copy=pl.int_range(pl.len()).over("user_id", "story"))
    )
    copies = (
        ranked.filter(pl.col("copy") > 0)
        .group_by("user_id", "story")
        .agg(
            copy_keys=pl.col("item_key"),
            also=pl.col("client_name").unique(maintain_order=True),
            also_reported_by=pl.col("outlet").unique(maintain_order=True),
        )
    )
    kept = ranked.filter(pl.col("copy") == 0).join(copies, on=["user_id", "story"], how="left")
    return kept.with_columns(
        also=pl.col("also").list.set_difference(pl.concat_list(pl.col("client_name"))),
        also_reported_by=pl.col("also_reported_by").list.set_difference(
            pl.concat_list(pl.col("outlet"))
        ),
    ).drop("copy", "story", "outlet")


def items_per_user(routed: Routed, cap: int) -> dict[str, UserItems]:
    """The routed items of each user in sections, capped."""
    grants = routed.grants
    matched = grants.filter(pl.col("score").is_not_null())
    listed = grants.filter(pl.col("score").is_null())
    groups = [
        ("matches", "Grant matches", group_by_user(matched, GRANT_ORDER, cap), grant_item),
        (
            "watchlist",
            "New grants on your watchlists",
            group_by_user(listed, GRANT_ORDER, cap),
            grant_item,
        ),
        ("updates", "Grant updates", group_by_user(routed.updates, UPDATE_ORDER, cap), update_item),
        (
            "news",
            "Client news",
            group_by_user(collapse_news_copies(routed.news), NEWS_ORDER, cap),
            news_item,
        ),
    ]
    users: dict[str, UserItems] = defaultdict(lambda: UserItems([]))
    for key, title, by_user, build in groups:
        for user_id, group in by_user.items():
            users[user_id].sections.append((key, title, group, build))
    return dict(users)


def _footer(kind: str) -> str:
    return (
        f"You receive {KIND_LABELS[kind]} because of your notification preferences. "
        "Use the link below to stop this kind of e-mail."
    )


# --- the plans ---------------------------------------------------------------------------


def build_digests(
    kind: str,
    people: Iterable[Recipient],
    due: dict[str, str],
    routed: Routed,
    now: dt.datetime,
    cap: int = DEFAULT_CAP,
) -> list[PlannedEmail]:
    """Digest e-mails for the users in `due` (user_id -> period) with anything new."""
    what = "daily" if kind == DAILY_DIGEST else "weekly"
    per_user = items_per_user(routed, cap)
    emails = []
    for person in people:
        items = per_user.get(person.user_id)
        period = due.get(person.user_id)
        keys = items.keys if items is not None else ()
        if period is None or not keys:
            continue
        label = periods.period_label(kind, period)
        today = periods.local_date(now, person.timezone)
        phrase = counts_phrase(items)
        emails.append(
            PlannedEmail(
                email=Email(
                    kind=kind,
                    recipient=person.email,
                    subject=f"{phrase} — {what} digest for {label}",
                    heading=f"Your {what} digest — {label}",
                    intro=f"{phrase[0].upper()}{phrase[1:]} since your last digest.",
                    sections=items.render(today),
                    footer=_footer(kind),
                ),
                recipient=person,
                identity=(period,),
                period=period,
                item_keys=keys,
                is_sample=person.is_sample or items.is_sample,
            )
        )
    return emails


def _single_subject(items: UserItems) -> str | None:
    """For an alert with one item: what it is and its title."""
    if len(items.keys) != 1:
        return None
    key, _, group, _ = next(s for s in items.sections if s[2].total)
    prefix = {
        "matches": "New grant match",
        "watchlist": "New grant on your watchlist",
        "updates": "Grant updated",
        "news": "Client news",
    }[key]
    row = group.rows[0]
    if key == "news":
        prefix = f"{prefix} ({row['client_name']})"
    return f"{prefix}: {row['title']}"


def _instant_intro(phrase: str, items: UserItems) -> str:
    """What is new is that the pipeline found these items since the last alert; when the news
    was published is said too (a newly added client brings weeks-old news), on the dates each
    item shows."""
    published = sorted(
        row["published_at"].date()
        for key, _, group, _ in items.sections
        if key == "news"
        for row in group.rows
        if row.get("published_at") is not None
    )
    when = ""
    if published and published[0] == published[-1]:
        when = f" The news was published on {long_date(published[0])}."
    elif published:
        when = (
            f" The news was published from {long_date(published[0])} to {long_date(published[-1])}."
        )
    return f"{phrase[0].upper()}{phrase[1:]} found since your last alert.{when}"


def build_instant_alerts(
    people: Iterable[Recipient], routed: Routed, now: dt.datetime, cap: int = DEFAULT_CAP
) -> list[PlannedEmail]:
    per_user = items_per_user(routed, cap)
    emails = []
    for person in people:
        items = per_user.get(person.user_id)
        keys = items.keys if items is not None else ()
        if not keys:
            continue
        phrase = counts_phrase(items)
        today = periods.local_date(now, person.timezone)
        emails.append(
            PlannedEmail(
                email=Email(
                    kind=INSTANT_ALERT,
                    recipient=person.email,
                    subject=_single_subject(items) or f"New for you: {phrase}",
                    heading="New for you",
                    intro=_instant_intro(phrase, items),
                    sections=items.render(today),
                    footer=_footer(INSTANT_ALERT),
                ),
                recipient=person,
                identity=("items", content_hash(sorted(keys))),
                period=today.isoformat(),
                item_keys=keys,
                is_sample=person.is_sample or items.is_sample,
            )
        )
    return emails


MARK_TITLES = {mark: f"Closing within {mark} days" for mark in DEADLINE_MARKS}
URGENCY_ORDER = ("low", "medium", "high", "critical")


def build_deadline_reminders(
    people: Iterable[Recipient], due: pl.DataFrame, now: dt.datetime, cap: int = DEFAULT_CAP
) -> list[PlannedEmail]:
    """One e-mail per user with every reminder due now, most urgent first."""
    by_mark = {
        mark: group_by_user(due.filter(pl.col("mark") == mark), DEADLINE_ORDER, cap)
        for mark in sorted(DEADLINE_MARKS)
    }
    emails = []
    for person in people:
        sections = [
            (f"mark{mark}", MARK_TITLES[mark], groups[person.user_id], deadline_item)
            for mark, groups in by_mark.items()
            if person.user_id in groups
        ]
        if not sections:
            continue
        items = UserItems(sections)
        today = periods.local_date(now, person.timezone)
        rows = [row for _, _, group, _ in sections for row in group.rows]
        total = len(items.keys)
        urgency = max((DEADLINE_MARKS[r["mark"]] for r in rows), key=URGENCY_ORDER.index)
        if total == 1:
            row = rows[0]
            subject = f"Deadline reminder: {row['title']} {days_left_text(row['days_left'])}"
        else:
            counts = [
                f"{group.total} within {key.removeprefix('mark')} days"
                for key, _, group, _ in sections
            ]
            subject = f"{plural(total, 'grant deadline')} coming up: {joined(counts)}"
        emails.append(
            PlannedEmail(
                email=Email(
                    kind=DEADLINE_REMINDER,
                    recipient=person.email,
                    subject=subject,
                    heading="Grant deadlines coming up",
                    intro=f"{plural(total, 'grant')} you match or watch close soon.",
                    sections=items.render(today),
                    urgency=urgency,
                    footer=_footer(DEADLINE_REMINDER),
                ),
                recipient=person,
                identity=(today.isoformat(), content_hash(sorted(items.keys))),
                period=today.isoformat(),
                item_keys=items.keys,
                is_sample=person.is_sample or items.is_sample,
            )
        )
    return emails


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
