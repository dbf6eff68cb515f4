"""The console's login: email and password for a session token, over one short
websocket at ``/v1/console/login`` on the edge's HTTP port.

The bridge does not carry ``Auth.Login`` (its calls would all come from the
bridge's own address and share one throttle), and the edge cannot read a POST
body. So the console's page opens this socket (its origin checked as the
bridge's is), sends one binary ``BridgeFrame`` whose ``call`` names
``/parley.v1.Auth/Login`` with a ``LoginRequest``, and gets one frame back: a
``reply`` holding a ``LoginResponse`` (token and expiry; the console asks
``Auth.GetMe`` over the bridge for the rest) or an ``error`` with the refusal's
reason (BAD_CREDENTIALS, TOO_MANY_ATTEMPTS...). Then the server closes (1000).

The engine checks the password with the browser's own address, so the login
throttle counts each address apart, as it does for gRPC clients. Nothing of
the request is logged.
"""

from __future__ import annotations

import abc
import asyncio
import logging
from typing import TYPE_CHECKING, cast

import grpc
from google.protobuf.message import DecodeError
from picows import WSCloseCode, WSFrame, WSListener, WSMsgType, WSTransport

from control.errors import DOMAIN, detail_of, reason_of, status_of
from edge.bridge.protocol import error_frame, reply_frame
from edge.ping import control_bucket, control_frame
from engine.errors import Refused
from parley.v1 import bridge_pb2, control_pb2

if TYPE_CHECKING:
    from edge.server import BaseEdge, Edge

log = logging.getLogger("parley.edge.console_login")

LOGIN_PATH = "/v1/console/login"
LOGIN_METHOD = "/parley.v1.Auth/Login"
MAX_FRAME = 4096  # an email, a password and the envelope


class LoginConnection(WSListener, abc.ABC):
    """One login: a frame in, a frame out, closed."""

    def __init__(self, edge: BaseEdge) -> None:
        self.edge = edge
        self.transport: WSTransport | None = None
        self.ip = ""
        self.task: asyncio.Task[None] | None = None
        self.control = control_bucket()

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport
        peer = transport.underlying_transport.get_extra_info("peername")
        self.ip = peer[0] if peer else ""

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.transport = None

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()
            return
        if frame.msg_type is WSMsgType.PING or frame.msg_type is WSMsgType.PONG:
            control_frame(transport, frame, self.control)
            return
        if self.task is not None or frame.msg_type is not WSMsgType.BINARY or not frame.fin:
            self._close(4400, "send one binary login frame")
            return
        payload = frame.get_payload_as_bytes()
        if len(payload) > MAX_FRAME:
            self._close(1009, "frame too large")
            return
        try:
            call = bridge_pb2.BridgeFrame.FromString(payload)
            request = control_pb2.LoginRequest.FromString(call.call.request)
        except DecodeError:
            self._close(4400, "not a login frame")
            return
        if call.WhichOneof("frame") != "call" or call.call.method != LOGIN_METHOD:
            self._close(4400, "not a login frame")
            return
        self.task = asyncio.ensure_future(self._login(call.call.call_id, request))

    @abc.abstractmethod
    async def _login(self, call_id: int, request: control_pb2.LoginRequest) -> None:
        """Check the login; answer with a reply or an error frame, then close."""

    def _send(self, data: bytes) -> None:
        if self.transport is not None:
            self.transport.send(WSMsgType.BINARY, data)

    def _close(self, code: int, reason: str) -> None:
        if self.transport is not None:
            self.transport.send_close(cast(WSCloseCode, code), reason.encode())
            self.transport.disconnect()


class EngineLogin(LoginConnection):
    """A login checked by the engine in this process."""

    def __init__(self, edge: Edge) -> None:
        super().__init__(edge)
        self.engine = edge.engine

    async def _login(self, call_id: int, request: control_pb2.LoginRequest) -> None:
        try:
            token, expires, _ = await self.engine.auth.login(
                request.email, request.password, self.ip
            )
        except Refused as error:  # the same status and reason as the gRPC API's
            status, message = status_of(error), detail_of(error)
            metadata = {"field": error.field} if error.field else {}
            reason = reason_of(error.code)
            self._send(error_frame(call_id, status.value[0], message, reason, DOMAIN, metadata))
        except Exception:
            log.exception("console login failed")
            internal = grpc.StatusCode.INTERNAL
            self._send(error_frame(call_id, internal.value[0], "internal", "INTERNAL", DOMAIN, {}))
        else:
            reply = control_pb2.LoginResponse(token=token, expires_at_ms=expires)
            self._send(reply_frame(call_id, reply.SerializeToString()))
        self._close(1000, "done")
