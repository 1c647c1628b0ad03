"""Digest contents: grouped and sorted sections, long lists capped with "and N more", only
what is new since the user's last digest, grant updates flagged once, subjects that say what
is inside, unsubscribes honoured, and one digest per period."""

from __future__ import annotations

import datetime as dt

from pipeline.lib import warehouse
from pipeline.lib.notify import digests
from pipeline.lib.notify.mailer import MailSettings
from pipeline.lib.notify.outbox import record
from pipeline.lib.notify.render import render_parts
from pipeline.lib.notify.subscriptions import record_unsubscribe
from pipeline_tests.notify.conftest import NOW, TODAY, add_grant, add_match, add_news, insert, rows

ALICE = "alice@example.org"


def plan(path, kind="daily_digest", now=NOW, cap=digests.DEFAULT_CAP, due_now_only=False):
    with warehouse.connection(path) as conn:
        return digests.plan_digests(conn, kind, now, due_now_only=due_now_only, cap=cap)


def send(path, planned, now=NOW):
    """Record as the assets do (rendered with the outbox's settings)."""
    mail = MailSettings.from_env(path.parent / "outbox", {})
    with warehouse.connection(path) as conn:
        return record(conn, digests.compose(mail, planned.emails, now), now)


def only(planned):
    [email] = planned.emails
    return email


def test_sections_sorted_by_score_and_deadline_and_capped(world):
    for i in range(14):
        add_news(world, f"a{i:02d}", "acme-north", "acme", f"Northwind story {i}",
                 0.5 + i / 100)  # fmt: skip
    for i, days in enumerate([30, 10, 20]):
        add_grant(world, f"G{i}", f"Grant {i}", close_date=TODAY + dt.timedelta(days=days))
        add_match(world, "org-acme", f"G{i}", "acme", 0.9)  # same score: deadline decides
    email = only(plan(world, cap=5)).email
    assert email.subject == "3 grant matches and 14 client news — daily digest for Mon 2 Mar"
    grants, news = email.sections
    assert [i.title for i in grants.items] == ["Grant 1", "Grant 2", "Grant 0"]
    assert grants.more == 0
    assert [i.title for i in news.items] == [f"Northwind story {i}" for i in (13, 12, 11, 10, 9)]
    assert news.more == 9
    html, text = render_parts(email, None)
    assert "and 9 more" in html and "... and 9 more" in text


def test_only_new_since_the_last_digest(world):
    add_news(world, "old", "acme-north", "acme", "Old story", 0.9)
    first = plan(world)
    assert only(first).item_keys == ("news:acme-north:old",)
    send(world, first)
    # The next day: one new story; the old one (rescored since) is not repeated.
    tomorrow = NOW + dt.timedelta(days=1)
    add_news(world, "new", "acme-north", "acme", "New story", 0.9, scored_at=tomorrow)
    with warehouse.connection(world) as conn:
        conn.execute("UPDATE ai.news_scores SET scored_at = ? WHERE article_id = 'old'", [tomorrow])
    second = plan(world, now=tomorrow)
    assert only(second).item_keys == ("news:acme-north:new",)
    assert only(second).period == "2026-03-03"
    send(world, second, tomorrow)
    # Nothing new the day after: no digest at all.
    assert plan(world, now=tomorrow + dt.timedelta(days=1)).emails == []


def test_one_digest_per_period_however_many_runs(world):
    add_news(world, "one", "acme-north", "acme", "One", 0.9)
    assert len(send(world, plan(world))) == 1
    add_news(world, "two", "acme-north", "acme", "Two", 0.9, scored_at=NOW + dt.timedelta(hours=2))
    # Same local day: the period already has its digest; "two" waits for tomorrow's.
    later = plan(world, now=NOW + dt.timedelta(hours=3))
    assert later.emails == []
    tomorrow = plan(world, now=NOW + dt.timedelta(days=1))
    assert only(tomorrow).item_keys == ("news:acme-north:two",)


def test_grant_updates_are_flagged_once_per_user_and_change(world):
    known = NOW - dt.timedelta(days=10)  # matched and listed long before this digest
    add_grant(world, "G1", "Youth STEM", close_date=TODAY + dt.timedelta(days=30),
              award_ceiling=150_000.0, first_seen_at=known)  # fmt: skip
    add_match(world, "org-acme", "G1", "acme", 0.9, scored_at=known)
    change = {"grant_id": "G1", "to_hash": "v2"}
    insert(world, "core.grant_changes", [
        {**change, "field": "close_date", "old_value": str(TODAY + dt.timedelta(days=20)),
         "new_value": str(TODAY + dt.timedelta(days=30))},
        {**change, "field": "award_ceiling", "old_value": "100000", "new_value": "150000"},
        {**change, "field": "description", "old_value": "a", "new_value": "b"},
    ])  # fmt: skip
    first = plan(world)
    email = only(first).email
    assert only(first).item_keys == ("grant_update:G1:v2",)
    assert email.subject == "1 grant update — daily digest for Mon 2 Mar"
    [section] = email.sections
    [item] = section.items
    assert item.badge == "updated"
    assert item.details[:2] == (
        "Award ceiling: $100,000 → $150,000",
        "Deadline moved: Sun 22 Mar 2026 → Wed 1 Apr 2026",
    )
    send(world, first)
    tomorrow = NOW + dt.timedelta(days=1)
    assert plan(world, now=tomorrow).emails == []
    # A later change of the same grant is a new update.
    insert(world, "core.grant_changes", [
        {"grant_id": "G1", "to_hash": "v3", "field": "close_date", "changed_at": tomorrow,
         "old_value": str(TODAY + dt.timedelta(days=30)),
         "new_value": str(TODAY + dt.timedelta(days=40))}])  # fmt: skip
    assert only(plan(world, now=tomorrow)).item_keys == ("grant_update:G1:v3",)


def test_weekly_digest_period_is_the_iso_week(world):
    add_news(world, "w1", "globex-lumen", "globex", "Lumen", 0.9)
    planned = only(plan(world, "weekly_digest"))
    assert planned.period == "2026-W10"
    assert planned.email.subject.endswith("weekly digest for week of Mon 2 Mar")
    send(world, planned_plan := plan(world, "weekly_digest"))
    assert planned_plan.emails
    # Later the same ISO week (Sunday in Tokyo): already sent.
    assert plan(world, "weekly_digest", now=dt.datetime(2026, 3, 8, 3, tzinfo=dt.UTC)).emails == []


def test_unsubscribed_users_get_no_digest_and_pending_ones_are_cancelled(world):
    add_news(world, "one", "acme-north", "acme", "One", 0.9)
    [message_id] = send(world, plan(world))
    with warehouse.connection(world) as conn:
        record_unsubscribe(conn, ALICE, "daily_digest")
    assert rows(world, "SELECT status, last_error FROM notify.email_log") == [
        ("cancelled", "recipient unsubscribed from daily_digest before it was sent")
    ]
    add_news(world, "two", "acme-north", "acme", "Two", 0.9, scored_at=NOW + dt.timedelta(days=1))
    assert plan(world, now=NOW + dt.timedelta(days=1)).emails == []
    assert message_id


def test_hostile_titles_are_escaped_and_kept_out_of_headers(world):
    title = "Evil <script>alert(1)</script>\r\nBcc: victim@example.org"
    add_news(world, "x", "acme-north", "acme", title, 0.9, url="https://evil.example/?a=1&b=<2>")
    email = only(plan(world)).email
    html, text = render_parts(email, None)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)</script>" in text  # plain text is not HTML: shown as is
    assert 'href="https://evil.example/?a=1&amp;b=&lt;2&gt;"' in html
