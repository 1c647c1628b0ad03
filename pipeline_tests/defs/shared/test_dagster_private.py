"""Dagster's private names the project relies on (pipeline/defs/shared/dagster_private.py):
each exists and behaves as the code expects. A failure here after a Dagster upgrade says which
private API moved; fix the adapter (and its callers) before anything else."""

from __future__ import annotations

import time

import dagster as dg

from pipeline.defs.shared import dagster_private as private


def test_checked_against_this_dagster_release():
    assert dg.__version__.startswith(private.VERIFIED_DAGSTER + "."), (
        f"Dagster {dg.__version__} is not the {private.VERIFIED_DAGSTER} release "
        "pipeline/defs/shared/dagster_private.py was verified with: run this file's tests, "
        "fix what fails, then update VERIFIED_DAGSTER."
    )


def test_every_exported_name_exists():
    missing = [name for name in private.__all__ if getattr(private, name, None) is None]
    assert not missing


def test_check_execution_records_carry_the_statuses_health_reads(instance):
    @dg.asset
    def thing():
        return 1

    @dg.asset_check(asset=thing)
    def thing_ok():
        return dg.AssetCheckResult(passed=True)

    @dg.asset_check(asset=thing)
    def thing_bad():
        return dg.AssetCheckResult(passed=False)

    dg.materialize([thing, thing_ok, thing_bad], instance=instance)
    keys = [dg.AssetCheckKey(thing.key, "thing_ok"), dg.AssetCheckKey(thing.key, "thing_bad")]
    records = instance.event_log_storage.get_latest_asset_check_execution_by_key(keys)
    status = private.AssetCheckExecutionRecordStatus
    assert records[keys[0]].status == status.SUCCEEDED
    assert records[keys[1]].status == status.FAILED
    assert records[keys[1]].evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert {"PLANNED", "SUCCEEDED", "FAILED"} <= {s.name for s in status}


def test_instigator_state_and_ticks_round_trip(instance):
    """What the alert sensor reads (ticks) and the auto-disable sensor writes (a stopped
    schedule state under a selector id)."""
    from pipeline_tests.defs.health.toy_defs import record_tick

    record_tick(instance, "some_sensor", private.TickStatus.FAILURE, "boom")
    [state] = [s for s in instance.all_instigator_state() if s.instigator_name == "some_sensor"]
    assert state.instigator_type == private.InstigatorType.SENSOR
    [tick] = instance.get_ticks(
        state.instigator_origin_id,
        state.selector_id,
        limit=1,
        statuses=[private.TickStatus.SUCCESS, private.TickStatus.FAILURE],
    )
    assert tick.status == private.TickStatus.FAILURE and tick.error.message == "boom"
    assert tick.timestamp <= time.time()

    origin = private.RemoteInstigatorOrigin(state.origin.repository_origin, "some_schedule")
    stopped = private.InstigatorState(
        origin,
        private.InstigatorType.SCHEDULE,
        private.InstigatorStatus.STOPPED,
        private.ScheduleInstigatorData(cron_schedule=""),
    )
    instance.add_instigator_state(stopped)
    stored = instance.get_instigator_state(stopped.instigator_origin_id, stopped.selector_id)
    assert stored is not None and not stored.is_running
