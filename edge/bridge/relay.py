"""The bridge's side of the gRPC API: one channel shared by every console, the
methods it carries, and gRPC failures read back into their ErrorInfo.

The channel goes to the engine's own gRPC port on loopback (or, split, to the
address configured); its methods are generic and have no serializers, so
requests and replies pass as the bytes the console and the server wrote. HTTP/2
bandwidth probing is off: a console's stream then keeps at most the default
window (64 KiB) unread in this process, so a console that stops reading holds
the engine back rather than the bridge's memory.

Which methods are carried is derived from the permission table the runner
hands in: the unary methods of parley.v1 services the table names, except the
ones taking no token (logging in: through the bridge every login would come
from the bridge's own address and share its throttle). The bridge decides
nothing else; the server checks each call against the same table.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import grpc
from google.protobuf import descriptor_pool
from google.rpc import error_details_pb2, status_pb2

from edge.bridge.protocol import error_frame
from parley.v1 import control_pb2, operator_pb2  # noqa: F401 - their services join the pool

CONNECT = "/parley.v1.OperatorSession/Connect"
DETAILS_KEY = "grpc-status-details-bin"
BRIDGE_DOMAIN = "parley.bridge"  # the domain of the bridge's own refusals
MAX_MESSAGE = 16 * 1024 * 1024  # what the server may send in one message


def unary_methods(table: Mapping[str, str | None]) -> frozenset[str]:
    """The methods the bridge carries: unary methods of parley.v1 services that
    the permission table names with a permission (so they take a token)."""
    pool = descriptor_pool.Default()
    out = set()
    for method, needed in table.items():
        if needed is None or not method.startswith("/parley.v1."):
            continue
        service_name, _, name = method[1:].partition("/")
        try:
            service = pool.FindServiceByName(service_name)
        except KeyError:
            continue
        found = service.methods_by_name.get(name)
        if found is not None and not found.client_streaming and not found.server_streaming:
            out.add(method)
    return frozenset(out)


class Failure:
    """A failed gRPC call as the console gets it: status, message and the
    ErrorInfo of its details (empty when it had none)."""

    __slots__ = ("status", "message", "reason", "domain", "metadata")

    def __init__(
        self,
        status: grpc.StatusCode,
        message: str,
        reason: str,
        domain: str,
        metadata: Mapping[str, str],
    ) -> None:
        self.status = status
        self.message = message
        self.reason = reason  # in capitals, as ErrorInfo has it
        self.domain = domain
        self.metadata = dict(metadata)

    @property
    def code(self) -> str:
        """The refusal code in lower case (``bad_token``)."""
        return self.reason.lower()

    def frame(self, call_id: int) -> bytes:
        return error_frame(
            call_id, self.status.value[0], self.message, self.reason, self.domain, self.metadata
        )


def failure_of(error: grpc.aio.AioRpcError) -> Failure:
    """What a failed call said; a status without an ErrorInfo (the transport's
    own: unreachable, deadline) gets the status's name as its reason."""
    status = error.code()
    message = error.details() or ""
    for key, value in error.trailing_metadata() or ():
        if key != DETAILS_KEY or not isinstance(value, bytes):
            continue
        try:
            rpc_status = status_pb2.Status.FromString(value)
        except Exception:  # noqa: BLE001 - a malformed detail is treated as none
            break
        for detail in rpc_status.details:
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                return Failure(status, message, info.reason, info.domain, info.metadata)
    return Failure(status, message, status.name, BRIDGE_DOMAIN, {})


def refusal(status: grpc.StatusCode, reason: str, message: str) -> Failure:
    """One of the bridge's own refusals of a call."""
    return Failure(status, f"{reason.lower()}: {message}", reason, BRIDGE_DOMAIN, {})


class Api:
    """The shared channel to the gRPC API and its generic methods."""

    def __init__(self, target: str, methods: Iterable[str]) -> None:
        self.target = target
        self.channel = grpc.aio.insecure_channel(
            target,
            options=[
                ("grpc.max_receive_message_length", MAX_MESSAGE),
                ("grpc.max_send_message_length", MAX_MESSAGE),
                ("grpc.http2.bdp_probe", 0),
            ],
        )
        self.methods = frozenset(methods)
        # No serializers: bytes in, bytes out.
        self._connect: grpc.aio.StreamStreamMultiCallable[bytes, bytes] = (
            self.channel.stream_stream(CONNECT)
        )
        self._unary: dict[str, grpc.aio.UnaryUnaryMultiCallable[bytes, bytes]] = {
            m: self.channel.unary_unary(m) for m in sorted(self.methods)
        }

    def connect(self, token: str) -> grpc.aio.StreamStreamCall[bytes, bytes]:
        """Open an operator session stream with ``token``; write and read bytes."""
        call: Any = self._connect(metadata=(("authorization", f"Bearer {token}"),))
        return call  # type: ignore[no-any-return]

    async def call(self, method: str, token: str, request: bytes, seconds: float) -> bytes:
        """Call a carried unary ``method``; raises grpc.aio.AioRpcError."""
        multicallable = self._unary[method]
        reply: bytes = await multicallable(
            request, metadata=(("authorization", f"Bearer {token}"),), timeout=seconds
        )
        return reply

    async def close(self) -> None:
        await self.channel.close()
