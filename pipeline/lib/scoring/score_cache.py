"""The AI answer cache: its key, its entries and what a cache offers (the warehouse one is
pipeline.lib.scoring.cache; the in-memory one serves tests and benchmarks)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from pipeline.lib.hashing import sha256_text


def cache_key(kind: str, item_hash: str, profile_hash: str, model: str, prompt_version: str) -> str:
    return sha256_text("|".join((kind, item_hash, profile_hash, model, prompt_version)))


@dataclass(frozen=True)
class CacheEntry:
    cache_key: str
    kind: str
    item_hash: str
    profile_hash: str
    model: str
    prompt_version: str
    output: dict
    prompt_tokens: int
    completion_tokens: int


class ScoreCache(Protocol):
    def get_many(self, keys: Sequence[str]) -> dict[str, dict]: ...

    def put_many(self, entries: Sequence[CacheEntry]) -> None: ...


class MemoryScoreCache:
    """A dict-backed cache for tests and benchmarks."""

    def __init__(self) -> None:
        self.entries: dict[str, CacheEntry] = {}

    def get_many(self, keys: Sequence[str]) -> dict[str, dict]:
        return {k: self.entries[k].output for k in keys if k in self.entries}

    def put_many(self, entries: Sequence[CacheEntry]) -> None:
        self.entries.update({e.cache_key: e for e in entries})
