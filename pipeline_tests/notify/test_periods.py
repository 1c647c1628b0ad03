"""Digest periods and due times in the user's timezone across daylight-saving changes: a user
with digest hour 8 in America/New_York gets one daily digest per local day, at local 8:00,
on both sides of 2026-03-08 and 2026-11-01 (lib sweep over every hour, and the hourly schedule
through the assets)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from pipeline.lib import warehouse
from pipeline.lib.notify import digests, periods
from pipeline.lib.notify.mailer import MailSettings
from pipeline.lib.notify.outbox import record
from pipeline_tests.notify.conftest import add_news, materialize, rows

NEW_YORK = ZoneInfo("America/New_York")


def test_gap_and_repeated_hours():
    # 02:00 does not exist on 8 Mar in New York: due at the end of the gap (03:00 EDT).
    assert periods.local_wall_time(dt.date(2026, 3, 8), 2, "America/New_York") == dt.datetime(
        2026, 3, 8, 7, tzinfo=dt.UTC
    )
    # 01:00 happens twice on 1 Nov: due at the first (EDT).
    assert periods.local_wall_time(dt.date(2026, 11, 1), 1, "America/New_York") == dt.datetime(
        2026, 11, 1, 5, tzinfo=dt.UTC
    )
    assert periods.due_at("weekly_digest", "2026-W10", "Asia/Tokyo", "fri", 9) == dt.datetime(
        2026, 3, 6, 0, tzinfo=dt.UTC
    )
    assert periods.period_for("weekly_digest", dt.date(2027, 1, 1)) == "2026-W53"
    with pytest.raises(ValueError, match="timezone-aware"):
        periods.local_now(dt.datetime(2026, 1, 1), "UTC")


def hourly(start: dt.datetime, hours: int):
    return [start + dt.timedelta(hours=h) for h in range(hours)]


@pytest.mark.parametrize("change", [dt.date(2026, 3, 8), dt.date(2026, 11, 1)])
def test_one_daily_digest_per_local_day_at_eight_across_dst(world, change):
    start = dt.datetime.combine(change - dt.timedelta(days=2), dt.time(), tzinfo=dt.UTC)
    ticks = hourly(start, 24 * 5)
    # Something new for alice every day, scored before any of the day's digests.
    for index, tick in enumerate(ticks[::24]):
        add_news(world, f"d{index}", "acme-north", "acme", f"Story {index}", 0.9,
                 scored_at=tick + dt.timedelta(hours=5))  # fmt: skip
    mail = MailSettings.from_env(world.parent / "outbox", {})
    sent_at = []
    for tick in ticks:
        with warehouse.connection(world) as conn:
            plan = digests.plan_digests(conn, "daily_digest", tick, due_now_only=True)
            recorded = record(conn, digests.compose(mail, plan.emails, tick), tick)
        sent_at += [tick] * len(recorded)
    local = [t.astimezone(NEW_YORK) for t in sent_at]
    days = [t.date() for t in local]
    assert len(days) == len(set(days)) >= 4
    assert all((t.hour, t.minute) == (8, 0) for t in local), local
    # Both UTC offsets are covered: 13:00 UTC before the change in March / after it in November.
    assert {t.hour for t in sent_at} == {12, 13}
    periods_sent = rows(
        world, "SELECT period FROM notify.email_log WHERE kind = 'daily_digest' ORDER BY period"
    )
    assert [p for (p,) in periods_sent] == [d.isoformat() for d in sorted(days)]


def test_the_hourly_schedule_sends_at_local_eight_on_both_sides_of_the_change(instance, world):
    from pipeline.defs.notify.schedules import notify_hourly_schedule

    add_news(world, "s1", "acme-north", "acme", "Saturday", 0.9,
             scored_at=dt.datetime(2026, 3, 7, 5, tzinfo=dt.UTC))  # fmt: skip
    add_news(world, "s2", "acme-north", "acme", "Sunday", 0.9,
             scored_at=dt.datetime(2026, 3, 8, 5, tzinfo=dt.UTC))  # fmt: skip
    selection = ["daily_digest", "email_log"]
    sent = []
    for tick in [
        dt.datetime(2026, 3, 7, 12, tzinfo=dt.UTC),  # 07:00 EST
        dt.datetime(2026, 3, 7, 13, tzinfo=dt.UTC),  # 08:00 EST
        dt.datetime(2026, 3, 8, 11, tzinfo=dt.UTC),  # 07:00 EDT (clocks went forward at 2)
        dt.datetime(2026, 3, 8, 12, tzinfo=dt.UTC),  # 08:00 EDT
        dt.datetime(2026, 3, 8, 13, tzinfo=dt.UTC),  # 09:00 EDT
    ]:
        context = dg.build_schedule_context(instance=instance, scheduled_execution_time=tick)
        request = notify_hourly_schedule(context)
        config = {"ops": {"daily_digest": request.run_config["ops"]["daily_digest"]}}
        assert materialize(selection, instance, config).success
        [(count,)] = rows(world, "SELECT count(*) FROM notify.email_log")
        sent.append(count)
    assert sent == [0, 1, 1, 2, 2]
    assert rows(world, "SELECT period, status FROM notify.email_log ORDER BY period") == [
        ("2026-03-07", "written"),
        ("2026-03-08", "written"),
    ]
