"""Organisation profiles as written in data/config/organizations.yaml, reduced to one hash per
organisation: what the profile-change sensor compares against its cursor."""

from __future__ import annotations

from pathlib import Path

import yaml

from pipeline.lib.hashing import content_hash


def _entries(document) -> list[dict]:
    """Accepts `organizations: [...]`, a bare list, or a mapping of id → profile."""
    if isinstance(document, dict) and "organizations" in document:
        document = document["organizations"]
    if isinstance(document, list):
        return [e for e in document if isinstance(e, dict)]
    if isinstance(document, dict):
        return [
            {"org_id": key, **value} for key, value in document.items() if isinstance(value, dict)
        ]
    return []


def profile_hashes(path: Path) -> dict[str, str]:
    """org_id → hash of its whole entry. A missing file means no organisations."""
    if not path.exists():
        return {}
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    hashes = {}
    for entry in _entries(document):
        org_id = entry.get("org_id") or entry.get("id")
        if org_id:
            hashes[str(org_id)] = content_hash(entry)
    return hashes


def changed_profiles(previous: dict[str, str], current: dict[str, str]) -> list[str]:
    """Organisations added, edited or removed since `previous` (removed ones too: re-matching
    them deletes their stale matches)."""
    return sorted(k for k in previous.keys() | current.keys() if previous.get(k) != current.get(k))
