"""The exactly-once outbox against a real SMTP server on loopback: temporary failures retried in
the same run and the next, permanent ones recorded, and no resend after a crash."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from pipeline.lib import warehouse
from pipeline.lib.notify.mailer import MailSettings
from pipeline.lib.notify.outbox import deliver_pending, record
from pipeline.lib.notify.render import Email, Item, Section
from pipeline.lib.notify.transport import OutboxTransport, SmtpTransport
from pipeline.lib.raw_events import utc_now
from pipeline.lib.settings.notify import SmtpSettings


def _message(mail: MailSettings, n: int = 1):
    email = Email(
        kind="instant_alert",
        recipient="alice@example.org",
        subject=f"Alert {n}",
        heading=f"Alert {n}",
        sections=(Section("News", (Item(title=f"item {n}"),)),),
    )
    return mail.compose(
        email, identity=(str(n),), user_id="alice@example.org", item_keys=(f"i{n}",)
    )


def _record(warehouse_path, *messages):
    with warehouse.connection(warehouse_path) as conn:
        return record(conn, list(messages), utc_now())


def _status(warehouse_path):
    with duckdb.connect(str(warehouse_path)) as conn:
        return conn.execute(
            "SELECT status, attempts, last_error FROM notify.email_log ORDER BY message_id"
        ).fetchall()


@pytest.fixture
def mail(pipeline_env, smtp_server) -> MailSettings:
    return MailSettings.from_env(pipeline_env / "outbox", smtp_server.env())


def test_recording_twice_keeps_one_row(warehouse_path, mail):
    message = _message(mail)
    assert _record(warehouse_path, message) == [message.message_id]
    assert _record(warehouse_path, message) == []
    assert len(_status(warehouse_path)) == 1


def test_451_then_success_in_the_same_run(warehouse_path, mail, smtp_server):
    _record(warehouse_path, _message(mail))
    smtp_server.reply_next("451 4.3.0 try again later")
    sleeps = []
    report = deliver_pending(warehouse_path, mail.transport(), sleep=sleeps.append)
    assert len(report.delivered) == 1 and sleeps == [2.0]
    assert _status(warehouse_path) == [("sent", 2, None)]
    assert len(smtp_server.received) == 1


def test_refused_connection_then_success_next_run(warehouse_path, pipeline_env, idle_smtp_server):
    mail = MailSettings.from_env(
        pipeline_env / "outbox",
        {
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(idle_smtp_server.port),
            "SMTP_SECURITY": "none",
            "PIPELINE_UNSUBSCRIBE_SECRET": "outbox-test-secret-0123456789abcdef",
        },
    )
    _record(warehouse_path, _message(mail))
    report = deliver_pending(warehouse_path, mail.transport(), retry_delays_s=(0.0,))
    assert report.retrying and not report.delivered
    [(status, attempts, error)] = _status(warehouse_path)
    assert (status, attempts) == ("pending", 2) and "Refused" in error

    idle_smtp_server.start()
    later = utc_now() + dt.timedelta(hours=2)  # past the next-run backoff
    report = deliver_pending(warehouse_path, mail.transport(), now=lambda: later)
    assert len(report.delivered) == 1 and len(idle_smtp_server.received) == 1
    assert _status(warehouse_path)[0][0] == "sent"


def test_5xx_is_failed_with_the_reason(warehouse_path, mail, smtp_server):
    _record(warehouse_path, _message(mail))
    smtp_server.reply_next("550 5.1.1 no such user")
    report = deliver_pending(warehouse_path, mail.transport(), sleep=lambda s: None)
    assert len(report.failed) == 1
    [(status, attempts, error)] = _status(warehouse_path)
    assert status == "failed" and attempts == 1 and "550" in error and "no such user" in error


def test_transient_failures_give_up_after_max_attempts(warehouse_path, mail, smtp_server):
    _record(warehouse_path, _message(mail))
    smtp_server.reply_next(*["421 4.7.0 busy"] * 5)
    report = deliver_pending(
        warehouse_path, mail.transport(), max_attempts=3, retry_delays_s=(0, 0, 0, 0)
    )
    assert len(report.failed) == 1
    [(status, attempts, error)] = _status(warehouse_path)
    assert status == "failed" and attempts == 3 and error.startswith("gave up after 3 attempts")


class Crash(RuntimeError):
    pass


def _crash(_message_id):
    raise Crash("killed between send and mark")


def test_crash_between_smtp_send_and_mark_does_not_resend(warehouse_path, mail, smtp_server):
    _record(warehouse_path, _message(mail))
    with pytest.raises(Crash):
        deliver_pending(warehouse_path, mail.transport(), after_send=_crash)
    assert len(smtp_server.received) == 1
    report = deliver_pending(warehouse_path, mail.transport(), stale_after_s=0)
    assert report.uncertain and not report.delivered
    assert len(smtp_server.received) == 1
    assert _status(warehouse_path)[0][0] == "uncertain"


def test_crash_between_outbox_write_and_mark_is_recovered(warehouse_path, pipeline_env):
    mail = MailSettings.from_env(pipeline_env / "outbox", {})
    _record(warehouse_path, _message(mail))
    with pytest.raises(Crash):
        deliver_pending(warehouse_path, mail.transport(), after_send=_crash)
    report = deliver_pending(warehouse_path, mail.transport(), stale_after_s=0)
    assert not report.uncertain
    [(status, attempts, _)] = _status(warehouse_path)
    assert (status, attempts) == ("written", 1)
    assert len(list((pipeline_env / "outbox").glob("*.eml"))) == 1


def test_outbox_transport_writes_eml(tmp_path):
    transport = OutboxTransport(tmp_path / "outbox")
    outcome = transport.send("<abc@example.org>", "x@example.org", "Subject: hi\n\nbody\n")
    assert outcome.accepted and transport.already_delivered("<abc@example.org>") == outcome.location


def test_security_mode_is_validated():
    with pytest.raises(ValueError, match="SMTP_SECURITY"):
        SmtpSettings(host="h", security="tls")
    assert SmtpTransport(SmtpSettings(host="h", security="ssl")).config.effective_port == 465
