"""An edge process's listener: visitor websockets, the static pages and the
operators' web bridge, with the engine across the link.

It is a :class:`~edge.server.BaseEdge`, the listener without an engine that the
one-process :class:`~edge.server.Edge` is too, with its engine-bound parts
across the link: a visitor websocket is a :class:`~edge.link.visitor.
LinkedVisitor` (hosted by the engine over the link), a console login is checked
by the engine through the link's ``ConsoleLogin``, and a file's upload or
download goes through the link's ``Upload`` and ``Download``. The bridge already
speaks gRPC to the engine (``console_engine``).

Several edges may listen on one port of one machine (``reuse_port``, the
kernel's SO_REUSEPORT spreads new connections over them); a visitor whose edge
went reconnects to another and resumes by seq.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Sequence
from typing import Any

import grpc
from google.rpc import error_details_pb2, status_pb2
from picows import WSListener, WSUpgradeRequest
from picows.picows import WSProtocol  # type: ignore[attr-defined]

try:  # the faster transports picows' own server takes when they are installed
    import aiofastnet
except ImportError:  # pragma: no cover - an optional dependency of picows
    aiofastnet = None  # type: ignore[assignment]

from control.errors import DOMAIN
from edge.bridge.origin import console_origin_allowed
from edge.bridge.protocol import error_frame, reply_frame
from edge.config import EdgeConfig
from edge.console_login import LoginConnection
from edge.files import UPLOAD_PATH
from edge.link.client import EngineLink
from edge.link.files import FileDoor, LinkedUpload
from edge.link.visitor import LinkedVisitor
from edge.server import BaseEdge, _header, _json_response, picows_options
from engine.runtime import LoopClock
from parley.link.v1 import link_pb2
from parley.v1 import control_pb2

log = logging.getLogger("parley.edge")

_DETAILS_KEY = "grpc-status-details-bin"


class LinkedEdge(BaseEdge):
    """The websocket and HTTP listener of an edge process."""

    def __init__(
        self,
        config: EdgeConfig,
        engine_target: str,
        secret: str,
        link_retry_max: float | None = None,
    ) -> None:
        super().__init__(config, LoopClock())
        self.linked: dict[int, LinkedVisitor] = {}
        self.writing: list[LinkedVisitor] = []  # with frames of the batch being read
        self._numbers = 0
        self.started = time.monotonic()
        self.secret = secret
        self.link = EngineLink(
            engine_target,
            secret,
            self._deliver,
            self._attached,
            self._lost,
            retry_max=link_retry_max,
        )
        self._runner: asyncio.Task[None] | None = None

    def health(self) -> tuple[int, dict[str, object]]:
        """``/healthz``: 503 while the link is down (a balancer sends new
        visitors to an edge that can serve them), with the link's lag."""
        link = self.link
        doc: dict[str, object] = {
            "status": "ok" if link.up else "reconnecting",
            "connections": len(self.connections),
            "link": "up" if link.up else "down",
            "link_lag_seconds": round(link.lag(time.monotonic()), 6),
        }
        return (200 if link.up else 503), doc

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
        try:
            for item in items:
                conn = linked.get(item.connection)
                if conn is not None:
                    conn.deliver(item)
                elif item.probe:  # connection 0: the link's own
                    self.link.probed(item.probe)
        finally:
            # Each visitor's frames of the batch, a write each (what came
            # before a failure too, not held behind later frames).
            writing, self.writing = self.writing, []
            for conn in writing:
                conn.flush()

    def _attached(self) -> None:
        if self.link.attachments > 1:
            log.info("the engine is back: %d visitors resume", len(self.linked))
        for conn in list(self.linked.values()):
            conn.link_back()

    def _lost(self) -> None:
        for conn in list(self.linked.values()):
            conn.link_lost()

    # -- what goes to the engine ------------------------------------------------------

    def _visitor(self, site_id: str, origin: str | None, agent: str) -> Any:
        if not site_id or len(site_id) > 100:
            return _json_response(404, "unknown_site", f"no site {site_id[:40]!r}")
        # The site and the page's origin are checked by the engine, which knows
        # the sites: a refusal is an error frame and a close (4403).
        return LinkedVisitor(self, site_id, (origin or "")[:2000], agent)

    def _files(self, request: WSUpgradeRequest, path: str, query: str) -> Any:
        # A file's GET never comes here: the FileDoor answers it (files.py).
        if path != UPLOAD_PATH or request.method not in (b"GET", "GET"):
            return _json_response(405, "bad_request", "use GET")
        origin, host = _header(request.headers, "origin"), _header(request.headers, "host")
        console = console_origin_allowed(origin, host, self.config.console_origins)
        return LinkedUpload(self, origin, console)

    async def start(self, reuse_port: bool = True) -> int:
        """Listen, each connection read first by a FileDoor (files.py); the port."""
        options = picows_options(self.config)
        route = self._route

        def websocket() -> WSProtocol:
            # As picows' own server makes it (ws_create_server), from the same options.
            return WSProtocol(
                None,  # host and port: a server's
                None,  # path: a server's
                False,  # not the client side
                route,
                options["logger_name"],
                True,  # disconnect on a listener's exception
                options["websocket_handshake_timeout"],
                options["enable_auto_ping"],
                options["auto_ping_idle_timeout"],
                options["auto_ping_reply_timeout"],
                options["auto_ping_strategy"],
                options["enable_auto_pong"],  # off: each connection answers pings
                options["max_frame_size"],
                None,  # no extra headers
                options["read_buffer_init_size"],
            )

        create = (
            functools.partial(aiofastnet.create_server, self.loop)
            if aiofastnet is not None
            else self.loop.create_server
        )
        self.server = await create(
            lambda: FileDoor(self, websocket),
            self.config.host,
            self.config.port,
            backlog=self.config.backlog,
            reuse_port=reuse_port or None,
        )
        self.port = self.server.sockets[0].getsockname()[1]
        return self.port

    def _login(self) -> WSListener:
        return LinkedLogin(self)

    async def close(self) -> None:
        await super().close()
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
                metadata=link.metadata,
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
