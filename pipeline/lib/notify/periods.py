"""Digest periods and due times in each user's own timezone, safe across daylight-saving changes.

A daily digest's period is the user's local date ("2026-03-08"), a weekly digest's the ISO week
of it ("2026-W10"). A period's digest is due from the user's digest hour on that local date (on
the digest weekday of that week, for weekly ones) until the period ends; the Message-ID is made
from (user, kind, period), so however many runs see it due, the period gets one digest.

Due times are computed as local wall-clock times and only then converted to UTC, so 8:00 stays
8:00 local on both sides of a DST change. An hour that does not exist locally (02:00 on the day
clocks go forward) is due at the first instant after the gap (03:00 local); an hour that
happens twice (01:00 on the day clocks go back) is due at its first occurrence.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from pipeline.lib.notify.users import DAILY_DIGEST, WEEKDAYS, WEEKLY_DIGEST

PERIOD_LENGTH = {DAILY_DIGEST: dt.timedelta(days=1), WEEKLY_DIGEST: dt.timedelta(days=7)}


def local_now(now: dt.datetime, timezone: str) -> dt.datetime:
    if now.tzinfo is None:
        raise ValueError(f"'now' must be timezone-aware, got {now!r}")
    return now.astimezone(ZoneInfo(timezone))


def local_date(now: dt.datetime, timezone: str) -> dt.date:
    return local_now(now, timezone).date()


def period_for(kind: str, day: dt.date) -> str:
    """The period a local date falls in: the date itself (daily) or its ISO week (weekly)."""
    if kind == DAILY_DIGEST:
        return day.isoformat()
    if kind == WEEKLY_DIGEST:
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    raise ValueError(f"no digest periods for kind {kind!r}")


def period_first_day(kind: str, period: str) -> dt.date:
    if kind == DAILY_DIGEST:
        return dt.date.fromisoformat(period)
    if kind == WEEKLY_DIGEST:
        year, week = period.split("-W")
        return dt.date.fromisocalendar(int(year), int(week), 1)
    raise ValueError(f"no digest periods for kind {kind!r}")


def local_wall_time(day: dt.date, hour: int, timezone: str) -> dt.datetime:
    """`hour`:00 on `day` in `timezone`, as UTC. fold=0: a skipped hour maps to the end of
    the gap, a repeated hour to its first occurrence."""
    return dt.datetime.combine(day, dt.time(hour), tzinfo=ZoneInfo(timezone)).astimezone(dt.UTC)


def due_at(kind: str, period: str, timezone: str, digest_day: str, digest_hour: int) -> dt.datetime:
    """When the digest of `period` becomes due, in UTC."""
    first = period_first_day(kind, period)
    day = first if kind == DAILY_DIGEST else first + dt.timedelta(days=WEEKDAYS.index(digest_day))
    return local_wall_time(day, digest_hour, timezone)


def due_period(
    kind: str,
    now: dt.datetime,
    timezone: str,
    digest_day: str,
    digest_hour: int,
    *,
    due_now_only: bool,
) -> str | None:
    """The user's current period, if its digest may be sent at `now`. With `due_now_only`
    (the hourly schedule) only once the local digest time has come; without it (a manual run,
    `pipeline demo`) whatever the hour."""
    period = period_for(kind, local_date(now, timezone))
    if due_now_only and now < due_at(kind, period, timezone, digest_day, digest_hour):
        return None
    return period


def day_label(day: dt.date) -> str:
    """'Mon 2 Mar'"""
    return f"{WEEKDAYS[day.weekday()].capitalize()} {day.day} {day:%b}"


def period_label(kind: str, period: str) -> str:
    """'Mon 2 Mar' for a daily period, 'week of Mon 2 Mar' for a weekly one."""
    first = period_first_day(kind, period)
    return day_label(first) if kind == DAILY_DIGEST else f"week of {day_label(first)}"
