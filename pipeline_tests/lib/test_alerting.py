"""When to say "Failing", "Still failing" and "Resolved", and severity choice. How often a
reminder really goes out is the sender's per-key re-notify interval
(pipeline_tests/notify/test_operator_alerts.py, pipeline_tests/defs/health/test_sensors.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from pipeline.lib.alerting import (
    Observation,
    alert_severity,
    decide,
    dump_state,
    load_state,
)
from pipeline.lib.settings.notify import renotify_interval

FAILING = Observation(
    "check:grants:unique", True, "ERROR check unique on grants", "3 dupes", "high"
)
PASSING = Observation("check:grants:unique", False, "ERROR check unique on grants", "ok", "high")


def test_fails_once_reminds_under_the_same_key_then_resolves():
    firing, alerts = decide({}, [FAILING], now=1000)
    assert [(a.kind, a.subject, a.severity) for a in alerts] == [
        ("firing", "Failing: ERROR check unique on grants", "high")
    ]
    first_key = alerts[0].key
    firing, alerts = decide(firing, [FAILING], now=5000)
    assert [(a.kind, a.key) for a in alerts] == [("reminder", first_key)]
    assert alerts[0].subject.startswith("Still failing:")
    assert "Failing since 1970-01-01 00:16 UTC" in alerts[0].body
    firing, alerts = decide(firing, [PASSING], now=6000)
    assert [a.kind for a in alerts] == ["resolved"]
    assert alerts[0].subject == "Resolved: ERROR check unique on grants"
    assert alerts[0].severity == "low"
    assert alerts[0].key != first_key
    assert firing == {}
    # Passing with nothing firing says nothing; a new failure is a new episode with a new key.
    assert decide(firing, [PASSING], now=6060)[1] == []
    assert decide(firing, [FAILING], now=7000)[1][0].key != first_key


def test_unobserved_keys_keep_firing():
    firing, _ = decide({}, [FAILING], now=0)
    firing, alerts = decide(firing, [], now=10)
    assert alerts == [] and FAILING.key in firing


def test_state_survives_the_cursor():
    firing, _ = decide({}, [FAILING], now=0)
    assert load_state(dump_state(firing)) == firing
    assert load_state(None) == {} and load_state("not json") == {}


def test_renotify_interval_from_the_environment(monkeypatch):
    monkeypatch.delenv("PIPELINE_ALERT_RENOTIFY_HOURS", raising=False)
    assert renotify_interval() == dt.timedelta(hours=6)
    monkeypatch.setenv("PIPELINE_ALERT_RENOTIFY_HOURS", "0.5")
    assert renotify_interval() == dt.timedelta(minutes=30)


@pytest.mark.parametrize(
    ("check", "criticality", "blocking", "expected"),
    [
        ("WARN", "low", False, "low"),
        ("WARN", "medium", False, "low"),
        ("WARN", "critical", False, "high"),
        ("ERROR", "low", False, "medium"),
        ("ERROR", "low", True, "high"),
        ("ERROR", "medium", False, "high"),
        ("ERROR", "high", False, "critical"),
        ("ERROR", "critical", True, "critical"),
        ("ERROR", "nonsense", False, "high"),
    ],
)
def test_alert_severity(check, criticality, blocking, expected):
    assert alert_severity(check, criticality, blocking) == expected
