"""The notify assets materialised in process against seeded upstream tables: users from
users.yaml, every message kind recorded then written to the outbox by `email_log`, checks
passing, stats, and a second run sending nothing new."""

from __future__ import annotations

import datetime as dt
from email import message_from_string, policy

import dagster as dg
import pytest

from pipeline.lib import warehouse
from pipeline_tests.notify.conftest import (
    NOW,
    TODAY,
    add_grant,
    add_match,
    add_news,
    as_of,
    insert,
    materialize,
    rows,
)

MESSAGES = ["instant_alerts", "daily_digest", "weekly_digest", "deadline_reminders"]
ALL = ["users", "notification_preferences", "watchlists", *MESSAGES, "email_log",
       "notification_stats"]  # fmt: skip


def seed_items(path):
    add_news(path, "n1", "acme-north", "acme", "Northwind raises $20M", 0.8, "funding")
    add_news(path, "n2", "acme-blue", "acme", "BluePeak buys a rival", 0.9, "m_and_a")
    add_news(path, "n5", "globex-lumen", "globex", "Lumen opens a hub", 0.9, "funding")
    add_grant(path, "G1", "Youth STEM after-school program",
              close_date=TODAY + dt.timedelta(days=7), award_ceiling=100_000.0)  # fmt: skip
    add_grant(path, "G3", "Community health centres", close_date=TODAY + dt.timedelta(days=30))
    add_match(path, "org-acme", "G1", "acme", 0.8)
    add_match(path, "org-globex", "G3", "globex", 0.6)


def outbox_messages(pipeline_env):
    return [
        message_from_string(p.read_text(), policy=policy.default)
        for p in sorted((pipeline_env / "outbox").glob("*.eml"))
    ]


def test_users_assets_load_the_file(instance, config_dir, warehouse_path):
    result = materialize(["users", "notification_preferences", "watchlists"], instance)
    assert result.success
    assert rows(warehouse_path, "SELECT count(*), bool_or(is_sample) FROM notify.users") == [
        (5, False)
    ]
    assert rows(
        warehouse_path,
        "SELECT user_id, frequency, kinds FROM notify.notification_preferences"
        " WHERE user_id IN ('bob@example.org', 'ops@example.org') ORDER BY 1",
    ) == [
        ("bob@example.org", "instant", ["instant_alert", "deadline_reminder"]),
        ("ops@example.org", "daily", ["daily_digest", "deadline_reminder", "operator_alert"]),
    ]
    assert rows(warehouse_path, "SELECT user_id, name FROM notify.watchlists") == [
        ("alice@example.org", "Youth STEM")
    ]
    checks = result.get_asset_check_evaluations()
    assert checks and all(c.passed for c in checks)


def test_a_bad_users_file_fails_naming_the_user_and_field_and_keeps_the_tables(
    instance, config_dir, warehouse_path
):
    assert materialize(["users"], instance).success
    path = config_dir / "users.yaml"
    path.write_text(path.read_text().replace("threshold: 0.7", "threshold: 7"))
    result = materialize(["users"], instance, raise_on_error=False)
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    message = str(failure.event_specific_data.error)
    assert "user #2 (bob@example.org)" in message and "threshold" in message
    assert rows(warehouse_path, "SELECT count(*) FROM notify.users") == [(5,)]


def test_every_kind_is_recorded_then_written_once(instance, world, pipeline_env):
    seed_items(world)
    insert(world, "core.grant_changes", [
        {"grant_id": "G3", "field": "close_date", "old_value": str(TODAY),
         "new_value": str(TODAY + dt.timedelta(days=30)), "to_hash": "v2"}])  # fmt: skip
    result = materialize(ALL, instance, as_of(NOW, *MESSAGES))
    assert result.success
    checks = result.get_asset_check_evaluations()
    assert checks and all(c.passed for c in checks), [c.description for c in checks]

    log = rows(world, "SELECT recipient, kind, status FROM notify.email_log ORDER BY 1, 2")
    assert log == [
        ("alice@example.org", "daily_digest", "written"),
        ("alice@example.org", "deadline_reminder", "written"),
        ("bob@example.org", "instant_alert", "written"),
        ("carol@example.org", "weekly_digest", "written"),
        ("dave@example.org", "instant_alert", "written"),
    ]
    messages = {(m["To"], m["X-Pipeline-Kind"]): m for m in outbox_messages(pipeline_env)}
    assert len(messages) == 5
    daily = messages[("alice@example.org", "daily_digest")]
    assert daily["Subject"] == "1 grant match and 1 client news — daily digest for Mon 2 Mar"
    weekly = messages[("carol@example.org", "weekly_digest")]
    assert weekly["Subject"] == (
        "1 grant match, 1 grant update and 1 client news — weekly digest for week of Mon 2 Mar"
    )
    assert "Deadline moved" in weekly.get_body(("plain",)).get_content()
    reminder = messages[("alice@example.org", "deadline_reminder")]
    assert reminder["Subject"] == ("Deadline reminder: Youth STEM after-school program 7 days left")
    assert messages[("bob@example.org", "instant_alert")]["Subject"] == (
        "New for you: 2 client news"
    )
    for message in messages.values():
        assert message["List-Unsubscribe"].startswith("<http://127.0.0.1:8080/unsubscribe?token=")
        assert message["Message-ID"]

    stats = rows(
        world,
        "SELECT kind, total, written, pending FROM notify.notification_stats ORDER BY kind",
    )
    assert stats == [
        ("daily_digest", 1, 1, 0),
        ("deadline_reminder", 1, 1, 0),
        ("instant_alert", 2, 2, 0),
        ("weekly_digest", 1, 1, 0),
    ]

    # The same run again (a rerun, a second demo): nothing new is recorded or written.
    assert materialize(ALL, instance, as_of(NOW + dt.timedelta(hours=1), *MESSAGES)).success
    assert rows(world, "SELECT count(*) FROM notify.email_log") == [(5,)]
    assert len(outbox_messages(pipeline_env)) == 5


def test_instant_alerts_once_per_user_and_item_across_runs(instance, world):
    add_news(world, "n1", "acme-north", "acme", "Northwind raises $20M", 0.8)
    selection = ["instant_alerts", "email_log"]
    assert materialize(selection, instance, as_of(NOW, "instant_alerts")).success
    later = NOW + dt.timedelta(minutes=30)
    add_news(world, "n2", "acme-blue", "acme", "BluePeak buys a rival", 0.9, scored_at=later)
    # Rescoring n1 refreshes its scored_at: still not alerted twice.
    with warehouse.connection(world) as conn:
        conn.execute("UPDATE ai.news_scores SET scored_at = ? WHERE article_id = 'n1'", [later])
    assert materialize(selection, instance, as_of(later, "instant_alerts")).success
    assert materialize(selection, instance, as_of(later, "instant_alerts")).success
    sent = rows(
        world,
        "SELECT recipient, item_keys FROM notify.email_log ORDER BY created_at, recipient",
    )
    assert sent == [
        ("bob@example.org", ["news:acme-north:n1"]),
        ("bob@example.org", ["news:acme-blue:n2"]),
    ]


def test_digests_and_reminders_wait_for_the_local_hour_when_scheduled(instance, world):
    seed_items(world)
    # 12:00 UTC is 07:00 in New York: alice's 08:00 digest and reminder are not due yet.
    early = as_of(NOW, "daily_digest", "deadline_reminders", due_now_only=True)
    assert materialize(["daily_digest", "deadline_reminders"], instance, early).success
    assert rows(world, "SELECT count(*) FROM notify.email_log") == [(0,)]
    on_time = as_of(
        NOW + dt.timedelta(hours=1), "daily_digest", "deadline_reminders", due_now_only=True
    )
    assert materialize(["daily_digest", "deadline_reminders"], instance, on_time).success
    assert rows(world, "SELECT kind, period FROM notify.email_log ORDER BY kind") == [
        ("daily_digest", "2026-03-02"),
        ("deadline_reminder", "2026-03-02"),
    ]


def test_the_hourly_schedule_asks_for_due_only_runs(instance, world):
    from pipeline.defs.notify.schedules import notify_hourly_schedule

    seed_items(world)
    tick = dt.datetime(2026, 3, 2, 13, tzinfo=dt.UTC)
    context = dg.build_schedule_context(instance=instance, scheduled_execution_time=tick)
    request = notify_hourly_schedule(context)
    assert isinstance(request, dg.RunRequest)
    assert request.run_key == f"notify-{tick.isoformat()}"
    ops = request.run_config["ops"]
    assert ops["daily_digest"]["config"] == {"due_now_only": True, "as_of": tick.isoformat()}
    result = materialize(
        [*MESSAGES, "email_log", "notification_stats"], instance, request.run_config
    )
    assert result.success
    assert rows(world, "SELECT recipient, kind FROM notify.email_log ORDER BY 1, 2") == [
        ("alice@example.org", "daily_digest"),
        ("alice@example.org", "deadline_reminder"),
        ("bob@example.org", "instant_alert"),
        ("dave@example.org", "instant_alert"),
    ]  # carol's weekly digest is due on Friday 09:00 in Tokyo


def test_users_sensor_requests_a_reload_when_the_file_changes(instance, config_dir):
    from pipeline.defs.notify.sensors import users_config_sensor

    context = dg.build_sensor_context(instance=instance)
    first = users_config_sensor(context)
    assert isinstance(first, dg.RunRequest)
    context = dg.build_sensor_context(instance=instance, cursor=context.cursor)
    assert isinstance(users_config_sensor(context), dg.SkipReason)
    path = config_dir / "users.yaml"
    path.write_text(path.read_text() + "\n# edited\n")
    second = users_config_sensor(dg.build_sensor_context(instance=instance, cursor=context.cursor))
    assert isinstance(second, dg.RunRequest) and second.run_key != first.run_key


def test_instant_alerts_are_requested_when_scores_land(instance, world):
    """The automation sensor's view: after news_scores materialises, instant_alerts and
    email_log are requested (without waiting for every score partition)."""
    from pipeline.definitions import defs

    loaded = defs()
    selection = dg.AssetSelection.assets("instant_alerts", "email_log", "notification_stats")
    first = dg.evaluate_automation_conditions(
        defs=loaded, instance=instance, asset_selection=selection
    )
    instance.report_runless_asset_event(
        dg.AssetMaterialization(asset_key="news_scores", partition="2026-03-02")
    )
    after = dg.evaluate_automation_conditions(
        defs=loaded, instance=instance, asset_selection=selection, cursor=first.cursor
    )
    assert after.get_num_requested(dg.AssetKey("instant_alerts")) == 1
    assert after.get_num_requested(dg.AssetKey("email_log")) == 1


@pytest.mark.parametrize("hostile", ["javascript:alert(1)", "data:text/html,<b>x</b>"])
def test_only_http_links_are_rendered(instance, world, pipeline_env, hostile):
    add_news(world, "n1", "acme-north", "acme", "Northwind raises", 0.8, url=hostile)
    assert materialize(["instant_alerts", "email_log"], instance, as_of(NOW, "instant_alerts"))
    [message] = outbox_messages(pipeline_env)
    assert hostile.split(":")[0] + ":" not in message.get_body(("html",)).get_content()
    assert hostile not in message.get_body(("plain",)).get_content()


def test_the_hourly_run_config_fits_the_real_job():
    from pipeline.definitions import defs
    from pipeline.defs.notify.schedules import hourly_run_config

    job = defs().resolve_job_def("notify_hourly_job")
    config = dg.validate_run_config(job, hourly_run_config("2026-03-02T13:00:00+00:00"))
    assert config["ops"]["weekly_digest"]["config"]["due_now_only"] is True
