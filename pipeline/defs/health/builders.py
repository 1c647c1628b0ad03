"""Reusable asset-check builders every domain can adopt (announced in docs/health.md).

Each returns an AssetChecksDefinition: put it in your domain's checks.py as a module-level
name and the defs loader picks it up, e.g.

    grants_unique = unique_check("grants", "core.grants", ["grant_id"], blocking=True)
    scores_range = range_check("news_scores", "ai.news_scores", "relevance", minimum=0, maximum=1)

Table checks judge the warehouse through the `warehouse` resource with a test of
pipeline.lib.health_checks (their keyword options are that test's); a table that does not exist
yet fails as WARN whatever the check's severity, so it never blocks a first run.
"""

from collections.abc import Callable, Sequence
from functools import partial

import dagster as dg
import duckdb

from pipeline.defs.shared.metadata import ROWS_BY_DATASOURCE
from pipeline.defs.shared.resources import WarehouseResource
from pipeline.lib import health_checks
from pipeline.lib.health_checks import Verdict

ERROR, WARN = dg.AssetCheckSeverity.ERROR, dg.AssetCheckSeverity.WARN
ROW_COUNT = "dagster/row_count"


def to_result(verdict: Verdict, severity: dg.AssetCheckSeverity, **target) -> dg.AssetCheckResult:
    """`target`: asset_key and check_name, for checks of a multi-asset check."""
    return dg.AssetCheckResult(
        **target,
        passed=verdict.passed,
        severity=severity if verdict.table_exists else WARN,
        description=verdict.description,
        metadata={k: v for k, v in verdict.metadata.items() if v is not None},
    )


def table_check(
    asset,
    name: str,
    description: str,
    test: Callable[[duckdb.DuckDBPyConnection], Verdict],
    *,
    severity: dg.AssetCheckSeverity = ERROR,
    blocking: bool = False,
) -> dg.AssetChecksDefinition:
    """A check whose verdict `test` reads from the warehouse (read-only once it exists)."""

    @dg.asset_check(asset=asset, name=name, blocking=blocking, description=description)
    def _check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        with warehouse.read_connection() as conn:
            return to_result(test(conn), severity)

    return _check


def unique_check(asset, table: str, columns: Sequence[str], *, name=None, where_sql=None, **check):
    """No two rows of `table` share `columns` (among rows matching `where_sql`)."""
    test = partial(health_checks.uniqueness, table=table, columns=columns, where_sql=where_sql)
    description = f"{table} is unique on ({', '.join(columns)})"
    return table_check(asset, name or f"unique_{'_'.join(columns)}", description, test, **check)


def range_check(
    asset, table: str, column: str, *, name=None, severity=ERROR, blocking=False, **bounds
):
    """Every `column` value of `table` lies within the bounds (health_checks.value_range's
    minimum, maximum, allow_null and where_sql)."""
    test = partial(health_checks.value_range, table=table, column=column, **bounds)
    limits = health_checks.bounds_text(bounds.get("minimum"), bounds.get("maximum"))
    description = f"{table}.{column} {limits}"
    name = name or f"{column}_in_range"
    return table_check(asset, name, description, test, severity=severity, blocking=blocking)


def share_check(
    asset,
    table: str,
    condition_sql: str,
    *,
    name: str,
    description=None,
    severity=WARN,
    blocking=False,
    **limit,
):
    """The share of rows of `table` matching `condition_sql` stays at or below `max_share`: AI
    fallback share, source error share and the like (health_checks.share's max_share,
    where_sql, min_rows and label)."""
    test = partial(health_checks.share, table=table, condition_sql=condition_sql, **limit)
    what = f"{limit.get('label', 'rows')} in {table} at most {limit['max_share']:.0%}"
    description = description or f"share of {what}"
    return table_check(asset, name, description, test, severity=severity, blocking=blocking)


def source_error_share_check(
    asset, kind: str, *, max_share: float = 0.5, days: int = 2
) -> dg.AssetChecksDefinition:
    """Share of failed provider calls of `kind` ('grant', 'news', ...) in raw.source_fetches
    over the last `days` days."""
    if not kind.isidentifier():
        raise ValueError(f"not a plain kind: {kind!r}")
    return share_check(
        asset,
        "raw.source_fetches",
        "status <> 'ok'",
        name="source_error_share",
        description=f"at most {max_share:.0%} of {kind} provider calls failed in {days} days",
        max_share=max_share,
        where_sql=f"kind = '{kind}' AND finished_at >= now() - INTERVAL {int(days)} DAY",
        label=f"{kind} fetches failed",
    )


def volume_anomaly_checks(
    assets: Sequence,
    *,
    name: str = "volume_anomaly",
    window: int = 14,
    min_history: int = 3,
    max_drop: float = 0.5,
    max_rise: float = 3.0,
    severity: dg.AssetCheckSeverity = WARN,
    blocking: bool = False,
    op_name: str | None = None,
) -> dg.AssetChecksDefinition:
    """For each asset: the latest `dagster/row_count` against the median of the previous
    `window` ones from the instance's materialisation history, or, when the materialisation
    counts rows per datasource (table_metadata does for tables with a datasource column), each
    datasource against its own history; fails on a drop below
    (1 - max_drop) x median or a rise above max_rise x median. One op for all the assets
    (subsettable), so a run evaluates only the selected ones. An asset that reports no row
    count passes."""
    description = (
        f"row count within -{max_drop:.0%}/x{max_rise:g} of the trailing median "
        f"of the last {window} materialisations (per datasource where the table has one)"
    )
    limits = {"max_drop": max_drop, "max_rise": max_rise, "min_history": min_history}

    specs = [
        dg.AssetCheckSpec(name, asset=asset, blocking=blocking, description=description)
        for asset in assets
    ]

    @dg.multi_asset_check(
        specs=specs,
        can_subset=True,
        # The step's name in the Runs page: short and readable, unique per builder call.
        name=op_name
        or f"{name}_{specs[0].asset_key.to_python_identifier()}"
        + (f"_and_{len(specs) - 1}_more" if len(specs) > 1 else ""),
    )
    def _volume(context: dg.AssetCheckExecutionContext):
        for key in sorted(context.selected_asset_check_keys, key=str):
            records = context.instance.fetch_materializations(key.asset_key, limit=window + 1)
            metadata = [r.asset_materialization.metadata for r in records.records]
            by_source = [m[ROWS_BY_DATASOURCE].value for m in metadata if ROWS_BY_DATASOURCE in m]
            if metadata and ROWS_BY_DATASOURCE in metadata[0]:
                verdict = health_checks.volume_anomaly_by_source(
                    by_source[0], by_source[1:], **limits
                )
            else:
                counts = [int(m[ROW_COUNT].value) for m in metadata if ROW_COUNT in m]
                verdict = health_checks.volume_anomaly(
                    counts[0] if counts else None, counts[1:], **limits
                )
            yield to_result(verdict, severity, asset_key=key.asset_key, check_name=key.name)

    return _volume
