"""Where a rendered message goes: an SMTP server (SMTP_* settings) or, while SMTP_HOST is unset,
an .eml file in PIPELINE_OUTBOX. Each send returns an Outcome: accepted, transient (try again
later: 4xx replies, refused or dropped connections, timeouts) or permanent (5xx replies)."""

from __future__ import annotations

import contextlib
import smtplib
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pipeline.lib.settings.notify import SmtpSettings


@dataclass(frozen=True)
class Outcome:
    status: str  # accepted | transient | permanent
    detail: str = ""
    location: str | None = None  # the .eml path for the outbox transport

    @property
    def accepted(self) -> bool:
        return self.status == "accepted"


class Transport(Protocol):
    name: str
    delivered_status: str  # the email_log status once accepted: sent | written

    def send(self, message_id: str, recipient: str, raw_message: str) -> Outcome: ...

    def already_delivered(self, message_id: str) -> str | None: ...

    def close(self) -> None: ...


def eml_filename(message_id: str) -> str:
    return message_id.strip("<>").replace("@", "_at_").replace("/", "_") + ".eml"


class OutboxTransport:
    """Writes each message to `<outbox>/<message-id>.eml` (atomically: temp file + rename), so a
    file that exists is a message that was delivered, and a rerun can tell."""

    name = "outbox"
    delivered_status = "written"

    def __init__(self, outbox: Path) -> None:
        self.outbox = Path(outbox)

    def path_for(self, message_id: str) -> Path:
        return self.outbox / eml_filename(message_id)

    def send(self, message_id: str, recipient: str, raw_message: str) -> Outcome:
        path = self.path_for(message_id)
        try:
            self.outbox.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(".eml.partial")
            partial.write_text(raw_message, encoding="utf-8")
            partial.replace(path)
        except OSError as error:
            return Outcome("transient", f"could not write {path}: {error}")
        return Outcome("accepted", "written", str(path))

    def already_delivered(self, message_id: str) -> str | None:
        path = self.path_for(message_id)
        return str(path) if path.exists() else None

    def close(self) -> None:
        pass


class SmtpTransport:
    """One SMTP session reused for a batch of messages; reconnects after a dropped connection."""

    name = "smtp"
    delivered_status = "sent"

    def __init__(self, config: SmtpSettings) -> None:
        self.config = config
        self._client: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        cfg = self.config
        if cfg.security == "ssl":
            client = smtplib.SMTP_SSL(
                cfg.host,
                cfg.effective_port,
                timeout=cfg.timeout_s,
                context=ssl.create_default_context(),
            )
        else:
            client = smtplib.SMTP(cfg.host, cfg.effective_port, timeout=cfg.timeout_s)
            if cfg.security == "starttls":
                client.starttls(context=ssl.create_default_context())
        if cfg.username:
            client.login(cfg.username, cfg.password or "")
        return client

    def send(self, message_id: str, recipient: str, raw_message: str) -> Outcome:
        try:
            if self._client is None:
                self._client = self._connect()
            # The recorded message goes out as recorded, with CRLF line ends (smtplib
            # dot-stuffs it): re-serialising it through the email package would re-fold headers.
            wire = raw_message.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")
            refused = self._client.sendmail(self.config.from_email, [recipient], wire)
        except smtplib.SMTPRecipientsRefused as error:
            self._drop()
            return _classify_reply(*next(iter(error.recipients.values())))
        except smtplib.SMTPResponseException as error:
            # The server answered with an error code: 4xx try later, 5xx give up.
            self._drop()
            return _classify_reply(error.smtp_code, error.smtp_error)
        except smtplib.SMTPNotSupportedError as error:
            self._drop()
            return Outcome("permanent", f"server does not support a required feature: {error}")
        except (TimeoutError, smtplib.SMTPException, OSError) as error:
            # Refused or dropped connections, timeouts, TLS handshake failures: try later.
            self._drop()
            return Outcome("transient", f"{type(error).__name__}: {error}")
        if refused:
            return _classify_reply(*next(iter(refused.values())))
        return Outcome("accepted", "accepted by server")

    def already_delivered(self, message_id: str) -> str | None:
        # An SMTP server cannot be asked whether it has a message; see outbox.deliver_pending.
        return None

    def _drop(self) -> None:
        if self._client is not None:
            try:
                self._client.close()
            finally:
                self._client = None

    def close(self) -> None:
        if self._client is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self._client.quit()
            self._drop()


def _classify_reply(code: int, text: bytes | str) -> Outcome:
    detail = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    detail = f"{code} {detail}".strip()
    if 400 <= code < 500 or code == -1:
        return Outcome("transient", detail)
    return Outcome("permanent", detail)


def transport_for(config: SmtpSettings, outbox: Path) -> Transport:
    return SmtpTransport(config) if config.enabled else OutboxTransport(outbox)
