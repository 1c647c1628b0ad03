"""deploy/postgres/dagster.yaml against the machine's PostgreSQL: runs, events and
schedule/sensor state land in the database and survive reopening the instance and restarting
the daemon."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.scheduler.instigation import InstigatorStatus, InstigatorType

from pipeline.graph_runner import run_graph
from pipeline_tests.ops import instigators_defs

DEFS_FILE = Path(instigators_defs.__file__)
DAGSTER = Path(sys.executable).parent / "dagster"
DAEMON = Path(sys.executable).parent / "dagster-daemon"


def test_storage_is_postgres_with_the_repo_run_limits(postgres_home):
    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        queue = instance.get_concurrency_config().run_queue_config
        assert queue.max_concurrent_runs == 4
        assert {"key": "pipeline/pool", "value": "discovery", "limit": 2} in (
            queue.tag_concurrency_limits
        )
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 2


@pytest.mark.slow
def test_demo_runs_are_read_back_through_a_fresh_instance(postgres_home):
    from pipeline.definitions import defs

    with dg.DagsterInstance.get() as instance:
        summary = run_graph(defs(), instance, tags={"pipeline/trigger": "test"})
        heartbeat = dg.materialize([instigators_defs.heartbeat], instance=instance)
    assert summary.ok, summary.as_dict()
    expected = {*summary.run_ids, heartbeat.run_id}

    # A new instance object reads only what PostgreSQL holds.
    with dg.DagsterInstance.get() as reopened:
        runs = {run.run_id: run for run in reopened.get_runs()}
        assert expected <= set(runs)
        assert all(runs[r].status == dg.DagsterRunStatus.SUCCESS for r in expected)
        event = reopened.get_latest_materialization_event(dg.AssetKey("heartbeat"))
        assert event is not None and event.run_id == heartbeat.run_id
        for asset in summary.row_counts:
            assert reopened.get_latest_materialization_event(dg.AssetKey.from_user_string(asset))


def _cli(*args: str) -> None:
    subprocess.run(
        [str(DAGSTER), *args, "-f", str(DEFS_FILE)],
        check=True,
        env=os.environ.copy(),
        capture_output=True,
        timeout=120,
    )


def _sensor_ticks() -> int:
    with dg.DagsterInstance.get() as instance:
        states = instance.all_instigator_state(instigator_type=InstigatorType.SENSOR)
        return sum(
            len(instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=100))
            for state in states
        )


def _run_daemon_until_sensor_ticks(more_than: int, timeout_s: float = 90) -> int:
    daemon = subprocess.Popen(
        [str(DAEMON), "run", "-f", str(DEFS_FILE)],
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            ticks = _sensor_ticks()
            if ticks > more_than:
                return ticks
            time.sleep(1)
        pytest.fail(f"the daemon recorded no sensor tick within {timeout_s}s")
    finally:
        daemon.terminate()
        daemon.wait(timeout=30)


@pytest.mark.slow
def test_schedule_and_sensor_state_survive_a_daemon_restart(postgres_home):
    _cli("schedule", "start", "heartbeat_schedule")
    _cli("sensor", "start", "heartbeat_sensor")

    first = _run_daemon_until_sensor_ticks(more_than=0)

    with dg.DagsterInstance.get() as reopened:
        running = {
            (state.instigator_type, state.instigator_name)
            for state in reopened.all_instigator_state()
            if state.status == InstigatorStatus.RUNNING
        }
    assert (InstigatorType.SCHEDULE, "heartbeat_schedule") in running
    assert (InstigatorType.SENSOR, "heartbeat_sensor") in running

    # A restarted daemon picks the running sensor up from storage and keeps ticking.
    assert _run_daemon_until_sensor_ticks(more_than=first) > first
