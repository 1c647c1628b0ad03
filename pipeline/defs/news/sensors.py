"""Auto-disable: a schedule whose ticks fail DISABLE_AFTER_FAILURES times in a row is stopped
through the instance and the operators are told; a successful run resets the count. Works for
every schedule of the code location (news monitoring schedules and any other)."""

import dagster as dg

from pipeline.defs.shared.dagster_private import (
    InstigatorState,
    InstigatorStatus,
    InstigatorType,
    RemoteInstigatorOrigin,
    ScheduleInstigatorData,
)
from pipeline.defs.shared.resources import WarehouseResource
from pipeline.lib.news.streaks import FailureStreaks

SCHEDULE_TAG = "dagster/schedule_name"
# Set by Dagster on a re-execution (and so on every automatic retry): the tick's first run.
ROOT_RUN_TAG = "dagster/root_run_id"


def tick_of(run: dg.DagsterRun) -> str:
    """One id per schedule tick: a retry keeps the schedule tag and adds the root run's id, so
    the original run and its retries count as one failure."""
    return run.tags.get(ROOT_RUN_TAG) or run.run_id


def streaks_for(instance: dg.DagsterInstance) -> FailureStreaks:
    # The instance's key-value store: shared by both sensors, kept across daemon restarts,
    # and on PostgreSQL when the instance is.
    storage = instance.run_storage
    return FailureStreaks(read=storage.get_cursor_values, write=storage.set_cursor_values)


def stop_schedule(instance: dg.DagsterInstance, run: dg.DagsterRun) -> bool:
    """Stop the schedule that launched `run` (in the run's repository when known); True if it
    was running."""
    name, origin = run.tags[SCHEDULE_TAG], run.remote_job_origin
    states = [
        state
        for state in instance.all_instigator_state(instigator_type=InstigatorType.SCHEDULE)
        if state.name == name
    ]
    if origin is not None:
        repository = origin.repository_origin.get_id()
        states = [s for s in states if s.origin.repository_origin.get_id() == repository] or states
    if not states and origin is not None:
        # A schedule running by default that has no stored state yet: store it as stopped.
        instance.add_instigator_state(
            InstigatorState(
                RemoteInstigatorOrigin(origin.repository_origin, name),
                InstigatorType.SCHEDULE,
                InstigatorStatus.STOPPED,
                ScheduleInstigatorData(cron_schedule=""),
            )
        )
        return True
    running = [state for state in states if state.is_running]
    for state in running:
        instance.stop_schedule(state.instigator_origin_id, state.selector_id, None)
    return bool(running)


def alert_operators(
    schedule_name: str, streak: int, run: dg.DagsterRun, reason: str, warehouse: WarehouseResource
) -> bool:
    # Imported at call time: notify owns the channel, and a broken mailer must not break the
    # loading of this sensor.
    from pipeline.defs.notify import operator_alerts

    return operator_alerts.send_operator_alert(
        key=f"schedule_disabled:{schedule_name}",
        subject=f"Schedule {schedule_name} switched off after {streak} failed runs in a row",
        body=(
            f"The last {streak} runs of schedule {schedule_name} failed, so it was stopped. "
            f"Latest failed run: {run.run_id} ({run.job_name}, partition "
            f"{run.tags.get('dagster/partition', '-')}).\n\n{reason}\n\n"
            "Fix the cause, then turn the schedule back on in the Dagster UI (Automation)."
        ),
        severity="high",
        warehouse=warehouse,
    )


@dg.run_failure_sensor(
    name="schedule_failure_streak_sensor",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Counts consecutive failed ticks per schedule (a run and its retries are one "
    "tick); at 5 it stops the schedule and alerts the operators.",
)
def schedule_failure_streak_sensor(
    context: dg.RunFailureSensorContext, warehouse: WarehouseResource
) -> None:
    run = context.dagster_run
    schedule_name = run.tags.get(SCHEDULE_TAG)
    if not schedule_name:
        return
    streaks = streaks_for(context.instance)
    streak = streaks.record_failure(schedule_name, tick_of(run))
    context.log.info(f"schedule {schedule_name}: {streak} failed run(s) in a row")
    if not streaks.reached(streak):
        return
    stopped = stop_schedule(context.instance, run)
    # Start counting afresh, so switching the schedule back on gives it a full 5 tries.
    streaks.write({streaks.key(schedule_name): "0"})
    if stopped:
        reason = context.failure_event.message or "see the run in the Dagster UI"
        sent = alert_operators(schedule_name, streak, run, reason, warehouse)
        context.log.warning(
            f"stopped schedule {schedule_name} after {streak} failures; operator alert "
            f"{'sent' if sent else 'not sent (no operators or sent recently)'}"
        )


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    name="schedule_success_reset_sensor",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="A successful scheduled run resets its schedule's failure count.",
)
def schedule_success_reset_sensor(context: dg.RunStatusSensorContext) -> None:
    schedule_name = context.dagster_run.tags.get(SCHEDULE_TAG)
    if schedule_name:
        streaks_for(context.instance).record_success(schedule_name)
