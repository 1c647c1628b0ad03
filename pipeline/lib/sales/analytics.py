"""Analytics tables over sales.transactions. sales_daily is incremental (exactly the days the
loads marked dirty); the others are small summaries rebuilt whole."""

from __future__ import annotations

import datetime as dt

import duckdb

from pipeline.lib.warehouse import transaction


def _rebuild(conn: duckdb.DuckDBPyConnection, table: str, *selects: str) -> None:
    """Replace every row of `table` with the rows of the `selects`, in turn and in one
    transaction; each select's one parameter is the time of the refresh."""
    now = dt.datetime.now(dt.UTC)
    with transaction(conn):
        conn.execute(f"DELETE FROM {table}")
        for select in selects:
            conn.execute(f"INSERT INTO {table} {select}", [now])


def refresh_sales_daily(conn: duckdb.DuckDBPyConnection) -> list[tuple[str, dt.date]]:
    """Recompute the (datasource, day) rows that loads marked dirty, and only those; returns
    the days recomputed. A late file for one day rewrites that day alone."""
    now = dt.datetime.now(dt.UTC)
    try:
        with transaction(conn):
            conn.execute(
                "CREATE OR REPLACE TEMP TABLE refresh_days AS SELECT * FROM sales.dirty_days"
            )
            days = conn.execute(
                "SELECT datasource, order_date FROM refresh_days ORDER BY 2, 1"
            ).fetchall()
            conn.execute(
                "DELETE FROM analytics.sales_daily AS d USING refresh_days AS r"
                " WHERE d.datasource = r.datasource AND d.order_date = r.order_date"
            )
            conn.execute(
                "INSERT INTO analytics.sales_daily"
                " SELECT t.order_date, t.datasource, t.branch, t.product_line, sum(t.revenue),"
                "  sum(t.cost), sum(t.profit), count(DISTINCT t.order_id), sum(t.quantity),"
                "  count(*), bool_and(t.is_sample), ?"
                " FROM sales.transactions AS t"
                " JOIN refresh_days AS r"
                "  ON t.datasource = r.datasource AND t.order_date = r.order_date"
                " GROUP BY t.order_date, t.datasource, t.branch, t.product_line",
                [now],
            )
            conn.execute(
                "DELETE FROM sales.dirty_days AS d USING refresh_days AS r"
                " WHERE d.datasource = r.datasource AND d.order_date = r.order_date"
            )
    finally:
        conn.execute("DROP TABLE IF EXISTS refresh_days")
    return days


def refresh_sales_overview(conn: duckdb.DuckDBPyConnection) -> None:
    _rebuild(
        conn,
        "analytics.sales_overview",
        # The lines are summed per datasource first and only then joined to the file
        # counts (a correlated lookup per line would join millions of rows).
        (
            "SELECT t.datasource, t.revenue, t.cost, t.profit,"
            "  t.profit / nullif(t.revenue, 0), t.orders, t.units, t.lines, t.branches,"
            "  t.product_lines, t.first_date, t.last_date, coalesce(f.loaded, 0),"
            "  coalesce(f.rejected, 0), coalesce(f.bad_rows, 0), t.is_sample, ?"
            " FROM (SELECT datasource, sum(revenue) AS revenue, sum(cost) AS cost,"
            "  sum(profit) AS profit, count(DISTINCT order_id) AS orders,"
            "  sum(quantity) AS units, count(*) AS lines, count(DISTINCT branch) AS branches,"
            "  count(DISTINCT product_line) AS product_lines, min(order_date) AS first_date,"
            "  max(order_date) AS last_date, bool_and(is_sample) AS is_sample"
            "  FROM sales.transactions GROUP BY datasource) AS t"
            " LEFT JOIN (SELECT datasource, count(*) FILTER (status = 'loaded') AS loaded,"
            "  count(*) FILTER (status = 'rejected') AS rejected,"
            "  coalesce(sum(rows_rejected), 0) AS bad_rows FROM sales.files"
            "  GROUP BY datasource) AS f ON f.datasource = t.datasource"
        ),
        # Order ids are per datasource, so the total's orders are the sum of theirs: no
        # second pass over the lines. Once a real datasource is loaded, the samples stop
        # counting in the total (their own rows stay, marked is_sample).
        (
            "SELECT '(all)', sum(revenue), sum(cost),"
            " sum(profit), sum(profit) / nullif(sum(revenue), 0), sum(orders), sum(units),"
            " sum(lines), NULL, NULL, min(first_date), max(last_date), sum(files_loaded),"
            " sum(files_rejected), sum(rows_rejected), bool_and(is_sample), ?"
            " FROM analytics.sales_overview WHERE NOT is_sample OR NOT EXISTS"
            " (SELECT 1 FROM analytics.sales_overview WHERE NOT is_sample)"
            " HAVING count(*) > 0"
        ),
    )


def _performance(dimension: str, extra: str) -> str:
    return (
        f"SELECT datasource, {dimension}, sum(revenue) AS revenue, sum(cost) AS cost,"
        " sum(profit) AS profit, sum(profit) / nullif(sum(revenue), 0) AS margin,"
        f" count(DISTINCT order_id) AS orders, sum(quantity) AS units{extra},"
        " sum(revenue) / nullif(sum(sum(revenue)) OVER (PARTITION BY datasource), 0),"
        " rank() OVER (PARTITION BY datasource ORDER BY sum(revenue) DESC),"
        " bool_and(is_sample), ?"
        f" FROM sales.transactions GROUP BY datasource, {dimension}"
    )


def refresh_product_performance(conn: duckdb.DuckDBPyConnection) -> None:
    _rebuild(conn, "analytics.product_performance", _performance("product_line", ""))


def refresh_branch_performance(conn: duckdb.DuckDBPyConnection) -> None:
    extra = (
        ", sum(revenue) / nullif(count(DISTINCT order_id), 0) AS avg_order_value,"
        " count(DISTINCT order_date) AS active_days"
    )
    _rebuild(conn, "analytics.branch_performance", _performance("branch", extra))


def refresh_profitability(conn: duckdb.DuckDBPyConnection) -> None:
    """Margin by month, branch and product line, with the change on the previous month."""
    _rebuild(
        conn,
        "analytics.profitability",
        (
            "SELECT month, datasource, branch, product_line, revenue, cost, profit, margin,"
            "  prev_margin, margin - prev_margin, revenue / nullif(prev_revenue, 0) - 1,"
            "  is_sample, ?"
            " FROM (SELECT *,"
            "  CASE WHEN lag(month) OVER w = month - INTERVAL 1 MONTH"
            "   THEN lag(margin) OVER w END AS prev_margin,"
            "  CASE WHEN lag(month) OVER w = month - INTERVAL 1 MONTH"
            "   THEN lag(revenue) OVER w END AS prev_revenue"
            " FROM (SELECT date_trunc('month', order_date)::DATE AS month, datasource,"
            "   branch, product_line, sum(revenue) AS revenue, sum(cost) AS cost,"
            "   sum(profit) AS profit, sum(profit) / nullif(sum(revenue), 0) AS margin,"
            "   bool_and(is_sample) AS is_sample"
            "  FROM analytics.sales_daily GROUP BY ALL)"
            " WINDOW w AS (PARTITION BY datasource, branch, product_line ORDER BY month))"
        ),
    )
