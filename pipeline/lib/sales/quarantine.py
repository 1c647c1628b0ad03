"""Files the landing zone refuses before reading a byte of them: a link or a path resolving
outside the zone (local zones), a name with control characters, a folder that is no datasource
name, a file over the size limit. Each moves to rejected/ beside an errors.json giving the
one-line reason; nothing is deleted and nothing loaded."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path, PurePosixPath

from pipeline.lib.sales.landing import (
    CONTROL_CHARACTER,
    LINK_REASON,
    REJECTED_DIR,
    LandedFile,
    LocalLanding,
    S3Landing,
    datasource_problem,
    name_problem,
    rejected_key,
    size_problem,
    with_hash_suffix,
)


def refusal(landing: LocalLanding | S3Landing, landed: LandedFile) -> str | None:
    """Why the zone will not read `landed`, in one line, or None when it may be read."""
    if landed.linked:
        return f"the file {LINK_REASON}"
    if problem := name_problem(landed.name):
        return problem
    if problem := datasource_problem(landed.datasource):
        return f"folder {problem}: rename the folder under sales/ and drop the file again"
    return size_problem(landed.size, landing.max_file_bytes)


def quarantine_refused(
    landing: LocalLanding | S3Landing, landed: LandedFile
) -> tuple[str, str] | None:
    """Move a refused file (a link: the link itself, never what it points to) to
    rejected/<folder>/ beside `<file>.errors.json`. Returns (new key, reason), or None when
    the file may be read."""
    reason = refusal(landing, landed)
    if reason is None:
        return None
    target = CONTROL_CHARACTER.sub("_", rejected_key(landed.key))
    if landing.exists(target) or landing.exists(target + ".errors.json"):
        target = with_hash_suffix(target, _name_digest(landed.key, landed.version))
    report = {
        "file": landed.name,
        "folder": landed.datasource,
        "status": "rejected",
        "reason": reason,
        "size_bytes": landed.size,
        "nothing_loaded": True,
        "rejected_at": dt.datetime.now(dt.UTC).isoformat(),
    }
    landing.write_text(target + ".errors.json", json.dumps(report, indent=2))
    landing.move(landed.key, target)
    return target, reason


def quarantine_linked_folders(landing: LocalLanding) -> list[tuple[str, str, str]]:
    """Move each sales/<folder> that is a link (the link, not its target's files) to
    rejected/, beside `<folder>.errors.json`. Returns (key, new key, reason) for each."""
    moved = []
    for key in landing.linked_folders():
        folder = CONTROL_CHARACTER.sub("_", PurePosixPath(key).name)
        target = f"{REJECTED_DIR}/{folder}"
        if _taken(landing, target) or _taken(landing, target + ".errors.json"):
            target = f"{target}.{_name_digest(key, dt.datetime.now(dt.UTC).isoformat())[:8]}"
        reason = f"the folder {LINK_REASON}"
        report = {
            "folder": PurePosixPath(key).name,
            "status": "rejected",
            "reason": reason,
            "nothing_loaded": True,
            "rejected_at": dt.datetime.now(dt.UTC).isoformat(),
        }
        landing.write_text(target + ".errors.json", json.dumps(report, indent=2))
        landing.move(key, target)
        moved.append((key, target, reason))
    return moved


def _taken(landing: LocalLanding, key: str) -> bool:
    path = Path(landing.location(key))
    return path.exists() or path.is_symlink()


def _name_digest(key: str, version: str) -> str:
    """A suffix from the name and version, not the content: a refused file is never read."""
    return hashlib.sha256(f"{key}\0{version}".encode()).hexdigest()
