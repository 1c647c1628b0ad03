"""The code location: every definition under pipeline/defs/, plus project-wide policies."""

import datetime as dt
import warnings
from pathlib import Path

import dagster as dg

from pipeline.defs.shared.run_limits import DISCOVERY_TAGS, POOL_TAG
from pipeline.lib.logs import install_redaction

# Code servers and run workers import this module: from here on no log record carries a secret.
install_redaction()

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


def with_default_freshness(spec: dg.AssetSpec) -> dg.AssetSpec:
    """Give an asset its group's freshness policy unless it declares its own."""
    policy = FRESHNESS_BY_GROUP.get(spec.group_name or "")
    if spec.freshness_policy is not None or policy is None:
        return spec
    return spec.replace_attributes(freshness_policy=policy)


# Assets that call outside discovery providers carry the tag pipeline/pool=discovery. Their
# automated runs get the same run tag, so dagster.yaml's queue limit for discovery runs and the
# rate limit in run_limits count them.
discovery_assets = dg.AssetSelection.tag(POOL_TAG, DISCOVERY_TAGS[POOL_TAG])

# Two sensors evaluate every asset's AutomationCondition (eager, on_cron); they run by default
# so analytics follow their inputs without anyone switching them on. An asset may belong to
# one automation sensor only, hence the difference.
automation_sensor = dg.AutomationConditionSensorDefinition(
    "automation_sensor",
    target=dg.AssetSelection.all() - discovery_assets,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
)
discovery_automation_sensor = dg.AutomationConditionSensorDefinition(
    "discovery_automation_sensor",
    target=discovery_assets,
    run_tags=DISCOVERY_TAGS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
)


@dg.definitions
def defs() -> dg.Definitions:
    loaded = dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
    merged = dg.Definitions.merge(
        loaded, dg.Definitions(sensors=[automation_sensor, discovery_automation_sensor])
    )
    with warnings.catch_warnings():
        # map_resolved_asset_specs is marked preview in 1.13; it is the documented way to apply
        # a project-wide policy, and the warning would repeat on every code-location load.
        warnings.simplefilter("ignore", dg.PreviewWarning)
        with_policies = merged.map_resolved_asset_specs(func=with_default_freshness)
    # Schema-change, volume and share checks for every asset no domain covered itself.
    from pipeline.defs.health.coverage import cross_cutting_checks

    return dg.Definitions.merge(
        with_policies, dg.Definitions(asset_checks=cross_cutting_checks(with_policies))
    )
