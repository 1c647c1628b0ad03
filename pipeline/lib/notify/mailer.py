"""Everything needed to turn an Email into a recorded OutgoingMessage and deliver it."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.lib.notify.outbox import OutgoingMessage
from pipeline.lib.notify.render import Email, build_message, make_message_id, sender_domain
from pipeline.lib.notify.transport import SmtpSettings, Transport, transport_for
from pipeline.lib.notify.unsubscribe import DEFAULT_BASE_URL, DEV_SECRET

UNSUBSCRIBE_SECRET_VARIABLE = "PIPELINE_UNSUBSCRIBE_SECRET"
UNSUBSCRIBE_URL_VARIABLE = "PIPELINE_UNSUBSCRIBE_URL"


def unsubscribe_secret(environ: dict | None = None) -> str:
    """PIPELINE_UNSUBSCRIBE_SECRET, or the development secret when it is unset."""
    env = os.environ if environ is None else environ
    return env.get(UNSUBSCRIBE_SECRET_VARIABLE) or DEV_SECRET


@dataclass(frozen=True)
class MailSettings:
    smtp: SmtpSettings
    outbox: Path
    unsubscribe_secret: str = field(default=DEV_SECRET, repr=False)
    unsubscribe_base_url: str = DEFAULT_BASE_URL

    @classmethod
    def from_env(cls, outbox: Path, environ: dict | None = None) -> MailSettings:
        env = os.environ if environ is None else environ
        return cls(
            smtp=SmtpSettings.from_env(env),
            outbox=Path(outbox),
            unsubscribe_secret=unsubscribe_secret(env),
            unsubscribe_base_url=env.get(UNSUBSCRIBE_URL_VARIABLE) or DEFAULT_BASE_URL,
        )

    def transport(self) -> Transport:
        return transport_for(self.smtp, self.outbox)

    def compose(
        self,
        email: Email,
        *,
        identity: tuple[str, ...],
        user_id: str | None = None,
        tenant_id: str | None = None,
        period: str | None = None,
        item_keys: tuple[str, ...] = (),
        is_sample: bool = False,
        date: dt.datetime | None = None,
    ) -> OutgoingMessage:
        """Render `email`. The Message-ID is derived from recipient, kind and `identity` (the
        item set or period), so the same message always gets the same id."""
        message_id = make_message_id(
            sender_domain(self.smtp.from_email), email.recipient, email.kind, *identity
        )
        raw = build_message(
            email,
            message_id=message_id,
            from_name=self.smtp.from_name,
            from_email=self.smtp.from_email,
            user_id=user_id,
            secret=self.unsubscribe_secret,
            unsubscribe_base_url=self.unsubscribe_base_url,
            date=date,
        )
        return OutgoingMessage(
            message_id=message_id,
            recipient=email.recipient,
            kind=email.kind,
            subject=email.subject,
            raw_message=raw,
            user_id=user_id,
            tenant_id=tenant_id,
            period=period,
            item_keys=item_keys,
            is_sample=is_sample,
        )
