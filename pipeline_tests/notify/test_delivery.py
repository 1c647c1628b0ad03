"""E-mail through a real SMTP server on loopback (aiosmtpd), via the assets: plain-text and HTML
parts, headers as recorded, hostile titles escaped and kept out of the headers, 451 then
success in one run, a refused connection then success in the next, 5xx failed with the
reason, and a crash between sending and recording that does not send twice."""

from __future__ import annotations

import datetime as dt

import pytest

from pipeline.lib import warehouse
from pipeline.lib.notify import digests, outbox
from pipeline.lib.notify.mailer import MailSettings
from pipeline_tests.notify.conftest import NOW, add_news, as_of, materialize, rows

pytestmark = pytest.mark.server
HOSTILE = "<script>alert(1)</script> Northwind\r\nBcc: victim@example.org"
NO_WAIT = {"email_log": {"config": {"retry_delays_s": [0.0]}}}


def alert_run(instance, **ops):
    config = as_of(NOW, "instant_alerts")
    config["ops"].update({**NO_WAIT, **ops})
    return materialize(["instant_alerts", "email_log", "notification_stats"], instance, config)


def status(path):
    return rows(path, "SELECT recipient, status, attempts, last_error FROM notify.email_log")


def test_smtp_message_has_both_parts_and_escapes_hostile_titles(instance, world, smtp_env):
    add_news(world, "h1", "acme-blue", "acme", HOSTILE, 0.9)
    assert alert_run(instance).success
    [received] = smtp_env.received
    assert received.recipients == ["bob@example.org"]
    message = received.message
    assert message["Bcc"] is None
    assert message["Subject"] == (
        "Client news (BluePeak): <script>alert(1)</script> Northwind Bcc: victim@example.org"
    )
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "<script>alert(1)</script> Northwind" in text
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # Headers reach the server as recorded: List-Unsubscribe as plain <URL>s, not re-encoded.
    raw = received.data.decode()
    assert "\r\nList-Unsubscribe: <http://127.0.0.1:8080/unsubscribe?token=" in raw
    assert "=?utf-8?" not in raw.split("\r\n\r\n")[0].split("List-Unsubscribe")[1]
    assert message["Message-ID"] == rows(world, "SELECT message_id FROM notify.email_log")[0][0]
    assert status(world) == [("bob@example.org", "sent", 1, None)]
    assert rows(world, "SELECT kind, sent FROM notify.notification_stats") == [("instant_alert", 1)]


def test_451_then_success_in_the_same_run(instance, world, smtp_env):
    add_news(world, "n1", "acme-blue", "acme", "BluePeak buys a rival", 0.9)
    smtp_env.reply_next("451 4.3.0 mailbox busy, try later")
    assert alert_run(instance).success
    assert status(world) == [("bob@example.org", "sent", 2, None)]
    assert len(smtp_env.received) == 1


def test_refused_connection_then_success_in_the_next_run(
    instance, world, monkeypatch, idle_smtp_server
):
    for name, value in {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(idle_smtp_server.port),
                        "SMTP_SECURITY": "none",
                        "PIPELINE_UNSUBSCRIBE_SECRET": "delivery-test-secret-0123456789abc"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    add_news(world, "n1", "acme-blue", "acme", "BluePeak buys a rival", 0.9)
    assert alert_run(instance).success
    [(_, state, attempts, error)] = status(world)
    assert (state, attempts) == ("pending", 2) and "Refused" in error
    idle_smtp_server.start()
    with warehouse.connection(world) as conn:  # the backoff has passed
        conn.execute("UPDATE notify.email_log SET next_attempt_at = now() - INTERVAL 1 MINUTE")
    assert materialize(["email_log"], instance, {"ops": NO_WAIT}).success
    assert [r[1:3] for r in status(world)] == [("sent", 3)]
    assert len(idle_smtp_server.received) == 1


def test_5xx_is_failed_with_the_reason(instance, world, smtp_env):
    add_news(world, "n1", "acme-blue", "acme", "BluePeak buys a rival", 0.9)
    smtp_env.reply_next("550 5.1.1 mailbox unavailable")
    assert alert_run(instance).success
    [(_, state, attempts, error)] = status(world)
    assert (state, attempts) == ("failed", 1) and "550 5.1.1 mailbox unavailable" in error
    assert rows(world, "SELECT failed FROM notify.notification_stats") == [(1,)]


class Crash(RuntimeError):
    pass


def test_a_crash_between_send_and_mark_does_not_send_twice(instance, world, smtp_env):
    add_news(world, "n1", "acme-blue", "acme", "BluePeak buys a rival", 0.9)
    assert materialize(["instant_alerts"], instance, as_of(NOW, "instant_alerts")).success
    mail = MailSettings.from_env(world.parent / "outbox")

    def crash(_message_id):
        raise Crash("process killed after the server accepted the message")

    with pytest.raises(Crash):
        outbox.deliver_pending(world, mail.transport(), after_send=crash)
    assert len(smtp_env.received) == 1
    # The next runs (through the asset, and once the row counts as stale) do not resend it.
    assert materialize(["email_log"], instance, {"ops": NO_WAIT}).success
    report = outbox.deliver_pending(world, mail.transport(), stale_after_s=0)
    assert report.uncertain and not report.delivered
    assert materialize(["email_log"], instance, {"ops": NO_WAIT}).success
    assert len(smtp_env.received) == 1
    assert [r[1] for r in status(world)] == ["uncertain"]
    # The instant alert is not rebuilt either: its item is recorded as delivered.
    with warehouse.connection(world) as conn:
        assert digests.plan_instant_alerts(conn, NOW + dt.timedelta(minutes=5)).emails == []


def test_a_short_secret_fails_the_send_in_one_line_and_sends_nothing(
    instance, world, smtp_env, monkeypatch
):
    monkeypatch.setenv("PIPELINE_UNSUBSCRIBE_SECRET", "x" * 31)
    add_news(world, "n1", "acme-blue", "acme", "BluePeak buys a rival", 0.9)
    config = as_of(NOW, "instant_alerts")
    config["ops"].update(NO_WAIT)
    selection = ["instant_alerts", "email_log"]
    result = materialize(selection, instance, config, raise_on_error=False)
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert "PIPELINE_UNSUBSCRIBE_SECRET is 31 bytes; it must be at least 32" in str(
        failure.event_specific_data.error
    )
    assert smtp_env.received == []
