"""What to tell an operator about checks and ticks: "Failing" when something starts failing,
"Still failing" while it keeps failing, "Resolved" when it recovers. Pure: the alert sensor keeps
what is firing (in its cursor) and sends what `decide` returns.

How often a still-failing thing is repeated is not decided here: the sender
(pipeline.defs.notify.operator_alerts) sends one alert key at most once per re-notify interval,
and a reminder carries the key of its failure, so that is the one de-duplication layer.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass

SEVERITIES = ("low", "medium", "high", "critical")


def alert_severity(check_severity: str, criticality: str, blocking: bool = False) -> str:
    """low/medium/high/critical from the check's severity (ERROR/WARN), whether it blocks
    downstream, and the asset's criticality (low/medium/high/critical).

    WARN checks: one level below the asset's criticality (at least low).
    ERROR checks: one level above it (at most critical); a blocking ERROR is at least high.
    """
    level = SEVERITIES.index(criticality) if criticality in SEVERITIES else 1
    if check_severity.upper() == "ERROR":
        level = min(level + 1, 3)
        if blocking:
            level = max(level, 2)
    else:
        level = max(level - 1, 0)
    return SEVERITIES[level]


@dataclass(frozen=True)
class Observation:
    """The current state of one watched thing (a check, a sensor's ticks, ...)."""

    key: str
    failing: bool
    subject: str
    body: str
    severity: str = "high"


@dataclass(frozen=True)
class Alert:
    key: str  # one per failure episode: the firing alert and its reminders share it
    watch_key: str  # the Observation it is about
    kind: str  # firing | reminder | resolved
    subject: str
    body: str
    severity: str


# The subject of an alert starts with what happened to the failure it is about.
SUBJECT_PREFIX = {"firing": "Failing", "reminder": "Still failing", "resolved": "Resolved"}


def decide(
    firing: dict[str, float], observations: Iterable[Observation], now: float
) -> tuple[dict[str, float], list[Alert]]:
    """Alerts for these observations, and what is firing now (key -> failing since). Keys not
    observed this time keep firing: no news is not recovery."""
    firing = dict(firing)
    alerts = []
    for obs in observations:
        since = firing.get(obs.key)
        if obs.failing and since is None:
            firing[obs.key] = since = now
            kind, note = "firing", ""
        elif obs.failing:
            kind, note = "reminder", f"\n\nFailing since {_iso(since)}."
        elif since is not None:
            del firing[obs.key]
            kind, note = "resolved", f"\n\nFailing since {_iso(since)}, recovered {_iso(now)}."
        else:
            continue
        alerts.append(
            Alert(
                key=f"{obs.key}@{since:.0f}" + (":resolved" if kind == "resolved" else ""),
                watch_key=obs.key,
                kind=kind,
                subject=f"{SUBJECT_PREFIX[kind]}: {obs.subject}",
                body=obs.body + note,
                # A recovery is good news: never page anyone for it.
                severity="low" if kind == "resolved" else obs.severity,
            )
        )
    return firing, alerts


def error_last_line(error) -> str:
    """The innermost error's last line, from Dagster's error info (anything with `message`,
    `cause` and `cls_name`): Dagster wraps user errors in its own step error, and the last line
    of a message or traceback is the one that names what went wrong."""
    while error.cause is not None:
        error = error.cause
    lines = [line.strip() for line in (error.message or "").splitlines() if line.strip()]
    return (lines[-1] if lines else error.cls_name or "error")[:300]


def _iso(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def load_state(cursor: str | None) -> dict[str, float]:
    try:
        loaded = json.loads(cursor or "{}")
    except json.JSONDecodeError:
        return {}
    if not isinstance(loaded, dict):
        return {}
    return {k: float(v) for k, v in loaded.items() if isinstance(v, int | float)}


def dump_state(firing: dict[str, float]) -> str:
    return json.dumps(firing, sort_keys=True, separators=(",", ":"))
