"""The websocket edge: glue between picows connections and engine sessions.

picows calls back on each frame (no task per connection), which keeps an idle
visitor near 13 KiB. Each connection owns a sans-I/O
:class:`~edge.visitor.protocol.VisitorProtocol` and a
:class:`~engine.chat.sessions.VisitorSession`; this module only moves bytes.

HTTP requests that are not websocket upgrades get the static pages (the widget
script, the demo page, the console) from the same port.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import orjson
from picows import (
    WSAutoPingStrategy,
    WSCloseCode,
    WSFrame,
    WSListener,
    WSMsgType,
    WSTransport,
    WSUpgradeRequest,
    WSUpgradeResponse,
    WSUpgradeResponseWithListener,
    ws_create_server,
)

from edge import static
from edge.config import EdgeConfig
from edge.visitor.codes import CLOSE_INTERNAL, CLOSE_RATE, CLOSE_TIMEOUT
from edge.visitor.frames import (
    PONG,
    Choose,
    CloseChat,
    FrameError,
    Hello,
    LeaveTicket,
    PageChange,
    Ping,
    RateChat,
    ReadTo,
    Send,
    TypingNow,
    encode_error,
    encode_event,
    encode_welcome,
)
from edge.visitor.protocol import TokenBucket, VisitorProtocol
from engine.app import Engine
from engine.chat.events import CommandFailed, Event
from engine.chat.records import Site
from engine.chat.sessions import VisitorSession, failure
from engine.errors import Refused
from engine.runtime import Timer

log = logging.getLogger("parley.edge")

VISITOR_PATH = "/v1/visitor"


def origin_allowed(site: Site, origin: str | None) -> bool:
    """Exact scheme, host and port match; a request without Origin (not a browser)
    passes, since only browsers need protecting from other pages."""
    if origin is None:
        return True
    return origin.rstrip("/").lower() in site.allowed_origins


def _json_response(status: int, code: str, message: str) -> WSUpgradeResponseWithListener:
    body = orjson.dumps({"error": code, "message": message})
    response = WSUpgradeResponse.create_error_response(
        status, body, {"Content-Type": "application/json"}
    )
    return WSUpgradeResponseWithListener(response, None)


class VisitorConnection(WSListener):
    """One visitor websocket."""

    def __init__(self, edge: Edge, site: Site, peer: str, user_agent: str = "") -> None:
        self.edge = edge
        self.peer = peer
        self.transport: WSTransport | None = None
        self.protocol = VisitorProtocol(
            time.monotonic(), edge.config.visitor_rate, edge.config.visitor_burst
        )
        self.session = VisitorSession(edge.engine, site, self)
        self.session.user_agent = user_agent
        self._held: list[Any] | None = None  # commands that came while hello ran
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
        # Past this many unread bytes picows calls pause_writing: we drop the
        # client rather than buffer without bound (it resumes by seq).
        transport.underlying_transport.set_write_buffer_limits(
            high=self.edge.config.send_buffer_limit
        )
        self._deadline = self.edge.engine.clock.call_later(
            self.edge.config.hello_timeout, self._hello_overdue
        )

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if self._ip:
            self.edge.release(self._ip)
            self._ip = ""
        self.edge.connections.discard(self)
        if self._deadline is not None:
            self._deadline.cancel()
        self.session.detach()
        self.transport = None

    def pause_writing(self) -> None:
        log.info("visitor connection dropped: it does not read what it is sent")
        transport = self.transport
        if transport is not None:
            # The close frame would queue behind the unread data: just cut it.
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

    def _handle(self, command: Any) -> None:
        if self._held is not None:
            self._held.append(command)
            return
        cls = type(command)
        if cls is Send:
            self.session.send(command.cid, command.text)
        elif cls is FrameError:
            self._send(encode_error(command))
            if command.close_code:
                self._close(command.close_code, command.code)
        elif cls is Hello:
            if self.session.ready:
                self._send(encode_error(FrameError("already_hello", "hello was sent already")))
                return
            self._held = []
            self.edge.loop.create_task(self._hello(command))
        elif cls is Ping:
            self._send(PONG)
        elif cls is ReadTo:
            self.session.read(command.seq)
        elif cls is TypingNow:
            self.session.typing(command.active, command.text)
        elif cls is RateChat:
            self.session.rate(command.score, command.comment)
        elif cls is Choose:
            self.session.choose(command.department, command.region)
        elif cls is PageChange:
            self.session.page(command.url, command.title)
        elif cls is LeaveTicket:
            self.session.leave_ticket(command.name, command.email, command.text)
        elif cls is CloseChat:
            if not self.session.ready:
                self.push(CommandFailed("no_hello", "send hello first"))
            else:
                self.session.close_conversation()

    async def _hello(self, hello: Hello) -> None:
        try:
            welcome = await self.session.hello(
                department_id=hello.department,
                token=hello.token,
                last_seq=hello.last_seq,
                name=hello.name,
                email=hello.email,
                region_id=hello.region,
                page_url=hello.page_url,
                language=hello.language,
                page_title=hello.title,
                referrer=hello.referrer,
                tz_offset_minutes=hello.tz_offset,
            )
        except Refused as error:
            self.push(failure(error))
        except Exception as error:  # a bug: log it, tell the client, keep serving
            log.exception("hello failed")
            self.push(failure(error))
            self._close(CLOSE_INTERNAL, "internal")
        else:
            if self._deadline is not None:
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
                )
            )
        held, self._held = self._held, None
        for command in held or ():
            self._handle(command)

    def _hello_overdue(self) -> None:
        self._deadline = None
        if not self.session.ready:
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
        self.config = config
        self.connections: set[VisitorConnection] = set()
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
        if path != VISITOR_PATH:
            return static.respond(path, self)
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

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            for conn in list(self.connections):
                conn._close(1001, "server stopping")
            await self.server.wait_closed()
