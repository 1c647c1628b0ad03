"""`pipeline demo` pauses the instance's sensors and schedules while it runs (so `dagster dev`'s
automation cannot start overlapping runs of the same assets) and restores them afterwards."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.defs.shared.automation_pause import RECORD, automation_paused
from pipeline.defs.shared.dagster_private import (
    InstigatorState,
    InstigatorStatus,
    InstigatorType,
    RemoteInstigatorOrigin,
)


def _state(instance, name: str, status: InstigatorStatus) -> InstigatorState:
    from dagster._core.remote_origin import RegisteredCodeLocationOrigin, RemoteRepositoryOrigin

    origin = RemoteInstigatorOrigin(
        RemoteRepositoryOrigin(RegisteredCodeLocationOrigin("pipeline"), "__repository__"), name
    )
    state = InstigatorState(origin, InstigatorType.SENSOR, status)
    instance.add_instigator_state(state)
    return state


def _status(instance, state) -> InstigatorStatus:
    return instance.get_instigator_state(state.instigator_origin_id, state.selector_id).status


def test_sensors_are_paused_during_the_demo_and_restored_after(instance):
    declared = _state(instance, "automation_sensor", InstigatorStatus.DECLARED_IN_CODE)
    running = _state(instance, "sales_landing_sensor", InstigatorStatus.RUNNING)
    stopped = _state(instance, "switched_off_sensor", InstigatorStatus.STOPPED)
    messages = []
    with automation_paused(instance, echo=messages.append) as paused:
        assert sorted(paused) == ["automation_sensor", "sales_landing_sensor"]
        assert {_status(instance, s) for s in (declared, running)} == {InstigatorStatus.STOPPED}
    assert _status(instance, declared) == InstigatorStatus.DECLARED_IN_CODE
    assert _status(instance, running) == InstigatorStatus.RUNNING
    assert _status(instance, stopped) == InstigatorStatus.STOPPED  # the user's choice stays
    assert messages == ["paused 2 sensor(s)/schedule(s) of this instance until the demo ends"]


def test_a_failed_demo_still_restores_and_a_killed_one_is_undone_by_the_next(instance):
    declared = _state(instance, "automation_sensor", InstigatorStatus.DECLARED_IN_CODE)
    with pytest.raises(RuntimeError), automation_paused(instance, echo=lambda _: None):
        raise RuntimeError("a step blew up")
    assert _status(instance, declared) == InstigatorStatus.DECLARED_IN_CODE

    # A demo killed half-way leaves its record and the sensor stopped ...
    paused = automation_paused(instance, echo=lambda _: None)
    paused.__enter__()
    assert (Path(instance.root_directory) / RECORD).exists()
    assert _status(instance, declared) == InstigatorStatus.STOPPED
    # ... and the next demo first gives the sensor its status back.
    with automation_paused(instance, echo=lambda _: None) as again:
        assert again == ["automation_sensor"]
    assert _status(instance, declared) == InstigatorStatus.DECLARED_IN_CODE
