"""users_config_sensor: reload users, preferences and watchlists when data/config/users.yaml
changes (and once on a fresh deployment). Reads only the file, never the warehouse, so it
never waits on the DuckDB lock. A broken file fails that run with the reason, and the tables
keep their last good contents until it is fixed.

preference_overrides_sensor: the same runs when someone saved the preferences page (a short
read-only look at notify.preference_overrides; skipped while a run holds the warehouse)."""

import json

import dagster as dg
import duckdb

from pipeline.defs.shared.resources import WarehouseResource
from pipeline.lib.hashing import content_hash
from pipeline.lib.notify.preferences import overrides_marker
from pipeline.lib.notify.users import USERS_FILE
from pipeline.lib.settings import settings
from pipeline.lib.warehouse import WarehouseLockedError


def users_file_hash() -> str:
    path = settings().config_dir / USERS_FILE
    return content_hash(path.read_bytes()) if path.exists() else "missing"


@dg.sensor(
    # By name: the asset definitions are loaded from assets.py only.
    target=["users", "notification_preferences", "watchlists"],
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Reloads users.yaml into notify.users, notification_preferences and "
    "watchlists when the file changes.",
)
def users_config_sensor(context: dg.SensorEvaluationContext):
    current = users_file_hash()
    state = json.loads(context.cursor) if context.cursor else {"hash": None, "changes": 0}
    if state["hash"] == current:
        return dg.SkipReason("users.yaml unchanged")
    # The change counter keeps run keys unique when the file is edited back and forth.
    changes = state["changes"] + 1
    context.update_cursor(json.dumps({"hash": current, "changes": changes}))
    return dg.RunRequest(run_key=f"users-yaml-{changes}-{current[:12]}")


# Short: a sensor must not wait on a run that holds the warehouse; it tries again next tick.
OVERRIDES_LOCK_TIMEOUT_S = 5.0


@dg.sensor(
    target=["users", "notification_preferences", "watchlists"],
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Re-materialises notification_preferences (and users, watchlists) when someone "
    "saves the preferences page of `pipeline serve` (notify.preference_overrides changed), so "
    "the change shows up in the UI. The save itself already took effect for the next digest.",
)
def preference_overrides_sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
    database = warehouse.backend
    if not database.exists():
        return dg.SkipReason("no warehouse yet")
    try:
        with database.connection(read_only=True, timeout_s=OVERRIDES_LOCK_TIMEOUT_S) as conn:
            marker = overrides_marker(conn)
    except (duckdb.Error, WarehouseLockedError) as error:
        return dg.SkipReason(f"preference overrides not readable now: {error}")
    if marker == context.cursor:
        return dg.SkipReason("no preference changes")
    first_look = context.cursor is None
    context.update_cursor(marker)
    if first_look and marker.startswith("0:"):
        return dg.SkipReason("no preference changes yet")
    return dg.RunRequest(run_key=f"preference-overrides-{marker}")
