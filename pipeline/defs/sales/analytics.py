"""Sales analytics, rebuilt automatically whenever a file loads."""

import datetime as dt

import dagster as dg

from pipeline.defs.sales.assets import TRANSACTIONS, UPLOADS
from pipeline.defs.shared.automation import AFTER_ANY_UPDATE
from pipeline.defs.shared.metadata import table_metadata
from pipeline.defs.shared.resources import WarehouseResource
from pipeline.lib.sales import analytics, dashboard_export
from pipeline.lib.sales import dashboard as dashboard_page
from pipeline.lib.sales.duck import configure
from pipeline.lib.settings import settings


@dg.asset(
    group_name="sales",
    deps=[TRANSACTIONS],
    automation_condition=AFTER_ANY_UPDATE,
    kinds={"duckdb"},
    description="analytics.sales_daily: date x datasource x branch x product line (revenue,"
    " cost, profit, orders, units). Incremental: recomputes exactly the days loads touched.",
)
def sales_daily(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    with warehouse.get_connection() as conn:
        configure(conn)
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
    """An eager asset running `refresh`, which returns the datasources it recomputed (or None
    when it rebuilds its table whole)."""

    @dg.asset(
        name=name,
        group_name="sales",
        deps=deps,
        automation_condition=AFTER_ANY_UPDATE,
        kinds={"duckdb"},
        description=description,
    )
    def _asset(warehouse: WarehouseResource):
        with warehouse.get_connection() as conn:
            configure(conn)
            recomputed = refresh(conn)
            metadata = table_metadata(conn, table, order_by=order_by)
        if recomputed is not None:
            metadata["recomputed_datasources"] = ", ".join(recomputed) or "none"
        return dg.MaterializeResult(metadata=metadata)

    return _asset


sales_overview = _summary_asset(
    analytics.OVERVIEW,
    f"analytics.{analytics.OVERVIEW}",
    analytics.refresh_sales_overview,
    [TRANSACTIONS, UPLOADS],
    "analytics.sales_overview: totals per datasource and overall, with file and reject counts;"
    " a load's datasource is recomputed, the others are kept.",
    "revenue DESC",
)
product_performance = _summary_asset(
    analytics.PRODUCT,
    f"analytics.{analytics.PRODUCT}",
    analytics.refresh_product_performance,
    [TRANSACTIONS],
    "analytics.product_performance: revenue, profit, margin, share and rank per product line;"
    " recomputed for the datasources loads touched.",
    "datasource, revenue_rank",
)
branch_performance = _summary_asset(
    analytics.BRANCH,
    f"analytics.{analytics.BRANCH}",
    analytics.refresh_branch_performance,
    [TRANSACTIONS],
    "analytics.branch_performance: revenue, margin, average order value and rank per branch;"
    " recomputed for the datasources loads touched.",
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


@dg.asset(
    group_name="sales",
    deps=[
        "sales_overview",
        "sales_daily",
        "product_performance",
        "branch_performance",
        "profitability",
        "discovery_trends",
        "notification_stats",
    ],
    automation_condition=AFTER_ANY_UPDATE,
    kinds={"html"},
    description="One self-contained offline HTML page (inline SVG charts) under"
    " PIPELINE_DATA_DIR: overview, sales, products, branches, profitability, grant"
    " discovery trends and e-mail delivery/engagement; a banner names sections on sample data.",
)
def dashboard(warehouse: WarehouseResource):
    with warehouse.get_connection(read_only=True) as conn:
        data = dashboard_page.collect(conn)
        # pipeline serve's /dashboard filters this export; it never opens the warehouse.
        dashboard_export.write(conn, settings().data_dir)
    html = dashboard_page.render(data, dt.datetime.now(dt.UTC))
    target = dashboard_page.page_path(settings().data_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    partial.write_text(html, encoding="utf-8")
    partial.replace(target)  # a browser refreshing mid-write never sees half a page
    preview = "\n".join(
        f"- **{row['datasource']}**: revenue {row['revenue']:,.2f}, margin"
        f" {(row['margin'] or 0):.1%}, orders {row['orders']:,}"
        for row in data.overview
    )
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(target)),
            "bytes": len(html.encode()),
            "preview": dg.MetadataValue.md(preview or "_no sales loaded yet_"),
            "discovery_trends": "included" if data.discovery else "no data",
        }
    )
