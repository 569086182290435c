"""A real SMTP server on localhost (aiosmtpd) for the notification tests and bench.notifications."""

from __future__ import annotations

import email
import logging
import socket
import threading
from email import policy

from aiosmtpd.controller import Controller

logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP command at INFO


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Mailbox:
    """aiosmtpd handler that keeps what it accepts; `reply` answers DATA with e.g. '550 ...' or '451 ...'."""

    def __init__(self) -> None:
        self.envelopes = []
        self.sessions: set[int] = set()
        self.refused = 0
        self.reply: str | None = None
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's hook name
        with self._lock:
            self.sessions.add(id(session))
            if self.reply:
                self.refused += 1
                return self.reply
            self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    @property
    def count(self) -> int:
        return len(self.envelopes)

    @property
    def connections(self) -> int:
        """SMTP sessions that carried at least one message."""
        return len(self.sessions)

    def messages(self) -> list[email.message.EmailMessage]:
        with self._lock:
            envelopes = list(self.envelopes)
        return [email.message_from_bytes(e.original_content or e.content, policy=policy.default) for e in envelopes]


class SmtpServer:
    """Start/stop a Mailbox on a fixed port (so a test can have the server down, then up, on one address)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.mailbox = Mailbox()
        self._controller: Controller | None = None

    def start(self) -> SmtpServer:
        self._controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def env(self) -> dict[str, str]:
        """The settings a worker process needs to send here."""
        return {"EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(self.port), "EMAIL_USE_TLS": "false"}
