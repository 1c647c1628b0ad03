"""Stable content hashes: the identity of payloads, profiles and cache entries."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def content_hash(value: Any) -> str:
    """sha256 of the canonical JSON form: key order and whitespace do not change it."""
    if isinstance(value, bytes):
        return hashlib.sha256(value).hexdigest()
    if isinstance(value, str):
        return sha256_text(value)
    return sha256_text(canonical_json(value))


def file_hash(path) -> str:
    """sha256 of a file's bytes, streamed so a 500 MB upload never sits in memory
    (hashlib.file_digest reads into one buffer and hashes without holding the GIL)."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
