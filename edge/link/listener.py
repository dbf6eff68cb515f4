"""An edge process's listener: visitor websockets, the static pages and the
operators' web bridge, with the engine across the link.

It is the one-process :class:`~edge.server.Edge` with its two engine-bound
parts replaced: a visitor websocket is a :class:`~edge.link.visitor.
LinkedVisitor` (hosted by the engine over the link) and a console login is
checked by the engine through the link's ``ConsoleLogin``. The bridge already
speaks gRPC to the engine (``console_engine``). This process has no engine:
nothing here reads ``Edge.engine``.

Several edges may listen on one port of one machine (``reuse_port``, the
kernel's SO_REUSEPORT spreads new connections over them); a visitor whose edge
went reconnects to another and resumes by seq.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qs, urlsplit

import grpc
from google.rpc import error_details_pb2, status_pb2
from picows import (
    WSAutoPingStrategy,
    WSUpgradeRequest,
    ws_create_server,
)

from control.errors import DOMAIN
from edge import static
from edge.bridge.protocol import error_frame, reply_frame
from edge.config import EdgeConfig
from edge.console_login import LOGIN_PATH, LoginConnection
from edge.link.client import EngineLink
from edge.link.secret import METADATA_KEY
from edge.link.visitor import LinkedVisitor
from edge.server import _LINGER_ZERO, CONSOLE_PATH, VISITOR_PATH, Edge, _header, _json_response
from edge.visitor.codes import CLOSE_GOING_AWAY
from engine.runtime import LoopClock
from parley.link.v1 import link_pb2
from parley.v1 import control_pb2

log = logging.getLogger("parley.edge")

_DETAILS_KEY = "grpc-status-details-bin"


class LinkedEdge(Edge):
    """The websocket and HTTP listener of an edge process."""

    def __init__(self, config: EdgeConfig, engine_target: str, secret: str) -> None:
        # Edge's own attributes but the engine, which lives in another process.
        self.config = config
        self.clock = LoopClock()
        self.connections: set[Any] = set()
        self.consoles = set()
        self.api = None
        self.per_ip = {}
        self.ip_buckets = {}
        self.server = None
        self.loop = asyncio.get_running_loop()
        self.port = 0
        self.demo_site = config.demo_site
        self.linked: dict[int, LinkedVisitor] = {}
        self._numbers = 0
        self.secret = secret
        self.link = EngineLink(engine_target, secret, self._deliver, self._attached, self._lost)
        self._runner: asyncio.Task[None] | None = None

    def next_number(self) -> int:
        self._numbers += 1
        return self._numbers

    # -- the link -------------------------------------------------------------------

    async def attach(self, within: float = 10.0) -> None:
        """Attach to the engine (LinkRefused, LinkUnreachable: why not), then keep
        the link in the background."""
        await self.link.attach(within)
        self._runner = self.loop.create_task(self.link.run())

    def _deliver(self, items: Sequence[link_pb2.EngineItem]) -> None:
        linked = self.linked
        for item in items:
            conn = linked.get(item.connection)
            if conn is not None:
                conn.deliver(item)

    def _attached(self) -> None:
        if self.link.attachments > 1:
            log.info("the engine is back: %d visitors resume", len(self.linked))
        for conn in list(self.linked.values()):
            conn.link_back()

    def _lost(self) -> None:
        for conn in list(self.linked.values()):
            conn.link_lost()

    def cut(self, conn: LinkedVisitor) -> None:
        """Drop a visitor that does not read what it is sent (it resumes by seq):
        a reset, as the one-process edge does."""
        log.info("visitor connection dropped: it does not read what it is sent")
        transport = conn.transport
        if transport is not None:
            sock = transport.underlying_transport.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_ZERO)
            transport.disconnect(graceful=False)

    # -- listening --------------------------------------------------------------------

    async def start(self, reuse_port: bool = True) -> int:
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
            backlog=self.config.backlog,
            reuse_port=reuse_port,
        )
        self.port = self.server.sockets[0].getsockname()[1]
        return self.port

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
        if path != VISITOR_PATH:
            return static.respond(path, self)
        if request.method not in (b"GET", "GET"):
            return _json_response(405, "bad_request", "use GET")
        site_id = (parse_qs(parts.query).get("site") or [""])[0]
        if not site_id or len(site_id) > 100:
            return _json_response(404, "unknown_site", f"no site {site_id[:40]!r}")
        # The site and the page's origin are checked by the engine, which knows
        # the sites: a refusal is an error frame and a close (4403).
        origin = _header(request.headers, "origin") or ""
        agent = _header(request.headers, "user-agent") or ""
        return LinkedVisitor(self, site_id, origin[:2000], agent[:2000])

    def _console(self, request: WSUpgradeRequest, login: bool = False) -> Any:
        answer = super()._console(request, login)
        if login and isinstance(answer, LoginConnection):
            return LinkedLogin(self)
        return answer

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
        if self._runner is not None:
            self._runner.cancel()
        await self.link.close()


class LinkedLogin(LoginConnection):
    """The console's login on an edge process: checked by the engine over the link."""

    edge: LinkedEdge

    async def _login(self, call_id: int, request: Any) -> None:
        link = self.edge.link
        try:
            reply = await link.stub.ConsoleLogin(
                link_pb2.ConsoleLoginRequest(
                    email=request.email, password=request.password, ip=self.ip
                ),
                metadata=((METADATA_KEY, self.edge.secret),),
                timeout=10.0,
            )
        except grpc.aio.AioRpcError as error:
            reason, metadata = _error_info(error)
            self._send(
                error_frame(
                    call_id, error.code().value[0], error.details() or "", reason, DOMAIN, metadata
                )
            )
        else:
            answer = control_pb2.LoginResponse(token=reply.token, expires_at_ms=reply.expires_at_ms)
            self._send(reply_frame(call_id, answer.SerializeToString()))
        self._close(1000, "done")


def _error_info(error: grpc.aio.AioRpcError) -> tuple[str, dict[str, str]]:
    """The refusal's reason and metadata from its trailing ErrorInfo, if any."""
    for key, value in error.trailing_metadata() or ():
        if key == _DETAILS_KEY and isinstance(value, bytes):
            status = status_pb2.Status.FromString(value)
            for detail in status.details:
                info = error_details_pb2.ErrorInfo()
                if detail.Unpack(info):
                    return info.reason, dict(info.metadata)
    return error.code().name, {}
