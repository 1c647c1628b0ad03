"""Asset metadata the UI shows: row counts, a preview table and the column schema."""

from typing import Any

import dagster as dg
import duckdb


def table_metadata(
    conn: duckdb.DuckDBPyConnection,
    table: str,
    where_sql: str | None = None,
    params: list | None = None,
    preview_rows: int = 10,
    order_by: str | None = None,
    asset_rows_sql: str | None = None,
) -> dict[str, Any]:
    """Row count (the asset's rows and, with `where_sql`, the slice), a markdown preview and
    the column schema of a warehouse table. `asset_rows_sql` says which rows of a shared table
    (raw.events holds grants and news) are the asset's; by default all of them."""
    where = f" WHERE {where_sql}" if where_sql else ""
    order = f" ORDER BY {order_by}" if order_by else ""
    own = f" WHERE {asset_rows_sql}" if asset_rows_sql else ""
    total = conn.execute(f"SELECT count(*) FROM {table}{own}").fetchone()[0]
    relation = conn.execute(
        f"SELECT * FROM {table}{where}{order} LIMIT {preview_rows}", params or []
    )
    columns = [d[0] for d in relation.description]
    # fetchall, not .pl(): a DuckDB 2.0 connection's execute() result has no .pl().
    preview_rows_data = relation.fetchall()
    schema_rows = conn.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema || '.' || table_name = ? ORDER BY ordinal_position",
        [table],
    ).fetchall()
    metadata: dict[str, Any] = {
        "dagster/row_count": dg.MetadataValue.int(total),
        "table": dg.MetadataValue.text(table),
        "dagster/column_schema": dg.TableSchema(
            columns=[dg.TableColumn(name, dtype) for name, dtype in schema_rows]
        ),
        "preview": dg.MetadataValue.md(_markdown_table(columns, preview_rows_data)),
    }
    if where_sql:
        metadata["slice_row_count"] = dg.MetadataValue.int(
            conn.execute(f"SELECT count(*) FROM {table}{where}", params or []).fetchone()[0]
        )
    return metadata


def _markdown_table(columns: list[str], rows: list[tuple]) -> str:
    if not rows:
        return "_no rows_"

    def cell(value: Any) -> str:
        text = "" if value is None else str(value)
        text = text.replace("|", "\\|").replace("\n", " ")
        return text if len(text) <= 80 else text[:77] + "..."

    header = "| " + " | ".join(columns) + " |"
    rule = "| " + " | ".join("---" for _ in columns) + " |"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join([header, rule, *body])
