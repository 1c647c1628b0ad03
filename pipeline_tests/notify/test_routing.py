"""Who gets which item: threshold, categories, assigned clients, the user's organisation for
grant matches, watchlists, tenant isolation (also against rows that claim another tenant),
unsubscribes, and nothing twice."""

from __future__ import annotations

import datetime as dt

from pipeline.lib import warehouse
from pipeline.lib.notify import digests, routing
from pipeline.lib.notify.subscriptions import record_unsubscribe
from pipeline_tests.notify.conftest import (
    NOW,
    TODAY,
    add_grant,
    add_match,
    add_news,
    rows,
)

CLIENT_TENANT = {"acme-north": "acme", "acme-blue": "acme", "globex-lumen": "globex"}
USER_TENANT = {
    "alice@example.org": "acme",
    "bob@example.org": "acme",
    "carol@example.org": "globex",
    "dave@example.org": "globex",
}


def seed_news(path):
    add_news(path, "n1", "acme-north", "acme", "Northwind raises $20M", 0.8, "funding")
    add_news(path, "n2", "acme-blue", "acme", "BluePeak buys a rival", 0.9, "m_and_a")
    add_news(path, "n3", "acme-north", "acme", "Northwind small round", 0.55, "funding")
    add_news(path, "n4", "acme-north", "acme", "Northwind data breach", 0.9, "risk")
    add_news(path, "n5", "globex-lumen", "globex", "Lumen opens a hub", 0.9, "funding")
    # Claims tenant acme for a globex client: score, article and client disagree.
    add_news(path, "n6", "globex-lumen", "acme", "Lumen secret plans", 0.99, "funding")
    # A near-duplicate of n1: its original is alerted, the copy is not.
    add_news(path, "n7", "acme-north", "acme", "Northwind raises 20M", 0.8, near_duplicate_of="n1")


def seed_grants(path):
    close = TODAY + dt.timedelta(days=40)
    add_grant(path, "G1", "Youth STEM after-school program", close_date=close,
              award_floor=20_000.0, award_ceiling=100_000.0)  # fmt: skip
    add_grant(path, "G2", "Rural clinics", close_date=close)
    add_grant(path, "G3", "Community health centres", close_date=close)
    add_grant(path, "G4", "Acme-only secret", close_date=close)
    add_grant(path, "G5", "Systems engineering for schools", close_date=close)
    add_grant(path, "G6", "STEM student loan programme", close_date=close)
    add_grant(path, "G7", "After-school STEM clubs", close_date=close,
              award_floor=1_000_000.0, award_ceiling=2_000_000.0)  # fmt: skip
    add_grant(path, "G8", "STEM for after school", close_date=close)
    add_grant(path, "G9", "STEM that closed", close_date=close, status="closed")
    add_grant(path, "G10", "STEM that is past", close_date=TODAY - dt.timedelta(days=1))
    add_match(path, "org-acme", "G1", "acme", 0.8)
    add_match(path, "org-globex", "G2", "globex", 0.3)
    add_match(path, "org-globex", "G3", "globex", 0.6)
    # A match row claiming tenant globex for acme's organisation: nobody gets it.
    add_match(path, "org-acme", "G4", "globex", 0.99)


def plan_instant(path):
    with warehouse.connection(path) as conn:
        return digests.plan_instant_alerts(conn, NOW)


def plan_daily(path, kind="daily_digest"):
    with warehouse.connection(path) as conn:
        return digests.plan_digests(conn, kind, NOW, due_now_only=False)


def keys_by_user(plan):
    return {p.recipient.user_id: set(p.item_keys) for p in plan.emails}


def assert_tenant_isolated(plan):
    for planned in plan.emails:
        tenant = USER_TENANT[planned.recipient.user_id]
        assert planned.recipient.tenant_id == tenant
        for key in planned.item_keys:
            if key.startswith("news:"):
                client = key.split(":")[1]
                assert CLIENT_TENANT[client] == tenant, (planned.recipient.user_id, key)


def test_instant_alerts_route_by_threshold_category_assignment_and_tenant(world):
    seed_news(world)
    plan = plan_instant(world)
    got = keys_by_user(plan)
    # Only instant users; bob sees every acme client (assigned_only false) at >= 0.7.
    assert got == {
        "bob@example.org": {"news:acme-north:n1", "news:acme-blue:n2", "news:acme-north:n4"},
        "dave@example.org": {"news:globex-lumen:n5"},
    }
    assert_tenant_isolated(plan)


def test_daily_digest_respects_categories_and_assigned_clients(world):
    seed_news(world)
    seed_grants(world)
    plan = plan_daily(world)
    got = keys_by_user(plan)
    # alice: assigned clients only (Northwind), funding/m_and_a, >= 0.5; her org's match
    # above threshold; watchlist: whole-word STEM, no "loan", amounts overlapping, open.
    assert got == {
        "alice@example.org": {
            "news:acme-north:n1",
            "news:acme-north:n3",
            "grant:G1",
            "grant:G8",
        }
    }
    assert_tenant_isolated(plan)


def test_weekly_digest_gets_the_org_matches_above_threshold(world):
    seed_news(world)
    seed_grants(world)
    plan = plan_daily(world, "weekly_digest")
    assert keys_by_user(plan) == {"carol@example.org": {"grant:G3", "news:globex-lumen:n5"}}
    assert_tenant_isolated(plan)


def test_no_user_ever_gets_another_tenants_item(world):
    """Every client's news at relevance 1.0 in every category, every organisation's grants:
    each user's items are all their own tenant's."""
    for index, (client, tenant) in enumerate(CLIENT_TENANT.items()):
        for category in ("funding", "m_and_a", "risk"):
            add_news(world, f"x{index}{category}", client, tenant, f"{client} {category}", 1.0,
                     category)  # fmt: skip
    seed_grants(world)
    for kind in ("instant", "daily_digest", "weekly_digest"):
        plan = plan_instant(world) if kind == "instant" else plan_daily(world, kind)
        assert plan.emails
        assert_tenant_isolated(plan)
        for planned in plan.emails:
            assert "grant:G4" not in planned.item_keys


def test_unsubscribed_users_are_left_out(world):
    seed_news(world)
    with warehouse.connection(world) as conn:
        assert record_unsubscribe(conn, "bob@example.org", "instant_alert")
        assert not record_unsubscribe(conn, "bob@example.org", "instant_alert")
    assert set(keys_by_user(plan_instant(world))) == {"dave@example.org"}


def test_delivered_items_are_not_routed_again(world):
    seed_news(world)
    with warehouse.connection(world) as conn:
        conn.execute(
            "INSERT INTO notify.delivered_items (user_id, kind, item_key, message_id)"
            " VALUES ('bob@example.org', 'instant_alert', 'news:acme-blue:n2', '<m>')"
        )
    got = keys_by_user(plan_instant(world))
    assert got["bob@example.org"] == {"news:acme-north:n1", "news:acme-north:n4"}


def test_audience_frame_and_recipients(world):
    with warehouse.connection(world) as conn:
        people = routing.recipients(conn, "daily_digest")
    assert [p.user_id for p in people] == ["alice@example.org", "ops@example.org"]
    assert people[0].categories == ("funding", "m_and_a")
    frame = routing.audience_frame(people, {p.user_id: NOW for p in people}, NOW)
    assert frame.columns == list(routing.AUDIENCE_SCHEMA)
    assert rows(world, "SELECT count(*) FROM notify.watchlists") == [(1,)]
