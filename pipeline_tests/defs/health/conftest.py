"""A recording stand-in for notify's send_operator_alert, reached through the same lazy import
the sensors use. Like the real one it sends a key at most once per re-notify interval."""

from __future__ import annotations

import sys
import time
import types

import pytest

from pipeline.lib.settings.notify import renotify_interval


class OperatorAlerts:
    def __init__(self) -> None:
        self.sent: list[dict] = []
        self.fail_with: Exception | None = None
        self.last_sent: dict[str, float] = {}

    def send_operator_alert(
        self, *, key: str, subject: str, body: str, warehouse, severity: str = "high"
    ):
        if self.fail_with:
            raise self.fail_with
        now = time.time()
        if (
            key in self.last_sent
            and now - self.last_sent[key] < renotify_interval().total_seconds()
        ):
            return False
        self.last_sent[key] = now
        self.sent.append({"key": key, "subject": subject, "body": body, "severity": severity})
        return True


@pytest.fixture
def operator_alerts(monkeypatch) -> OperatorAlerts:
    recorder = OperatorAlerts()
    module = types.ModuleType("pipeline.defs.notify.operator_alerts")
    module.send_operator_alert = recorder.send_operator_alert
    try:
        import pipeline.defs.notify  # noqa: F401  (the real package, once notify has landed)
    except ImportError:
        monkeypatch.setitem(sys.modules, "pipeline.defs.notify", types.ModuleType("notify"))
    monkeypatch.setitem(sys.modules, "pipeline.defs.notify.operator_alerts", module)
    return recorder
