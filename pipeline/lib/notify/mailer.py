"""Everything needed to turn an Email into a recorded OutgoingMessage and deliver it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from pathlib import Path

from pipeline.lib.notify.links import Links
from pipeline.lib.notify.outbox import OutgoingMessage
from pipeline.lib.notify.render import Email, build_message, make_message_id, sender_domain
from pipeline.lib.notify.secret import unsubscribe_secret
from pipeline.lib.notify.transport import Transport, transport_for
from pipeline.lib.settings.notify import DEFAULT_PUBLIC_URL, SmtpSettings, public_url, smtp_settings

SAMPLE_SUBJECT_PREFIX = "[sample] "


@dataclass(frozen=True)
class MailSettings:
    smtp: SmtpSettings
    outbox: Path
    unsubscribe_secret: str = field(repr=False)
    public_url: str = DEFAULT_PUBLIC_URL

    @classmethod
    def from_env(cls, outbox: Path, environ: dict | None = None) -> MailSettings:
        return cls(
            smtp=smtp_settings(environ),
            outbox=Path(outbox),
            unsubscribe_secret=unsubscribe_secret(environ),
            public_url=public_url(environ),
        )

    @property
    def links(self) -> Links:
        return Links(self.public_url, self.unsubscribe_secret)

    def transport(self) -> Transport:
        """Where messages go: SMTP when SMTP_HOST is set, else `.eml` files in the outbox."""
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
        item set or period), so the same message always gets the same id. A message built from
        sample data says so in its subject, where a reader sees it before opening it."""
        if is_sample and not email.subject.startswith(SAMPLE_SUBJECT_PREFIX):
            email = replace(email, subject=f"{SAMPLE_SUBJECT_PREFIX}{email.subject}")
        message_id = make_message_id(
            sender_domain(self.smtp.from_email), email.recipient, email.kind, *identity
        )
        raw = build_message(
            email,
            message_id=message_id,
            from_name=self.smtp.from_name,
            from_email=self.smtp.from_email,
            user_id=user_id,
            links=self.links,
            is_sample=is_sample,
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
