"""A real SMTP server on loopback (aiosmtpd) that records messages and can be told to answer
the next DATA commands with an error code (e.g. 451 then 250), for delivery tests."""

from __future__ import annotations

import socket
from collections import deque
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ReceivedMessage:
    sender: str
    recipients: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=policy.default)


@dataclass
class _Handler:
    received: list[ReceivedMessage] = field(default_factory=list)
    replies: deque = field(default_factory=deque)

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.replies:
            reply = self.replies.popleft()
            if not reply.startswith("250"):
                return reply
        self.received.append(
            ReceivedMessage(envelope.mail_from, list(envelope.rcpt_tos), envelope.content)
        )
        return "250 Message accepted for delivery"


class FakeSMTPServer:
    def __init__(self, port: int | None = None) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.handler = _Handler()
        self._controller = Controller(self.handler, hostname=self.host, port=self.port)

    def start(self) -> FakeSMTPServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    @property
    def received(self) -> list[ReceivedMessage]:
        return self.handler.received

    def reply_next(self, *replies: str) -> None:
        """Answer the next DATA commands with these replies, e.g. "451 4.3.0 try later"."""
        self.handler.replies.extend(replies)

    def env(self) -> dict[str, str]:
        return {
            "SMTP_HOST": self.host,
            "SMTP_PORT": str(self.port),
            "SMTP_SECURITY": "none",
            "SMTP_FROM_EMAIL": "pipeline@example.org",
            "SMTP_FROM_NAME": "Pipeline",
            # User e-mail is refused over SMTP while the development secret signs its links.
            "PIPELINE_UNSUBSCRIBE_SECRET": "test-secret-for-the-loopback-smtp-server",
        }
