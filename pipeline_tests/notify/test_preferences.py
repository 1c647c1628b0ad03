"""Preferences changed on the web page are an override layer over users.yaml: the assets apply
them, users.yaml stays the source for everything not overridden, and a sensor on the override
table re-materialises notification_preferences so the change shows in the UI."""

from __future__ import annotations

import dagster as dg

from pipeline.defs.notify.sensors import preference_overrides_sensor
from pipeline.defs.shared.resources import warehouse_resource
from pipeline.lib.notify import preferences
from pipeline_tests.notify.conftest import USERS_YAML, materialize, rows


def alice(config_dir):
    return preferences.yaml_user(config_dir, "alice@example.org")


def test_the_assets_apply_overrides_and_users_yaml_stays_the_source(instance, world, config_dir):
    wanted = preferences.with_changes(alice(config_dir), {"threshold": 0.95, "digest_hour": 6})
    assert preferences.save_preferences(world, config_dir, wanted) == {
        "threshold": 0.95,
        "digest_hour": 6,
    }
    # The operator edits users.yaml: a field the user did not touch follows the file.
    (config_dir / "users.yaml").write_text(
        USERS_YAML.replace("frequency: daily\n    watchlists", "frequency: weekly\n    watchlists"),
        encoding="utf-8",
    )
    selection = ["users", "notification_preferences", "watchlists"]
    result = materialize(selection, instance)
    assert result.success
    assert rows(
        world,
        "SELECT threshold, digest_hour, frequency FROM notify.notification_preferences"
        " WHERE user_id = 'alice@example.org'",
    ) == [(0.95, 6, "weekly")]
    [event] = [
        e.materialization
        for e in result.get_asset_materialization_events()
        if e.asset_key == dg.AssetKey("notification_preferences")
    ]
    assert event.metadata["users_with_overrides"].value == 1


def test_an_override_that_no_longer_validates_is_ignored(world, config_dir):
    from pipeline.lib import warehouse

    with warehouse.connection(world) as conn:
        conn.execute(
            "INSERT INTO notify.preference_overrides (user_id, timezone, threshold, updated_at)"
            " VALUES ('alice@example.org', 'Nowhere/Land', 0.9, now())"
        )
        users_file = preferences.effective_users(conn, preferences.load_users_file(config_dir))
    [user] = [u for u in users_file.users if u.user_id == "alice@example.org"]
    assert (user.timezone, user.threshold) == ("America/New_York", 0.5)


def test_the_sensor_requests_a_run_when_someone_saves(instance, world, config_dir):
    context = dg.build_sensor_context(
        instance=instance, resources={"warehouse": warehouse_resource()}
    )
    first = preference_overrides_sensor(context)
    assert isinstance(first, dg.SkipReason)
    wanted = preferences.with_changes(alice(config_dir), {"threshold": 0.8})
    preferences.save_preferences(world, config_dir, wanted)
    context = dg.build_sensor_context(
        instance=instance, cursor=context.cursor, resources={"warehouse": warehouse_resource()}
    )
    request = preference_overrides_sensor(context)
    assert isinstance(request, dg.RunRequest)
    again = dg.build_sensor_context(
        instance=instance, cursor=context.cursor, resources={"warehouse": warehouse_resource()}
    )
    assert isinstance(preference_overrides_sensor(again), dg.SkipReason)
