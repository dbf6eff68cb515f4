"""The call wrapper every servicer method goes through: who is calling, and may it.

Audited calls (``control/grpc/audit.py``) leave an event in the audit log, in
the commit of their first write or right after them, refusals included.

:func:`authorize` reads the bearer token from the call metadata, authenticates
it and checks the method's permission in the one table,
``control.permissions.RPC_PERMISSIONS`` (a method missing from it is refused).
:func:`rpc` wraps a unary handler with that check (:func:`public_rpc` the
one method open to anyone, logging in), checks the request against the limits
every request keeps (:mod:`control.grpc.limits`), and turns engine refusals into
gRPC statuses through ``control.errors``; anything else is a bug: logged with its
traceback and answered INTERNAL, never UNKNOWN with the exception's text; the
log line and the client's error name the same request id.
:func:`stream_caller` does the same for the opening of a stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, NoReturn, Protocol, TypeVar

import grpc

from control import permissions
from control.errors import abort, abort_internal
from control.grpc.audit import Note, audited
from control.grpc.limits import check_ids_given, check_request
from control.grpc.streams import server_stopping
from engine.app import Engine
from engine.chat import ids
from engine.chat.auth import Principal
from engine.chat.permissions import require
from engine.chat.sessions.access import StreamAccess
from engine.errors import InvalidArgument, PermissionDenied, Refused

log = logging.getLogger("parley.grpc")

Req = TypeVar("Req")  # a call's request message
Rep = TypeVar("Rep")  # and its reply


def bearer_token(context: grpc.aio.ServicerContext[Req, Rep]) -> str | None:
    """The bearer token in the call metadata, if any."""
    for key, value in context.invocation_metadata() or ():
        if key == "authorization" and isinstance(value, str) and value.startswith("Bearer "):
            return value[7:].strip()
    return None


def peer_address(context: grpc.aio.ServicerContext[Req, Rep]) -> str:
    """The caller's IP address without the port ("ipv4:1.2.3.4:5678" -> "1.2.3.4")."""
    peer = context.peer() or ""
    kind, _, rest = peer.partition(":")
    if kind == "ipv6":
        return rest.rsplit(":", 1)[0].strip("[]").replace("%5B", "").replace("%5D", "")
    return rest.rsplit(":", 1)[0] if kind == "ipv4" else peer


def authorize(
    engine: Engine,
    context: grpc.aio.ServicerContext[Req, Rep],
    method: str,
    seen: Callable[[Principal], None] | None = None,
) -> Principal | None:
    """The caller, checked against the method's permission; raises a refusal.
    ``seen`` hears of the caller once authenticated, before the check."""
    if method not in permissions.RPC_PERMISSIONS:
        raise PermissionDenied("permission_denied", f"{method} is not open to anyone")
    needed = permissions.RPC_PERMISSIONS[method]
    if needed is None:
        return None
    principal = engine.auth.authenticate(bearer_token(context))
    if seen is not None:
        seen(principal)
    held = engine.directory.role_permissions(principal.account_id, principal.role)
    require(held, principal.role, needed)
    return principal


class Servicer(Protocol):
    """What the call wrapper needs of a servicer."""

    engine: Engine


S = TypeVar("S", bound=Servicer)
# A unary method as gRPC calls it, and as written: the caller comes in between.
Method = Callable[[S, Req, "grpc.aio.ServicerContext[Req, Rep]"], Awaitable[Rep]]
Handler = Callable[[S, Req, Principal, "grpc.aio.ServicerContext[Req, Rep]"], Awaitable[Rep]]
PublicHandler = Callable[[S, Req, "grpc.aio.ServicerContext[Req, Rep]"], Awaitable[Rep]]


def request_id() -> str:
    """A fresh id for one failed call, to find its log line from the client's error."""
    return ids.random_id(12)


async def internal(context: grpc.aio.ServicerContext[Req, Rep], method: str) -> NoReturn:
    """End a call that failed by a bug: the traceback in the log (for us), a
    plain INTERNAL for the client (never the exception's text), both naming the
    same request id."""
    rid = request_id()
    log.exception("%s failed", method, extra={"request_id": rid})
    await abort_internal(context, rid)
    raise AssertionError("abort returned")


async def answered(
    context: grpc.aio.ServicerContext[Req, Rep], method: str, body: Callable[[], Awaitable[Rep]]
) -> Rep:
    """Run a call's ``body``: a refusal ends the call as its status and code, a
    bug as INTERNAL (:func:`internal`).

    The body runs to its end even when the call is cancelled (the client gave
    up, its deadline passed): a write it has begun commits and the engine's
    memory follows it, so a retry finds what the first call made."""
    work = asyncio.ensure_future(body())
    try:
        return await asyncio.shield(work)
    except asyncio.CancelledError:
        work.add_done_callback(_finished_alone(method))
        raise
    except Refused as error:
        await abort(context, error)
        raise AssertionError("abort returned") from error
    except grpc.aio.AbortError:
        raise
    except Exception:
        await internal(context, method)


def noted(
    note: Note | None, run: Callable[[], Awaitable[Rep]], email: str = ""
) -> Callable[[], Awaitable[Rep]]:
    """``run`` with its audit event (control/grpc/audit.py), if it has one:
    ok, or the refusal's code."""
    if note is None:
        return run

    async def body() -> Rep:
        try:
            reply = await run()
        except Refused as error:
            await note.close(None, error.code, email)
            raise
        except Exception:
            await note.close(None, "internal", email)
            raise
        await note.close(reply, "ok", email)
        return reply

    return body


def _finished_alone(method: str) -> Callable[[asyncio.Future[Any]], None]:
    """Log how the body of a cancelled call ended, if by a bug."""

    def done(work: asyncio.Future[Any]) -> None:
        if work.cancelled():
            return
        error = work.exception()
        if error is not None and not isinstance(error, Refused):
            log.error("%s failed after its call ended", method, exc_info=error)

    return done


def rpc(service: str, name: str) -> Callable[[Handler[S, Req, Rep]], Method[S, Req, Rep]]:
    """Wrap a unary handler: the caller is authenticated and checked against the
    method's permission, and the handler's refusals end the call as statuses."""
    method = f"/parley.v1.{service}/{name}"
    logged = audited(method)

    def wrap(handler: Handler[S, Req, Rep]) -> Method[S, Req, Rep]:
        @functools.wraps(handler)
        async def call(self: S, request: Req, context: grpc.aio.ServicerContext[Req, Rep]) -> Rep:
            async def run() -> Rep:
                seen = note.open if note is not None else None
                principal = authorize(self.engine, context, method, seen)
                if principal is None:
                    raise RuntimeError(f"{method} is open to anyone: wrap it with public_rpc")
                check_request(request)  # type: ignore[arg-type]
                check_ids_given(request)  # type: ignore[arg-type]
                return await handler(self, request, principal, context)

            note = Note(self.engine, method, request, peer_address(context)) if logged else None
            return await answered(context, method, noted(note, run))

        return call

    return wrap


def public_rpc(
    service: str, name: str
) -> Callable[[PublicHandler[S, Req, Rep]], Method[S, Req, Rep]]:
    """Wrap the handler of a method open to anyone (logging in): the table must
    say so, and refusals end the call as statuses."""
    method = f"/parley.v1.{service}/{name}"
    logged = audited(method)

    def wrap(handler: PublicHandler[S, Req, Rep]) -> Method[S, Req, Rep]:
        @functools.wraps(handler)
        async def call(self: S, request: Req, context: grpc.aio.ServicerContext[Req, Rep]) -> Rep:
            async def run() -> Rep:
                if authorize(self.engine, context, method) is not None:
                    raise RuntimeError(f"{method} needs a caller: wrap it with rpc")
                if note is not None:
                    note.open(None)
                check_request(request)  # type: ignore[arg-type]
                return await handler(self, request, context)

            note = Note(self.engine, method, request, peer_address(context)) if logged else None
            email = str(getattr(request, "email", ""))[:254]
            return await answered(context, method, noted(note, run, email))

        return call

    return wrap


FIRST_REQUEST_WAIT = 0.5  # seconds a refused stream waits for the client's first batch


async def stream_caller(
    engine: Engine,
    context: grpc.aio.ServicerContext[Req, Rep],
    method: str,
    requests: AsyncIterator[Any] | None = None,
) -> Principal:
    """The authorised caller of a stream, or the call ends with the refusal
    (``server_stopping`` once a stop has begun). A refused stream whose
    ``requests`` are given ends only once the client's first batch has come
    (or FIRST_REQUEST_WAIT seconds, or the client's end): a client writes its
    hello as the call opens, and a write that meets the call already ended
    makes gRPC's client report INTERNAL ("Internal error from Core") instead
    of the refusal's own status."""
    try:
        if engine.stopping:
            raise server_stopping()
        principal = authorize(engine, context, method)
    except Refused as error:
        if requests is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(FIRST_REQUEST_WAIT):
                    await anext(requests, None)
        await abort(context, error)
        raise AssertionError("abort returned") from error
    assert principal is not None
    return principal


def watch_access(
    engine: Engine,
    principal: Principal,
    method: str,
    end: Callable[[Refused], None],
    narrow: Callable[[Principal], None] | None = None,
) -> StreamAccess:
    """Keep an open stream's caller checked: ``end`` when its token or the
    method's permission goes, ``narrow`` when its role changes (a started
    :class:`StreamAccess`; close it when the stream ends)."""
    needed = permissions.RPC_PERMISSIONS[method]
    assert needed is not None, f"{method} is a stream: it needs a permission"
    if narrow is None:
        access = StreamAccess(engine, principal, needed, end)
    else:
        access = StreamAccess(engine, principal, needed, end, narrow)
    access.start()
    return access


# -- what the resource services share -------------------------------------------------

Ctx = grpc.aio.ServicerContext[Any, Any]  # a unary call's context, as the handlers take it
T = TypeVar("T")


def need(value: str, field: str) -> str:
    """A field naming what the call acts on must be given."""
    if not value:
        raise InvalidArgument("invalid_argument", f"{field} is required", field=field)
    return value


class CreateRequest(Protocol):
    request_id: str

    def __init__(self) -> None: ...

    def CopyFrom(self, other_msg: Any, /) -> None: ...  # noqa: N802 (protobuf's names)

    def SerializeToString(self, *, deterministic: bool = ...) -> bytes: ...  # noqa: N802


async def create_once(
    engine: Engine,
    p: Principal,
    method: str,
    request: CreateRequest,
    create: Callable[[], Awaitable[T]],
    id_of: Callable[[T], str],
    get: Callable[[str], T],
) -> T:
    """Run a create, once per request id (engine/chat/requests.py): a retry
    with the same id and request gets what the first made, as it is now."""
    if not request.request_id:
        return await create()
    bare = type(request)()
    bare.CopyFrom(request)
    bare.request_id = ""
    made = await engine.requests.once(
        p.account_id,
        method,
        request.request_id,
        bare.SerializeToString(deterministic=True),
        create,
        id_of,
    )
    return made.made if made.made is not None else get(made.id)
