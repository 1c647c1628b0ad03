"""Raw events: every fetched payload with its provenance, written idempotently."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import duckdb
import polars as pl

from pipeline.lib.hashing import canonical_json, content_hash, sha256_text
from pipeline.lib.merge import merge_sql
from pipeline.lib.warehouse import register_frame, scalar, unregister_frame


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class RawEvent:
    kind: str  # 'grant' | 'news'
    provider: str
    payload: dict[str, Any]
    is_sample: bool
    partition_date: dt.date
    scope: str = ""
    tenant_id: str | None = None
    source_url: str | None = None
    fetched_at: dt.datetime = field(default_factory=utc_now)

    @property
    def content_hash(self) -> str:
        return content_hash(self.payload)

    @property
    def event_id(self) -> str:
        return sha256_text(f"{self.kind}|{self.provider}|{self.scope}|{self.content_hash}")


@dataclass(frozen=True)
class Fetched:
    """What one source returned: raw payloads (read lazily where the source streams), whether
    they are the bundled sample, and where they came from."""

    provider: str
    items: Iterable[dict]
    is_sample: bool
    source_url: str

    def events(
        self,
        kind: str,
        payloads: Iterable[dict],
        *,
        partition_date: dt.date,
        scope: str,
        fetched_at: dt.datetime,
        tenant_id: str | None = None,
    ) -> list[RawEvent]:
        """`payloads` (this fetch's items, or a batch of them) as raw events."""
        return [
            RawEvent(
                kind=kind,
                provider=self.provider,
                payload=payload,
                is_sample=self.is_sample,
                partition_date=partition_date,
                scope=scope,
                tenant_id=tenant_id,
                source_url=self.source_url,
                fetched_at=fetched_at,
            )
            for payload in payloads
        ]


RAW_EVENT_SCHEMA = {
    "event_id": pl.String,
    "kind": pl.String,
    "provider": pl.String,
    "scope": pl.String,
    "tenant_id": pl.String,
    "is_sample": pl.Boolean,
    "content_hash": pl.String,
    "payload": pl.String,
    "source_url": pl.String,
    "partition_date": pl.Date,
    "fetched_at": pl.Datetime("us", "UTC"),
}


def events_frame(events: Iterable[RawEvent]) -> pl.DataFrame:
    rows = [
        {
            "event_id": e.event_id,
            "kind": e.kind,
            "provider": e.provider,
            "scope": e.scope,
            "tenant_id": e.tenant_id,
            "is_sample": e.is_sample,
            "content_hash": e.content_hash,
            "payload": canonical_json(e.payload),
            "source_url": e.source_url,
            "partition_date": e.partition_date,
            "fetched_at": e.fetched_at,
        }
        for e in events
    ]
    return pl.DataFrame(rows, schema=RAW_EVENT_SCHEMA)


def insert_events(conn: duckdb.DuckDBPyConnection, events: Iterable[RawEvent]) -> int:
    """Insert events that are not stored yet; returns how many were new. Re-running a fetch
    with the same payloads adds nothing."""
    frame = events_frame(events).unique(subset="event_id", keep="first", maintain_order=True)
    if frame.is_empty():
        return 0
    before = scalar(conn, "SELECT count(*) FROM raw.events")
    register_frame(conn, "incoming_raw_events", frame)
    try:
        conn.execute(
            merge_sql(
                "raw.events",
                list(RAW_EVENT_SCHEMA),
                f"SELECT {', '.join(RAW_EVENT_SCHEMA)} FROM incoming_raw_events",
            )
        )
    finally:
        unregister_frame(conn, "incoming_raw_events")
    return scalar(conn, "SELECT count(*) FROM raw.events") - before


FETCH_COLUMNS = [
    "fetch_id",
    "kind",
    "provider",
    "scope",
    "tenant_id",
    "is_sample",
    "partition_date",
    "started_at",
    "finished_at",
    "status",
    "items",
    "new_items",
    "error",
]


@dataclass(frozen=True)
class SourceFetch:
    """The outcome of one provider call, stored whether it worked or not."""

    kind: str
    provider: str
    is_sample: bool
    partition_date: dt.date
    started_at: dt.datetime
    status: str  # ok | error
    items: int = 0
    new_items: int = 0
    error: str | None = None
    scope: str = ""
    tenant_id: str | None = None
    finished_at: dt.datetime = field(default_factory=utc_now)

    @classmethod
    def of(
        cls, kind: str, source, partition_date: dt.date, started_at: dt.datetime, **outcome
    ) -> SourceFetch:
        """The record of `source`'s fetch (its provider, sample or live), finished now; ok
        unless `outcome` names an error."""
        status = "error" if outcome.get("error") else "ok"
        return cls(
            kind, source.provider, source.is_sample, partition_date, started_at, status, **outcome
        )


def record_fetch(conn: duckdb.DuckDBPyConnection, fetch: SourceFetch) -> None:
    fetch_id = sha256_text(
        f"{fetch.kind}|{fetch.provider}|{fetch.scope}|{fetch.started_at.isoformat()}"
    )
    conn.execute(
        merge_sql("raw.source_fetches", FETCH_COLUMNS, f"VALUES ({', '.join('?' * 13)})"),
        [
            fetch_id,
            fetch.kind,
            fetch.provider,
            fetch.scope,
            fetch.tenant_id,
            fetch.is_sample,
            fetch.partition_date,
            fetch.started_at,
            fetch.finished_at,
            fetch.status,
            fetch.items,
            fetch.new_items,
            fetch.error,
        ],
    )
