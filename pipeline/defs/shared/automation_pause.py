"""Pause the instance's sensors and schedules while the CLI materialises the whole graph.

`pipeline demo` runs every asset in its own process. With `dagster dev` on the same DAGSTER_HOME,
the daemon's automation sensors, schedules and landing sensor would start runs of the same
assets at the same time: overlapping runs, each waiting on the other's warehouse lock, and
checks evaluated against a materialisation that the other run then replaced. So the demo pauses
every running sensor and schedule through the instance (what the UI's toggle does), waits for
runs already in flight to finish, and restores each one's previous status afterwards. The states
it paused are written to DAGSTER_HOME first, so a demo killed half-way is undone by the next.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg

from pipeline.defs.shared.dagster_private import InstigatorStatus

RECORD = "paused-by-demo.json"
ACTIVE = (InstigatorStatus.RUNNING, InstigatorStatus.DECLARED_IN_CODE)
IN_FLIGHT = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


def _record_path(instance: dg.DagsterInstance) -> Path | None:
    return Path(instance.root_directory) / RECORD if instance.root_directory else None


def restore_paused(instance: dg.DagsterInstance) -> int:
    """Give every instigator a previous demo paused its status back. Returns how many."""
    record = _record_path(instance)
    if record is None or not record.exists():
        return 0
    previous = json.loads(record.read_text(encoding="utf-8"))
    restored = 0
    for state in instance.all_instigator_state():
        status = previous.get(state.instigator_origin_id)
        if status and state.status == InstigatorStatus.STOPPED:
            instance.update_instigator_state(state.with_status(InstigatorStatus(status)))
            restored += 1
    record.unlink()
    return restored


def daemon_alive(instance: dg.DagsterInstance, within_s: float = 60.0) -> bool:
    """Whether a dagster-daemon (e.g. `dagster dev`'s) heartbeats on this instance."""
    now = time.time()
    return any(
        now - beat.timestamp < within_s for beat in instance.get_daemon_heartbeats().values()
    )


def runs_in_flight(instance: dg.DagsterInstance) -> list[str]:
    return [r.run_id for r in instance.get_runs(filters=dg.RunsFilter(statuses=IN_FLIGHT))]


@contextmanager
def automation_paused(
    instance: dg.DagsterInstance,
    *,
    wait_s: float = 600.0,
    echo: Callable[[str], None] = print,
) -> Iterator[list[str]]:
    """Inside: no sensor or schedule of this instance starts a run, and runs they started
    before have finished (waited for up to `wait_s`). Yields the names paused."""
    restore_paused(instance)  # a previous demo that never got to restore
    active = [s for s in instance.all_instigator_state() if s.status in ACTIVE]
    record = _record_path(instance)
    if record is not None and active:
        record.write_text(
            json.dumps({s.instigator_origin_id: s.status.value for s in active}), encoding="utf-8"
        )
    for state in active:
        instance.update_instigator_state(state.with_status(InstigatorStatus.STOPPED))
    try:
        if active:
            echo(f"paused {len(active)} sensor(s)/schedule(s) of this instance until the demo ends")
        deadline = time.monotonic() + wait_s
        # Without a daemon nothing launched by automation can be running (a run left STARTED
        # by a killed process would only make us wait for nothing).
        waiting = runs_in_flight(instance) if daemon_alive(instance) else []
        if waiting:
            echo(f"waiting for {len(waiting)} run(s) already in flight to finish")
        while waiting and time.monotonic() < deadline:
            time.sleep(1.0)
            waiting = runs_in_flight(instance) if daemon_alive(instance) else []
        yield [s.instigator_name for s in active]
    finally:
        for state in active:
            current = instance.get_instigator_state(state.instigator_origin_id, state.selector_id)
            if current is not None and current.status == InstigatorStatus.STOPPED:
                instance.update_instigator_state(current.with_status(state.status))
        if record is not None:
            record.unlink(missing_ok=True)
