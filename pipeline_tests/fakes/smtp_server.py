"""A real SMTP server on loopback (aiosmtpd) that records messages and can be told to answer
the next DATA commands with an error code (e.g. 451 then 250), for delivery tests."""

from __future__ import annotations

import socket
from collections import deque
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller


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


class _SocketController(Controller):
    """Serves on a socket the test bound itself, so no other process can take the port."""

    def __init__(self, handler: _Handler, sock: socket.socket) -> None:
        host, port = sock.getsockname()
        # aiosmtpd's 5 s start-up budget is too short on a busy CI machine; a fixed server
        # name spares the DNS lookup of socket.getfqdn().
        super().__init__(
            handler, hostname=host, port=port, ready_timeout=60, server_hostname="localhost"
        )
        self._sock = sock

    def _create_server(self):
        return self.loop.create_server(self._factory_invoker, sock=self._sock)


class FakeSMTPServer:
    """Bound to a port of its own on creation; it refuses connections until `start()`, so a
    test can point a client at it before it listens."""

    def __init__(self) -> None:
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self.host, self.port = self._socket.getsockname()
        self.handler = _Handler()
        self._controller = _SocketController(self.handler, self._socket)
        self._started = False

    def start(self) -> FakeSMTPServer:
        self._controller.start()
        self._started = True
        return self

    def stop(self) -> None:
        if self._started:
            self._controller.stop()
        else:
            self._controller.loop.close()
        self._socket.close()

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
        }
