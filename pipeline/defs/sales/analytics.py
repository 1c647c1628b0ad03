"""Sales analytics, rebuilt automatically whenever a file loads."""

import dagster as dg

from pipeline.defs.sales.assets import TRANSACTIONS, UPLOADS
from pipeline.defs.shared.metadata import table_metadata
from pipeline.defs.shared.resources import WarehouseResource
from pipeline.lib.sales import analytics

# Eager, but not held back by a file partition that is still missing (registered by the
# sensor, run pending or failed): one broken upload must not freeze the analytics of all others.
AFTER_ANY_FILE = dg.AutomationCondition.eager().without(~dg.AutomationCondition.any_deps_missing())


@dg.asset(
    group_name="sales",
    deps=[TRANSACTIONS],
    automation_condition=AFTER_ANY_FILE,
    kinds={"duckdb"},
    description="analytics.sales_daily: date x datasource x branch x product line (revenue,"
    " cost, profit, orders, units). Incremental: recomputes exactly the days loads touched.",
)
def sales_daily(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    with warehouse.get_connection() as conn:
        days = analytics.refresh_sales_daily(conn)
        metadata = table_metadata(conn, "analytics.sales_daily", order_by="order_date DESC")
    context.log.info(f"recomputed {len(days)} day(s)")
    shown = ", ".join(f"{source} {day}" for source, day in days[:20])
    return dg.MaterializeResult(
        metadata={
            **metadata,
            "recomputed_days": len(days),
            "recomputed": shown + (" ..." if len(days) > 20 else "") or "none",
        }
    )


def _summary_asset(name: str, table: str, refresh, deps, description: str, order_by: str):
    @dg.asset(
        name=name,
        group_name="sales",
        deps=deps,
        automation_condition=AFTER_ANY_FILE,
        kinds={"duckdb"},
        description=description,
    )
    def _asset(warehouse: WarehouseResource):
        with warehouse.get_connection() as conn:
            refresh(conn)
            return dg.MaterializeResult(metadata=table_metadata(conn, table, order_by=order_by))

    return _asset


sales_overview = _summary_asset(
    "sales_overview",
    "analytics.sales_overview",
    analytics.refresh_sales_overview,
    [TRANSACTIONS, UPLOADS],
    "analytics.sales_overview: totals per datasource and overall, with file and reject counts.",
    "revenue DESC",
)
product_performance = _summary_asset(
    "product_performance",
    "analytics.product_performance",
    analytics.refresh_product_performance,
    [TRANSACTIONS],
    "analytics.product_performance: revenue, profit, margin, share and rank per product line.",
    "datasource, revenue_rank",
)
branch_performance = _summary_asset(
    "branch_performance",
    "analytics.branch_performance",
    analytics.refresh_branch_performance,
    [TRANSACTIONS],
    "analytics.branch_performance: revenue, margin, average order value and rank per branch.",
    "datasource, revenue_rank",
)
profitability = _summary_asset(
    "profitability",
    "analytics.profitability",
    analytics.refresh_profitability,
    [dg.AssetKey("sales_daily")],
    "analytics.profitability: margin by month, branch and product line, month over month.",
    "month DESC, datasource, branch, product_line",
)
