"""Deadline reminders for matched or watched grants at 14, 7 and 2 days in the user's local
date, with urgency low / medium / high, once per (user, grant, deadline, mark), a missed day
still sending the current mark once, and a moved deadline starting over."""

from __future__ import annotations

import datetime as dt

from pipeline.lib import warehouse
from pipeline.lib.notify import digests
from pipeline.lib.notify.mailer import MailSettings
from pipeline.lib.notify.outbox import record
from pipeline_tests.notify.conftest import NOW, TODAY, add_grant, add_match

ALICE = "alice@example.org"


def day(n: int) -> dt.datetime:
    return NOW + dt.timedelta(days=n)


def remind(path, now, due_now_only=False):
    """Plan and record reminders as the asset does; returns {user: [(grant, mark, urgency)]}."""
    with warehouse.connection(path) as conn:
        plan = digests.plan_deadline_reminders(conn, now, due_now_only=due_now_only)
        mail = MailSettings.from_env(path.parent / "outbox", {})
        record(conn, digests.compose(mail, plan.emails, now), now)
    found = {}
    for planned in plan.emails:
        found[planned.recipient.user_id] = sorted(
            (item.title, item.badge, item.urgency)
            for section in planned.email.sections
            for item in section.items
        )
    return found, plan


def seed(path):
    add_grant(path, "G14", "Matched, 14 days", close_date=TODAY + dt.timedelta(days=14))
    add_grant(path, "G7", "STEM on the watchlist", close_date=TODAY + dt.timedelta(days=7))
    add_grant(path, "G2", "Matched, 2 days", close_date=TODAY + dt.timedelta(days=2))
    add_grant(path, "G20", "Matched, 20 days", close_date=TODAY + dt.timedelta(days=20))
    add_grant(path, "GLOW", "Below threshold", close_date=TODAY + dt.timedelta(days=7))
    for grant in ("G14", "G2", "G20"):
        add_match(path, "org-acme", grant, "acme", 0.8)
    add_match(path, "org-acme", "GLOW", "acme", 0.2)
    # carol's organisation closes in 7 days too: she gets her own, alice never sees it.
    add_grant(path, "GC", "Globex grant", close_date=TODAY + dt.timedelta(days=7))
    add_match(path, "org-globex", "GC", "globex", 0.9)


def test_marks_urgency_and_once_per_mark(world):
    seed(world)
    found, plan = remind(world, day(0))
    assert found[ALICE] == [
        ("Matched, 14 days", "14 days left", "low"),
        ("Matched, 2 days", "2 days left", "high"),
        ("STEM on the watchlist", "7 days left", "medium"),
    ]
    assert found["carol@example.org"] == [("Globex grant", "7 days left", "medium")]
    alice = next(p for p in plan.emails if p.recipient.user_id == ALICE)
    assert alice.email.urgency == "high"
    assert alice.email.subject == (
        "3 grant deadlines coming up: 1 within 2 days, 1 within 7 days and 1 within 14 days"
    )
    assert [s.title for s in alice.email.sections] == [
        "Closing within 2 days",
        "Closing within 7 days",
        "Closing within 14 days",
    ]
    # The same day again, and the next day (13, 6 and 1 days left): nothing new.
    assert remind(world, day(0))[0] == {}
    assert remind(world, day(1))[0] == {}


def test_a_missed_day_still_sends_the_mark_once(world):
    seed(world)
    remind(world, day(0))
    # Day 6: the 20-day grant reaches its 14-day mark, the 7-day ones their 2-day mark.
    assert remind(world, day(6))[0] == {
        ALICE: [
            ("Matched, 20 days", "14 days left", "low"),
            ("STEM on the watchlist", "closes tomorrow", "high"),
        ],
        "carol@example.org": [("Globex grant", "closes tomorrow", "high")],
    }
    # No run on day 7 (G14 had exactly 7 days left); day 8 catches the 7-day mark up, once.
    assert remind(world, day(8))[0] == {ALICE: [("Matched, 14 days", "6 days left", "medium")]}
    assert remind(world, day(9))[0] == {}
    assert remind(world, day(12))[0] == {ALICE: [("Matched, 14 days", "2 days left", "high")]}


def test_a_moved_deadline_starts_the_reminders_again(world):
    seed(world)
    remind(world, day(0))
    with warehouse.connection(world) as conn:
        conn.execute(
            "UPDATE core.grants SET close_date = ? WHERE grant_id = 'G2'",
            [TODAY + dt.timedelta(days=15)],
        )
    found, _ = remind(world, day(1))
    assert found == {ALICE: [("Matched, 2 days", "14 days left", "low")]}


def test_reminders_follow_the_local_date_and_hour(world):
    seed(world)
    # 06:00 UTC on 3 Mar: 01:00 in New York (before alice's 08:00), 15:00 in Tokyo.
    found, _ = remind(world, dt.datetime(2026, 3, 3, 6, tzinfo=dt.UTC), due_now_only=True)
    assert found == {"carol@example.org": [("Globex grant", "6 days left", "medium")]}
    found, _ = remind(world, dt.datetime(2026, 3, 3, 13, tzinfo=dt.UTC), due_now_only=True)
    assert found[ALICE][0] == ("Matched, 14 days", "13 days left", "low")


def test_closed_grants_get_no_reminder(world):
    add_grant(world, "GX", "Closed early", close_date=TODAY + dt.timedelta(days=7), status="closed")
    add_match(world, "org-acme", "GX", "acme", 0.9)
    assert remind(world, day(0))[0] == {}
