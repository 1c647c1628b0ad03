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
    share_check,
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


def share_checks() -> list[dg.AssetChecksDefinition]:
    """The share checks agreed for particular assets."""
    return [
        source_error_share_check("raw_grant_events", "grant"),
        source_error_share_check("raw_news_events", "news"),
        share_check(
            "email_log",
            "notify.email_log",
            "status = 'failed'",
            name="delivery_failure_share",
            description="at most 10% of e-mails failed to send in 7 days",
            max_share=0.1,
            where_sql="created_at >= now() - INTERVAL 7 DAY",
            label="e-mails failed",
        ),
    ]


def cross_cutting_checks(defs: dg.Definitions) -> list[dg.AssetChecksDefinition]:
    """The schema-change, volume and share checks missing from `defs`' assets."""
    graph = defs.resolve_asset_graph()
    keys = sorted(graph.materializable_asset_keys, key=lambda k: k.to_user_string())

    def lacks(key: dg.AssetCheckKey) -> bool:
        return (
            key.asset_key in graph.materializable_asset_keys
            and key not in graph.get(key.asset_key).check_keys
        )

    need_schema = [
        k for k in keys if k not in NOT_TABLES and lacks(dg.AssetCheckKey(k, SCHEMA_CHECK))
    ]
    need_volume = [k for k in keys if lacks(dg.AssetCheckKey(k, VOLUME_CHECK))]
    checks: list[dg.AssetChecksDefinition] = []
    if need_schema:
        with warnings.catch_warnings():
            # A beta builder; the warning would repeat on every code-location load.
            warnings.simplefilter("ignore", dg.BetaWarning)
            checks.extend(dg.build_column_schema_change_checks(assets=need_schema, severity=WARN))
    if need_volume:
        checks.append(
            volume_anomaly_checks(need_volume, name=VOLUME_CHECK, op_name=f"{VOLUME_CHECK}_checks")
        )
    return checks + [c for c in share_checks() if all(lacks(key) for key in c.check_keys)]
