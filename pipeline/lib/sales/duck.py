"""DuckDB settings and SQL quoting shared by the sales staging, load and analytics."""

from __future__ import annotations

from pathlib import Path

import duckdb

MEMORY_LIMIT = "600MB"
THREADS = 2


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def configure(conn: duckdb.DuckDBPyConnection, temp_dir: Path | None = None) -> None:
    """Bound DuckDB's memory and threads for heavy sales work (the box has 2 cores shared with
    everything else); the warehouse connections are short-lived, so this ends with them."""
    conn.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    conn.execute(f"SET threads = {THREADS}")
    if temp_dir is not None:
        conn.execute(f"SET temp_directory = {quote_literal(str(temp_dir))}")
