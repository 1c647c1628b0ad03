"""Operator alerts also go to Slack (a fake Slack Web API on loopback, SLACK_BASE_URL): once per
alert key like e-mail, and a Slack that errors, refuses or is gone never holds e-mail back."""

from __future__ import annotations

import time

from pipeline_tests.fakes.http_server import Reply
from pipeline_tests.fakes.ports import reserved_port

POST = "/api/chat.postMessage"


def slack_env(monkeypatch, base_url: str) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test-token")
    monkeypatch.setenv("PIPELINE_SLACK_CHANNEL", "#pipeline-alerts")
    monkeypatch.setenv("SLACK_BASE_URL", base_url + "/api/")


def test_alerts_go_to_slack_once_per_key(send_alert, smtp_env, http_server, monkeypatch):
    http_server.add("POST", POST, Reply(200, {"ok": True, "channel": "C1", "ts": "1.0"}))
    slack_env(monkeypatch, http_server.base_url)
    assert send_alert(key="check:x", subject="Check x failing", body="why", severity="low")
    assert not send_alert(key="check:x", subject="Check x failing", body="again")

    [posted] = http_server.requests_to(POST)
    assert posted.headers["Authorization"] == "Bearer xoxb-test-token"
    form = posted.json()
    assert form["channel"] == "#pipeline-alerts"
    assert form["text"] == "*[LOW] Check x failing*\nwhy"
    assert len(smtp_env.received) == 1  # e-mail went out as well


def test_failing_slack_never_blocks_email(send_alert, smtp_env, http_server, monkeypatch):
    http_server.add(
        "POST", POST, Reply(200, {"ok": False, "error": "channel_not_found"}), Reply(500, "down")
    )
    slack_env(monkeypatch, http_server.base_url)
    assert send_alert(key="a", subject="A failing", body="one")
    assert send_alert(key="b", subject="B failing", body="two")
    slack_env(monkeypatch, f"http://127.0.0.1:{reserved_port()}")  # nothing listens there
    started = time.monotonic()
    assert send_alert(key="c", subject="C failing", body="three")
    assert time.monotonic() - started < 60  # bounded by the client's timeout, not hanging
    assert [m.message["Subject"] for m in smtp_env.received] == [
        "[HIGH] A failing",
        "[HIGH] B failing",
        "[HIGH] C failing",
    ]


def test_without_a_channel_nothing_is_posted(send_alert, smtp_env, http_server, monkeypatch):
    slack_env(monkeypatch, http_server.base_url)
    monkeypatch.delenv("PIPELINE_SLACK_CHANNEL")
    assert send_alert(key="k", subject="s", body="b")
    assert http_server.requests_to(POST) == []
