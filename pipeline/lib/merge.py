"""Upserts that run on both backends: `MERGE INTO` on each table's key.

The keys are declared once, in the migrations (PRIMARY KEY / UNIQUE). The DuckDB file enforces
them; DuckLake cannot hold constraints, so its tables are created without them
(pipeline.lib.lake) and the same MERGE keeps a key's rows unique there. The declared keys are
read from DuckDB's own catalog after applying the migrations to an in-memory database:
DuckDB parses the SQL, nothing here does.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import duckdb

from pipeline.lib import warehouse

INCOMING = "incoming"
EXISTING = "existing"
REPLACE = "replace"  # update every non-key column from the incoming row


def declared_schema(migrations: Sequence[str]) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB holding what `migrations` (SQL texts, in order) declare."""
    conn = duckdb.connect()
    for sql in migrations:
        conn.execute(sql)
    return conn


def key_constraints(conn: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, ...]]:
    """`schema.table` -> its primary key (else first UNIQUE constraint), from the catalog."""
    rows = conn.execute(
        "SELECT schema_name || '.' || table_name, constraint_type, constraint_column_names"
        " FROM duckdb_constraints() WHERE constraint_type IN ('PRIMARY KEY', 'UNIQUE')"
        " AND database_name = current_database()"
        " ORDER BY constraint_type = 'UNIQUE', constraint_index"
    ).fetchall()
    keys: dict[str, tuple[str, ...]] = {}
    for table, _kind, columns in rows:
        keys.setdefault(table.lower(), tuple(c.lower() for c in columns))
    return keys


@functools.cache
def declared_keys() -> dict[str, tuple[str, ...]]:
    """Every migration table's key."""
    sqls = [warehouse.META_DDL, *(m.sql for m in warehouse.available_migrations())]
    with declared_schema(sqls) as conn:
        return key_constraints(conn)


def table_key(table: str, conn: duckdb.DuckDBPyConnection | None = None) -> tuple[str, ...]:
    """`table`'s key: as the migrations declare it, or (a table of the caller's own, on a
    DuckDB file) as `conn`'s catalog has it."""
    name = table.replace('"', "").lower()
    key = declared_keys().get(name)
    if key is None and conn is not None:
        key = key_constraints(conn).get(name)
    if not key:
        raise LookupError(f"{table} declares no key, so rows cannot be merged into it")
    return key


def _quoted(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def merge_sql(
    table: str,
    columns: Sequence[str],
    source: str,
    *,
    update: str | None = None,
    update_when: str | None = None,
    key: Sequence[str] | None = None,
) -> str:
    """`MERGE INTO table` of the rows `source` (a query or VALUES giving `columns` in order)
    on the table's key: new keys are inserted; for keys already there, nothing happens
    (`update=None`), every other column is replaced (`update=REPLACE`), or `update` is the SET
    list, in which `incoming.<col>` is the new row and `existing.<col>` the one there (only
    when `update_when` holds, if given). A key given twice in `source` counts once."""
    key = tuple(key or table_key(table))
    names = ", ".join(_quoted(c) for c in columns)
    merged = (
        f"MERGE INTO {table} AS {EXISTING} USING ("
        f"SELECT DISTINCT ON ({', '.join(_quoted(c) for c in key)}) *"
        f" FROM ({source}) AS incoming_rows({names})) AS {INCOMING} ON "
        + " AND ".join(f"{EXISTING}.{_quoted(c)} = {INCOMING}.{_quoted(c)}" for c in key)
    )
    if update == REPLACE:
        update = ", ".join(
            f"{_quoted(c)} = {INCOMING}.{_quoted(c)}" for c in columns if c not in key
        )
    if update:
        condition = f" AND ({update_when})" if update_when else ""
        merged += f" WHEN MATCHED{condition} THEN UPDATE SET {update}"
    return merged + (
        f" WHEN NOT MATCHED THEN INSERT ({names})"
        f" VALUES ({', '.join(f'{INCOMING}.{_quoted(c)}' for c in columns)})"
    )


def upsert(conn: duckdb.DuckDBPyConnection, table: str, frame) -> int:
    """Write `frame` into `table`, replacing rows with the same key. Returns rows written."""
    rows = frame.height if hasattr(frame, "height") else len(frame)
    if rows == 0:
        return 0
    columns = list(frame.columns)
    warehouse.register_frame(conn, "incoming_frame", frame)
    try:
        source = f"SELECT {', '.join(_quoted(c) for c in columns)} FROM incoming_frame"
        key = table_key(table, conn)
        conn.execute(merge_sql(table, columns, source, update=REPLACE, key=key))
    finally:
        warehouse.unregister_frame(conn, "incoming_frame")
    return rows
