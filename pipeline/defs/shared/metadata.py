"""Asset metadata the UI shows: row counts, a preview table and the column schema."""

import datetime as dt
from typing import Any

import dagster as dg
import duckdb

# What the columns of the tables outside tools rely on mean (README "Warehouse"), shown in the
# UI's column schema of the asset that writes them.
ROWS_BY_DATASOURCE = "pipeline/rows_by_datasource"
CONTRACT_COLUMNS: dict[str, dict[str, str]] = {
    "raw.events": {
        "event_id": "sha256 of kind, provider, scope and content hash: one row per payload",
        "kind": "grant or news",
        "provider": "the source that returned the payload (grants_gov_extract, newsapi, ...)",
        "is_sample": "true when the payload came from the bundled samples, not a live provider",
        "content_hash": "hash of the payload's content: the same item fetched again is one row",
        "payload": "the provider's record as fetched (JSON)",
        "fetched_at": "when the payload was fetched (UTC)",
    },
    "core.grants": {
        "grant_id": "one grant across its sources (entity-resolved)",
        "title": "the grant's title",
        "agency": "the funding agency",
        "close_date": "application deadline (null when open-ended)",
        "url": "where to read and apply",
    },
    "core.client_news": {
        "client_id": "the CRM client the article is about",
        "article_id": "hash of the canonical URL",
        "url": "the article as the provider linked it",
        "title": "headline",
        "published_at": "publication time (UTC; null when the provider gave none)",
        "near_duplicate_of": "the group's first article_id for a syndicated copy, else null",
    },
    "ai.grant_matches": {
        "org_id": "the organization profile",
        "grant_id": "the grant",
        "score": "fit of the grant for the organization, 0 to 1",
        "scorer": "openai or local (the offline scorer)",
    },
    "ai.news_scores": {
        "client_id": "the CRM client",
        "article_id": "the article",
        "relevance": "relevance of the article to the client, 0 to 1",
        "category": "news category the scorer chose",
        "scorer": "openai or local (the offline scorer)",
    },
    "sales.transactions": {
        "datasource": "the landing-zone folder the file came from",
        "order_id": "the order, as the file names it",
        "order_date": "day of the order",
        "branch": "branch or store",
        "product_line": "product line",
        "quantity": "units sold",
        "unit_price": "net price per unit (line net revenue = quantity x unit_price)",
        "source_file": "the landing-zone file the line came from",
    },
    "sales.rejects": {
        "source_file": "the file the rejected row came from",
        "row_number": "the row in that file (1 = first data row)",
        "column": "the column at fault",
        "reason": "why the row was rejected",
    },
    "analytics.sales_daily": {
        "order_date": "day",
        "branch": "branch or store",
        "product_line": "product line",
        "revenue": "net revenue of the day's lines",
        "profit": "revenue minus cost, where the file gives a cost",
        "orders": "distinct orders",
    },
    "notify.email_log": {
        "message_id": "the e-mail's Message-ID",
        "recipient": "address it was sent to",
        "kind": "what the e-mail is: daily_digest, instant_alert, operator_alert, ...",
        "status": "pending, sending, sent, written (to the outbox), failed or uncertain",
        "created_at": "when the e-mail was composed (UTC)",
    },
}


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
    preview_rows_data = relation.fetchall()
    schema_rows = conn.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema || '.' || table_name = ? ORDER BY ordinal_position",
        [table],
    ).fetchall()
    described = CONTRACT_COLUMNS.get(table, {})
    metadata: dict[str, Any] = {
        "dagster/row_count": dg.MetadataValue.int(total),
        "table": dg.MetadataValue.text(table),
        "dagster/column_schema": dg.TableSchema(
            columns=[
                dg.TableColumn(name, dtype, description=described.get(name))
                for name, dtype in schema_rows
            ]
        ),
        "preview": dg.MetadataValue.md(_markdown_table(columns, preview_rows_data)),
    }
    if "datasource" in {name for name, _ in schema_rows}:
        # The volume check compares each datasource with its own history (a new source is
        # growth, not an anomaly).
        metadata[ROWS_BY_DATASOURCE] = dg.MetadataValue.json(
            dict(
                conn.execute(f"SELECT datasource, count(*) FROM {table}{own} GROUP BY 1").fetchall()
            )
        )
    if where_sql:
        metadata["slice_row_count"] = dg.MetadataValue.int(
            conn.execute(f"SELECT count(*) FROM {table}{where}", params or []).fetchone()[0]
        )
    return metadata


def partition_metadata(
    conn: duckdb.DuckDBPyConnection,
    table: str,
    partition_date: dt.date,
    order_by: str,
    kind: str | None = None,
) -> dict[str, Any]:
    """table_metadata with the slice and preview of one daily partition; `kind` ('grant',
    'news') picks the asset's own rows of raw.events, which both domains share."""
    own = f"kind = '{kind}'" if kind else None
    return table_metadata(
        conn,
        table,
        where_sql=f"{own} AND partition_date = ?" if own else "partition_date = ?",
        params=[partition_date],
        order_by=order_by,
        asset_rows_sql=own,
    )


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
