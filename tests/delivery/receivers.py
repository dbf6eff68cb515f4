"""Real receivers for the delivery tests, on the test's own loop at port 0: an
SMTP server (aiosmtpd's protocol, not its Controller, which cannot use port 0)
that keeps every message and de-duplicates by Message-ID as a mail server and
client do, and an HTTP server that answers webhook calls with the statuses it
is given, keeping each request."""

from __future__ import annotations

import asyncio
import email
import socket
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session


class Inbox:
    """aiosmtpd's handler: every DATA received, and the messages by Message-ID."""

    def __init__(self) -> None:
        self.raw: list[Message] = []  # every delivery, duplicates included
        self.by_id: dict[str, Message] = {}
        self.arrived = asyncio.Condition()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        content = envelope.content
        assert isinstance(content, bytes)
        message = email.message_from_bytes(content)
        self.raw.append(message)
        self.by_id.setdefault(str(message["Message-ID"]), message)
        async with self.arrived:
            self.arrived.notify_all()
        return "250 OK"

    async def wait_for(self, count: int, timeout: float = 15.0) -> list[Message]:
        """Until ``count`` distinct messages arrived; them, in arrival order."""
        async with asyncio.timeout(timeout), self.arrived:
            await self.arrived.wait_for(lambda: len(self.by_id) >= count)
        return list(self.by_id.values())

    def to(self, address: str) -> list[Message]:
        return [m for m in self.by_id.values() if m["To"] == address]


def reserved_port() -> socket.socket:
    """A bound, not listening socket: connections to its port are refused
    until :func:`smtp_server` listens on it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock


async def smtp_server(
    inbox: Inbox, sock: socket.socket | None = None
) -> tuple[asyncio.Server, int]:
    loop = asyncio.get_running_loop()
    if sock is None:
        sock = reserved_port()
    server = await loop.create_server(lambda: SMTP(inbox, hostname="mx.test"), sock=sock)
    return server, sock.getsockname()[1]


def parts(message: Message) -> tuple[str, str]:
    """(plain text, HTML) of a message."""
    text = html = ""
    for part in message.walk():
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        if part.get_content_type() == "text/plain":
            text = payload.decode()
        elif part.get_content_type() == "text/html":
            html = payload.decode()
    return text, html


@dataclass
class Call:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A webhook receiver: answers each call with the next status of
    ``statuses`` (then 200), keeping every call."""

    statuses: list[int] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    port: int = 0
    server: Any = None

    async def start(self) -> Receiver:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode().split("\r\n")[1:]
        headers = {
            k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines if line)
        }
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        status = self.statuses.pop(0) if self.statuses else 200
        self.calls.append(Call(headers, body))
        writer.write(
            f"HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode()
        )
        await writer.drain()
        writer.close()
        async with self.changed:
            self.changed.notify_all()

    async def wait_for(self, count: int, timeout: float = 15.0) -> list[Call]:
        async with asyncio.timeout(timeout), self.changed:
            await self.changed.wait_for(lambda: len(self.calls) >= count)
        return self.calls

    async def close(self) -> None:
        self.server.close()
        await self.server.wait_closed()
