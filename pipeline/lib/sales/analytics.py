"""Analytics tables over sales.transactions, each recomputed from what the loads marked: sales_daily
exactly the days they touched (sales.dirty_days), the per-datasource summaries (overview, product,
branch) exactly the datasources they touched (sales.stale_summaries), so a small file costs its
own datasource's lines and not the whole warehouse's. Exact: every count of distinct orders is
taken over all of a datasource's lines, since an order never spans two datasources."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

from pipeline.lib.merge import REPLACE, merge_sql
from pipeline.lib.warehouse import transaction

OVERVIEW = "sales_overview"
PRODUCT = "product_performance"
BRANCH = "branch_performance"
PER_DATASOURCE_SUMMARIES = (OVERVIEW, PRODUCT, BRANCH)


def mark_stale(conn: duckdb.DuckDBPyConnection, datasources: str, params: list) -> None:
    """Mark the datasources the query `datasources` selects (with `params`) stale in every
    per-datasource summary; call it in the transaction that changes their lines. A mark
    already there is marked again (a new `marked_by`), so a refresh that read the old one and
    not these lines leaves it."""
    conn.execute(
        merge_sql(
            "sales.stale_summaries",
            ("summary", "datasource", "marked_by"),
            "SELECT s.summary, d.datasource, uuid() FROM (SELECT unnest(?) AS summary) AS s,"
            f" ({datasources}) AS d(datasource)",
            update=REPLACE,
        ),
        [list(PER_DATASOURCE_SUMMARIES), *params],
    )


@contextmanager
def _stale_datasources(
    conn: duckdb.DuckDBPyConnection, summary: str, table: str
) -> Iterator[list[str]]:
    """One transaction around the block, which recomputes `table`'s rows of the datasources
    it is given (also in the temporary table `stale_sources`): the ones marked by a load, with
    lines but no rows (a warehouse from before the marks), or with rows but no lines left. At
    the end the marks read here are cleared, not one a load set again since."""
    try:
        with transaction(conn):
            conn.execute(
                "CREATE OR REPLACE TEMP TABLE stale_sources AS"
                " WITH with_lines AS (SELECT DISTINCT datasource FROM sales.transactions)"
                " SELECT s.datasource, m.marked_by FROM ("
                "  SELECT datasource FROM sales.stale_summaries WHERE summary = ?"
                f"  UNION (SELECT datasource FROM with_lines EXCEPT SELECT datasource FROM {table})"
                f"  UNION (SELECT datasource FROM {table} WHERE datasource <> '(all)'"
                "   EXCEPT SELECT datasource FROM with_lines)) AS s"
                " LEFT JOIN sales.stale_summaries AS m"
                "  ON m.summary = ? AND m.datasource = s.datasource",
                [summary, summary],
            )
            stale = conn.execute("SELECT datasource FROM stale_sources ORDER BY 1").fetchall()
            yield [row[0] for row in stale]
            conn.execute(
                "DELETE FROM sales.stale_summaries AS m USING stale_sources AS s"
                " WHERE m.summary = ? AND m.datasource = s.datasource"
                " AND m.marked_by = s.marked_by",
                [summary],
            )
    finally:
        conn.execute("DROP TABLE IF EXISTS stale_sources")


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
            # Only the marks read above: a load committed meanwhile (DuckLake) marked again.
            conn.execute(
                "DELETE FROM sales.dirty_days AS d USING refresh_days AS r"
                " WHERE d.datasource = r.datasource AND d.order_date = r.order_date"
                " AND d.marked_by IS NOT DISTINCT FROM r.marked_by"
            )
    finally:
        conn.execute("DROP TABLE IF EXISTS refresh_days")
    return days


def refresh_sales_overview(conn: duckdb.DuckDBPyConnection) -> list[str]:
    """Totals per datasource and overall: the line totals of the stale datasources are
    recomputed, the others' kept; the file counts (sales.files, small) are always fresh.
    Returns the datasources recomputed."""
    now = dt.datetime.now(dt.UTC)
    try:
        with _stale_datasources(conn, OVERVIEW, "analytics.sales_overview") as stale:
            conn.execute(
                "CREATE OR REPLACE TEMP TABLE overview_lines AS"
                " SELECT datasource, sum(revenue) AS revenue, sum(cost) AS cost,"
                "  sum(profit) AS profit, count(DISTINCT order_id) AS orders,"
                "  sum(quantity) AS units, count(*) AS lines, count(DISTINCT branch) AS branches,"
                "  count(DISTINCT product_line) AS product_lines, min(order_date) AS first_date,"
                "  max(order_date) AS last_date, bool_and(is_sample) AS is_sample"
                " FROM sales.transactions"
                " WHERE datasource IN (SELECT datasource FROM stale_sources) GROUP BY datasource"
                " UNION ALL SELECT datasource, revenue, cost, profit, orders, units, lines,"
                "  branches, product_lines, first_date, last_date, is_sample"
                " FROM analytics.sales_overview WHERE datasource <> '(all)'"
                "  AND datasource NOT IN (SELECT datasource FROM stale_sources)"
            )
            conn.execute("DELETE FROM analytics.sales_overview")
            conn.execute(
                "INSERT INTO analytics.sales_overview"
                " SELECT t.datasource, t.revenue, t.cost, t.profit,"
                "  t.profit / nullif(t.revenue, 0), t.orders, t.units, t.lines, t.branches,"
                "  t.product_lines, t.first_date, t.last_date, coalesce(f.loaded, 0),"
                "  coalesce(f.rejected, 0), coalesce(f.bad_rows, 0), t.is_sample, ?"
                " FROM overview_lines AS t"
                " LEFT JOIN (SELECT datasource, count(*) FILTER (status = 'loaded') AS loaded,"
                "  count(*) FILTER (status = 'rejected') AS rejected,"
                "  coalesce(sum(rows_rejected), 0) AS bad_rows FROM sales.files"
                "  GROUP BY datasource) AS f ON f.datasource = t.datasource",
                [now],
            )
            # Order ids are per datasource, so the total's orders are the sum of theirs: no
            # pass over the lines. Once a real datasource is loaded, the samples stop
            # counting in the total (their own rows stay, marked is_sample).
            conn.execute(
                "INSERT INTO analytics.sales_overview SELECT '(all)', sum(revenue), sum(cost),"
                " sum(profit), sum(profit) / nullif(sum(revenue), 0), sum(orders), sum(units),"
                " sum(lines), NULL, NULL, min(first_date), max(last_date), sum(files_loaded),"
                " sum(files_rejected), sum(rows_rejected), bool_and(is_sample), ?"
                " FROM analytics.sales_overview WHERE NOT is_sample OR NOT EXISTS"
                " (SELECT 1 FROM analytics.sales_overview WHERE NOT is_sample)"
                " HAVING count(*) > 0",
                [now],
            )
    finally:
        conn.execute("DROP TABLE IF EXISTS overview_lines")
    return stale


def _performance(dimension: str, extra: str) -> str:
    """The rows of one summary for the datasources in stale_sources."""
    return (
        f"SELECT datasource, {dimension}, sum(revenue) AS revenue, sum(cost) AS cost,"
        " sum(profit) AS profit, sum(profit) / nullif(sum(revenue), 0) AS margin,"
        f" count(DISTINCT order_id) AS orders, sum(quantity) AS units{extra},"
        " sum(revenue) / nullif(sum(sum(revenue)) OVER (PARTITION BY datasource), 0),"
        " rank() OVER (PARTITION BY datasource ORDER BY sum(revenue) DESC),"
        " bool_and(is_sample), ?"
        " FROM sales.transactions WHERE datasource IN (SELECT datasource FROM stale_sources)"
        f" GROUP BY datasource, {dimension}"
    )


def _refresh_per_datasource(
    conn: duckdb.DuckDBPyConnection, summary: str, select: str
) -> list[str]:
    """Replace the rows of analytics.`summary` of its stale datasources with `select`'s, in one
    transaction; returns those datasources."""
    table = f"analytics.{summary}"
    now = dt.datetime.now(dt.UTC)
    with _stale_datasources(conn, summary, table) as stale:
        conn.execute(
            f"DELETE FROM {table} WHERE datasource IN (SELECT datasource FROM stale_sources)"
        )
        conn.execute(f"INSERT INTO {table} {select}", [now])
    return stale


def refresh_product_performance(conn: duckdb.DuckDBPyConnection) -> list[str]:
    return _refresh_per_datasource(conn, PRODUCT, _performance("product_line", ""))


def refresh_branch_performance(conn: duckdb.DuckDBPyConnection) -> list[str]:
    extra = (
        ", sum(revenue) / nullif(count(DISTINCT order_id), 0) AS avg_order_value,"
        " count(DISTINCT order_date) AS active_days"
    )
    return _refresh_per_datasource(conn, BRANCH, _performance("branch", extra))


def refresh_profitability(conn: duckdb.DuckDBPyConnection) -> None:
    """Margin by month, branch and product line, with the change on the previous month."""
    now = dt.datetime.now(dt.UTC)
    with transaction(conn):
        conn.execute("DELETE FROM analytics.profitability")
        conn.execute(
            "INSERT INTO analytics.profitability"
            " SELECT month, datasource, branch, product_line, revenue, cost, profit, margin,"
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
            " WINDOW w AS (PARTITION BY datasource, branch, product_line ORDER BY month))",
            [now],
        )
