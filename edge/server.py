"""The websocket edge: glue between picows connections and engine sessions.

picows calls back on each frame (no task per connection), which keeps an idle
visitor near 13 KiB. Each connection owns a sans-I/O
:class:`~edge.visitor.protocol.VisitorProtocol` (frames in, commands out), a
:class:`~edge.visitor.connection.ConnectionState` (hello state, held frames, the
hello deadline) and a :class:`~engine.chat.sessions.VisitorSession`, onto which
:mod:`engine.chat.dispatch` carries the commands; this module only moves bytes
and arms the hello deadline's timer.

HTTP requests that are not websocket upgrades get the static pages (the widget
script, the demo page, the console) from the same port.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import socket
import struct
import time
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

from picows import (
    WSAutoPingStrategy,
    WSCloseCode,
    WSFrame,
    WSListener,
    WSMsgType,
    WSTransport,
    WSUpgradeRequest,
    WSUpgradeResponseWithListener,
    ws_create_server,
)

from edge import files, static
from edge.bridge.connection import ConsoleConnection
from edge.bridge.origin import console_origin_allowed
from edge.bridge.relay import Api
from edge.config import EdgeConfig
from edge.console_login import LOGIN_PATH, LoginConnection
from edge.visitor.codes import CLOSE_GOING_AWAY, CLOSE_INTERNAL, CLOSE_RATE, CLOSE_TIMEOUT
from edge.visitor.connection import ConnectionState
from edge.visitor.frames import (
    PONG,
    Command,
    FrameError,
    Hello,
    Ping,
    encode_epoch_changed,
    encode_error,
    encode_event,
    encode_welcome,
)
from edge.visitor.protocol import TokenBucket, VisitorProtocol
from engine.app import Engine
from engine.backup import epoch_changed
from engine.chat.commands import VisitorCommand
from engine.chat.dispatch import visitor_command, visitor_hello
from engine.chat.events import Event
from engine.chat.records import Site
from engine.chat.sessions import VisitorSession, failure
from engine.runtime import Clock, Timer

log = logging.getLogger("parley.edge")

VISITOR_PATH = "/v1/visitor"
CONSOLE_PATH = "/v1/console"
_LINGER_ZERO = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 seconds: close is a reset


def origin_allowed(site: Site, origin: str | None) -> bool:
    """Exact scheme, host and port match; a request without Origin (not a browser)
    passes, since only browsers need protecting from other pages."""
    if origin is None:
        return True
    return origin.rstrip("/").lower() in site.allowed_origins


def _json_response(status: int, code: str, message: str) -> WSUpgradeResponseWithListener:
    return static.json_error(status, code, message)


class VisitorConnection(WSListener):
    """One visitor websocket."""

    def __init__(self, edge: Edge, site: Site, peer: str, user_agent: str = "") -> None:
        self.edge = edge
        self.peer = peer
        self.transport: WSTransport | None = None
        # The rate limits run on the OS clock (per frame, the hot path); the hello
        # deadline on the engine's injected clock, so tests can move it.
        self.protocol = VisitorProtocol(
            time.monotonic(), edge.config.visitor_rate, edge.config.visitor_burst
        )
        self.state = ConnectionState(edge.engine.clock.monotonic(), edge.config.hello_timeout)
        self.session = VisitorSession(edge.engine, site, self)
        self.session.user_agent = user_agent
        self._ip = ""  # set once counted against the per-address limit
        self._deadline: Timer | None = None  # on the engine's clock

    # -- picows callbacks -------------------------------------------------------------

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport
        peer = transport.underlying_transport.get_extra_info("peername")
        ip = peer[0] if peer else ""
        if not self.edge.admit(ip):
            self._send(
                encode_error(
                    FrameError("too_many_connections", "too many chats open from your address")
                )
            )
            self._close(CLOSE_RATE, "too many connections")
            return
        self._ip = ip
        self.session.ip = ip
        self.protocol.shared = self.edge.ip_buckets[ip]
        self.edge.connections.add(self)
        self.edge.engine.connections.visitor_websockets += 1
        # Past this many unread bytes picows calls pause_writing: we drop the
        # client rather than buffer without bound (it resumes by seq).
        transport.underlying_transport.set_write_buffer_limits(
            high=self.edge.config.send_buffer_limit
        )
        deadline = self.state.hello_deadline
        if deadline is not None:
            self._deadline = self.edge.engine.clock.call_later(
                deadline - self.edge.engine.clock.monotonic(), self._hello_overdue
            )

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if self._ip:
            self.edge.release(self._ip)
            self._ip = ""
        if self in self.edge.connections:
            self.edge.connections.discard(self)
            self.edge.engine.connections.visitor_websockets -= 1
        if self._deadline is not None:
            self._deadline.cancel()
        self.session.detach()
        self.transport = None

    def pause_writing(self) -> None:
        log.info("visitor connection dropped: it does not read what it is sent")
        transport = self.transport
        if transport is not None:
            # The close frame would queue behind the unread data: just cut it,
            # with a reset. A plain close would leave the kernel's socket in
            # FIN-WAIT-1 holding its send queue (megabytes nobody reads) until
            # TCP gives up; a zero linger drops the queue and sends a reset.
            sock = transport.underlying_transport.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_ZERO)
            transport.disconnect(graceful=False)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        kind = frame.msg_type
        if kind is WSMsgType.TEXT or kind is WSMsgType.BINARY:
            if not frame.fin:
                self._send(encode_error(FrameError("fragmented", "send whole frames")))
                return
            command = self.protocol.receive(
                frame.get_payload_as_bytes(), kind is WSMsgType.TEXT, time.monotonic()
            )
            self._handle(command)
        elif kind is WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()
        elif kind is WSMsgType.CONTINUATION:
            pass  # the head frame was refused already

    # -- commands --------------------------------------------------------------------

    def _handle(self, frame: Command | FrameError) -> None:
        command = self.state.accept(frame)
        if command is None:
            return  # held until the running hello completes
        cls = type(command)
        if cls is FrameError:
            error = cast(FrameError, command)
            self._send(encode_error(error))
            if error.close_code:
                self._close(error.close_code, error.code)
        elif cls is Ping:
            self._send(PONG)
        elif cls is Hello:
            self.edge.loop.create_task(self._hello(cast(Hello, command)))
        else:
            visitor_command(self, self.session, cast(VisitorCommand, command))

    async def _hello(self, hello: Hello) -> None:
        welcome = None
        epoch = self.edge.engine.epoch
        changed = epoch_changed(epoch, hello.epoch)
        if changed:
            # Seqs of other data (a restore): said before the replay, which
            # starts from the beginning, so the client drops its copy first.
            self._send(encode_epoch_changed(epoch))
            hello = dataclasses.replace(hello, last_seq=0)
        try:
            welcome = await visitor_hello(self.session, hello)
        except Exception as error:  # a bug: log it, tell the client, keep serving
            log.exception("hello failed")
            self.push(failure(error))
            self._close(CLOSE_INTERNAL, "internal")
        held = self.state.hello_done(welcome is not None)
        if welcome is not None:
            if self._deadline is not None and self.state.hello_deadline is None:
                self._deadline.cancel()
                self._deadline = None
            # The welcome goes before anything the resume replayed? No: replay was
            # pushed during hello; a client tells them apart by type. Welcome last
            # keeps the replay in seq order with live messages.
            self._send(
                encode_welcome(
                    welcome["visitor_id"],
                    welcome["token"],
                    welcome["conversation_id"],
                    welcome["last_seq"],
                    welcome["departments"],
                    epoch,
                    changed,
                    welcome["widget"],
                )
            )
        for frame in held:
            self._handle(frame)

    def _hello_overdue(self) -> None:
        self._deadline = None
        if self.state.deadline_reached():
            self._send(encode_error(FrameError("hello_timeout", "no hello in time")))
            self._close(CLOSE_TIMEOUT, "hello timeout")

    # -- output ------------------------------------------------------------------------

    def push(self, event: Event) -> None:
        self._send(encode_event(event))

    def _send(self, data: bytes) -> None:
        transport = self.transport
        if transport is not None:
            transport.send(WSMsgType.TEXT, data)

    def _close(self, code: int, reason: str) -> None:
        transport = self.transport
        if transport is not None:
            # picows types the code as its enum; our 4xxx application codes are
            # plain ints, which it sends as they are.
            transport.send_close(cast(WSCloseCode, code), reason.encode()[:120])
            transport.disconnect()


class Edge:
    """The websocket and HTTP listener."""

    def __init__(self, engine: Engine, config: EdgeConfig) -> None:
        self.engine = engine
        self.clock: Clock = engine.clock  # the bridge's timers (an edge process has no engine)
        self.config = config
        self.connections: set[VisitorConnection] = set()
        self.consoles: set[ConsoleConnection] = set()
        self.api: Api | None = None  # the bridge's channel to the gRPC API, once open
        self.per_ip: dict[str, int] = {}
        self.ip_buckets: dict[str, TokenBucket] = {}  # one per address with connections
        self.server: asyncio.Server | None = None
        self.loop = asyncio.get_running_loop()
        self.port = 0
        self.demo_site = config.demo_site

    def admit(self, ip: str) -> bool:
        """Count a connection from ``ip``; False when that address has too many."""
        count = self.per_ip.get(ip, 0)
        if count >= self.config.max_per_ip:
            return False
        self.per_ip[ip] = count + 1
        if count == 0:
            config = self.config
            self.ip_buckets[ip] = TokenBucket(time.monotonic(), config.ip_rate, config.ip_burst)
        return True

    def release(self, ip: str) -> None:
        count = self.per_ip.get(ip, 0) - 1
        if count > 0:
            self.per_ip[ip] = count
        else:
            self.per_ip.pop(ip, None)
            self.ip_buckets.pop(ip, None)

    def open_bridge(self, target: str, methods: frozenset[str]) -> None:
        """Serve consoles at CONSOLE_PATH, relaying to the gRPC API at ``target``
        (one channel for all); ``methods`` are the unary methods carried."""
        self.api = Api(target, methods)

    async def start(self) -> int:
        self.server = await ws_create_server(
            self._route,
            self.config.host,
            self.config.port,
            max_frame_size=self.config.hard_frame_limit,
            websocket_handshake_timeout=self.config.hello_timeout,
            enable_auto_ping=True,
            auto_ping_idle_timeout=self.config.idle_timeout,
            auto_ping_reply_timeout=30.0,
            auto_ping_strategy=WSAutoPingStrategy.PING_WHEN_IDLE,
            read_buffer_init_size=1024,
            backlog=self.config.backlog,  # passed on to loop.create_server
        )
        self.port = self.server.sockets[0].getsockname()[1]
        return self.port

    def _route(self, request: WSUpgradeRequest) -> Any:
        try:
            return self._route_unsafe(request)
        except Exception:
            log.exception("routing failed")
            return _json_response(500, "internal", "the server could not handle this request")

    def _route_unsafe(self, request: WSUpgradeRequest) -> Any:
        target = (
            request.path.decode("latin-1") if isinstance(request.path, bytes) else str(request.path)
        )
        parts = urlsplit(target)
        path = parts.path
        if path == CONSOLE_PATH:
            return self._console(request)
        if path == LOGIN_PATH:
            return self._console(request, login=True)
        if path == files.UPLOAD_PATH or path.startswith(files.FILES_PREFIX):
            return files.route(self, request, path, parts.query)  # attachments (edge/files.py)
        if path != VISITOR_PATH:
            return static.respond(path, self, request.headers)
        if request.method not in (b"GET", "GET"):
            return _json_response(405, "bad_request", "use GET")
        query = parse_qs(parts.query)
        site_id = (query.get("site") or [""])[0]
        site = self.engine.directory.sites.get(site_id)
        if site is None:
            return _json_response(404, "unknown_site", f"no site {site_id[:40]!r}")
        headers = request.headers
        origin = headers.get("origin") if headers is not None else None
        if isinstance(origin, bytes):
            origin = origin.decode("latin-1")
        if not origin_allowed(site, origin):
            return _json_response(
                403, "origin_not_allowed", "this page's origin may not open chats on this site"
            )
        agent = headers.get("user-agent") if headers is not None else None
        if isinstance(agent, bytes):
            agent = agent.decode("latin-1")
        return VisitorConnection(self, site, "", (agent or "")[:2000])

    def _console(self, request: WSUpgradeRequest, login: bool = False) -> Any:
        """A console websocket (or its login's): its page's origin checked
        before the upgrade."""
        if request.method not in (b"GET", "GET"):
            return _json_response(405, "bad_request", "use GET")
        if self.api is None:
            return _json_response(503, "bridge_unavailable", "this server has no console bridge")
        headers = request.headers
        origin, host = _header(headers, "origin"), _header(headers, "host")
        if not console_origin_allowed(origin, host, self.config.console_origins):
            return _json_response(
                403, "origin_not_allowed", "this page's origin may not open a console here"
            )
        if login:
            return LoginConnection(self)
        return ConsoleConnection(self, self.api)

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            for conn in list(self.connections):
                conn._close(CLOSE_GOING_AWAY, "server stopping: reconnect and resume")
            for console in list(self.consoles):
                console.close(
                    "server_stopping", "server stopping: reconnect and resume", CLOSE_GOING_AWAY
                )
            await self.server.wait_closed()
        if self.api is not None:
            await self.api.close()


def _header(headers: Any, name: str) -> str | None:
    value = headers.get(name) if headers is not None else None
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    return cast(str | None, value)
