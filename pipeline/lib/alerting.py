"""When to tell an operator: once when something starts failing, again only after a re-notify
interval while it keeps failing, and once more when it recovers. Pure: the alert sensors keep
the state (in their cursor) and send what `decide` returns.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass

SEVERITIES = ("low", "medium", "high", "critical")
DEFAULT_RENOTIFY_S = 6 * 3600


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
    key: str  # unique per message, so the sender's own dedup never swallows a decided one
    watch_key: str  # the Observation it is about
    kind: str  # firing | reminder | resolved
    subject: str
    body: str
    severity: str


def decide(
    state: dict[str, dict],
    observations: Iterable[Observation],
    now: float,
    renotify_s: float = DEFAULT_RENOTIFY_S,
) -> tuple[dict[str, dict], list[Alert]]:
    """Alerts to send for these observations, and the new state (what is firing, since when,
    last told when). Keys not observed this time keep their state: no news is not recovery."""
    state = {key: dict(value) for key, value in state.items()}
    alerts = []
    for obs in observations:
        firing = state.get(obs.key)
        if obs.failing and firing is None:
            state[obs.key] = {"since": now, "notified": now, "count": 1, "severity": obs.severity}
            alerts.append(
                Alert(
                    f"{obs.key}@{now:.0f}",
                    obs.key,
                    "firing",
                    f"Failing: {obs.subject}",
                    obs.body,
                    obs.severity,
                )
            )
        elif obs.failing and now - firing["notified"] >= renotify_s:
            firing["notified"] = now
            firing["count"] += 1
            alerts.append(
                Alert(
                    f"{obs.key}@{firing['since']:.0f}#{firing['count']}",
                    obs.key,
                    "reminder",
                    f"Still failing: {obs.subject}",
                    obs.body + f"\n\nFailing since {_iso(firing['since'])}.",
                    obs.severity,
                )
            )
        elif not obs.failing and firing is not None:
            del state[obs.key]
            alerts.append(
                Alert(
                    f"{obs.key}@{firing['since']:.0f}:resolved",
                    obs.key,
                    "resolved",
                    f"Resolved: {obs.subject}",
                    obs.body + f"\n\nFailing since {_iso(firing['since'])}, recovered {_iso(now)}.",
                    # A recovery is good news: never page anyone for it.
                    "low",
                )
            )
    return state, alerts


def _iso(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def load_state(cursor: str | None) -> dict[str, dict]:
    if not cursor:
        return {}
    try:
        loaded = json.loads(cursor)
    except json.JSONDecodeError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


def dump_state(state: dict[str, dict]) -> str:
    return json.dumps(state, sort_keys=True, separators=(",", ":"))
