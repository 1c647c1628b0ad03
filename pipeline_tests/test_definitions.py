import json
import os

import dagster as dg
import pytest

from pipeline.lib.settings import REPO_ROOT
from pipeline_tests.conftest import validate_definitions

SNAPSHOT = REPO_ROOT / "pipeline_tests" / "snapshots" / "definitions.json"


def test_definitions_load():
    from pipeline.definitions import defs

    loaded = defs()
    assert "warehouse" in loaded.resources
    assert loaded.resolve_sensor_def("automation_sensor")


@pytest.mark.slow
def test_dagster_definitions_validate(pipeline_env):
    result = validate_definitions()
    assert result.returncode == 0, result.stdout + result.stderr


def _freshness(policy) -> str | None:
    if policy is None:
        return None
    windows = [
        f"{name} {getattr(policy, name).to_timedelta()}"
        for name in ("warn_window", "fail_window")
        if getattr(policy, name, None) is not None
    ]
    return f"{type(policy).__name__}({', '.join(windows)})"


def definitions_snapshot(defs: dg.Definitions) -> dict:
    """The shape of the code location a reviewer should see change: assets (group,
    partitions, automation, freshness, owners, dependencies), checks, schedules, sensors."""
    graph = defs.resolve_asset_graph()
    assets = {}
    for key in sorted(graph.materializable_asset_keys, key=lambda k: k.to_user_string()):
        node = graph.get(key)
        condition = node.automation_condition
        assets[key.to_user_string()] = {
            "group": node.group_name,
            "partitions": str(node.partitions_def) if node.partitions_def else None,
            "automation": condition.get_label() or type(condition).__name__ if condition else None,
            "freshness": _freshness(node.freshness_policy),
            "owners": sorted(node.owners),
            "kinds": sorted(node.kinds),
            "deps": sorted(k.to_user_string() for k in node.parent_keys),
            "checks": sorted(
                f"{k.name}{' (blocking)' if graph.get(k).blocking else ''}" for k in node.check_keys
            ),
        }
    schedules = {
        s.name: {
            "cron": s.cron_schedule,
            "timezone": s.execution_timezone,
            "default_status": s.default_status.value,
            "target": [s.job_name],
        }
        for s in sorted(defs.schedules or [], key=lambda s: s.name)
    }
    sensors = {}
    for sensor in sorted(defs.sensors or [], key=lambda s: s.name):
        entry = {
            "type": type(sensor).__name__,
            "default_status": sensor.default_status.value,
            "minimum_interval_seconds": sensor.minimum_interval_seconds,
            "target": sorted(t.job_name for t in sensor.targets),
        }
        if isinstance(sensor, dg.AutomationConditionSensorDefinition):
            entry["target"] = sorted(
                k.to_user_string() for k in sensor.asset_selection.resolve(graph)
            )
        sensors[sensor.name] = entry
    return {
        "assets": assets,
        "jobs": sorted(j.name for j in defs.jobs or []),
        "schedules": schedules,
        "sensors": sensors,
    }


def test_definitions_match_the_reviewed_snapshot():
    """A change to the graph is a reviewed diff of pipeline_tests/snapshots/definitions.json."""
    from pipeline.definitions import defs

    current = json.dumps(definitions_snapshot(defs()), indent=2, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_SNAPSHOT") == "1":
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(current, encoding="utf-8")
    stored = SNAPSHOT.read_text(encoding="utf-8") if SNAPSHOT.exists() else ""
    assert current == stored, (
        "The code location's definitions differ from pipeline_tests/snapshots/definitions.json. "
        "If the change is intended, regenerate it and commit the diff:\n"
        "    UPDATE_SNAPSHOT=1 .venv/bin/pytest pipeline_tests/test_definitions.py "
        "-k snapshot -p no:cacheprovider"
    )
