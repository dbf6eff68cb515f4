"""What every session shares: the limits on what a client sends, the refusal
events, and the hello guard, written once.

A session's commands answer on its sink, never by raising: a refusal is a
:class:`~engine.chat.events.CommandFailed` carrying the command's client id and
conversation when it has them, so a client can match it to what it sent. The
:func:`after_hello` decorator is the one place that refuses a command sent
before the session's hello completed (``no_hello``).
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from typing import Any, Protocol, TypeVar, cast

from engine.chat import ids, policies
from engine.chat.events import CommandFailed, Sink
from engine.errors import Refused
from engine.runtime import AskTimeout, MailboxFull

log = logging.getLogger("parley.sessions")

MAX_NAME = 100
MAX_PREVIEW = 1000  # characters of a typing preview
MAX_EMAIL = 254
MAX_URL = 2000
MAX_TITLE = 300
MAX_TICKETS = 3  # offline requests per connection

TEXT_ERRORS = {
    "empty_message": "a message needs some text",
    "message_too_long": f"a message has at most {policies.MAX_TEXT} characters",
    "bad_client_msg_id": f"client message id must be 1 to {policies.MAX_CLIENT_MSG_ID} characters",
}


def overloaded(client_msg_id: str, conversation_id: str = "") -> CommandFailed:
    """A message refused because the server is behind: retryable, with the
    same words wherever it is refused (a full mailbox, a full backlog)."""
    return CommandFailed(
        "overloaded", "the server is busy; resend later", True, client_msg_id, conversation_id
    )


def failure(
    error: BaseException, client_msg_id: str = "", conversation_id: str = ""
) -> CommandFailed:
    """The event that tells a client its command was refused."""
    if isinstance(error, Refused):
        return CommandFailed(
            error.code, error.message, error.retryable, client_msg_id, conversation_id
        )
    if isinstance(error, MailboxFull):
        return overloaded(client_msg_id, conversation_id)
    if isinstance(error, AskTimeout):
        return CommandFailed(
            "unavailable",
            "the server took too long; try again",
            True,
            client_msg_id,
            conversation_id,
        )
    # A bug: its traceback in the log and the client's error name the same id.
    request_id = ids.random_id(12)
    log.error("a command failed", exc_info=error, extra={"request_id": request_id})
    return CommandFailed(
        "internal",
        f"the server could not handle this (request id {request_id})",
        True,
        client_msg_id,
        conversation_id,
    )


def no_hello(client_msg_id: str = "", conversation_id: str = "") -> CommandFailed:
    """The refusal of a command sent before the hello completed."""
    return CommandFailed("no_hello", "send hello first", False, client_msg_id, conversation_id)


class Session(Protocol):
    """What the hello guard needs of a session."""

    @property
    def ready(self) -> bool: ...

    sink: Sink


def sink_has_room(sink: Sink) -> bool:
    """Whether ``sink`` has room for more of a replay (a replay waits while it
    has not); a sink that cannot tell always has."""
    room = getattr(sink, "has_room", None)
    return room is None or bool(room())


def sink_when_room(sink: Sink, wake: Callable[[], None]) -> bool:
    """Whether ``sink`` will call ``wake`` once it has room again (see
    :data:`~engine.chat.journal.WhenRoom`); a sink that cannot say will not."""
    when_room = getattr(sink, "when_room", None)
    return when_room is not None and bool(when_room(wake))


F = TypeVar("F", bound=Callable[..., Any])


def after_hello(*ids: str) -> Callable[[F], F]:
    """Refuse the decorated command before hello: the sink gets ``no_hello``
    with the values of the parameters named in ``ids`` (``client_msg_id``,
    ``conversation_id``), and the command does not run. Works on plain and on
    coroutine methods (a coroutine one is refused when awaited, like its own
    refusals)."""
    for name in ids:
        if name not in ("client_msg_id", "conversation_id"):
            raise ValueError(f"after_hello names client_msg_id or conversation_id, not {name!r}")

    def decorate(method: F) -> F:
        signature = inspect.signature(method)

        def refuse(session: Session, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
            bound = signature.bind(session, *args, **kwargs).arguments
            session.sink.push(no_hello(**{name: str(bound.get(name, "")) for name in ids}))

        if inspect.iscoroutinefunction(method):

            @functools.wraps(method)
            async def guarded_async(session: Session, *args: Any, **kwargs: Any) -> None:
                if not session.ready:
                    refuse(session, args, kwargs)
                    return
                await method(session, *args, **kwargs)

            return cast(F, guarded_async)

        @functools.wraps(method)
        def guarded(session: Session, *args: Any, **kwargs: Any) -> None:
            if not session.ready:
                refuse(session, args, kwargs)
                return
            method(session, *args, **kwargs)

        return cast(F, guarded)

    return decorate
