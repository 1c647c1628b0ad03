"""Reusable asset-check builders every domain can adopt (announced in docs/health.md).

Each returns an AssetChecksDefinition: put it in your domain's checks.py as a module-level
name (or a list of them) and the defs loader picks it up, e.g.

    grants_unique = unique_check("grants", "core.grants", ["grant_id"], blocking=True)
    grants_volume = volume_anomaly_check("grants")
    scores_range = range_check("news_scores", "ai.news_scores", "relevance", minimum=0, maximum=1)
    fallback_share = share_check("news_scores", "ai.news_scores", "scorer = 'local'",
                                 max_share=0.2, name="ai_fallback_share", where_sql="...")

Table checks read the warehouse through the `warehouse` resource; a table that does not exist
yet fails as WARN whatever the check's severity, so it never blocks a first run.
"""

from collections.abc import Sequence

import dagster as dg

from pipeline.defs.shared.resources import WarehouseResource
from pipeline.lib import health_checks
from pipeline.lib.health_checks import Verdict

ROW_COUNT = "dagster/row_count"


def _key(asset) -> dg.AssetKey:
    return (
        asset.key if isinstance(asset, dg.AssetsDefinition) else dg.AssetKey.from_coercible(asset)
    )


def to_result(verdict: Verdict, severity: dg.AssetCheckSeverity, **target) -> dg.AssetCheckResult:
    """`target`: asset_key and check_name, for checks of a multi-asset check."""
    return dg.AssetCheckResult(
        **target,
        passed=verdict.passed,
        severity=severity if verdict.table_exists else dg.AssetCheckSeverity.WARN,
        description=verdict.description,
        metadata={k: v for k, v in verdict.metadata.items() if v is not None},
    )


def _reading(warehouse: WarehouseResource):
    """A read-only connection, or a normal one (creating and migrating the file) when the
    warehouse does not exist yet: DuckDB cannot open a missing file read-only."""
    return warehouse.read_connection()


def row_count_history(
    instance: dg.DagsterInstance, asset_key: dg.AssetKey, limit: int
) -> list[int]:
    """`dagster/row_count` of the asset's latest materialisations, newest first."""
    records = instance.fetch_materializations(asset_key, limit=limit).records
    counts = []
    for record in records:
        materialization = record.asset_materialization
        value = materialization.metadata.get(ROW_COUNT) if materialization else None
        if value is not None:
            counts.append(int(value.value))
    return counts


def volume_anomaly_checks(
    assets: Sequence,
    *,
    name: str = "volume_anomaly",
    window: int = 14,
    min_history: int = 3,
    max_drop: float = 0.5,
    max_rise: float = 3.0,
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.WARN,
    blocking: bool = False,
) -> dg.AssetChecksDefinition:
    """For each asset: the latest `dagster/row_count` against the median of the previous
    `window` ones from the instance's materialisation history; fails on a drop below
    (1 - max_drop) x median or a rise above max_rise x median. One op for all the assets
    (subsettable), so a run evaluates only the selected ones. Assets that report no
    `dagster/row_count` pass ("no row count recorded yet")."""
    keys = [_key(a) for a in assets]
    description = (
        f"row count within -{max_drop:.0%}/x{max_rise:g} of the trailing median "
        f"of the last {window} materialisations"
    )

    @dg.multi_asset_check(
        specs=[
            dg.AssetCheckSpec(name, asset=key, blocking=blocking, description=description)
            for key in keys
        ],
        can_subset=True,
        name=f"{name}_{'_'.join(k.to_python_identifier() for k in keys)}"[:200],
    )
    def _volume(context: dg.AssetCheckExecutionContext):
        for check_key in sorted(context.selected_asset_check_keys, key=str):
            counts = row_count_history(context.instance, check_key.asset_key, window + 1)
            verdict = health_checks.volume_anomaly(
                counts[0] if counts else None,
                counts[1:],
                max_drop=max_drop,
                max_rise=max_rise,
                min_history=min_history,
            )
            yield to_result(
                verdict, severity, asset_key=check_key.asset_key, check_name=check_key.name
            )

    return _volume


def volume_anomaly_check(asset, **options) -> dg.AssetChecksDefinition:
    """volume_anomaly_checks for one asset (same options)."""
    return volume_anomaly_checks([asset], **options)


def unique_check(
    asset,
    table: str,
    columns: Sequence[str],
    *,
    name: str | None = None,
    where_sql: str | None = None,
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR,
    blocking: bool = False,
) -> dg.AssetChecksDefinition:
    """No two rows of `table` share `columns` (optionally among rows matching `where_sql`)."""

    @dg.asset_check(
        asset=_key(asset),
        name=name or f"unique_{'_'.join(columns)}",
        blocking=blocking,
        description=f"{table} is unique on ({', '.join(columns)})",
    )
    def _unique(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        with _reading(warehouse) as conn:
            return to_result(health_checks.uniqueness(conn, table, columns, where_sql), severity)

    return _unique


def range_check(
    asset,
    table: str,
    column: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    allow_null: bool = True,
    name: str | None = None,
    where_sql: str | None = None,
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR,
    blocking: bool = False,
) -> dg.AssetChecksDefinition:
    """Every `column` value of `table` lies within [minimum, maximum]."""

    @dg.asset_check(
        asset=_key(asset),
        name=name or f"{column}_in_range",
        blocking=blocking,
        description=f"{table}.{column} within [{minimum}, {maximum}]",
    )
    def _range(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        with _reading(warehouse) as conn:
            verdict = health_checks.value_range(
                conn,
                table,
                column,
                minimum=minimum,
                maximum=maximum,
                allow_null=allow_null,
                where_sql=where_sql,
            )
        return to_result(verdict, severity)

    return _range


def share_check(
    asset,
    table: str,
    condition_sql: str,
    *,
    max_share: float,
    name: str,
    where_sql: str | None = None,
    min_rows: int = 1,
    label: str = "rows",
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.WARN,
    blocking: bool = False,
    description: str | None = None,
) -> dg.AssetChecksDefinition:
    """The share of rows of `table` matching `condition_sql` stays at or below `max_share`:
    AI fallback share, source error share, delivery failure share and the like."""

    @dg.asset_check(
        asset=_key(asset),
        name=name,
        blocking=blocking,
        description=description or f"share of {label} in {table} at most {max_share:.0%}",
    )
    def _share(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        with _reading(warehouse) as conn:
            verdict = health_checks.share(
                conn,
                table,
                condition_sql,
                max_share=max_share,
                where_sql=where_sql,
                min_rows=min_rows,
                label=label,
            )
        return to_result(verdict, severity)

    return _share


def source_error_share_check(
    asset,
    kind: str,
    *,
    max_share: float = 0.5,
    days: int = 2,
    name: str = "source_error_share",
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.WARN,
) -> dg.AssetChecksDefinition:
    """Share of failed provider calls of `kind` ('grant', 'news', ...) in raw.source_fetches
    over the last `days` days."""
    if not kind.isidentifier():
        raise ValueError(f"not a plain kind: {kind!r}")
    return share_check(
        asset,
        "raw.source_fetches",
        "status <> 'ok'",
        max_share=max_share,
        name=name,
        where_sql=f"kind = '{kind}' AND finished_at >= now() - INTERVAL {int(days)} DAY",
        label=f"{kind} fetches failed",
        severity=severity,
        description=f"at most {max_share:.0%} of {kind} provider calls failed in {days} days",
    )


def delivery_failure_share_check(
    asset,
    *,
    max_share: float = 0.1,
    days: int = 7,
    name: str = "delivery_failure_share",
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.WARN,
) -> dg.AssetChecksDefinition:
    """Share of e-mails in notify.email_log with status 'failed' over the last `days` days."""
    return share_check(
        asset,
        "notify.email_log",
        "status = 'failed'",
        max_share=max_share,
        name=name,
        where_sql=f"created_at >= now() - INTERVAL {int(days)} DAY",
        label="e-mails failed",
        severity=severity,
        description=f"at most {max_share:.0%} of e-mails failed to send in {days} days",
    )
