"""ai.score_cache in the warehouse. Each call opens its own short connection: the scorer reads
before its API calls and writes after them, never holding the warehouse lock while it waits
on the network."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from pipeline.lib import merge, warehouse
from pipeline.lib.scoring.score_cache import CacheEntry
from pipeline.lib.warehouse import Warehouse


class WarehouseScoreCache:
    def __init__(self, database: Warehouse | Path, timeout_s: float = 300.0) -> None:
        self.database = database
        self.timeout_s = timeout_s

    def get_many(self, keys: Sequence[str]) -> dict[str, dict]:
        if not keys:
            return {}
        with warehouse.connection(self.database, timeout_s=self.timeout_s) as conn:
            rows = conn.execute(
                "SELECT cache_key, output FROM ai.score_cache"
                " WHERE cache_key IN (SELECT unnest(?::VARCHAR[]))",
                [list(keys)],
            ).fetchall()
        return {key: json.loads(output) for key, output in rows}

    def put_many(self, entries: Sequence[CacheEntry]) -> None:
        if not entries:
            return
        now = dt.datetime.now(dt.UTC)
        frame = pl.DataFrame(
            [
                {
                    "cache_key": e.cache_key,
                    "kind": e.kind,
                    "item_hash": e.item_hash,
                    "profile_hash": e.profile_hash,
                    "model": e.model,
                    "prompt_version": e.prompt_version,
                    "output": json.dumps(e.output, ensure_ascii=False),
                    "prompt_tokens": e.prompt_tokens,
                    "completion_tokens": e.completion_tokens,
                    "created_at": now,
                }
                for e in entries
            ]
        )
        with warehouse.connection(self.database, timeout_s=self.timeout_s) as conn:
            merge.upsert(conn, "ai.score_cache", frame)
