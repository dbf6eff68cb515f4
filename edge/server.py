"""The websocket edge: glue between picows connections and engine sessions.

picows calls back on each frame (no task per connection), and the pings of
silent connections come from one timer for all (edge/idle.py), not a task
each, which keeps an idle visitor small. Each connection owns a sans-I/O
:class:`~edge.visitor.protocol.VisitorProtocol` (frames in, commands out); the
rest of a connection's logic (hello state, the hello deadline, its
:class:`~engine.chat.sessions.VisitorSession`) is :class:`edge.session.
VisitorCore`, which the split mode's engine-side connections share; this
module only moves bytes.

:class:`BaseEdge` is the listener without an engine (the static pages, the
operators' web bridge, the per-address limits), which both modes share;
:class:`Edge` is the one-process server's, with the engine in its process.
HTTP requests that are not websocket upgrades get the static pages (the widget
script, the demo page, the console) from the same port.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
import socket
import struct
import time
from collections.abc import Callable
from typing import Any, Protocol, cast
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
from edge.console_login import LOGIN_PATH, EngineLogin
from edge.idle import KERNEL_CLOCK, IdlePings
from edge.ping import answer_ping
from edge.session import VisitorCore
from edge.visitor.codes import CLOSE_GOING_AWAY, CLOSE_RATE
from edge.visitor.connection import ConnectionState
from edge.visitor.frames import FrameError, encode_error, encode_event
from edge.visitor.protocol import TokenBucket, VisitorProtocol
from engine.app import Engine
from engine.chat.events import Event
from engine.chat.records import Site
from engine.chat.sessions import VisitorSession
from engine.runtime import Clock, Timer

log = logging.getLogger("parley.edge")

VISITOR_PATH = "/v1/visitor"
CONSOLE_PATH = "/v1/console"
PING_REPLY_TIMEOUT = 30.0  # seconds a silent websocket has to answer its ping
CLOSE_GRACE = 10.0  # seconds a closed websocket has to take what was sent before a reset
_LINGER_ZERO = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 seconds: close is a reset
# Headers of unmasked, final text frames (server to client) by payload length:
# short ones from a table, longer ones built (RFC 6455, section 5.2).
_SHORT_HEADERS = [bytes((0x81, n)) for n in range(126)]


def _text_header(size: int) -> bytes:
    if size < 126:
        return _SHORT_HEADERS[size]
    if size < 1 << 16:
        return b"\x81\x7e" + size.to_bytes(2, "big")
    return b"\x81\x7f" + size.to_bytes(8, "big")


def write_frames(transport: WSTransport, payloads: list[bytes]) -> bool:
    """Write ``payloads`` as text frames in one write; False (nothing written)
    for several once a close was sent: nothing may follow a close (picows drops
    such sends too)."""
    if len(payloads) == 1:
        transport.send(WSMsgType.TEXT, payloads[0])
        return True
    if transport.is_close_frame_sent:
        return False
    parts: list[bytes] = []
    append = parts.append
    for data in payloads:
        append(_text_header(len(data)))
        append(data)
    transport.underlying_transport.write(b"".join(parts))
    return True


def origin_allowed(site: Site, origin: str | None) -> bool:
    """Exact scheme, host and port match; a request without Origin (not a browser)
    passes, since only browsers need protecting from other pages."""
    if origin is None:
        return True
    return origin.rstrip("/").lower() in site.allowed_origins


def _json_response(status: int, code: str, message: str) -> WSUpgradeResponseWithListener:
    return static.json_error(status, code, message)


class VisitorConnection(WSListener, VisitorCore):
    """One visitor websocket, its session in this process."""

    # One per connected visitor: its attributes in slots, not a dictionary.
    __slots__ = (
        "edge", "engine", "peer", "transport", "protocol", "state", "session", "_ip",
        "_deadline", "_out", "_counted", "_counted_bytes", "_room_waiters",
    )  # fmt: skip

    def __init__(self, edge: Edge, site: Site, peer: str, user_agent: str = "") -> None:
        self.edge = edge
        self.engine = edge.engine
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
        self._out: list[bytes] | None = None  # frames waiting for this turn's write
        # has_room's tally of _out: its first _counted frames are _counted_bytes.
        self._counted = 0
        self._counted_bytes = 0
        # Replays waiting for room (when_room); while there are, the socket's
        # high water is a quarter of the send bound (see watch_room).
        self._room_waiters: list[Callable[[], None]] | None = None

    # -- picows callbacks -------------------------------------------------------------

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport
        ip = self.edge.accept(self, transport)
        if ip is None:
            return
        self._ip = ip
        self.session.ip = ip
        self.edge.engine.connections.visitor_websockets += 1
        self._arm_deadline()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if self._ip:
            self.edge.release(self._ip)
            self._ip = ""
        if self in self.edge.connections:
            self.edge.connections.discard(self)
            self.edge.engine.connections.visitor_websockets -= 1
        self._disarm_deadline()
        self.session.detach()
        self.transport = None
        if self._room_waiters is not None:
            self._room()  # their replays find it gone and end

    def pause_writing(self) -> None:
        if self._room_waiters is None or past_bound(self.transport, self.edge.config):
            self.edge.cut(self.transport)

    def resume_writing(self) -> None:
        if self._room_waiters is not None:
            self._room()

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        kind = frame.msg_type
        if kind is WSMsgType.TEXT or kind is WSMsgType.BINARY:
            if not frame.fin:
                refusal = self.protocol.control(time.monotonic())
                self._handle(refusal or FrameError("fragmented", "send whole frames"))
                return
            command = self.protocol.receive(
                frame.get_payload_as_bytes(), kind is WSMsgType.TEXT, time.monotonic()
            )
            self._handle(command)
        elif kind is WSMsgType.PING:
            refusal = self.protocol.control(time.monotonic())
            if refusal is not None:
                self._handle(refusal)
                return
            answer_ping(transport, frame)
            # Paused already while it watches for room, the transport does not
            # say when the whole bound is passed: look.
            if self._room_waiters is not None and past_bound(transport, self.edge.config):
                self.edge.cut(transport)
        elif kind is WSMsgType.CLOSE:
            self.flush()
            transport.send_close(frame.get_close_code())
            transport.disconnect()
        elif kind is WSMsgType.PONG or kind is WSMsgType.CONTINUATION:
            # Nothing to answer (a fragment's head was refused already), but
            # like every frame they spend the rate: a flood is cut.
            refusal = self.protocol.control(time.monotonic())
            if refusal is not None:
                self._handle(refusal)

    # -- output ------------------------------------------------------------------------

    def push(self, event: Event) -> None:
        self._send(encode_event(event))

    def _send(self, data: bytes) -> None:
        """Queue a text frame for the write at the end of this loop turn: every
        frame a turn makes for this connection (a commit's acks, a batch of
        messages) leaves in one write, one system call, in the order queued."""
        out = self._out
        if out is None:
            if self.transport is None:
                return
            self._out = [data]
            self.edge.wrote(self)
        else:
            out.append(data)

    def flush(self) -> None:
        """Write the frames queued this turn (see :meth:`_send`)."""
        out, self._out = self._out, None
        self._counted = 0
        transport = self.transport
        if out is None or transport is None or not write_frames(transport, out):
            return
        if self._room_waiters is not None:
            self._look_for_room(transport)

    def has_room(self) -> bool:
        """Under half the send buffer's bound waiting to be written (this turn's
        frames and the socket's unsent bytes): room for more of a replay, which
        waits while there is not, so a visitor resuming a long chat is sent it
        as fast as it reads and not cut for a page it could not take at once."""
        transport = self.transport
        if transport is None:
            return True  # gone: what is pushed goes nowhere, and the replay ends
        out = self._out
        queued = 0
        if out is not None:
            # Counted from where the last look stopped (a replay looks after
            # each frame it adds): not the whole list each time.
            counted = self._counted
            queued = self._counted_bytes if counted else 0
            for i in range(counted, len(out)):
                queued += len(out[i])
            self._counted, self._counted_bytes = len(out), queued
        waiting = transport.underlying_transport.get_write_buffer_size() + queued
        return waiting < self.edge.config.send_buffer_limit // 2

    def when_room(self, wake: Callable[[], None]) -> bool:
        """Call ``wake`` once the socket has drained to a quarter of the send
        bound (or the connection is gone): a waiting replay goes on as soon as
        the visitor has read, not at the next look."""
        transport = self.transport
        if transport is None:
            wake()
            return True
        if self._room_waiters is not None:
            self._room_waiters.append(wake)
            return True
        self._room_waiters = [wake]
        if self._out is None:  # else this turn's write looks (flush)
            self._look_for_room(transport)
        return True

    def _look_for_room(self, transport: WSTransport) -> None:
        """After a write, with replays waiting: past the whole bound the
        visitor is cut (the transport, paused already, does not say so
        again); at a quarter or less they go on; else the transport says
        when it has drained (resume_writing)."""
        config = self.edge.config
        if past_bound(transport, config):
            self.edge.cut(transport)  # its disconnection wakes them
        elif watch_room(transport, config):
            self._room()

    def _room(self) -> None:
        waiters, self._room_waiters = self._room_waiters, None
        if self.transport is not None:
            unwatch_room(self.transport, self.edge.config)
        for wake in waiters or ():
            wake()

    def _close(self, code: int, reason: str) -> None:
        self.flush()  # what was said before the close goes before it
        close_transport(self.transport, code, reason)


def past_bound(transport: WSTransport | None, config: EdgeConfig) -> bool:
    """Whether a visitor's socket holds more unsent than its send bound."""
    return (
        transport is None
        or transport.underlying_transport.get_write_buffer_size() > config.send_buffer_limit
    )


def watch_room(transport: WSTransport, config: EdgeConfig) -> bool:
    """For a connection that waits for its socket to drain: True when it holds
    a quarter of the send bound or less; else its high water is lowered to
    that quarter, so the transport pauses (now) and resumes once it has
    drained to it. While lowered, the connection's pause_writing is no cut:
    each write looks at the whole bound itself (``past_bound``)."""
    quarter = config.send_buffer_limit // 4
    under = transport.underlying_transport
    if under.get_write_buffer_size() <= quarter:
        return True
    under.set_write_buffer_limits(high=quarter, low=quarter)
    return False


def unwatch_room(transport: WSTransport, config: EdgeConfig) -> None:
    """The high water back at the whole send bound (see ``Edge.accept``)."""
    transport.underlying_transport.set_write_buffer_limits(high=config.send_buffer_limit)


def close_transport(transport: WSTransport | None, code: int, reason: str) -> None:
    """Send a close frame (our 4xxx codes included) and disconnect. A socket
    with data still unsent is reset if it has not taken it CLOSE_GRACE seconds
    later: a client that does not read would otherwise hold it open, with
    what is queued for it, for good (nothing pings a closing socket)."""
    if transport is not None:
        # picows types the code as its enum; our 4xxx application codes are
        # plain ints, which it sends as they are.
        transport.send_close(cast(WSCloseCode, code), reason.encode()[:120])
        transport.disconnect()
        if transport.underlying_transport.get_write_buffer_size():
            asyncio.get_running_loop().call_later(CLOSE_GRACE, reset, transport)


def reset(transport: WSTransport) -> None:
    """Drop a connection with a reset (nothing if it is gone already). A
    plain close would leave the kernel's socket in FIN-WAIT-1 holding its send
    queue (megabytes nobody reads) until TCP gives up; a zero linger drops the
    queue and sends a reset."""
    if transport.is_disconnected:
        return  # closed meanwhile: its socket's number may be another's by now
    sock = transport.underlying_transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_ZERO)
    transport.disconnect(graceful=False)


# picows gives each connection a child of a Logger it is handed (a Logger
# object, its dictionaries and name, per socket: about half a KiB an idle
# visitor); an adapter is used as it is, one for every connection.
_PICOWS_LOG = logging.LoggerAdapter(logging.getLogger("picows.server"))


def picows_options(config: EdgeConfig) -> dict[str, Any]:
    """The websocket options of a listener, in either mode."""
    # The sockets stay aiofastnet's transports (which picows takes when it is
    # installed), though uvloop's own cost an idle connection about 1.4 KiB
    # against 7: picows (2.3) writes a server frame over 8 KiB as a view of its
    # reused write buffer, which only aiofastnet copies when the socket cannot
    # take it at once; over uvloop's a slow reader gets corrupt frames.
    return {
        "logger_name": _PICOWS_LOG,
        "max_frame_size": config.hard_frame_limit,
        "websocket_handshake_timeout": config.hello_timeout,
        # The listener's IdlePings ping silent connections, where the kernel
        # says when a socket last received data (edge/idle.py).
        "enable_auto_ping": not KERNEL_CLOCK,
        "enable_auto_pong": False,  # each connection answers pings (answer_ping)
        "auto_ping_idle_timeout": config.idle_timeout,
        "auto_ping_reply_timeout": ping_reply_timeout(config),
        "auto_ping_strategy": WSAutoPingStrategy.PING_WHEN_IDLE,
        "read_buffer_init_size": 1024,
    }


def ping_reply_timeout(config: EdgeConfig) -> float:
    """Seconds a pinged websocket has to answer (at most its idle timeout)."""
    return min(PING_REPLY_TIMEOUT, config.idle_timeout)


class VisitorSocket(Protocol):
    """A visitor websocket as the listener sees it, in either mode."""

    protocol: VisitorProtocol

    def _send(self, data: bytes) -> None: ...

    def _close(self, code: int, reason: str) -> None: ...


class BaseEdge(abc.ABC):
    """The websocket and HTTP listener, without an engine: the static pages, the
    operators' web bridge, the per-address limits. :class:`Edge` serves
    visitors from the engine in its process, :class:`~edge.link.listener.
    LinkedEdge` from the engine across the link; each says how in
    ``_visitor``, ``_login`` and ``_files``."""

    def __init__(self, config: EdgeConfig, clock: Clock) -> None:
        self.clock = clock  # the bridge's timers
        self.config = config
        self.connections: set[Any] = set()  # visitor websockets
        self.consoles: set[ConsoleConnection] = set()
        self.api: Api | None = None  # the bridge's channel to the gRPC API, once open
        self.per_ip: dict[str, int] = {}
        # What an edge process refused before the engine saw it, by code (its
        # metrics); the one-process server's refusals are the engine's.
        self.refusals: dict[str, int] = {}
        self.cuts = 0  # visitor websockets dropped for not reading
        self.ip_buckets: dict[str, TokenBucket] = {}  # one per address with connections
        self.server: asyncio.Server | None = None
        self.loop = asyncio.get_running_loop()
        self.port = 0
        self.demo_site = config.demo_site
        self.pings = (
            IdlePings(config.idle_timeout, ping_reply_timeout(config)) if KERNEL_CLOCK else None
        )

    # -- visitor websockets -----------------------------------------------------------

    def accept(self, conn: VisitorSocket, transport: WSTransport) -> str | None:
        """Admit a new visitor websocket: its address counted (None, and the
        socket refused, past ``max_per_ip``), the address's rate bucket shared,
        its send buffer bounded. The address, when admitted."""
        peer = transport.underlying_transport.get_extra_info("peername")
        ip = peer[0] if peer else ""
        if not self.admit(ip):
            self.refused("too_many_connections")
            conn._send(
                encode_error(
                    FrameError("too_many_connections", "too many chats open from your address")
                )
            )
            conn._close(CLOSE_RATE, "too many connections")
            return None
        conn.protocol.shared = self.ip_buckets[ip]
        self.connections.add(conn)
        # Past this many unread bytes picows calls pause_writing: we drop the
        # client rather than buffer without bound (it resumes by seq).
        transport.underlying_transport.set_write_buffer_limits(high=self.config.send_buffer_limit)
        return ip

    def health(self) -> tuple[int, dict[str, object]]:
        """``/healthz``: the HTTP status and the document."""
        return 200, {"status": "ok", "connections": len(self.connections)}

    def refused(self, code: str) -> None:
        self.refusals[code] = self.refusals.get(code, 0) + 1

    def cut(self, transport: WSTransport | None) -> None:
        """Drop a visitor that does not read what it is sent (it resumes by seq)."""
        if transport is None:
            return
        if not transport.is_disconnected and not transport.underlying_transport.is_closing():
            log.info("visitor connection dropped: it does not read what it is sent")
            self.cuts += 1  # once: not again while it goes
        reset(transport)  # a close frame would queue behind the unread data

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

    async def start(self, reuse_port: bool = False) -> int:
        """Listen; the port. ``reuse_port``: share it with other edges (SO_REUSEPORT)."""
        self.server = await ws_create_server(
            self._route,
            self.config.host,
            self.config.port,
            backlog=self.config.backlog,  # passed on to loop.create_server
            reuse_port=reuse_port or None,
            **picows_options(self.config),
        )
        self.port = self.server.sockets[0].getsockname()[1]
        return self.port

    # -- routing ----------------------------------------------------------------------

    def _route(self, request: WSUpgradeRequest) -> Any:
        try:
            answer = self._route_unsafe(request)
            if self.pings is not None and isinstance(answer, WSListener):
                self.pings.watch(answer)
            return answer
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
            return self._files(request, path, parts.query)
        if path != VISITOR_PATH:
            return static.respond(path, self, request.headers)
        if request.method not in (b"GET", "GET"):
            return _json_response(405, "bad_request", "use GET")
        site_id = (parse_qs(parts.query).get("site") or [""])[0]
        origin = _header(request.headers, "origin")
        agent = (_header(request.headers, "user-agent") or "")[:2000]
        return self._visitor(site_id, origin, agent)

    @abc.abstractmethod
    def _visitor(self, site_id: str, origin: str | None, agent: str) -> Any:
        """The answer to a visitor websocket's upgrade for ``site_id``."""

    @abc.abstractmethod
    def _files(self, request: WSUpgradeRequest, path: str, query: str) -> Any:
        """The answer to an attachment's upload or download (edge/files.py)."""

    @abc.abstractmethod
    def _login(self) -> WSListener:
        """A console login's websocket."""

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
            return self._login()
        return ConsoleConnection(self, self.api)

    async def close(self) -> None:
        if self.pings is not None:
            self.pings.close()
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


class Edge(BaseEdge):
    """The listener of the one-process server: visitors' sessions, logins and
    files in this process's engine."""

    def __init__(self, engine: Engine, config: EdgeConfig) -> None:
        super().__init__(config, engine.clock)
        self.engine = engine
        self._writing: list[VisitorConnection] = []  # with frames queued this turn

    def wrote(self, conn: VisitorConnection) -> None:
        """``conn`` queued its first frame of this turn: one callback after the
        turn writes every such connection's frames."""
        writing = self._writing
        writing.append(conn)
        if len(writing) == 1:
            self.loop.call_soon(self._flush_writes)

    def _flush_writes(self) -> None:
        writing, self._writing = self._writing, []
        for conn in writing:
            conn.flush()

    def _visitor(self, site_id: str, origin: str | None, agent: str) -> Any:
        site = self.engine.directory.sites.get(site_id)
        if site is None:
            return _json_response(404, "unknown_site", f"no site {site_id[:40]!r}")
        if not origin_allowed(site, origin):
            return _json_response(
                403, "origin_not_allowed", "this page's origin may not open chats on this site"
            )
        return VisitorConnection(self, site, "", agent)

    def _files(self, request: WSUpgradeRequest, path: str, query: str) -> Any:
        return files.route(self, request, path, query)

    def _login(self) -> WSListener:
        return EngineLogin(self)


def _header(headers: Any, name: str) -> str | None:
    value = headers.get(name) if headers is not None else None
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    return cast(str | None, value)
