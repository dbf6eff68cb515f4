"""Real clients for integration tests: a picows websocket visitor and a grpc.aio
operator, against a real Parley started on 127.0.0.1 with port 0."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import grpc
import orjson
import pytest
from argon2 import PasswordHasher
from google.rpc import error_details_pb2, status_pb2
from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from control.runner import Parley, ServeConfig
from control.stubs import Stubs
from edge.config import EdgeConfig
from engine.chat import journal
from engine.chat.journal import BACKLOG
from engine.chat.limits import Limits
from engine.delivery.settings import RetryPolicy
from engine.runtime import Clock
from parley.v1 import common_pb2, control_pb2, control_pb2_grpc, operator_pb2, operator_pb2_grpc
from tests.conftest import CHEAP_HASHER

DETAILS_KEY = "grpc-status-details-bin"


def no_replay_timer(monkeypatch: pytest.MonkeyPatch) -> None:
    """Replays that wait for room look again only after an hour: a test that
    ends well under this went on because its reader woke it (every reader of
    the server's says when it has room again), not because it looked."""
    monkeypatch.setattr(journal, "REPLAY_WAIT", 3600.0)


def masked_text_frame(payload: bytes, opcode: int = 0x1) -> bytes:
    """A client-to-server websocket frame (RFC 6455, masked, final): text, or
    the frame of ``opcode`` (0x9 a ping)."""
    mask = os.urandom(4)
    n = len(payload)
    first = 0x80 | opcode
    if n < 126:
        head = bytes([first, 0x80 | n])
    elif n < 65536:
        head = bytes([first, 0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([first, 0x80 | 127]) + n.to_bytes(8, "big")
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


PING = 0x9


def pings(count: int) -> bytes:
    """``count`` websocket pings of the largest payload (125 bytes), at once."""
    return masked_text_frame(b"p" * 125, PING) * count


async def read_frame(reader: asyncio.StreamReader) -> bytes:
    """One unmasked server frame's payload (RFC 6455, section 5.2)."""
    head = await reader.readexactly(2)
    size = head[1] & 0x7F
    if size == 126:
        size = int.from_bytes(await reader.readexactly(2), "big")
    elif size == 127:
        size = int.from_bytes(await reader.readexactly(8), "big")
    return await reader.readexactly(size)


async def hears_reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A raw visitor's end was reset: after what had reached it, an error."""
    try:
        async with asyncio.timeout(10):
            while await reader.read(1 << 16):
                pass
    except ConnectionResetError:
        return
    finally:
        writer.close()
    raise AssertionError("the connection ended without a reset")


async def raw_visitor(
    port: int, site: str, rcvbuf: int
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A visitor websocket on a plain socket, which reads only when the test
    does, its kernel receive buffer ``rcvbuf`` bytes: upgraded, nothing sent."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        (
            f"GET /v1/visitor?site={site} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101"), head
    writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    return reader, writer


async def raw_resume(
    port: int, site: str, token: str, connections: set[Any]
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, Any]:
    """A visitor resuming its chat from seq 0 on a raw socket that reads
    nothing, small kernel buffers at both ends (a slow line): the socket, and
    the server's connection for it (the one new in ``connections``)."""
    before = set(connections)
    reader, writer = await raw_visitor(port, site, rcvbuf=16384)
    (conn,) = set(connections) - before
    server_end = conn.transport.underlying_transport.get_extra_info("socket")
    server_end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16384)
    hello = {"type": "hello", "v": 1, "token": token, "last_seq": 0}
    writer.write(masked_text_frame(orjson.dumps(hello)))
    await writer.drain()
    return reader, writer, conn


@asynccontextmanager
async def running(
    tmp_path: Path,
    stream_backlog: int = 100_000,
    clock: Clock | None = None,
    grace_seconds: float = 30.0,
    abandon_seconds: float = 60.0,
    password_hasher: PasswordHasher = CHEAP_HASHER,
    limits: Limits | None = None,
    history: bool = False,  # the index's process: only for the tests that read it
    delivery: RetryPolicy | None = None,
    message_backlog: int = BACKLOG,
    **edge: Any,
) -> AsyncIterator[Parley]:
    config = ServeConfig(
        data_dir=tmp_path / "data",
        http_port=0,
        grpc_port=0,
        demo=True,
        stream_backlog=stream_backlog,
        clock=clock,
        grace_seconds=grace_seconds,
        abandon_seconds=abandon_seconds,
        limits=limits or Limits(),
        edge=EdgeConfig(port=0, **edge),
        password_hasher=password_hasher,
        history=history,
        delivery=delivery,
        message_backlog=message_backlog,
    )
    app = Parley(config)
    await app.start()
    try:
        yield app
    finally:
        # The gRPC server gives open streams a second to end on their own; the
        # clients are done, so end them first and the stop takes milliseconds.
        for client in _clients.pop(app, []):
            await client.close()
        await app.stop()


_clients: weakref.WeakKeyDictionary[Parley, list[Operator]] = weakref.WeakKeyDictionary()


class _Listener(WSListener):  # type: ignore[misc]
    def __init__(self, inbox: asyncio.Queue[Any]) -> None:
        self.inbox = inbox
        self.close_code: int | None = None

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is WSMsgType.TEXT:
            self.inbox.put_nowait(orjson.loads(frame.get_payload_as_bytes()))
        elif frame.msg_type is WSMsgType.CLOSE:
            self.close_code = frame.get_close_code()
            transport.disconnect()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.inbox.put_nowait({"type": "_disconnected", "code": self.close_code})


class Visitor:
    """A websocket visitor speaking protocol v1."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.inbox: asyncio.Queue[Any] = asyncio.Queue()
        self.transport: WSTransport | None = None
        self.listener: _Listener | None = None
        self.seen: list[dict[str, Any]] = []
        self.backlog: list[dict[str, Any]] = []
        self.welcome: dict[str, Any] = {}

    async def connect(self, origin: str | None = None, user_agent: str = "") -> Visitor:
        headers = {"Origin": origin} if origin else {}
        if user_agent:
            headers["User-Agent"] = user_agent
        self.transport, self.listener = await ws_connect(
            lambda: _Listener(self.inbox), self.url, extra_headers=headers or None
        )
        return self

    def send(self, doc: dict[str, Any]) -> None:
        self.send_raw(orjson.dumps(doc))

    def send_raw(self, data: bytes, binary: bool = False) -> None:
        assert self.transport is not None
        self.transport.send(WSMsgType.BINARY if binary else WSMsgType.TEXT, data)

    async def recv(self, kind: str | None = None, timeout: float = 5.0) -> dict[str, Any]:
        """The first frame of ``kind`` (any kind if None); frames of other kinds
        stay queued for later calls, in order."""
        for i, frame in enumerate(self.backlog):
            if kind is None or frame["type"] == kind:
                return self.backlog.pop(i)
        async with asyncio.timeout(timeout):
            while True:
                frame = await self.inbox.get()
                self.seen.append(frame)
                if kind is None or frame["type"] == kind:
                    return frame
                if frame["type"] == "_disconnected":
                    raise ConnectionResetError(f"closed with code {frame['code']}")
                self.backlog.append(frame)

    async def hello(self, **fields: Any) -> dict[str, Any]:
        self.send({"type": "hello", "v": 1, **fields})
        self.welcome = await self.recv("welcome")
        return self.welcome

    async def round_trip(self) -> None:
        """A ping answered: every frame the server sent before it is queued here."""
        self.send({"type": "ping"})
        await self.recv("pong")

    def frames(self) -> list[dict[str, Any]]:
        """Every frame received so far (taken or still queued), in order."""
        while not self.inbox.empty():
            frame = self.inbox.get_nowait()
            self.seen.append(frame)
            self.backlog.append(frame)
        return list(self.seen)

    async def close(self) -> None:
        if self.transport is not None:
            self.transport.disconnect()
            await self.transport.wait_disconnected()


def visitor_url(app: Parley, site: str | None = None) -> str:
    assert app.demo is not None
    return f"ws://127.0.0.1:{app.http_port}/v1/visitor?site={site or app.demo['site']}"


ROUND_TRIP = "sroundtrip-"  # a conversation id no site has: the marker of a round trip


class Api(Stubs):
    """One stub per control-plane service, over one grpc.aio channel."""


class Operator:
    """An operator over gRPC: login, then one session stream."""

    def __init__(self, app: Parley) -> None:
        _clients.setdefault(app, []).append(self)
        self.closed = False
        self.channel = grpc.aio.insecure_channel(f"127.0.0.1:{app.grpc_port}")
        self.auth = control_pb2_grpc.AuthStub(self.channel)
        self.api = Api(self.channel)
        self.sessions = operator_pb2_grpc.OperatorSessionStub(self.channel)
        self.token = ""
        self.id = ""  # the operator's id, once known
        self.events: asyncio.Queue[Any] = asyncio.Queue()
        self.outbox: asyncio.Queue[Any] = asyncio.Queue()
        self.call: Any = None
        self.backlog: list[Any] = []
        self._reader: asyncio.Task[None] | None = None
        self._trips = 0
        self.seen: list[Any] = []  # every event received, in order

    async def login(self, email: str, password: str) -> Operator:
        reply = await self.auth.Login(control_pb2.LoginRequest(email=email, password=password))
        self.token = reply.token
        return self

    @property
    def metadata(self) -> list[tuple[str, str]]:
        return [("authorization", f"Bearer {self.token}")]

    async def open(self, hello: bool = True, resume: dict[str, int] | None = None) -> None:
        async def commands() -> AsyncIterator[Any]:
            while True:
                item = await self.outbox.get()
                if item is None:
                    return
                yield operator_pb2.OperatorCommandBatch(commands=item)

        self.call = self.sessions.Connect(commands(), metadata=self.metadata)

        async def read() -> None:
            try:
                async for batch in self.call:
                    for event in batch.events:
                        self.seen.append(event)
                        self.events.put_nowait(event)
            except grpc.aio.AioRpcError as error:
                self.events.put_nowait(error)

        self._reader = asyncio.create_task(read())
        if hello:
            points = [
                common_pb2.ResumePoint(conversation_id=c, after_seq=s)
                for c, s in (resume or {}).items()
            ]
            self.send_commands(
                operator_pb2.OperatorCommand(hello=operator_pb2.OperatorHello(resume=points))
            )
            await self.recv("ready")

    def send_commands(self, *commands: Any) -> None:
        self.outbox.put_nowait(list(commands))

    def say(self, conversation_id: str, cid: str, text: str) -> None:
        self.send_commands(
            operator_pb2.OperatorCommand(
                send=operator_pb2.OperatorSend(
                    conversation_id=conversation_id, client_msg_id=cid, text=text
                )
            )
        )

    async def recv(self, kind: str | None = None, timeout: float = 5.0) -> Any:
        """The first event of ``kind``; others stay queued for later calls."""
        return (await self.first(*([kind] if kind else []), timeout=timeout))[1]

    async def first(self, *kinds: str, timeout: float = 5.0) -> tuple[str, Any]:
        """The first event of any of ``kinds`` (any kind if none), with its kind;
        others stay queued for later calls, in order."""
        for i, event in enumerate(self.backlog):
            which = event.WhichOneof("event")
            if not kinds or which in kinds:
                del self.backlog[i]
                return which, getattr(event, which)
        async with asyncio.timeout(timeout):
            while True:
                event = await self.events.get()
                if isinstance(event, Exception):
                    raise event
                which = event.WhichOneof("event")
                if not kinds or which in kinds:
                    return which, getattr(event, which)
                self.backlog.append(event)

    async def round_trip(self) -> None:
        """A command answered: every event the server sent before the answer is
        queued here. Commands on a stream are handled in order, so this also waits
        for the ones sent before it."""
        self._trips += 1
        marker = f"{ROUND_TRIP}{self._trips:012d}"
        self.send_commands(
            operator_pb2.OperatorCommand(
                action=operator_pb2.ChatAction(conversation_id=marker, join=operator_pb2.JoinChat())
            )
        )
        async with asyncio.timeout(5):
            while True:
                event = await self.events.get()
                if isinstance(event, Exception):
                    raise event
                if event.WhichOneof("event") == "error" and event.error.conversation_id == marker:
                    return  # unknown_conversation, or permission_denied for some roles
                self.backlog.append(event)

    def received(self) -> list[tuple[str, Any]]:
        """Every event received so far (taken or still queued), in order, with its
        kind; the answers to round trips left out."""
        events = [(e.WhichOneof("event"), getattr(e, e.WhichOneof("event"))) for e in self.seen]
        return [
            (kind, e)
            for kind, e in events
            if not (kind == "error" and e.conversation_id.startswith(ROUND_TRIP))
        ]

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.outbox.put_nowait(None)
        if self.call is not None:
            self.call.cancel()
        if self._reader is not None:
            self._reader.cancel()
        await self.channel.close()


async def settled(app: Parley, *clients: Visitor | Operator) -> None:
    """The engine settled, then a round trip on each client's stream: what the
    server had to send them is queued at the clients now, and what has not come
    will not come from anything done before. The way to show absence."""
    assert app.engine is not None
    await app.engine.settle()
    for client in clients:
        await client.round_trip()


async def demo_operator(app: Parley) -> Operator:
    assert app.demo is not None
    return await Operator(app).login(app.demo["email"], app.demo["password"])


async def owner(app: Parley) -> Operator:
    """The account owner: made at the first start; after a restart its
    credentials are in the data directory."""
    creds = app.owner or orjson.loads((app.config.data_dir / "owner-credentials.json").read_bytes())
    return await Operator(app).login(creds["email"], creds["password"])


async def on_duty(app: Parley) -> Operator:
    """The demo operator, online: a site takes chats only while someone is."""
    op = await demo_operator(app)
    await op.open()
    return op


def error_info(error: grpc.aio.AioRpcError) -> error_details_pb2.ErrorInfo:
    """The google.rpc.ErrorInfo a refusal carries in its trailing metadata
    (``grpc-status-details-bin``); fails if it carries none."""
    raw = [v for k, v in error.trailing_metadata() or () if k == DETAILS_KEY]
    assert raw, f"no {DETAILS_KEY} in {error}"
    status = status_pb2.Status.FromString(raw[0])
    assert status.code == error.code().value[0], (status, error)
    assert status.details, f"no details in {status}"
    info = error_details_pb2.ErrorInfo()
    assert status.details[0].Unpack(info), status.details[0]
    return info
