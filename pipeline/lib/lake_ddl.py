"""DuckLake's DDL for a migration: the tables and columns the migration makes, without what
DuckLake cannot hold (PRIMARY KEY / UNIQUE / CHECK constraints, indexes, list defaults). The keys
stay declared in the migrations, where pipeline.lib.merge reads them for the writers' upserts."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from pipeline.lib import merge


def _catalog(conn: duckdb.DuckDBPyConnection) -> tuple[set[str], dict[str, list[tuple]]]:
    """The schemas, and each table's (column, type, nullable, default) in order."""
    schemas = {
        row[0]
        for row in conn.execute(
            "SELECT schema_name FROM duckdb_schemas()"
            " WHERE database_name = current_database() AND NOT internal"
        ).fetchall()
    }
    tables: dict[str, list[tuple]] = {}
    for schema, table, *column in conn.execute(
        "SELECT schema_name, table_name, column_name, data_type, is_nullable, column_default"
        " FROM duckdb_columns() WHERE database_name = current_database() AND NOT internal"
        " ORDER BY schema_name, table_name, column_index"
    ).fetchall():
        tables.setdefault(f"{schema}.{table}", []).append(tuple(column))
    return schemas, tables


def _column_ddl(name: str, data_type: str, nullable: bool, default: str | None) -> str:
    ddl = f'"{name}" {data_type}' + ("" if nullable else " NOT NULL")
    # DuckLake keeps literal defaults only; list defaults ([]) are left to the writers.
    if default is not None and not data_type.endswith("]"):
        ddl += f" DEFAULT {default}"
    return ddl


def schema_ddl(migration_sql: str, earlier: Sequence[str]) -> str:
    """What a migration makes, as DuckLake holds it: DuckDB applies `earlier` and then the
    migration to an in-memory database, and the tables and columns it gained are created
    without keys, checks or list defaults (the keys stay declared: pipeline.lib.merge)."""
    with merge.declared_schema(earlier) as reference:
        schemas_before, before = _catalog(reference)
        reference.execute(migration_sql)
        schemas_after, after = _catalog(reference)
    statements = [
        f"CREATE SCHEMA IF NOT EXISTS {s}" for s in sorted(schemas_after - schemas_before)
    ]
    for table, columns in after.items():
        known = {column[0] for column in before.get(table, [])}
        if table not in before:
            body = ", ".join(_column_ddl(*column) for column in columns)
            statements.append(f"CREATE TABLE IF NOT EXISTS {table} ({body})")
        statements.extend(
            f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {_column_ddl(*column)}"
            for column in columns
            if table in before and column[0] not in known
        )
    statements.extend(f"DROP TABLE IF EXISTS {table}" for table in before.keys() - after.keys())
    return ";\n".join(statements) + ";" if statements else "SELECT 1"
