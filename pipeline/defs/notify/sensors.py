"""users_config_sensor: reload users, preferences and watchlists when data/config/users.yaml
changes (and once on a fresh deployment). Reads only the file, never the warehouse, so it
never waits on the DuckDB lock. A broken file fails that run with the reason, and the tables
keep their last good contents until it is fixed. (Saved preferences arrive through
recipient_events_sensor.)"""

import json

import dagster as dg

from pipeline.lib.hashing import content_hash
from pipeline.lib.notify.users import USERS_FILE
from pipeline.lib.settings import settings


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
