"""Consecutive run failures per schedule: the count behind auto-disabling a schedule that
keeps failing. Pure logic over a small key-value store (the Dagster instance's, in practice),
so the failure and the success sensor share one count that survives daemon restarts."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass

DISABLE_AFTER_FAILURES = 5
KEY_PREFIX = "pipeline/schedule_failure_streak/"
# Ticks already counted per schedule: enough to cover retries that finish after later ticks.
REMEMBERED_TICKS = 20


@dataclass
class FailureStreaks:
    """`read(keys)` and `write(pairs)` are the store (e.g. run storage cursor values)."""

    read: Callable[[set[str]], Mapping[str, str]]
    write: Callable[[Mapping[str, str]], None]
    threshold: int = DISABLE_AFTER_FAILURES

    @staticmethod
    def key(schedule_name: str) -> str:
        return KEY_PREFIX + schedule_name

    def count(self, schedule_name: str) -> int:
        value = self.read({self.key(schedule_name)}).get(self.key(schedule_name))
        try:
            return int(value) if value else 0
        except ValueError:
            return 0

    @staticmethod
    def ticks_key(schedule_name: str) -> str:
        return KEY_PREFIX + schedule_name + "/ticks"

    def counted_ticks(self, schedule_name: str) -> list[str]:
        value = self.read({self.ticks_key(schedule_name)}).get(self.ticks_key(schedule_name))
        try:
            ticks = json.loads(value) if value else []
        except ValueError:
            return []
        return ticks if isinstance(ticks, list) else []

    def record_failure(self, schedule_name: str, tick: str) -> int:
        """Add one failure for `tick` (the root run of the tick: its retries share it); a tick
        already counted adds nothing. Returns the streak length."""
        ticks = self.counted_ticks(schedule_name)
        if tick in ticks:
            return self.count(schedule_name)
        streak = self.count(schedule_name) + 1
        self.write(
            {
                self.key(schedule_name): str(streak),
                self.ticks_key(schedule_name): json.dumps([*ticks, tick][-REMEMBERED_TICKS:]),
            }
        )
        return streak

    def record_success(self, schedule_name: str) -> None:
        if self.count(schedule_name):
            self.write({self.key(schedule_name): "0"})

    def reached(self, streak: int) -> bool:
        return streak >= self.threshold
