"""Cross-cutting checks: every asset gets schema-change and volume checks unless its domain
already has them; all WARN, and they pass right after a materialisation. Freshness is each
asset's FreshnessPolicy, not a check."""

from __future__ import annotations

import dagster as dg

from pipeline.defs.health.coverage import cross_cutting_checks
from pipeline.defs.shared.check_builders import volume_anomaly_checks
from pipeline_tests.defs.health.toy_defs import toy_definitions


def test_every_asset_gets_the_missing_checks_once(instance):
    toy = toy_definitions()

    @dg.asset(group_name="toy")
    def covered():
        return dg.MaterializeResult(metadata={"dagster/row_count": 1})

    own_volume = volume_anomaly_checks([covered], max_drop=0.9)
    defs = dg.Definitions.merge(toy, dg.Definitions(assets=[covered], asset_checks=[own_volume]))
    added = cross_cutting_checks(defs)
    keys = {(k.asset_key.to_user_string(), k.name) for c in added for k in c.check_keys}
    for asset in ("toy_scores", "toy_summary"):
        assert {(asset, "column_schema_change"), (asset, "volume_anomaly")} <= keys
    assert ("covered", "volume_anomaly") not in keys
    assert ("covered", "column_schema_change") in keys
    assert not any("fresh" in name for _, name in keys)

    full = dg.Definitions.merge(defs, dg.Definitions(asset_checks=added))
    result = dg.materialize(
        [*full.assets, *full.asset_checks], instance=instance, resources=full.resources
    )
    evaluations = result.get_asset_check_evaluations()
    assert evaluations and all(e.passed for e in evaluations)
    assert {
        e.severity
        for e in evaluations
        if e.check_name in {"volume_anomaly", "column_schema_change"}
    } == {dg.AssetCheckSeverity.WARN}


def test_share_checks_for_the_agreed_assets_unless_the_domain_has_one():
    @dg.asset
    def raw_news_events(): ...

    @dg.asset
    def email_log(): ...

    @dg.asset_check(asset=email_log, name="delivery_failure_share")
    def own_delivery_failure_share():
        return dg.AssetCheckResult(passed=True)

    defs = dg.Definitions(
        assets=[raw_news_events, email_log], asset_checks=[own_delivery_failure_share]
    )
    names = {
        (k.asset_key.to_user_string(), k.name)
        for c in cross_cutting_checks(defs)
        for k in c.check_keys
    }
    assert ("raw_news_events", "source_error_share") in names
    assert ("email_log", "delivery_failure_share") not in names
