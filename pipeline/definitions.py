"""The code location: every definition under pipeline/defs/, plus project-wide policies."""

import datetime as dt
import warnings
from pathlib import Path

import dagster as dg

from pipeline.lib.logs import install_redaction
from pipeline.lib.settings import partitions_start_date

# How stale each domain's assets may get: the one freshness rule. Dagster's freshness daemon
# (on with `dagster dev`) shows it in the UI, and `pipeline health` applies the same windows to
# the instance's last materialisation, so it needs no daemon. News is fetched hourly and grants
# daily; sales follow uploads, so only a loose bound applies.
FRESHNESS_BY_GROUP: dict[str, dg.FreshnessPolicy] = {
    "grants": dg.FreshnessPolicy.time_window(
        fail_window=dt.timedelta(hours=48), warn_window=dt.timedelta(hours=26)
    ),
    "news": dg.FreshnessPolicy.time_window(
        fail_window=dt.timedelta(hours=6), warn_window=dt.timedelta(hours=2)
    ),
    "scoring": dg.FreshnessPolicy.time_window(
        fail_window=dt.timedelta(hours=48), warn_window=dt.timedelta(hours=26)
    ),
    "notify": dg.FreshnessPolicy.time_window(
        fail_window=dt.timedelta(days=8), warn_window=dt.timedelta(days=2)
    ),
    "sales": dg.FreshnessPolicy.time_window(
        fail_window=dt.timedelta(days=31), warn_window=dt.timedelta(days=8)
    ),
}


# Who answers for each domain's assets (shown in the UI's owner column and filter).
OWNERS_BY_GROUP: dict[str, list[str]] = {
    "grants": ["team:grants"],
    "news": ["team:news"],
    "scoring": ["team:scoring"],
    "sales": ["team:sales"],
    "notify": ["team:notify"],
    "health": ["team:operations"],
}


def with_group_policies(spec: dg.AssetSpec) -> dg.AssetSpec:
    """Give an asset its group's freshness policy and owners unless it declares its own."""
    group = spec.group_name or ""
    changes = {}
    if spec.freshness_policy is None and group in FRESHNESS_BY_GROUP:
        changes["freshness_policy"] = FRESHNESS_BY_GROUP[group]
    if not spec.owners and group in OWNERS_BY_GROUP:
        changes["owners"] = OWNERS_BY_GROUP[group]
    return spec.replace_attributes(**changes) if changes else spec


# Evaluates every asset's AutomationCondition (eager, on_cron); it runs by default so analytics
# follow their inputs without anyone switching it on. Discovery assets (tag
# pipeline/pool=discovery) have no condition: their schedules and jobs run them with the
# discovery run tag the rate limit counts.
automation_sensor = dg.AutomationConditionSensorDefinition(
    "automation_sensor",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
)


@dg.definitions
def defs() -> dg.Definitions:
    """The location as `dagster dev`, the daemon and the CLI load it: each run in one process."""
    # Steps take seconds while a step process takes 3 s to start on an idle 2-core machine and
    # 25-30 s when the daemon's runs overlap (measured in the soak), and the DuckDB file admits one
    # writer at a time anyway. Scale-out runs steps on Celery instead (deploy/celery).
    return location(executor=dg.in_process_executor)


def location(executor: dg.ExecutorDefinition) -> dg.Definitions:
    """Every definition under pipeline/defs/ with the project-wide policies, run by `executor`."""
    # Code servers and run workers load the location through this call: from here on no log
    # record of the process carries a secret. Importing the module alone changes nothing.
    install_redaction()
    # Before the daily partitions are built: a new deployment's first day is recorded once.
    partitions_start_date()
    from pipeline.defs.health.assets import ASSET_GRAPH_RESOURCE
    from pipeline.defs.health.coverage import cross_cutting_checks

    location: list[dg.Definitions] = []
    # health_report judges the whole location, not its run's job: its graph, read when a run
    # first asks for it (the location is complete by then).
    asset_graph = dg.ResourceDefinition(
        resource_fn=lambda _: location[0].resolve_asset_graph(),
        description="The code location's asset graph, which health_report judges.",
    )
    loaded = dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
    merged = dg.Definitions.merge(
        loaded,
        dg.Definitions(
            sensors=[automation_sensor],
            resources={ASSET_GRAPH_RESOURCE: asset_graph},
            executor=executor,
        ),
    )
    with warnings.catch_warnings():
        # map_resolved_asset_specs is marked preview in 1.13; it is the documented way to apply
        # a project-wide policy, and the warning would repeat on every code-location load.
        warnings.simplefilter("ignore", dg.PreviewWarning)
        with_policies = merged.map_resolved_asset_specs(func=with_group_policies)
    # Schema-change, volume and share checks for every asset no domain covered itself.
    location.append(
        dg.Definitions.merge(
            with_policies, dg.Definitions(asset_checks=cross_cutting_checks(with_policies))
        )
    )
    return location[0]
