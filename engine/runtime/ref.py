"""References to actors, and how replies travel.

A reply is a callable ``reply(value, error)`` carried in the envelope beside the
message (never inside it). ``tell`` takes an optional reply callable; ``ask``
builds one that completes a future, with a timeout. Callables instead of futures
keep the hot path free of future allocations.

Types: ``Ref[M]`` takes the messages ``M`` of its actor kind (a type parameter
only: nothing is checked at run time, so ``tell`` costs the same). A message that
is asked subclasses ``Request[R]``, naming its reply, so ``ask`` returns
``Future[R]``: ``ref.ask(GetConversation())`` is a future of the summary.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from engine.runtime.errors import AskTimeout, MailboxFull
from engine.runtime.mailbox import Envelope, Mailbox

if TYPE_CHECKING:
    from engine.runtime.system import ActorSystem, Cell

# The runtime hands the actor's answer to the callable untouched: each callable
# states the type it expects (an ask's is typed by its Request).
Reply = Callable[[Any, BaseException | None], None]

M = TypeVar("M", contravariant=True)  # what the referenced actor takes
R = TypeVar("R", covariant=True)  # what a request is answered with
T = TypeVar("T")


class Request(Generic[R]):
    """Base of the messages that are asked: ``R`` is the type of the reply the
    actor returns (or completes a deferred reply with). A marker for the type
    checker; it adds no field and no run-time work."""

    __slots__ = ()


# What an unbound reference points at: capacity 0 sends its first tell to the slow path.
_UNBOUND = Mailbox(1)
_UNBOUND.capacity = 0


class Ref(Generic[M]):
    """Address of a virtual actor: kind plus key. Survives passivation: a stale
    reference re-activates the actor on its next message. ``M``: the messages
    its actor takes (``Ref[object]``, from a kind named by a plain string, takes
    any: a wrong one fails in the actor as UnhandledMessage)."""

    __slots__ = ("_system", "kind", "key", "_cell")

    def __init__(self, system: ActorSystem, kind: str, key: str) -> None:
        self._system = system
        self.kind = kind
        self.key = key
        self._cell: Cell | Mailbox = _UNBOUND

    def _live_cell(self) -> Cell:
        cell = self._cell
        if cell is _UNBOUND or cell.stopped:  # type: ignore[union-attr]
            cell = self._cell = self._system._cell_for(self.kind, self.key)
        return cell  # type: ignore[return-value]

    def _room(self) -> Cell:
        """The slow path of tell: a reference not bound yet, a stopped actor (its
        capacity is set to 0), or a really full mailbox."""
        cell = self._live_cell()
        if len(cell.user) >= cell.capacity:
            cell.rejected += 1
            raise MailboxFull(f"mailbox of {self.kind}/{self.key} is full")
        return cell

    def tell(self, message: M, reply: Reply | None = None) -> None:
        """Enqueue ``message``; raise :class:`MailboxFull` if the mailbox refuses it."""
        # The hot path of the whole engine, kept short on purpose: one length
        # check covers unbound, stopped and full (see _room).
        # _UNBOUND (a bare Mailbox) never passes the length check, so past it
        # the cell is a real Cell.
        cell: Cell = self._cell  # type: ignore[assignment]
        if len(cell.user) >= cell.capacity:
            cell = self._room()
        cell.user.append(message if reply is None else Envelope(message, reply))
        if not cell.scheduled:
            cell.scheduled = True
            scheduler = cell.owner.scheduler
            scheduler.ready.append(cell)
            if not scheduler.pending:
                scheduler.kick()

    def tell_system(self, message: object, reply: Reply | None = None) -> None:
        """Enqueue ahead of user messages, never refused (runtime and store notices)."""
        cell = self._live_cell()
        cell.put_system(message if reply is None else Envelope(message, reply))
        if not cell.scheduled:
            cell.owner.scheduler.schedule(cell)

    def ask(self, message: Request[T], timeout: float = 5.0) -> asyncio.Future[T]:
        """Send ``message`` and return a future for the reply.

        The future fails with :class:`AskTimeout` after ``timeout`` seconds on
        the system's clock (a fake clock in tests: no real wait), with the
        actor's refusal if it refuses, with :class:`ActorStopped` if the actor
        failed on it (a bug, logged), or with :class:`MailboxFull`.
        """
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[T] = loop.create_future()

        def on_reply(value: T, error: BaseException | None) -> None:
            if fut.done():
                return
            if error is not None:
                fut.set_exception(error)
            else:
                fut.set_result(value)

        def on_timeout() -> None:
            if not fut.done():
                fut.set_exception(
                    AskTimeout(f"{self.kind}/{self.key} did not reply within {timeout}s")
                )

        # The request names its reply, not its actor: sent as the untyped
        # reference it is at run time (an actor that does not take it fails the
        # future with ActorStopped, logging UnhandledMessage).
        cast("Ref[object]", self).tell(message, on_reply)
        handle = self._system.clock.call_later(timeout, on_timeout)
        fut.add_done_callback(lambda _f: handle.cancel())
        return fut

    def __repr__(self) -> str:
        return f"Ref({self.kind}/{self.key})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Ref) and (other.kind, other.key) == (self.kind, self.key)

    def __hash__(self) -> int:
        return hash((self.kind, self.key))
