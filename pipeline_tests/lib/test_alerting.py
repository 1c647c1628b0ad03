"""Alert dedup, reminders after the re-notify interval, resolution, and severity choice."""

from __future__ import annotations

import pytest

from pipeline.lib.alerting import Observation, alert_severity, decide, dump_state, load_state

FAILING = Observation(
    "check:grants:unique", True, "ERROR check unique on grants", "3 dupes", "high"
)
PASSING = Observation("check:grants:unique", False, "ERROR check unique on grants", "ok", "high")


def test_alerts_once_then_stays_quiet_then_resolves():
    state, alerts = decide({}, [FAILING], now=1000, renotify_s=3600)
    assert [(a.kind, a.subject, a.severity) for a in alerts] == [
        ("firing", "Failing: ERROR check unique on grants", "high")
    ]
    for now in (1060, 2000, 4500):
        state, alerts = decide(state, [FAILING], now=now, renotify_s=3600)
        assert alerts == []
    state, alerts = decide(state, [PASSING], now=5000, renotify_s=3600)
    assert [a.kind for a in alerts] == ["resolved"]
    assert alerts[0].subject == "Resolved: ERROR check unique on grants"
    assert alerts[0].severity == "low"
    assert state == {}
    # Passing with nothing firing says nothing.
    assert decide(state, [PASSING], now=5060)[1] == []


def test_reminds_after_the_renotify_interval():
    state, _ = decide({}, [FAILING], now=0, renotify_s=3600)
    state, alerts = decide(state, [FAILING], now=3600, renotify_s=3600)
    assert [a.kind for a in alerts] == ["reminder"]
    assert alerts[0].subject.startswith("Still failing:")
    state, alerts = decide(state, [FAILING], now=5000, renotify_s=3600)
    assert alerts == []
    state, alerts = decide(state, [FAILING], now=7200, renotify_s=3600)
    assert len(alerts) == 1
    # Every message has its own key, so the sender's dedup never swallows a decided alert.
    keys = {decide({}, [FAILING], now=0)[1][0].key, alerts[0].key}
    assert len(keys) == 2


def test_unobserved_keys_keep_firing():
    state, _ = decide({}, [FAILING], now=0)
    state, alerts = decide(state, [], now=10)
    assert alerts == [] and FAILING.key in state


def test_state_survives_the_cursor():
    state, _ = decide({}, [FAILING], now=0)
    assert load_state(dump_state(state)) == state
    assert load_state(None) == {} and load_state("not json") == {}


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
