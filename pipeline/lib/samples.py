"""Sample data kept apart from real data. Every row the bundled samples produce is marked
`is_sample`; `pipeline samples remove` deletes those rows, and the sample sales files in the
landing zone, once a deployment has real data. Notify's records of e-mails already sent stay
(with their own is_sample mark): they are what keeps a message from being sent twice."""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from pipeline.lib import warehouse
from pipeline.lib.sales import analytics

KEPT_SCHEMAS = ("notify",)
SALES_SUMMARIES = (
    analytics.refresh_sales_overview,
    analytics.refresh_product_performance,
    analytics.refresh_branch_performance,
    analytics.refresh_profitability,
)


@dataclass
class RemovedSamples:
    rows: dict[str, int] = field(default_factory=dict)  # table -> sample rows deleted
    # (file_hash, file_name, landing_key) of each sample sales file
    files: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    def summary(self) -> str:
        if not self.rows and not self.files:
            return "nothing to remove: the warehouse holds no sample data"
        tables = ", ".join(f"{table} {count:,}" for table, count in self.rows.items())
        return (
            f"removed {self.total_rows:,} sample row(s) ({tables or 'none'}) and "
            f"{len(self.files)} sample sales file(s) from the landing zone"
        )


def sample_tables(conn: duckdb.DuckDBPyConnection) -> list[str]:
    """Every warehouse table with an is_sample column, outside the kept schemas."""
    rows = conn.execute(
        "SELECT DISTINCT schema_name || '.' || table_name FROM duckdb_columns()"
        " WHERE column_name = 'is_sample' AND database_name = current_database()"
        " AND schema_name NOT IN (SELECT unnest(?)) ORDER BY 1",
        [list(KEPT_SCHEMAS)],
    ).fetchall()
    return [row[0] for row in rows]


def remove_samples(conn: duckdb.DuckDBPyConnection) -> RemovedSamples:
    """Delete every sample row in one transaction and rebuild the sales summaries without them.
    Returns what was removed, including the landing keys of the sample sales files, which the
    caller deletes from the zone after the commit. Running it again removes nothing."""
    removed = RemovedSamples()
    if warehouse.table_exists(conn, "sales.files"):
        removed.files = conn.execute(
            "SELECT file_hash, file_name, landing_key FROM sales.files WHERE is_sample ORDER BY 3"
        ).fetchall()
    with warehouse.transaction(conn):
        tables = sample_tables(conn)
        if "sales.transactions" in tables:
            # Lines of a datasource may be partly samples: its summary rows are recomputed.
            analytics.mark_stale(
                conn, "SELECT DISTINCT datasource FROM sales.transactions WHERE is_sample", []
            )
        for table in tables:
            [(count,)] = conn.execute(f"SELECT count(*) FROM {table} WHERE is_sample").fetchall()
            if count:
                conn.execute(f"DELETE FROM {table} WHERE is_sample")
                removed.rows[table] = count
    if "sales.transactions" in removed.rows:
        for refresh in SALES_SUMMARIES:
            refresh(conn)
    return removed
