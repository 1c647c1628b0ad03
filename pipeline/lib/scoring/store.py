"""Reading scoring inputs from the warehouse and writing scores back. Upstream tables are built
by other domains and may not exist yet on a fresh warehouse: readers then return nothing and
say why, so the scoring assets materialise with zero rows instead of failing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import duckdb
import polars as pl

from pipeline.lib import merge, warehouse
from pipeline.lib.scoring.models import (
    Article,
    ClientProfile,
    Grant,
    GrantScore,
    NewsScore,
    OrgProfile,
    ScoringStats,
)


def _tuple(value) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value if v)


# Columns read from upstream tables, in order, with what stands in for an optional column the
# upstream domain has not (yet) created. None = required.
ORG_COLUMNS: dict[str, str | None] = {
    "org_id": None,
    "tenant_id": "'default'",
    "name": "''",
    "mission": "NULL",
    "focus_areas": "NULL",
    "keywords": "NULL",
    "eligibility_type": "NULL",
    "geography": "NULL",
    "budget_min": "NULL",
    "budget_max": "NULL",
    "profile_hash": "NULL",
    "is_sample": "false",
    "is_matchable": "true",
    "not_a_fit": "NULL",
    "industry": "NULL",
    "languages": "NULL",
}
# The client profile beyond name/aliases/domain (migration 0302), read by name.
CLIENT_PROFILE_COLUMNS: dict[str, str | None] = {
    "keywords": "NULL",
    "topics": "NULL",
    "not_interested_in": "NULL",
    "industry": "NULL",
    "geography": "NULL",
    "languages": "NULL",
}
GRANT_COLUMNS: dict[str, str | None] = {
    "grant_id": None,
    "title": "''",
    "agency": "NULL",
    "description": "NULL",
    "eligibility": "NULL",
    "close_date": "NULL",
    "award_floor": "NULL",
    "award_ceiling": "NULL",
    "content_hash": "NULL",
    "partition_date": None,
    "is_sample": "false",
}


def select_list(
    conn: duckdb.DuckDBPyConnection,
    table: str,
    columns: dict[str, str | None],
    notes: list[str],
) -> str:
    """A SELECT list for `columns`: present ones by name, optional missing ones as their
    stand-in (noted), so an upstream schema still in the making does not fail scoring."""
    schema, _, name = table.partition(".")
    present = {
        row[0]
        for row in conn.execute(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = ? AND table_name = ?",
            [schema, name],
        ).fetchall()
    }
    required = [c for c, fallback in columns.items() if fallback is None and c not in present]
    if required:
        raise RuntimeError(f"{table} lacks required column(s): {', '.join(required)}")
    missing = [c for c in columns if c not in present]
    if missing:
        notes.append(f"{table} has no {', '.join(missing)}: defaults used")
    return ", ".join(f'"{c}"' if c in present else f'{columns[c]} AS "{c}"' for c in columns)


def _upstream_missing(
    conn: duckdb.DuckDBPyConnection, tables: Sequence[str], notes: list[str]
) -> bool:
    missing = [t for t in tables if not warehouse.table_exists(conn, t)]
    if missing:
        notes.append(f"upstream table(s) not created yet: {', '.join(missing)}")
    return bool(missing)


@dataclass
class GrantInputs:
    orgs: list[OrgProfile] = field(default_factory=list)
    org_is_sample: dict[str, bool] = field(default_factory=dict)
    grants: list[Grant] = field(default_factory=list)
    grant_partition: dict[str, dt.date] = field(default_factory=dict)
    grant_is_sample: dict[str, bool] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def load_grant_inputs(
    conn: duckdb.DuckDBPyConnection,
    start: dt.date,
    end: dt.date,
    org_ids: Sequence[str] = (),
) -> GrantInputs:
    """Matchable organisations (optionally only `org_ids`) and the grants of partitions
    start..end inclusive."""
    inputs = GrantInputs()
    if _upstream_missing(conn, ("core.organizations", "core.grants"), inputs.notes):
        return inputs
    org_filter = " AND org_id IN (SELECT unnest(?::VARCHAR[]))" if org_ids else ""
    org_columns = select_list(conn, "core.organizations", ORG_COLUMNS, inputs.notes)
    org_rows = conn.execute(
        f"SELECT * FROM (SELECT {org_columns} FROM core.organizations)"
        f" WHERE is_matchable{org_filter} ORDER BY org_id",
        [list(org_ids)] if org_ids else [],
    ).fetchall()
    for row in org_rows:
        org = OrgProfile(
            org_id=str(row[0]),
            tenant_id=str(row[1] or "default"),
            name=row[2] or "",
            mission=row[3] or "",
            focus_areas=_tuple(row[4]),
            keywords=_tuple(row[5]),
            eligibility_type=row[6],
            geography=row[7],
            budget_min=row[8],
            budget_max=row[9],
            not_a_fit=_tuple(row[13]),
            industry=row[14],
            languages=_tuple(row[15]),
            profile_hash=row[10] or "",
        )
        inputs.orgs.append(org)
        inputs.org_is_sample[org.org_id] = bool(row[11])
    grant_columns = select_list(conn, "core.grants", GRANT_COLUMNS, inputs.notes)
    grant_rows = conn.execute(
        f"SELECT {grant_columns} FROM core.grants"
        " WHERE partition_date BETWEEN ? AND ? ORDER BY grant_id",
        [start, end],
    ).fetchall()
    for row in grant_rows:
        grant = Grant(
            grant_id=str(row[0]),
            title=row[1] or "",
            agency=row[2] or "",
            description=row[3] or "",
            eligibility=row[4] or "",
            close_date=row[5],
            award_floor=row[6],
            award_ceiling=row[7],
            content_hash=row[8] or "",
        )
        inputs.grants.append(grant)
        inputs.grant_partition[grant.grant_id] = row[9]
        inputs.grant_is_sample[grant.grant_id] = bool(row[10])
    if not org_rows:
        inputs.notes.append("no matchable organisation profile")
    if not grant_rows:
        inputs.notes.append(f"no grants in partitions {start}..{end}")
    return inputs


@dataclass
class NewsInputs:
    pairs: list[tuple[ClientProfile, Article]] = field(default_factory=list)
    partition: list[dt.date] = field(default_factory=list)
    is_sample: list[bool] = field(default_factory=list)
    cross_tenant_skipped: int = 0
    notes: list[str] = field(default_factory=list)


def load_client_profiles(
    conn: duckdb.DuckDBPyConnection, client_ids: Sequence[str] = (), notes: list[str] | None = None
) -> list[ClientProfile]:
    """The CRM clients (optionally only `client_ids`) as the scorers read them."""
    notes = [] if notes is None else notes
    profile_columns = select_list(conn, "core.crm_clients", CLIENT_PROFILE_COLUMNS, notes)
    client_filter = " WHERE client_id IN (SELECT unnest(?::VARCHAR[]))" if client_ids else ""
    rows = conn.execute(
        f"SELECT client_id, tenant_id, name, aliases, domain, {profile_columns}"
        f" FROM core.crm_clients{client_filter} ORDER BY client_id",
        [list(client_ids)] if client_ids else [],
    ).fetchall()
    return [
        ClientProfile(
            client_id=str(row[0]),
            tenant_id=str(row[1] or "default"),
            name=row[2] or "",
            aliases=_tuple(row[3]),
            domain=row[4],
            keywords=_tuple(row[5]),
            topics=_tuple(row[6]),
            not_interested_in=_tuple(row[7]),
            industry=row[8],
            geography=row[9],
            languages=_tuple(row[10]),
        )
        for row in rows
    ]


def load_news_inputs(
    conn: duckdb.DuckDBPyConnection,
    start: dt.date,
    end: dt.date,
    client_ids: Sequence[str] = (),
) -> NewsInputs:
    """(client, article) pairs of partitions start..end. An article row whose tenant is not
    its client's tenant is never paired (counted in `cross_tenant_skipped`)."""
    inputs = NewsInputs()
    if _upstream_missing(conn, ("core.crm_clients", "core.client_news"), inputs.notes):
        return inputs
    clients = {c.client_id: c for c in load_client_profiles(conn, client_ids, inputs.notes)}
    client_filter = " AND n.client_id IN (SELECT unnest(?::VARCHAR[]))" if client_ids else ""
    rows = conn.execute(
        "SELECT n.client_id, n.tenant_id IS NOT DISTINCT FROM c.tenant_id AS same_tenant,"
        " n.partition_date, n.is_sample OR coalesce(c.is_sample, false),"
        " n.article_id, n.title, n.description, n.source_name, n.url, n.content_hash"
        " FROM core.client_news n JOIN core.crm_clients c USING (client_id)"
        # A near-duplicate repeats its group's original: scoring it again would only cost
        # another call and a second alert.
        f" WHERE n.partition_date BETWEEN ? AND ? AND n.near_duplicate_of IS NULL{client_filter}"
        " ORDER BY n.client_id, n.article_id",
        [start, end, *([list(client_ids)] if client_ids else [])],
    ).fetchall()
    for client_id, same_tenant, partition, is_sample, *article_fields in rows:
        if not same_tenant:
            inputs.cross_tenant_skipped += 1
            continue
        article_id, title, description, source_name, url, article_hash = article_fields
        article = Article(
            article_id=str(article_id),
            title=title or "",
            description=description or "",
            source_name=source_name or "",
            url=url or "",
            content_hash=article_hash or "",
        )
        inputs.pairs.append((clients[str(client_id)], article))
        inputs.partition.append(partition)
        inputs.is_sample.append(bool(is_sample))
    if inputs.cross_tenant_skipped:
        inputs.notes.append(
            f"{inputs.cross_tenant_skipped} article row(s) skipped: tenant differs from the client's"
        )
    if not rows:
        inputs.notes.append(f"no client news in partitions {start}..{end}")
    return inputs


GRANT_MATCH_SCHEMA = {
    "org_id": pl.Utf8,
    "grant_id": pl.Utf8,
    "tenant_id": pl.Utf8,
    "score": pl.Float64,
    "confidence": pl.Float64,
    "reasons": pl.List(pl.Utf8),
    "scorer": pl.Utf8,
    "model": pl.Utf8,
    "lexical_score": pl.Float64,
    "is_sample": pl.Boolean,
    "cache_key": pl.Utf8,
    "partition_date": pl.Date,
    "scored_at": pl.Datetime("us", "UTC"),
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
    "scorer": pl.Utf8,
    "model": pl.Utf8,
    "lexical_score": pl.Float64,
    "is_sample": pl.Boolean,
    "cache_key": pl.Utf8,
    "partition_date": pl.Date,
    "scored_at": pl.Datetime("us", "UTC"),
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
    if org_ids:
        where += " AND org_id IN (SELECT unnest(?::VARCHAR[]))"
        params.append(list(org_ids))
    return warehouse.replace_where(conn, "ai.grant_matches", frame, where, params)


def write_news_scores(
    conn: duckdb.DuckDBPyConnection,
    frame: pl.DataFrame,
    start: dt.date,
    end: dt.date,
    client_ids: Sequence[str] = (),
) -> int:
    where = "partition_date BETWEEN ? AND ?"
    params: list = [start, end]
    if client_ids:
        where += " AND client_id IN (SELECT unnest(?::VARCHAR[]))"
        params.append(list(client_ids))
    return warehouse.replace_where(conn, "ai.news_scores", frame, where, params)


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
    """A query's rows as a Polars frame (DuckDB 2.0's execute() result has no .pl())."""
    result = conn.execute(sql, params)
    columns = [d[0] for d in result.description]
    return pl.DataFrame(result.fetchall(), schema=columns, orient="row")


def replace_distribution(conn: duckdb.DuckDBPyConnection, frame: pl.DataFrame) -> int:
    """Rebuild analytics.ai_score_distribution in one transaction."""
    return warehouse.replace_where(conn, "analytics.ai_score_distribution", frame, "true")
