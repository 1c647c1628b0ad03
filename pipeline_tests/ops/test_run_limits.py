"""The run limits in the repository's dagster.yaml, on a real instance built from that file."""

from __future__ import annotations

import dagster as dg
import yaml

from pipeline.defs.shared.run_limits import DISCOVERY_TAGS
from pipeline.lib.sales.landing import DATASOURCE_TAG
from pipeline.lib.settings import REPO_ROOT


def repo_instance_config() -> dict:
    config = yaml.safe_load((REPO_ROOT / "dagster.yaml").read_text())
    config.pop("telemetry", None)
    return config


@dg.asset(pool="openai")
def openai_heavy() -> int:
    return 1


def test_postgres_deploy_config_has_the_same_limits_as_the_local_one():
    deploy = yaml.safe_load((REPO_ROOT / "deploy" / "postgres" / "dagster.yaml").read_text())
    local = yaml.safe_load((REPO_ROOT / "dagster.yaml").read_text())
    for section in ("run_coordinator", "concurrency", "run_retries", "python_logs"):
        assert deploy[section] == local[section], section
    assert deploy["storage"] == {"postgres": {"postgres_url": {"env": "DAGSTER_PG_URL"}}}


def test_queue_bounds_discovery_runs_and_openai_steps_share_a_pool(pipeline_env):
    with dg.instance_for_test(overrides=repo_instance_config()) as instance:
        config = instance.get_concurrency_config()
        assert config.run_queue_config.max_concurrent_runs == 4
        assert config.run_queue_config.tag_concurrency_limits == [
            {"key": "pipeline/pool", "value": "discovery", "limit": 2},
            {"key": DATASOURCE_TAG, "value": {"applyLimitPerUniqueValue": True}, "limit": 1},
        ]
        assert dg.materialize([openai_heavy], instance=instance).success
        # The pool was created with the default limit the first time a step claimed it.
        pool = instance.event_log_storage.get_concurrency_info("openai")
        assert pool.slot_count == 2
        assert pool.active_slot_count == 0


def test_discovery_assets_run_only_with_the_discovery_run_tag():
    """Asset tags do not become run tags: a discovery asset with an AutomationCondition would
    be launched by automation_sensor without pipeline/pool=discovery, escaping the rate limit.
    So discovery assets have none, and every job that runs them carries the tag."""
    from pipeline.definitions import defs

    definitions = defs()
    graph = definitions.resolve_asset_graph()
    discovery = {
        key
        for key in graph.get_all_asset_keys()
        if graph.get(key).tags.get("pipeline/pool") == "discovery"
    }
    assert dg.AssetKey("raw_news_events") in discovery or not graph.has(
        dg.AssetKey("raw_news_events")
    )
    automated = {key for key in discovery if graph.get(key).automation_condition is not None}
    assert not automated, f"automated discovery assets would run untagged: {automated}"
    jobs = [
        job
        for job in definitions.resolve_all_job_defs()
        if not job.name.startswith("__") and job.asset_layer.executable_asset_keys & discovery
    ]
    assert {"grants_discovery_job", "news_fetch_job"} <= {job.name for job in jobs}
    for job in jobs:
        assert job.tags.items() >= DISCOVERY_TAGS.items(), job.name


def test_news_monitoring_schedules_respect_the_discovery_rate_limit(instance):
    import datetime as dt

    from pipeline.definitions import defs

    definitions = defs()
    schedules = [s for s in definitions.schedules or [] if s.job_name == "news_fetch_job"]
    assert schedules, "the bundled data/config/monitoring.yaml schedules news monitoring"
    schedule = schedules[0]
    assert definitions.resolve_job_def("news_fetch_job").tags.items() >= DISCOVERY_TAGS.items()
    when = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)

    def tick():
        context = dg.build_schedule_context(
            instance=instance,
            scheduled_execution_time=when,
            repository_def=definitions.get_repository_def(),
        )
        return schedule.evaluate_tick(context)

    assert len(tick().run_requests) == 1

    @dg.asset
    def probe() -> int:
        return 1

    for _ in range(5):
        dg.materialize([probe], instance=instance, tags=DISCOVERY_TAGS)
    skipped = tick()
    assert not skipped.run_requests
    assert "rate limit" in skipped.skip_message
