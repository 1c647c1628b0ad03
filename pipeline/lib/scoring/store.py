"""Writing scores back to the warehouse: the score tables, refused answers, usage and the score
distribution. Their inputs are read by pipeline.lib.scoring.inputs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import duckdb
import polars as pl

from pipeline.lib import merge, warehouse
from pipeline.lib.scoring.inputs import GrantInputs, NewsInputs
from pipeline.lib.scoring.models import (
    Grant,
    GrantScore,
    NewsScore,
    OrgProfile,
    ScoringStats,
)

# The columns every score table ends with: who scored, with what, and for which partition.
_SCORED_BY_SCHEMA = {
    "scorer": pl.Utf8,
    "model": pl.Utf8,
    "lexical_score": pl.Float64,
    "is_sample": pl.Boolean,
    "cache_key": pl.Utf8,
    "partition_date": pl.Date,
    "scored_at": pl.Datetime("us", "UTC"),
}
GRANT_MATCH_SCHEMA = {
    "org_id": pl.Utf8,
    "grant_id": pl.Utf8,
    "tenant_id": pl.Utf8,
    "score": pl.Float64,
    "confidence": pl.Float64,
    "reasons": pl.List(pl.Utf8),
    **_SCORED_BY_SCHEMA,
}
NEWS_SCORE_SCHEMA = {
    "client_id": pl.Utf8,
    "article_id": pl.Utf8,
    "tenant_id": pl.Utf8,
    "relevance": pl.Float64,
    "category": pl.Utf8,
    "summary": pl.Utf8,
    "reason": pl.Utf8,
    "confidence": pl.Float64,
    **_SCORED_BY_SCHEMA,
}


def grant_match_frame(
    inputs: GrantInputs,
    pairs: Sequence[tuple[OrgProfile, Grant]],
    scores: Sequence[GrantScore],
    scored_at: dt.datetime,
) -> pl.DataFrame:
    rows = [
        {
            "org_id": org.org_id,
            "grant_id": grant.grant_id,
            "tenant_id": org.tenant_id,
            "score": s.score,
            "confidence": s.confidence,
            "reasons": list(s.reasons),
            "scorer": s.scorer,
            "model": s.model,
            "lexical_score": s.lexical_score,
            "is_sample": inputs.org_is_sample.get(org.org_id, False)
            or inputs.grant_is_sample.get(grant.grant_id, False),
            "cache_key": s.cache_key,
            "partition_date": inputs.grant_partition[grant.grant_id],
            "scored_at": scored_at,
        }
        for (org, grant), s in zip(pairs, scores, strict=True)
    ]
    return pl.DataFrame(rows, schema=GRANT_MATCH_SCHEMA)


def news_score_frame(
    inputs: NewsInputs, scores: Sequence[NewsScore], scored_at: dt.datetime
) -> pl.DataFrame:
    rows = [
        {
            "client_id": client.client_id,
            "article_id": article.article_id,
            "tenant_id": client.tenant_id,
            "relevance": s.relevance,
            "category": s.category,
            "summary": s.summary,
            "reason": s.reason,
            "confidence": s.confidence,
            "scorer": s.scorer,
            "model": s.model,
            "lexical_score": s.lexical_score,
            "is_sample": is_sample,
            "cache_key": s.cache_key,
            "partition_date": partition,
            "scored_at": scored_at,
        }
        for (client, article), s, partition, is_sample in zip(
            inputs.pairs, scores, inputs.partition, inputs.is_sample, strict=True
        )
    ]
    return pl.DataFrame(rows, schema=NEWS_SCORE_SCHEMA)


def write_grant_matches(
    conn: duckdb.DuckDBPyConnection,
    frame: pl.DataFrame,
    start: dt.date,
    end: dt.date,
    org_ids: Sequence[str] = (),
) -> int:
    """Replace the matches of partitions start..end (only `org_ids`' when given). Matches of a
    grant that has since moved into this range from another partition are replaced too."""
    where = (
        "(partition_date BETWEEN ? AND ? OR grant_id IN"
        " (SELECT grant_id FROM core.grants WHERE partition_date BETWEEN ? AND ?))"
        if warehouse.table_exists(conn, "core.grants")
        else "partition_date BETWEEN ? AND ?"
    )
    params: list = [start, end, start, end] if "core.grants" in where else [start, end]
    return _replace_scores(conn, "ai.grant_matches", frame, where, params, "org_id", org_ids)


def write_news_scores(
    conn: duckdb.DuckDBPyConnection,
    frame: pl.DataFrame,
    start: dt.date,
    end: dt.date,
    client_ids: Sequence[str] = (),
) -> int:
    where, params = "partition_date BETWEEN ? AND ?", [start, end]
    return _replace_scores(conn, "ai.news_scores", frame, where, params, "client_id", client_ids)


def _replace_scores(
    conn: duckdb.DuckDBPyConnection,
    table: str,
    frame: pl.DataFrame,
    where: str,
    params: list,
    subject: str,
    subject_ids: Sequence[str],
) -> int:
    """Replace the rows of `table` matching `where`, only those of `subject_ids` when given."""
    if subject_ids:
        where += f" AND {subject} IN (SELECT unnest(?::VARCHAR[]))"
        params = [*params, list(subject_ids)]
    return warehouse.replace_where(conn, table, frame, where, params)


def record_usage(
    conn: duckdb.DuckDBPyConnection,
    *,
    run_id: str,
    asset: str,
    partition_key: str,
    stats: ScoringStats,
    started_at: dt.datetime,
    finished_at: dt.datetime,
) -> None:
    frame = pl.DataFrame(
        [
            {
                "run_id": run_id,
                "asset": asset,
                "partition_key": partition_key,
                **stats.as_record(),
                "message": "; ".join(stats.messages) or None,
                "started_at": started_at,
                "finished_at": finished_at,
            }
        ]
    )
    merge.upsert(conn, "ai.usage", frame)


def record_failures(
    conn: duckdb.DuckDBPyConnection, run_id: str, failures: Sequence[dict], at: dt.datetime
) -> int:
    """Model answers that stayed invalid or were refused: kept for review, never as scores."""
    if not failures:
        return 0
    frame = pl.DataFrame([{"run_id": run_id, **f, "failed_at": at} for f in failures])
    warehouse.register_frame(conn, "failure_frame", frame)
    try:
        columns = ", ".join(frame.columns)
        conn.execute(
            f"INSERT INTO ai.score_failures ({columns}) SELECT {columns} FROM failure_frame"
        )
    finally:
        warehouse.unregister_frame(conn, "failure_frame")
    return frame.height


def query_frame(conn: duckdb.DuckDBPyConnection, sql: str, params: list) -> pl.DataFrame:
    """A query's rows as a Polars frame, typed from the Python values."""
    result = conn.execute(sql, params)
    columns = [d[0] for d in result.description]
    return pl.DataFrame(result.fetchall(), schema=columns, orient="row")


def replace_distribution(conn: duckdb.DuckDBPyConnection, frame: pl.DataFrame) -> int:
    """Rebuild analytics.ai_score_distribution in one transaction."""
    return warehouse.replace_where(conn, "analytics.ai_score_distribution", frame, "true")
