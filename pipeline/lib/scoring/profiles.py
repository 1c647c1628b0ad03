"""Organisation profiles as written in data/config/organizations.yaml, reduced to one hash per
organisation: what the profile-change sensor compares against its cursor."""

from __future__ import annotations

from pathlib import Path

from pipeline.lib.grants.organizations import raw_entries, read_document
from pipeline.lib.hashing import content_hash


def profile_hashes(path: Path) -> dict[str, str]:
    """org_id → hash of its whole entry. A missing file means no organisations."""
    if not path.exists():
        return {}
    hashes = {}
    for entry in raw_entries(read_document(path)):
        org_id = entry.get("org_id") or entry.get("id")
        if org_id:
            hashes[str(org_id)] = content_hash(entry)
    return hashes


def changed_profiles(previous: dict[str, str], current: dict[str, str]) -> list[str]:
    """Organisations added, edited or removed since `previous` (removed ones too: re-matching
    them deletes their stale matches)."""
    return sorted(k for k in previous.keys() | current.keys() if previous.get(k) != current.get(k))
