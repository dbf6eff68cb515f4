"""The call wrapper every servicer method goes through: who is calling, and may it.

:func:`authorize` reads the bearer token from the call metadata, authenticates
it and checks the method's permission in the one table,
``control.permissions.RPC_PERMISSIONS`` (a method missing from it is refused).
:func:`rpc` wraps a unary handler with that check and turns engine refusals into
gRPC statuses through ``control.errors``; :func:`stream_caller` does the same for
the opening of a stream.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

import grpc

from control import permissions
from control.errors import detail_of, status_of
from engine.app import Engine
from engine.chat.auth import Principal
from engine.chat.permissions import require
from engine.errors import PermissionDenied, Refused


def bearer_token(context: grpc.aio.ServicerContext[Any, Any]) -> str | None:
    for key, value in context.invocation_metadata() or ():
        if key == "authorization" and isinstance(value, str) and value.startswith("Bearer "):
            return value[7:].strip()
    return None


def peer_address(context: grpc.aio.ServicerContext[Any, Any]) -> str:
    """The caller's IP address without the port ("ipv4:1.2.3.4:5678" -> "1.2.3.4")."""
    peer = context.peer() or ""
    kind, _, rest = peer.partition(":")
    if kind == "ipv6":
        return rest.rsplit(":", 1)[0].strip("[]").replace("%5B", "").replace("%5D", "")
    return rest.rsplit(":", 1)[0] if kind == "ipv4" else peer


def authorize(
    engine: Engine, context: grpc.aio.ServicerContext[Any, Any], method: str
) -> Principal | None:
    """The caller, checked against the method's permission; raises a refusal."""
    if method not in permissions.RPC_PERMISSIONS:
        raise PermissionDenied("permission_denied", f"{method} is not open to anyone")
    needed = permissions.RPC_PERMISSIONS[method]
    if needed is None:
        return None
    principal = engine.auth.authenticate(bearer_token(context))
    held = engine.directory.role_permissions(principal.account_id, principal.role)
    require(held, principal.role, needed)
    return principal


# (servicer, request, principal, context): the principal is None only for Login.
Handler = Callable[[Any, Any, Any, Any], Awaitable[Any]]


def rpc(service: str, name: str) -> Callable[[Handler], Callable[..., Awaitable[Any]]]:
    method = f"/parley.v1.{service}/{name}"

    def wrap(handler: Handler) -> Callable[..., Awaitable[Any]]:
        @functools.wraps(handler)
        async def call(self: Any, request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            try:
                principal = authorize(self.engine, context, method)
                return await handler(self, request, principal, context)
            except Refused as error:
                await context.abort(status_of(error), detail_of(error))

        return call

    return wrap


async def stream_caller(
    engine: Engine, context: grpc.aio.ServicerContext[Any, Any], method: str
) -> Principal:
    """The authorised caller of a stream, or the call ends with the refusal."""
    try:
        principal = authorize(engine, context, method)
    except Refused as error:
        await context.abort(status_of(error), detail_of(error))
    assert principal is not None
    return principal
