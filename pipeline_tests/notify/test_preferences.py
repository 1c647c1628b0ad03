"""Preferences changed on the web page are an override layer over users.yaml: saved to the
recipient event store, folded into notify.preference_overrides, applied by the assets;
users.yaml stays the source for everything not overridden."""

from __future__ import annotations

import dagster as dg

from pipeline.lib.notify import preferences
from pipeline.lib.notify.recipient_events import default_store
from pipeline_tests.notify.conftest import USERS_YAML, fold, materialize, rows


def alice(config_dir):
    return preferences.yaml_user(config_dir, "alice@example.org")


def test_the_assets_apply_overrides_and_users_yaml_stays_the_source(instance, world, config_dir):
    wanted = preferences.with_changes(alice(config_dir), {"threshold": 0.95, "digest_hour": 6})
    assert preferences.record_preferences(default_store(), config_dir, wanted) == {
        "threshold": 0.95,
        "digest_hour": 6,
    }
    assert fold(world).preferences_applied == 1
    assert fold(world).preferences_applied == 0  # already holds that save
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
