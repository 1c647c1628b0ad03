"""send_operator_alert: the one channel other domains use to tell operators something is wrong.

Operators are PIPELINE_OPERATOR_EMAILS (comma-separated) or the users with role "operator" in
data/config/users.yaml. The same key is sent at most once per re-notify interval
(PIPELINE_ALERT_RENOTIFY_HOURS, default 6 h): the one de-duplication layer of operator alerts
(the alert sensor sends a still-failing check's reminders under its first alert's key).
Messages go through the notify outbox (SMTP when SMTP_HOST is set, else .eml files in
PIPELINE_OUTBOX) and are logged in notify.email_log; also posted to Slack when it is configured
(pipeline.lib.slack_alerts).
"""

from __future__ import annotations

import logging

from pipeline.defs.shared.resources import WarehouseResource
from pipeline.lib import alerting, slack_alerts
from pipeline.lib.merge import merge_sql
from pipeline.lib.notify.mailer import MailSettings
from pipeline.lib.notify.outbox import deliver_pending, record
from pipeline.lib.notify.render import Email
from pipeline.lib.notify.users import operator_emails
from pipeline.lib.raw_events import utc_now
from pipeline.lib.settings import settings
from pipeline.lib.settings.notify import renotify_interval

log = logging.getLogger(__name__)

KIND = "operator_alert"
# A sensor waits for this at most: alerts must not stall the daemon.
RETRY_DELAYS_S = (0.5, 1.5)


def send_operator_alert(
    *,
    key: str,
    subject: str,
    body: str,
    warehouse: WarehouseResource,
    severity: str = "high",
) -> bool:
    """Send `subject`/`body` to every operator unless `key` was sent within the re-notify
    interval. True when at least one message was sent or written to the outbox. `warehouse`:
    the calling sensor's resource, where the alert is recorded."""
    paths = settings()
    recipients = operator_emails(paths.config_dir)
    if not recipients:
        log.warning("operator alert %r not sent: no operators configured", key)
        return False
    mail = MailSettings.from_env(paths.outbox)
    now = utc_now()
    severity = severity if severity in alerting.SEVERITIES else "high"
    with warehouse.get_connection() as conn:
        last = conn.execute(
            "SELECT last_sent_at FROM notify.operator_alerts WHERE alert_key = ?", [key]
        ).fetchone()
        if last and now - last[0] < renotify_interval():
            return False
        messages = [
            mail.compose(
                Email(
                    kind=KIND,
                    recipient=recipient,
                    subject=f"[{severity.upper()}] {subject}",
                    heading=subject,
                    intro=f"Severity: {severity}",
                    paragraphs=(body,),
                    urgency=severity,
                    footer="You receive this because you operate the pipeline.",
                ),
                identity=(key, now.isoformat()),
                period=key,
                date=now,
            )
            for recipient in recipients
        ]
        ids = record(conn, messages, now)
        conn.execute(
            merge_sql(
                "notify.operator_alerts",
                ["alert_key", "last_sent_at", "last_message_id"],
                "VALUES (?, ?, ?)",
                update="last_sent_at = incoming.last_sent_at,"
                " last_message_id = incoming.last_message_id,"
                " times_sent = existing.times_sent + 1",
            ),
            [key, now, messages[0].message_id],
        )
    # Earlier alerts still waiting (a refused connection last time) go out with this one.
    report = deliver_pending(
        warehouse.backend,
        mail.transport(),
        kinds=[KIND],
        retry_delays_s=RETRY_DELAYS_S,
    )
    # Slack second, so a slow or failing Slack never holds e-mail back.
    slack_alerts.post_alert(f"[{severity.upper()}] {subject}", body)
    return any(message_id in report.delivered for message_id in ids)
