"""Checks on sales: lines exist, revenue is never negative, keys are unique (blocking: the
analytics would double count), the rejected-row share stays small, and column schemas do not
change silently."""

import dagster as dg

from pipeline.defs.sales.assets import TRANSACTIONS, UPLOADS
from pipeline.defs.sales.recovery import stuck_files
from pipeline.defs.shared.check_builders import to_result
from pipeline.defs.shared.resources import WarehouseResource
from pipeline.lib import health_checks
from pipeline.lib.sales import dashboard as dashboard_page
from pipeline.lib.sales.spec import DEFAULT_MAX_BAD_ROW_RATIO
from pipeline.lib.settings import settings

LINES_PRESENT = "sales_lines_present"
REVENUE_NON_NEGATIVE = "sales_revenue_non_negative"
LINES_UNIQUE = "sales_lines_unique"
LINE_KEY = ("datasource", "order_id", "line")


@dg.multi_asset_check(
    name="sales_transactions_checks",
    specs=[
        dg.AssetCheckSpec(
            LINES_PRESENT,
            asset=TRANSACTIONS,
            description="sales.transactions holds at least one line.",
        ),
        dg.AssetCheckSpec(
            REVENUE_NON_NEGATIVE,
            asset=TRANSACTIONS,
            blocking=True,
            description="sales.transactions.revenue within [0, inf]",
        ),
        dg.AssetCheckSpec(
            LINES_UNIQUE,
            asset=TRANSACTIONS,
            blocking=True,
            description="sales.transactions is unique on (datasource, order_id, line)",
        ),
    ],
    can_subset=True,
)
def sales_transactions_checks(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource):
    """The three checks on the lines in one connection: the count and the revenue range come
    from one scan, the key test from one hash grouping (health_checks.uniqueness)."""
    selected = {key.name for key in context.selected_asset_check_keys}
    error = dg.AssetCheckSeverity.ERROR
    # DuckDB cannot open a missing file read-only: a first run creates (and migrates) it.
    with warehouse.read_connection() as conn:
        if selected & {LINES_PRESENT, REVENUE_NON_NEGATIVE}:
            revenue = health_checks.value_range(
                conn, "sales.transactions", "revenue", minimum=0, allow_null=False
            )
        if LINES_PRESENT in selected:
            lines = int(revenue.metadata.get("rows") or 0)
            yield dg.AssetCheckResult(
                check_name=LINES_PRESENT,
                passed=lines > 0,
                severity=error,
                metadata={"lines": lines},
                description=f"{lines:,} sales lines",
            )
        if REVENUE_NON_NEGATIVE in selected:
            yield to_result(revenue, error, asset_key=TRANSACTIONS, check_name=REVENUE_NON_NEGATIVE)
        if LINES_UNIQUE in selected:
            yield to_result(
                health_checks.uniqueness(conn, "sales.transactions", LINE_KEY),
                error,
                asset_key=TRANSACTIONS,
                check_name=LINES_UNIQUE,
            )


@dg.asset_check(
    asset=UPLOADS,
    name="sales_rejects_share",
    description="Rejected rows stay at or below 1% of all rows received, and no file was"
    " rejected whole in the last 7 days.",
)
def sales_rejects_share(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.get_connection() as conn:
        total, bad, rejected_files = conn.execute(
            "SELECT coalesce(sum(rows_total), 0), coalesce(sum(rows_rejected), 0),"
            " list(file_name ORDER BY processed_at DESC) FILTER ("
            "  status = 'rejected' AND processed_at > now() - INTERVAL 7 DAY)"
            " FROM sales.files WHERE status <> 'landed'"
        ).fetchall()[0]
    share = bad / total if total else 0.0
    rejected_files = rejected_files or []
    return dg.AssetCheckResult(
        passed=share <= DEFAULT_MAX_BAD_ROW_RATIO and not rejected_files,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "rows_received": int(total),
            "rows_rejected": int(bad),
            "share": float(share),
            "files_rejected": len(rejected_files),
        },
        description=f"{bad:,} of {total:,} rows rejected ({share:.2%});"
        f" {len(rejected_files)} file(s) rejected whole"
        + (f": {', '.join(rejected_files[:5])}" if rejected_files else ""),
    )


sales_schema_changes = dg.build_column_schema_change_checks(
    assets=[
        TRANSACTIONS,
        "sales_daily",
        "sales_overview",
        "product_performance",
        "branch_performance",
        "profitability",
    ],
    severity=dg.AssetCheckSeverity.WARN,
)


@dg.asset_check(
    asset="dashboard",
    name="dashboard_page_schema",
    description="The page's structure: all six sections present, nothing loaded from the network.",
)
def dashboard_page_schema() -> dg.AssetCheckResult:
    page_path = dashboard_page.page_path(settings().data_dir)
    page = page_path.read_text(encoding="utf-8") if page_path.exists() else ""
    missing = [s for s in dashboard_page.SECTION_IDS if f'<section id="{s}">' not in page]
    remote = dashboard_page.remote_references(page)
    return dg.AssetCheckResult(
        passed=bool(page) and not missing and not remote,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"bytes": len(page.encode()), "missing_sections": ", ".join(missing) or "none"},
        description=(
            "page not written"
            if not page
            else f"missing sections: {missing}; remote references: {remote[:3]}"
            if missing or remote
            else "all sections present; self-contained"
        ),
    )


# On the unpartitioned overview (which counts every file) rather than on sales_uploads: stuck
# files are a fact about the whole landing zone, so the check runs once per run or
# `pipeline check`, not once per file partition.
@dg.asset_check(
    asset="sales_overview",
    name="sales_uploads_not_stuck",
    description="No landed sales file waits for nothing (the overview would miss it): a file"
    " whose run died or failed is retried by the landing sensor (WARN meanwhile); ERROR once"
    " its retries are used up.",
)
def sales_uploads_not_stuck(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
) -> dg.AssetCheckResult:
    stuck = stuck_files(context.instance, warehouse.backend)
    gave_up = [file for file in stuck if file.gave_up]
    return dg.AssetCheckResult(
        passed=not stuck,
        severity=dg.AssetCheckSeverity.ERROR if gave_up else dg.AssetCheckSeverity.WARN,
        description="; ".join(file.describe() for file in stuck) or "no stuck sales file",
        metadata={"stuck_files": len(stuck), "retries_used_up": len(gave_up)},
    )
