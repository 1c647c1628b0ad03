"""A fresh deployment: every schedule's first tick, on a new data dir and instance before any
demo, runs as the daemon would run it and succeeds (or skips with a reason)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import dagster as dg
import pytest
import yaml

from pipeline.defs.shared.failures import NO_RETRY_TAGS
from pipeline.lib.settings import REPO_ROOT


@pytest.fixture
def repository(pipeline_env):
    from pipeline.definitions import defs

    return defs().get_repository_def()


def first_tick(repository, instance, schedule) -> dg.RunRequest | dg.SkipReason:
    # Midnight UTC today, a tick of every cron here (hourly, */30, daily at 00:00 and 06:00
    # alike choose their partition by the day): today's partition exists on a new data dir.
    tick = dt.datetime.combine(dt.datetime.now(dt.UTC).date(), dt.time(), tzinfo=dt.UTC)
    context = dg.build_schedule_context(
        instance=instance, scheduled_execution_time=tick, repository_def=repository
    )
    result = schedule.evaluate_tick(context)
    if result.skip_message:
        return dg.SkipReason(result.skip_message)
    [request] = result.run_requests
    return request


def test_every_schedules_first_tick_succeeds_on_a_fresh_deployment(repository, instance):
    schedules = sorted(repository.schedule_defs, key=lambda s: s.name)
    assert len(schedules) >= 4
    outcomes = {}
    for schedule in schedules:
        request = first_tick(repository, instance, schedule)
        if isinstance(request, dg.SkipReason):
            assert request.skip_message, f"{schedule.name} skipped without a reason"
            outcomes[schedule.name] = f"skipped: {request.skip_message}"
            continue
        result = repository.get_job(schedule.job_name).execute_in_process(
            instance=instance,
            partition_key=request.partition_key,
            run_config=request.run_config,
            tags={**request.tags, "dagster/schedule_name": schedule.name},
            asset_selection=request.asset_selection,
            raise_on_error=False,
        )
        failures = [e.message for e in result.all_events if e.is_step_failure]
        outcomes[schedule.name] = "ok" if result.success else f"FAILED: {failures}"
    assert all(o == "ok" or o.startswith("skipped: ") for o in outcomes.values()), outcomes
    # The news schedules found no client list and loaded it in their own run.
    assert instance.get_latest_materialization_event(dg.AssetKey("crm_clients")) is not None


@pytest.fixture
def retrying_instance(pipeline_env):
    """An instance with the repository's dagster.yaml run-retry policy."""
    policy = yaml.safe_load((REPO_ROOT / "dagster.yaml").read_text())["run_retries"]
    with dg.instance_for_test(
        temp_dir=os.environ["DAGSTER_HOME"], overrides={"run_retries": policy}
    ) as test_instance:
        yield test_instance


def test_an_unknown_client_fails_once_and_is_not_retried(repository, retrying_instance):
    """A deterministic error (an id the CRM does not know) tags its run so the run-retry
    daemon leaves it alone."""
    instance = retrying_instance
    assert instance.run_retries_enabled
    result = repository.get_job("news_fetch_job").execute_in_process(
        instance=instance,
        partition_key=dt.datetime.now(dt.UTC).date().isoformat(),
        run_config={"ops": {"raw_news_events": {"config": {"clients": ["acme-nobody"]}}}},
        raise_on_error=False,
    )
    assert not result.success
    run = instance.get_run_by_id(result.run_id)
    assert run.tags.items() >= NO_RETRY_TAGS.items()
    assert run.tags["dagster/will_retry"] == "false"


def test_one_setting_makes_every_schedule_tick_every_minute(pipeline_env):
    """PIPELINE_SCHEDULE_CRON (for soak tests) overrides every schedule's cron. In a new
    process, as the daemon loads the code location: schedules take their cron at import."""
    code = (
        "from pipeline.definitions import defs\n"
        "print(sorted({s.cron_schedule for s in defs().get_repository_def().schedule_defs}))"
    )
    env = {**os.environ, "PIPELINE_SCHEDULE_CRON": "* * * * *"}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip().splitlines()[-1] == "['* * * * *']"
