"""Building the e-mails: per user, the digest, instant alert or deadline reminder (subject,
intro, sections) and what the outbox will record about it (identity, period, item keys)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl

from pipeline.lib.hashing import content_hash
from pipeline.lib.notify import periods
from pipeline.lib.notify.digest_items import (
    days_left_text,
    deadline_item,
    joined,
    long_date,
    plural,
)
from pipeline.lib.notify.digest_sections import (
    DEADLINE_ORDER,
    UserItems,
    counts_phrase,
    group_by_user,
    items_per_user,
)
from pipeline.lib.notify.render import Email
from pipeline.lib.notify.routing import DEADLINE_MARKS, Recipient, Routed
from pipeline.lib.notify.users import (
    DAILY_DIGEST,
    DEADLINE_REMINDER,
    INSTANT_ALERT,
    WEEKLY_DIGEST,
)

DEFAULT_CAP = 10
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


def _footer(kind: str) -> str:
    return (
        f"You receive {KIND_LABELS[kind]} because of your notification preferences. "
        "Use the link below to stop this kind of e-mail."
    )


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
