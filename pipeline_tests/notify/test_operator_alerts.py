"""send_operator_alert: to the operators, through SMTP or the .eml outbox, deduplicated by key
within the re-notify interval."""

from __future__ import annotations

import duckdb


def test_writes_an_eml_per_operator_and_dedups_by_key(send_alert, pipeline_env, warehouse_path):
    assert send_alert(key="check:x", subject="Check x failing", body="details <b>")
    assert not send_alert(key="check:x", subject="Check x failing", body="again")
    assert send_alert(key="check:y", subject="Check y failing", body="other", severity="low")

    files = sorted((pipeline_env / "outbox").glob("*.eml"))
    assert len(files) == 2
    text = files[0].read_text() + files[1].read_text()
    assert "To: ops@example.org" in text
    assert "&lt;b&gt;" in text  # the HTML part escapes the body
    with duckdb.connect(str(warehouse_path)) as conn:
        rows = conn.execute(
            "SELECT recipient, kind, status FROM notify.email_log ORDER BY created_at"
        ).fetchall()
    assert rows == [("ops@example.org", "operator_alert", "written")] * 2


def test_renotify_interval_allows_a_reminder(send_alert, pipeline_env, monkeypatch):
    monkeypatch.setenv("PIPELINE_ALERT_RENOTIFY_HOURS", "0")
    assert send_alert(key="k", subject="s", body="b")
    assert send_alert(key="k", subject="s", body="b")


def test_operator_list_from_environment_over_smtp(send_alert, smtp_env, monkeypatch):
    monkeypatch.setenv("PIPELINE_OPERATOR_EMAILS", "a@example.org, b@example.org")
    assert send_alert(key="run:1", subject="Run failed", body="step x", severity="critical")
    recipients = sorted(r for m in smtp_env.received for r in m.recipients)
    assert recipients == ["a@example.org", "b@example.org"]
    message = smtp_env.received[0].message
    assert message["Subject"] == "[CRITICAL] Run failed"
    assert message.get_body(("plain",)).get_content().count("step x") == 1


def test_no_operators_means_nothing_sent(send_alert, pipeline_env, monkeypatch, tmp_path):
    monkeypatch.setenv("PIPELINE_CONFIG_DIR", str(tmp_path / "empty"))
    assert not send_alert(key="k", subject="s", body="b")
