"""Data tests on the sales tables that must stay cheap on millions of lines."""

from __future__ import annotations

import duckdb

from pipeline.lib.health_checks import Verdict, table_exists

KEY = "datasource, order_id, line"


def lines_unique(conn: duckdb.DuckDBPyConnection, table: str = "sales.transactions") -> Verdict:
    """No two lines share (datasource, order_id, line). Exact, but grouped on a 64-bit hash of
    the key instead of the three columns (a third of the time on 6 M lines): distinct hashes
    mean distinct keys, and only rows whose hash repeats are compared on the key itself."""
    if not table_exists(conn, table):
        return Verdict(False, f"table {table} does not exist yet", {"table": table}, False)
    rows, repeated = conn.execute(
        f"SELECT coalesce(sum(n), 0), count(*) FILTER (n > 1) FROM ("
        f"SELECT count(*) AS n FROM {table} GROUP BY hash({KEY}))"
    ).fetchall()[0]
    metadata = {"rows": int(rows), "duplicates": 0, "key": KEY}
    if repeated:
        candidates = (
            f"SELECT {KEY} FROM {table} WHERE hash({KEY}) IN"
            f" (SELECT hash({KEY}) FROM {table} GROUP BY 1 HAVING count(*) > 1)"
        )
        duplicates, example = conn.execute(
            f"SELECT coalesce(sum(n - 1), 0), min(example) FROM ("
            f"SELECT count(*) AS n, CAST(ROW({KEY}) AS VARCHAR) AS example"
            f" FROM ({candidates}) GROUP BY {KEY} HAVING count(*) > 1)"
        ).fetchall()[0]
        metadata["duplicates"] = int(duplicates)
        if duplicates:
            metadata["example"] = example
            return Verdict(
                False, f"{duplicates} duplicate rows on ({KEY}), e.g. {example}", metadata
            )
    return Verdict(True, f"{rows} rows, unique on ({KEY})", metadata)
