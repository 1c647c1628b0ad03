"""Warehouse reads and writes of the news domain (DuckDB, short connections by the caller)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import duckdb
import polars as pl

from pipeline.lib.merge import merge_sql
from pipeline.lib.news.clients import CrmClient, clients_frame, clients_from_frame
from pipeline.lib.news.dedup import ARTICLE_SCHEMA, articles_from_events, deduplicate
from pipeline.lib.news.sources import SourceOutcome
from pipeline.lib.raw_events import insert_events, record_fetch, utc_now
from pipeline.lib.warehouse import (
    register_frame,
    replace_where,
    transaction,
    unregister_frame,
)

CLIENT_NEWS_COLUMNS = [*ARTICLE_SCHEMA, "near_duplicate_of"]
# How far back stored articles take part in dedup of a new partition: a story syndicated over
# two weeks still counts once.
DEDUP_LOOKBACK_DAYS = 14


def query_frame(
    conn: duckdb.DuckDBPyConnection, sql: str, params: list | None = None
) -> pl.DataFrame:
    return conn.sql(sql, params=params or None).pl()


def write_clients(conn: duckdb.DuckDBPyConnection, clients: list[CrmClient]) -> int:
    """Replace the client list: clients dropped from the CRM disappear."""
    frame = clients_frame(clients).with_columns(synced_at=pl.lit(utc_now()))
    return replace_where(conn, "core.crm_clients", frame, "true")


def read_clients(
    conn: duckdb.DuckDBPyConnection, client_ids: list[str] | None = None
) -> list[CrmClient]:
    sql = (
        "SELECT client_id, tenant_id, name, aliases, domain, owner_email, provider, is_sample,"
        " feeds FROM core.crm_clients"
    )
    params: list = []
    if client_ids:
        sql += " WHERE client_id IN (SELECT unnest(?))"
        params.append(client_ids)
    frame = query_frame(conn, sql + " ORDER BY tenant_id, client_id", params)
    return clients_from_frame(frame)


def store_outcome(conn: duckdb.DuckDBPyConnection, outcome: SourceOutcome) -> int:
    """Insert one source's events and its fetch record; returns how many events were new."""
    new = insert_events(conn, outcome.events) if outcome.events else 0
    record_fetch(conn, dataclasses.replace(outcome.fetch, new_items=new))
    return new


def read_news_events(conn: duckdb.DuckDBPyConnection, partition_date: dt.date) -> pl.DataFrame:
    return query_frame(
        conn,
        "SELECT event_id, provider, scope, tenant_id, is_sample, payload::VARCHAR AS payload,"
        " partition_date, fetched_at FROM raw.events"
        " WHERE kind = 'news' AND partition_date = ? ORDER BY fetched_at, event_id",
        [partition_date],
    )


def read_recent_articles(
    conn: duckdb.DuckDBPyConnection, partition_date: dt.date, client_ids: list[str]
) -> pl.DataFrame:
    return query_frame(
        conn,
        "SELECT tenant_id, client_id, article_id, canonical_url, content_hash, simhash,"
        " published_at, near_duplicate_of FROM core.client_news"
        " WHERE partition_date < ? AND partition_date >= ? AND client_id IN (SELECT unnest(?))"
        " ORDER BY partition_date, published_at NULLS LAST, article_id",
        [partition_date, partition_date - dt.timedelta(days=DEDUP_LOOKBACK_DAYS), client_ids],
    )


@dataclasses.dataclass(frozen=True)
class ClientNewsResult:
    events: int
    unparsed: int
    articles: int
    written: int
    near_duplicates: int


def build_client_news(conn: duckdb.DuckDBPyConnection, partition_date: dt.date) -> ClientNewsResult:
    """Rebuild one partition of core.client_news from its raw events (idempotent)."""
    events = read_news_events(conn, partition_date)
    parsed, unparsed = articles_from_events(events)
    client_ids = parsed["client_id"].unique().to_list()
    existing = read_recent_articles(conn, partition_date, client_ids)
    fresh = deduplicate(parsed, existing).select(CLIENT_NEWS_COLUMNS)
    columns = ", ".join(CLIENT_NEWS_COLUMNS)
    register_frame(conn, "incoming_client_news", fresh)
    try:
        with transaction(conn):
            conn.execute("DELETE FROM core.client_news WHERE partition_date = ?", [partition_date])
            # A later partition built before this one (a backfill) may hold an article already;
            # it keeps it.
            conn.execute(
                merge_sql(
                    "core.client_news",
                    list(CLIENT_NEWS_COLUMNS),
                    f"SELECT {columns} FROM incoming_client_news",
                )
            )
            conn.execute(
                "UPDATE raw.events SET status = 'processed'"
                " WHERE kind = 'news' AND partition_date = ? AND status = 'new'",
                [partition_date],
            )
    finally:
        unregister_frame(conn, "incoming_client_news")
    written = conn.execute(
        "SELECT count(*) FROM core.client_news WHERE partition_date = ?", [partition_date]
    ).fetchall()[0][0]
    return ClientNewsResult(
        events=events.height,
        unparsed=unparsed,
        articles=parsed.height,
        written=written,
        near_duplicates=fresh.filter(pl.col("near_duplicate_of").is_not_null()).height,
    )
