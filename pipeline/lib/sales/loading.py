"""Load: copy a staged file into the warehouse in one transaction (the only time the
warehouse lock is held)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipeline.lib.merge import REPLACE, merge_sql
from pipeline.lib.sales.analytics import mark_stale
from pipeline.lib.sales.duck import configure, quote_literal
from pipeline.lib.sales.staging import numbered_sql
from pipeline.lib.warehouse import transaction

# marked_by: a fresh uuid() per mark, so a refresh clears only the marks it read (0401_sales_marks).
DIRTY_DAY_COLUMNS = ("datasource", "order_date", "marked_by")
TRANSACTION_COLUMNS = (
    "datasource", "order_id", "line", "order_date", "branch", "product_line", "product",
    "quantity", "unit_price", "revenue", "unit_cost", "cost", "profit", "discount", "tax",
    "gross_total", "source_file", "file_hash", "row_number", "is_sample", "loaded_at",
)  # fmt: skip


@dataclass(frozen=True)
class FileIdentity:
    file_hash: str
    datasource: str
    file_name: str
    is_sample: bool


def load_stage(
    conn: duckdb.DuckDBPyConnection, scratch: Path, ident: FileIdentity, *, load_rows: bool
) -> dict:
    """Copy the staged file into the warehouse in one transaction: rejects always (replacing
    this file's earlier ones); lines only when `load_rows`, replacing the lines of the same
    (datasource, order_id) and marking the old and new days dirty. Returns counts."""
    configure(conn)
    # The lines carry their row numbers: the table's physical order means nothing, and not
    # keeping it lets both threads write row groups side by side.
    conn.execute("SET preserve_insertion_order = false")
    now = dt.datetime.now(dt.UTC)
    conn.execute(f"ATTACH {quote_literal(str(scratch))} AS stage (READ_ONLY)")
    try:
        with transaction(conn):
            conn.execute("DELETE FROM sales.rejects WHERE file_hash = ?", [ident.file_hash])
            conn.execute(
                'INSERT INTO sales.rejects SELECT ?, ?, ?, row_number, "column", reason, value, ?'
                " FROM stage.rejects",
                [ident.file_hash, ident.datasource, ident.file_name, now],
            )
            counts = {"rows_loaded": 0, "rows_replaced": 0, "dirty_days": 0}
            if load_rows:
                counts = _load_lines(conn, ident, now)
    finally:
        conn.execute("DETACH stage")
    return counts


def _load_lines(conn: duckdb.DuckDBPyConnection, ident: FileIdentity, now: dt.datetime) -> dict:
    """A file replaces whole orders: lines of its (good) orders already loaded from any file of
    the datasource go (so a correction with fewer lines leaves no stale line), then its lines
    are inserted, numbered within their order in file order; their days and their datasource
    are marked for the analytics."""
    params = [ident.datasource]
    shifted = bool(
        conn.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = 'stage'"
            " AND table_name = 'shifts'"
        ).fetchall()[0][0]
    )
    # The anti-join costs a pass even against an empty table: only filter when there are rejects.
    has_rejects = conn.execute("SELECT count(*) > 0 FROM stage.rejects").fetchall()[0][0]
    only_good = (
        " WHERE row_number NOT IN (SELECT row_number FROM stage.rejects)" if has_rejects else ""
    )
    good_lines = f"({numbered_sql('stage.', shifted, with_line=True)}) AS n{only_good}"
    replaced = 0
    # A datasource's first file has nothing to replace: no need to collect its orders.
    if conn.execute(
        "SELECT count(*) > 0 FROM (SELECT 1 FROM sales.transactions WHERE datasource = ? LIMIT 1)",
        params,
    ).fetchall()[0][0]:
        conn.execute(
            "CREATE OR REPLACE TEMP TABLE incoming_orders AS"
            f" SELECT DISTINCT order_id FROM {good_lines}"
        )
        conn.execute(
            merge_sql(
                "sales.dirty_days",
                DIRTY_DAY_COLUMNS,
                "SELECT datasource, order_date, uuid() FROM (SELECT DISTINCT t.datasource,"
                " t.order_date FROM sales.transactions AS t SEMI JOIN incoming_orders AS o"
                " ON t.order_id = o.order_id WHERE t.datasource = ?)",
                update=REPLACE,
            ),
            params,
        )
        replaced = conn.execute(
            "DELETE FROM sales.transactions AS t WHERE t.datasource = ?"
            " AND t.order_id IN (SELECT order_id FROM incoming_orders)",
            params,
        ).fetchall()[0][0]
        conn.execute("DROP TABLE incoming_orders")
    conn.execute(
        merge_sql(
            "sales.dirty_days",
            DIRTY_DAY_COLUMNS,
            "SELECT ?, order_date, uuid() FROM stage.good_days",
            update=REPLACE,
        ),
        params,
    )
    columns = ", ".join(TRANSACTION_COLUMNS)
    loaded = conn.execute(
        f"INSERT INTO sales.transactions ({columns}) SELECT ?, order_id, line, order_date, branch,"
        " product_line, product, quantity, unit_price, revenue, unit_cost, cost, profit, discount,"
        f" tax, gross_total, ?, ?, row_number, ?, ? FROM {good_lines}",
        [ident.datasource, ident.file_name, ident.file_hash, ident.is_sample, now],
    ).fetchall()[0][0]
    mark_stale(conn, "SELECT ?", params)
    dirty = conn.execute("SELECT count(*) FROM sales.dirty_days").fetchall()[0][0]
    return {"rows_loaded": loaded, "rows_replaced": replaced, "dirty_days": dirty}
