"""Sliding-window rate limits for requesting runs.

Dagster's run queue bounds how many runs execute at once but has no "N per time window" limit,
so the schedules and sensors that request discovery runs ask this module first (through
`pipeline.defs.shared.run_limits.discovery_run_allowed`), counting the runs they already asked
for in the window."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class SlidingWindowLimit:
    """At most `max_runs` runs created within any `window`."""

    max_runs: int
    window: dt.timedelta

    def recent(self, created: Iterable[dt.datetime], now: dt.datetime) -> list[dt.datetime]:
        """The creation times inside the window ending at `now`, oldest first."""
        start = now - self.window
        return sorted(t for t in created if start < t <= now)

    def remaining(self, created: Iterable[dt.datetime], now: dt.datetime) -> int:
        """How many more runs may be requested at `now`."""
        return max(0, self.max_runs - len(self.recent(created, now)))

    def next_allowed_at(self, created: Iterable[dt.datetime], now: dt.datetime) -> dt.datetime:
        """When the next run may be requested: now if there is room, else when the oldest run
        that still counts leaves the window."""
        recent = self.recent(created, now)
        if len(recent) < self.max_runs:
            return now
        return recent[len(recent) - self.max_runs] + self.window


# Discovery providers' limit: at most 5 runs in any 5 minutes.
DISCOVERY_RATE_LIMIT = SlidingWindowLimit(max_runs=5, window=dt.timedelta(minutes=5))
