"""The 5-failure auto-disable against a real instance: a schedule started in the instance,
real failed runs carrying its tag, the sensors evaluated on them, the schedule stopped through
the instance and the operators alerted through notify's outbox."""

import time

import dagster as dg
import pytest
from dagster._core.remote_origin import InProcessCodeLocationOrigin
from dagster._core.scheduler.instigation import (
    InstigatorState,
    InstigatorStatus,
    InstigatorType,
    ScheduleInstigatorData,
)
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

from pipeline.defs.news.sensors import (
    schedule_failure_streak_sensor,
    schedule_success_reset_sensor,
    streaks_for,
)
from pipeline.defs.shared.resources import warehouse_resource
from pipeline.lib.settings import REPO_ROOT

SCHEDULE = "news_acme_key_accounts"


@pytest.fixture
def started_schedule(instance):
    origin = InProcessCodeLocationOrigin(
        LoadableTargetOrigin(
            python_file=None,
            module_name="pipeline.definitions",
            attribute="defs",
            working_directory=str(REPO_ROOT),
        ),
        location_name="pipeline",
    )
    location = origin.create_location(instance)
    repository = next(iter(location.get_repositories().values()))
    remote_schedule = repository.get_schedule(SCHEDULE)
    # The schedule runs by default (DECLARED_IN_CODE); on its first tick the scheduler daemon
    # stores that state in the instance, exactly like this.
    instance.add_instigator_state(
        InstigatorState(
            remote_schedule.get_remote_origin(),
            InstigatorType.SCHEDULE,
            InstigatorStatus.DECLARED_IN_CODE,
            ScheduleInstigatorData(remote_schedule.cron_schedule, time.time()),
        )
    )
    yield remote_schedule
    location.cleanup()


def schedule_status(instance) -> InstigatorStatus:
    states = [
        s
        for s in instance.all_instigator_state(instigator_type=InstigatorType.SCHEDULE)
        if s.name == SCHEDULE
    ]
    assert len(states) == 1
    return states[0].status


def scheduled_run(
    instance, *, fail: bool, retry_of: str | None = None
) -> dg.ExecuteInProcessResult:
    """A real run of the schedule's job, tagged as the scheduler tags it; an unknown client
    makes it fail, and with no client list yet 'every client' is nothing to do. `retry_of`:
    the run this one retries, tagged as Dagster's run-retry daemon tags a retry (the parent's
    tags, its root and parent run ids, the retry number)."""
    from pipeline.definitions import defs

    tags = {"dagster/schedule_name": SCHEDULE}
    if retry_of is not None:
        parent = instance.get_run_by_id(retry_of)
        tags = {
            **parent.tags,
            "dagster/parent_run_id": parent.run_id,
            "dagster/root_run_id": parent.tags.get("dagster/root_run_id", parent.run_id),
            "dagster/retry_number": str(int(parent.tags.get("dagster/retry_number", "0")) + 1),
        }
    clients = ["no-such-client"] if fail else []
    return (
        defs()
        .resolve_job_def("news_fetch_job")
        .execute_in_process(
            instance=instance,
            partition_key="2026-11-21",
            run_config={"ops": {"raw_news_events": {"config": {"clients": clients}}}},
            tags=tags,
            raise_on_error=False,
        )
    )


def evaluate(instance, result: dg.ExecuteInProcessResult) -> None:
    run = instance.get_run_by_id(result.run_id)
    if result.success:
        event = next(
            e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_SUCCESS
        )
        context = dg.build_run_status_sensor_context(
            sensor_name=schedule_success_reset_sensor.name,
            dagster_event=event,
            dagster_instance=instance,
            dagster_run=run,
        )
        schedule_success_reset_sensor(context)
    else:
        event = next(
            e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_FAILURE
        )
        context = dg.build_run_status_sensor_context(
            sensor_name=schedule_failure_streak_sensor.name,
            dagster_event=event,
            dagster_instance=instance,
            dagster_run=run,
            resources={"warehouse": warehouse_resource()},
        ).for_run_failure()
        schedule_failure_streak_sensor(context)


def test_five_failures_in_a_row_stop_the_schedule_and_alert(
    instance, started_schedule, monkeypatch, pipeline_env
):
    monkeypatch.setenv("PIPELINE_OPERATOR_EMAILS", "ops@example.org")
    assert schedule_status(instance) == InstigatorStatus.DECLARED_IN_CODE
    for attempt in range(1, 5):
        evaluate(instance, scheduled_run(instance, fail=True))
        assert streaks_for(instance).count(SCHEDULE) == attempt
        assert schedule_status(instance) == InstigatorStatus.DECLARED_IN_CODE
    evaluate(instance, scheduled_run(instance, fail=True))
    assert schedule_status(instance) == InstigatorStatus.STOPPED
    # Counting starts afresh for when the operator switches it back on.
    assert streaks_for(instance).count(SCHEDULE) == 0
    # The operator alert went through notify: logged and written to the outbox.
    from pipeline.lib.warehouse import connection

    with connection(pipeline_env / "warehouse.duckdb", read_only=True) as conn:
        rows = conn.execute(
            "SELECT recipient, kind FROM notify.email_log WHERE kind = 'operator_alert'"
        ).fetchall()
    assert rows == [("ops@example.org", "operator_alert")]
    outbox = list((pipeline_env / "outbox").rglob("*.eml"))
    assert outbox and SCHEDULE in outbox[0].read_text(encoding="utf-8", errors="replace")


def test_a_success_resets_the_count(instance, started_schedule, monkeypatch):
    sent = []
    from pipeline.defs.notify import operator_alerts

    monkeypatch.setattr(
        operator_alerts, "send_operator_alert", lambda **kw: sent.append(kw) or True
    )
    for _ in range(4):
        evaluate(instance, scheduled_run(instance, fail=True))
    assert streaks_for(instance).count(SCHEDULE) == 4
    evaluate(instance, scheduled_run(instance, fail=False))
    assert streaks_for(instance).count(SCHEDULE) == 0
    for _ in range(4):
        evaluate(instance, scheduled_run(instance, fail=True))
    assert schedule_status(instance) == InstigatorStatus.DECLARED_IN_CODE and sent == []
    evaluate(instance, scheduled_run(instance, fail=True))
    assert schedule_status(instance) == InstigatorStatus.STOPPED
    assert len(sent) == 1
    assert sent[0]["key"] == f"schedule_disabled:{SCHEDULE}"
    assert sent[0]["severity"] == "high"
    assert "5 failed runs" in sent[0]["subject"]


@pytest.fixture
def retrying_instance(pipeline_env):
    """An instance with run retries on, as dagster.yaml configures it."""
    import os

    with dg.instance_for_test(
        temp_dir=os.environ["DAGSTER_HOME"],
        overrides={"run_retries": {"enabled": True, "max_retries": 2}},
    ) as test_instance:
        yield test_instance


def test_a_tick_and_its_retries_count_as_one_failure(retrying_instance, monkeypatch):
    instance = retrying_instance
    assert instance.run_retries_enabled
    sent = []
    from pipeline.defs.notify import operator_alerts

    monkeypatch.setattr(
        operator_alerts, "send_operator_alert", lambda **kw: sent.append(kw) or True
    )
    origin = InProcessCodeLocationOrigin(
        LoadableTargetOrigin(
            module_name="pipeline.definitions", attribute="defs", working_directory=str(REPO_ROOT)
        ),
        location_name="pipeline",
    )
    location = origin.create_location(instance)
    try:
        remote_schedule = next(iter(location.get_repositories().values())).get_schedule(SCHEDULE)
        instance.add_instigator_state(
            InstigatorState(
                remote_schedule.get_remote_origin(),
                InstigatorType.SCHEDULE,
                InstigatorStatus.DECLARED_IN_CODE,
                ScheduleInstigatorData(remote_schedule.cron_schedule, time.time()),
            )
        )
        for tick in range(1, 5):
            first = scheduled_run(instance, fail=True)
            evaluate(instance, first)
            retry = scheduled_run(instance, fail=True, retry_of=first.run_id)
            evaluate(instance, retry)
            evaluate(instance, scheduled_run(instance, fail=True, retry_of=retry.run_id))
            # The same failure seen twice (a sensor re-evaluated) is not a new one either.
            evaluate(instance, retry)
            assert streaks_for(instance).count(SCHEDULE) == tick
        assert schedule_status(instance) == InstigatorStatus.DECLARED_IN_CODE and sent == []
        evaluate(instance, scheduled_run(instance, fail=True))
        assert schedule_status(instance) == InstigatorStatus.STOPPED
        assert "5 failed runs" in sent[0]["subject"]
    finally:
        location.cleanup()


def test_runs_without_a_schedule_are_ignored(instance, started_schedule):
    from pipeline.definitions import defs

    result = (
        defs()
        .resolve_job_def("news_fetch_job")
        .execute_in_process(
            instance=instance,
            partition_key="2026-11-21",
            run_config={"ops": {"raw_news_events": {"config": {"clients": ["nobody"]}}}},
            raise_on_error=False,
        )
    )
    for _ in range(6):
        evaluate(instance, result)
    assert schedule_status(instance) == InstigatorStatus.DECLARED_IN_CODE
