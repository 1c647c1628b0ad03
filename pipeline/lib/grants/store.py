"""Warehouse reads and writes of the grants domain (DuckDB; the caller opens short connections)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import duckdb
import polars as pl

from pipeline.lib.grants.entities import GrantIndex, IncomingRecord, Resolution, resolve
from pipeline.lib.grants.models import GrantParseError, NotAGrantError, normalise_key
from pipeline.lib.grants.organizations import Organization
from pipeline.lib.grants.parsers import NORMALISERS
from pipeline.lib.merge import REPLACE, merge_sql
from pipeline.lib.raw_events import utc_now
from pipeline.lib.warehouse import (
    register_frame,
    replace_where,
    transaction,
    unregister_frame,
)

GRANT_SCHEMA = {
    "grant_id": pl.String,
    "opportunity_id": pl.String,
    "opportunity_number": pl.String,
    "title_key": pl.String,
    "title": pl.String,
    "agency": pl.String,
    "agency_code": pl.String,
    "description": pl.String,
    "eligibility": pl.String,
    "category": pl.String,
    "assistance_listings": pl.List(pl.String),
    "status": pl.String,
    "record_type": pl.String,
    "posted_date": pl.Date,
    "close_date": pl.Date,
    "award_floor": pl.Float64,
    "award_ceiling": pl.Float64,
    "estimated_funding": pl.Float64,
    "url": pl.String,
    "provider": pl.String,
    "providers": pl.List(pl.String),
    "source_updated_at": pl.Datetime("us", "UTC"),
    "content_hash": pl.String,
    "is_sample": pl.Boolean,
    "first_seen_at": pl.Datetime("us", "UTC"),
    "updated_at": pl.Datetime("us", "UTC"),
    "partition_date": pl.Date,
}
SOURCE_SCHEMA = {
    "provider": pl.String,
    "source_id": pl.String,
    "grant_id": pl.String,
    "content_hash": pl.String,
    "raw_event_id": pl.String,
    "is_sample": pl.Boolean,
    "first_seen_at": pl.Datetime("us", "UTC"),
    "last_seen_at": pl.Datetime("us", "UTC"),
    "partition_date": pl.Date,
}
CHANGE_SCHEMA = {
    "grant_id": pl.String,
    "field": pl.String,
    "old_value": pl.String,
    "new_value": pl.String,
    "to_hash": pl.String,
    "provider": pl.String,
    "is_sample": pl.Boolean,
    "partition_date": pl.Date,
    "changed_at": pl.Datetime("us", "UTC"),
}
ORGANIZATION_SCHEMA = {
    "org_id": pl.String,
    "tenant_id": pl.String,
    "name": pl.String,
    "mission": pl.String,
    "focus_areas": pl.List(pl.String),
    "keywords": pl.List(pl.String),
    "eligibility_type": pl.String,
    "geography": pl.String,
    "budget_min": pl.Float64,
    "budget_max": pl.Float64,
    "contact_email": pl.String,
    "completeness": pl.Float64,
    "is_matchable": pl.Boolean,
    "missing": pl.List(pl.String),
    "profile_hash": pl.String,
    "is_sample": pl.Boolean,
    "updated_at": pl.Datetime("us", "UTC"),
    "not_a_fit": pl.List(pl.String),
    "industry": pl.String,
    "languages": pl.List(pl.String),
}


def write_organizations(
    conn: duckdb.DuckDBPyConnection, organizations: Sequence[Organization], now: dt.datetime
) -> int:
    """Replace every profile: organisations removed from the file disappear."""
    rows = [
        {
            "org_id": o.profile.org_id,
            "tenant_id": o.profile.tenant_id,
            "name": o.profile.name,
            "mission": o.profile.mission or None,
            "focus_areas": list(o.profile.focus_areas),
            "keywords": list(o.profile.keywords),
            "eligibility_type": o.profile.eligibility_type,
            "geography": o.profile.geography,
            "budget_min": o.profile.budget_min,
            "budget_max": o.profile.budget_max,
            "contact_email": o.contact_email,
            "completeness": o.completeness,
            "is_matchable": o.is_matchable,
            "missing": list(o.missing),
            "profile_hash": o.profile.profile_hash,
            "is_sample": o.is_sample,
            "updated_at": now,
            "not_a_fit": list(o.profile.not_a_fit),
            "industry": o.profile.industry,
            "languages": list(o.profile.languages),
        }
        for o in organizations
    ]
    frame = pl.DataFrame(rows, schema=ORGANIZATION_SCHEMA)
    return replace_where(conn, "core.organizations", frame, "true")


@dataclass
class GrantBuild:
    """What building one partition of core.grants did."""

    events: int = 0
    records: int = 0
    invalid: list[str] = field(default_factory=list)
    not_grants: int = 0
    new_grants: int = 0
    updated_grants: int = 0
    changes: int = 0


def read_grant_events(conn: duckdb.DuckDBPyConnection, partition_date: dt.date) -> list[tuple]:
    return conn.execute(
        "SELECT event_id, provider, is_sample, payload::VARCHAR, fetched_at FROM raw.events"
        " WHERE kind = 'grant' AND partition_date = ? ORDER BY fetched_at, event_id",
        [partition_date],
    ).fetchall()


def load_index(conn: duckdb.DuckDBPyConnection) -> GrantIndex:
    """Identity keys of every stored grant (narrow columns only); full rows load on demand."""
    index = GrantIndex()
    for grant_id, opportunity_id, number, title_key in conn.execute(
        "SELECT grant_id, opportunity_id, opportunity_number, title_key FROM core.grants"
    ).fetchall():
        index.add_keys(
            grant_id,
            opportunity_id=opportunity_id,
            number_key=normalise_key(number) or None,
            title_key=title_key,
        )
    for provider, source_id, grant_id in conn.execute(
        "SELECT provider, source_id, grant_id FROM core.grant_sources"
    ).fetchall():
        index.by_source[(provider, source_id)] = grant_id

    def load_row(grant_id: str) -> dict:
        relation = conn.execute("SELECT * FROM core.grants WHERE grant_id = ?", [grant_id])
        columns = [d[0] for d in relation.description]
        row = dict(zip(columns, relation.fetchall()[0], strict=True))
        row["assistance_listings"] = list(row["assistance_listings"] or [])
        row["providers"] = list(row["providers"] or [])
        return row

    index.load_row = load_row
    return index


def _frame(rows, schema) -> pl.DataFrame:
    return pl.DataFrame([{name: row.get(name) for name in schema} for row in rows], schema=schema)


def build_grants(
    conn: duckdb.DuckDBPyConnection, partition_date: dt.date, now: dt.datetime | None = None
) -> GrantBuild:
    """Resolve one partition's raw grant events into core.grants, core.grant_sources and
    core.grant_changes. Idempotent: a second build of the same partition changes nothing."""
    now = now or utc_now()
    build = GrantBuild()
    incoming: list[IncomingRecord] = []
    invalid_ids: list[str] = []
    for event_id, provider, is_sample, payload, fetched_at in read_grant_events(
        conn, partition_date
    ):
        build.events += 1
        normalise = NORMALISERS.get(provider)
        try:
            if normalise is None:
                raise GrantParseError(f"no parser for provider {provider!r}")
            record = normalise(json.loads(payload))
        except NotAGrantError:
            build.not_grants += 1
            continue
        except (GrantParseError, ValueError, TypeError, KeyError) as error:
            invalid_ids.append(event_id)
            build.invalid.append(f"{provider} event {event_id[:12]}: {error}")
            continue
        incoming.append(IncomingRecord(record, event_id, is_sample, fetched_at, partition_date))
    build.records = len(incoming)
    result = resolve(incoming, load_index(conn), now)
    build.new_grants, build.updated_grants = result.new_grants, result.updated_grants
    build.changes = _write_resolution(conn, result, partition_date, invalid_ids)
    return build


def _write_resolution(
    conn: duckdb.DuckDBPyConnection,
    result: Resolution,
    partition_date: dt.date,
    invalid_ids: list[str],
) -> int:
    grants = _frame(result.grants.values(), GRANT_SCHEMA)
    # One row per source record: the last one seen wins.
    sources = _frame(result.sources, SOURCE_SCHEMA).unique(
        subset=["provider", "source_id"], keep="last", maintain_order=True
    )
    changes = _frame(result.changes, CHANGE_SCHEMA)
    for name, frame in (("incoming_grants", grants), ("incoming_sources", sources)):
        register_frame(conn, name, frame)
    register_frame(conn, "incoming_changes", changes)
    try:
        with transaction(conn):
            if grants.height:
                conn.execute(
                    merge_sql(
                        "core.grants",
                        list(GRANT_SCHEMA),
                        f"SELECT {', '.join(GRANT_SCHEMA)} FROM incoming_grants",
                        update=REPLACE,
                    )
                )
            if sources.height:
                conn.execute(
                    merge_sql(
                        "core.grant_sources",
                        list(SOURCE_SCHEMA),
                        f"SELECT {', '.join(SOURCE_SCHEMA)} FROM incoming_sources",
                        update="grant_id = incoming.grant_id,"
                        " content_hash = incoming.content_hash,"
                        " raw_event_id = incoming.raw_event_id, is_sample = incoming.is_sample,"
                        " last_seen_at = greatest(existing.last_seen_at, incoming.last_seen_at)",
                    )
                )
            before = conn.execute("SELECT count(*) FROM core.grant_changes").fetchall()[0][0]
            if changes.height:
                conn.execute(
                    merge_sql(
                        "core.grant_changes",
                        list(CHANGE_SCHEMA),
                        f"SELECT {', '.join(CHANGE_SCHEMA)} FROM incoming_changes",
                    )
                )
            added = conn.execute("SELECT count(*) FROM core.grant_changes").fetchall()[0][0]
            conn.execute(
                "UPDATE raw.events SET status = CASE WHEN event_id IN (SELECT unnest(?))"
                " THEN 'invalid' ELSE 'processed' END"
                " WHERE kind = 'grant' AND partition_date = ?",
                [invalid_ids, partition_date],
            )
    finally:
        for name in ("incoming_grants", "incoming_sources", "incoming_changes"):
            unregister_frame(conn, name)
    return added - before


TRENDS_SQL = """
WITH first_source AS (
    -- the source through which each grant was first discovered
    SELECT grant_id, arg_min(provider, first_seen_at) AS provider,
           min(partition_date) AS day, bool_and(is_sample) AS is_sample
    FROM core.grant_sources GROUP BY grant_id
),
discovered AS (
    SELECT day, provider, count(*) AS discovered FROM first_source GROUP BY ALL
),
seen AS (
    SELECT partition_date AS day, provider, count(*) AS records_seen, bool_and(is_sample) AS is_sample
    FROM core.grant_sources GROUP BY ALL
),
bounds AS (SELECT min(day) AS first_day, max(day) AS last_day FROM seen),
days AS (
    SELECT unnest(generate_series(first_day, last_day, INTERVAL 1 DAY))::DATE AS day FROM bounds
),
providers AS (SELECT DISTINCT provider FROM seen),
grid AS (
    SELECT d.day, p.provider, coalesce(x.discovered, 0) AS discovered,
           coalesce(s.records_seen, 0) AS records_seen, s.is_sample
    FROM days d CROSS JOIN providers p
    LEFT JOIN discovered x ON x.day = d.day AND x.provider = p.provider
    LEFT JOIN seen s ON s.day = d.day AND s.provider = p.provider
)
SELECT day, provider, discovered, records_seen,
       sum(discovered) OVER (PARTITION BY provider ORDER BY day
                             RANGE BETWEEN INTERVAL 6 DAYS PRECEDING AND CURRENT ROW) AS discovered_7d,
       sum(discovered) OVER (PARTITION BY provider ORDER BY day
                             RANGE BETWEEN INTERVAL 29 DAYS PRECEDING AND CURRENT ROW) AS discovered_30d,
       coalesce(is_sample, bool_and(is_sample) OVER (PARTITION BY provider)) AS is_sample,
       ?::TIMESTAMPTZ AS updated_at
FROM grid ORDER BY day, provider
"""


def rebuild_discovery_trends(conn: duckdb.DuckDBPyConnection, now: dt.datetime) -> int:
    frame = conn.sql(TRENDS_SQL, params=[now]).pl()
    return replace_where(conn, "analytics.discovery_trends", frame, "true")
