"""The health export: what health_report last judged (the `pipeline health --json` report) plus
the figures /metrics publishes, written as one JSON file in the data dir so `pipeline serve`
answers /healthz and /metrics without opening the warehouse (its lock belongs to the runs)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from pipeline.lib import health
from pipeline.lib.settings import settings

FILE_NAME = "health.json"
# health_report runs hourly: a report older than two runs means the pipeline stopped reporting.
STALE_AFTER_S = 2 * 3600 + 600


def export_path() -> Path:
    return settings().data_dir / "exports" / FILE_NAME


def write(report: dict, path: Path | None = None) -> Path:
    """Replace the export atomically: a reader sees the previous report or this one."""
    path = path or export_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = path.with_name(f".{path.name}.{os.getpid()}")
    staged.write_text(json.dumps(report, indent=1, default=str))
    os.replace(staged, path)
    return path


def read(path: Path | None = None) -> dict | None:
    """The latest export, or None when there is none (or it is unreadable)."""
    try:
        loaded = json.loads((path or export_path()).read_text())
    except (OSError, ValueError):
        return None
    return loaded if isinstance(loaded, dict) else None


def healthz(report: dict | None, now: float | None = None) -> tuple[int, dict]:
    """(HTTP status, body) of /healthz: 200 when `pipeline health` would exit 0 or 1, 503 when 2.
    No report, or one older than STALE_AFTER_S, is failing: nothing says the pipeline is well."""
    now = time.time() if now is None else now
    if report is None:
        body = {"exit_code": health.EXIT_FAILING, "reason": "no health report recorded yet"}
        return 503, body
    body = {k: v for k, v in report.items() if k != "figures"}
    age = now - float(report.get("reported_at") or 0)
    if age > STALE_AFTER_S:
        body["exit_code"] = health.EXIT_FAILING
        body["reason"] = f"the latest health report is {age / 3600:.1f} h old"
    return (503 if body.get("exit_code", health.EXIT_FAILING) >= health.EXIT_FAILING else 200), body
