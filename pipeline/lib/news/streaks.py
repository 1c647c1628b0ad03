"""Consecutive run failures per schedule: the count behind auto-disabling a schedule that
keeps failing. Pure logic over a small key-value store (the Dagster instance's, in practice),
so the failure and the success sensor share one count that survives daemon restarts."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

DISABLE_AFTER_FAILURES = 5
KEY_PREFIX = "pipeline/schedule_failure_streak/"


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

    def record_failure(self, schedule_name: str) -> int:
        """Add one failure; returns the new streak length."""
        streak = self.count(schedule_name) + 1
        self.write({self.key(schedule_name): str(streak)})
        return streak

    def record_success(self, schedule_name: str) -> None:
        if self.count(schedule_name):
            self.write({self.key(schedule_name): "0"})

    def reached(self, streak: int) -> bool:
        return streak >= self.threshold
