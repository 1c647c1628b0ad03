"""Cross-cutting checks for every asset a domain did not already cover: schema drift
(build_column_schema_change_checks), volume anomaly (row count against the trailing median) and
the share checks agreed for particular assets.

All WARN and non-blocking: a changed schema or an odd volume is for an operator to look at, not
a reason to stop downstream (the domains' own ERROR checks guard correctness). Freshness is not
a check: each asset's FreshnessPolicy (pipeline/definitions.py) says when it is stale.
pipeline/definitions.py adds these once the whole code location is loaded.
"""

import warnings

import dagster as dg

from pipeline.defs.health.builders import (
    delivery_failure_share_check,
    source_error_share_check,
    volume_anomaly_checks,
)

WARN = dg.AssetCheckSeverity.WARN
# A domain that defines a check under one of these names on an asset keeps its own; every other
# asset gets the generic one (a second check of the same name would not load anyway).
VOLUME_CHECK = "volume_anomaly"
SCHEMA_CHECK = "column_schema_change"
# Assets that are no table, so have no column schema to compare: the sales dashboard is an HTML
# page (its domain checks it with dashboard_page_schema).
NOT_TABLES = {dg.AssetKey("dashboard")}
# Share checks for particular assets: (asset, check name, builder).
SHARE_CHECKS = (
    (
        "raw_grant_events",
        "source_error_share",
        lambda: source_error_share_check("raw_grant_events", "grant"),
    ),
    (
        "raw_news_events",
        "source_error_share",
        lambda: source_error_share_check("raw_news_events", "news"),
    ),
    ("email_log", "delivery_failure_share", lambda: delivery_failure_share_check("email_log")),
)


def cross_cutting_checks(defs: dg.Definitions) -> list[dg.AssetChecksDefinition]:
    """The schema-change, volume and share checks missing from `defs`' assets."""
    graph = defs.resolve_asset_graph()
    keys = sorted(graph.materializable_asset_keys, key=lambda k: k.to_user_string())

    def lacks(key: dg.AssetKey, check_name: str) -> bool:
        return dg.AssetCheckKey(key, check_name) not in graph.get(key).check_keys

    need_schema = [key for key in keys if key not in NOT_TABLES and lacks(key, SCHEMA_CHECK)]
    need_volume = [key for key in keys if lacks(key, VOLUME_CHECK)]
    checks: list[dg.AssetChecksDefinition] = []
    if need_schema:
        with warnings.catch_warnings():
            # A beta builder; the warning would repeat on every code-location load.
            warnings.simplefilter("ignore", dg.BetaWarning)
            checks.extend(dg.build_column_schema_change_checks(assets=need_schema, severity=WARN))
    if need_volume:
        checks.append(volume_anomaly_checks(need_volume, name=VOLUME_CHECK))
    for asset, check_name, build in SHARE_CHECKS:
        key = dg.AssetKey(asset)
        if key in graph.materializable_asset_keys and lacks(key, check_name):
            checks.append(build())
    return checks
