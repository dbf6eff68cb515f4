"""The actor base class and its context.

An actor is a plain class: state in attributes, one ``receive`` method that
handles each message (dispatching with ``match``). Its return value is the reply
to an ask. ``Actor[M, S]`` names the union ``M`` of the messages the kind handles
and the type ``S`` of the services its context hands out, so a type checker sees
each kind's ``receive`` take exactly its own messages: its ``match`` ends in
:func:`unhandled`, which a type checker treats like ``typing.assert_never``
(proving every member is handled) and which raises :class:`UnhandledMessage` at
run time, when a message outside the union reaches it anyway. That is a bug of
the sender, logged and supervised like any failure, never a refusal.

An actor that replies later (after a journal commit, say) calls ``ctx.defer()``
and keeps the returned reply callable. An actor touches the world only through
its context: its own reference, other actors, the clock, keyed timers
(``start_timer``; their rules are in ``engine.runtime.timers``) and the services
the system was given (the store, the directory).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Generic, Never, NoReturn, TypeVar, cast, overload

from engine.runtime import timers
from engine.runtime.clock import Clock
from engine.runtime.errors import UnhandledMessage
from engine.runtime.kind import Kind
from engine.runtime.ref import Ref, Reply

if TYPE_CHECKING:
    from engine.runtime.system import ActorSystem, Cell

log = logging.getLogger("parley.runtime")

# The messages an actor kind takes (contravariant: an actor that takes more is
# usable where one that takes fewer is expected).
M = TypeVar("M", contravariant=True)
# The services a context hands out: covariant in Context (read only), hence
# contravariant where an actor takes a context.
S = TypeVar("S", contravariant=True)
S_co = TypeVar("S_co", covariant=True)


class Actor(Generic[M, S]):
    """Subclass as ``Actor[Messages, Services]`` and implement :meth:`receive`."""

    def started(self, ctx: Context[S]) -> None:
        """Called once after activation or restart, before any message."""

    def receive(self, message: M, ctx: Context[S]) -> object:
        """Handle ``message``; the return value is the reply to an ask.
        A subclass matches on its union and ends with :func:`unhandled`."""
        raise UnhandledMessage(f"{type(self).__name__} does not handle {message!r}")

    def snapshot(self) -> bytes | None:
        """State to keep when passivated; None keeps nothing."""
        return None

    def can_passivate(self) -> bool:
        """False while the actor holds live connections or pending work."""
        return True


def unhandled(message: Never) -> NoReturn:
    """End of a ``receive``'s ``match``: typed like ``typing.assert_never`` (a
    type checker rejects the call unless every member of the union returned
    before it), and at run time raises :class:`UnhandledMessage`, which the
    cell logs and supervises, and which fails the asker with ActorStopped."""
    raise UnhandledMessage(f"no handler for {type(message).__name__}: {message!r}")


class Context(Generic[S_co]):
    """What an actor may use; one per activation. ``S_co`` is the type of the
    services the system was given, as the actor kind states it."""

    __slots__ = ("_cell", "_self_ref", "_reply", "_deferred")

    def __init__(self, cell: Cell) -> None:
        self._cell = cell
        self._self_ref: Ref[object] | None = None  # made on first use: most actors never ask
        self._reply: Reply | None = None
        self._deferred = False

    @property
    def self_ref(self) -> Ref[object]:
        ref = self._self_ref
        if ref is None:
            cell = self._cell
            ref = self._self_ref = Ref(cell.owner, cell.kind, cell.key)
        return ref

    @property
    def key(self) -> str:
        return self._cell.key

    @property
    def system(self) -> ActorSystem:
        return self._cell.owner

    @property
    def clock(self) -> Clock:
        return self._cell.owner.clock

    @property
    def services(self) -> S_co:
        # The system holds its services untyped (one system serves every kind);
        # the kind's ``Actor[M, S]`` states what it expects, and the engine
        # checks once that what it passes satisfies that.
        return cast(S_co, self._cell.owner.services)

    @overload
    def ref(self, kind: Kind[M], key: str) -> Ref[M]: ...

    @overload
    def ref(self, kind: str, key: str) -> Ref[object]: ...

    def ref(self, kind: str, key: str) -> Ref[object]:
        """A reference to the actor ``key`` of ``kind``, typed to its messages
        when ``kind`` is a :class:`Kind`."""
        return self._cell.owner.ref(kind, key)

    def defer(self) -> Reply | None:
        """Take the current message's reply to complete later (None for a tell)."""
        self._deferred = True
        return self._reply

    def start_timer(self, key: Hashable, delay: float, message: object) -> None:
        """Handle ``message`` after ``delay`` seconds, as a system message; the
        timer under ``key`` (this actor's own) is replaced. Until it fires the
        actor is not passivated."""
        timers.start(self._cell, key, delay, message)

    def cancel_timer(self, key: Hashable) -> None:
        """The timer under ``key`` will not fire, even if its time has come and
        its message is queued already. No timer under ``key`` is fine."""
        timers.cancel(self._cell, key)

    def has_timer(self, key: Hashable) -> bool:
        """Whether a timer under ``key`` is pending."""
        pending = self._cell.timers
        return pending is not None and key in pending

    def tell_self_soon(self, message: object) -> None:
        """Send ``message`` to this actor once the loop has served what else is
        ready (I/O included): the next piece of long work cut into pieces, so
        that no turn holds the loop for long. Never refused."""
        ref = self.self_ref
        self._cell.owner.scheduler.later(lambda: ref.tell_system(message))

    def waker(self, message: object) -> Callable[[], None]:
        """A callable that hands ``message`` to this activation of the actor,
        as a system message, whenever it is called from outside its turns
        (a reader saying it has room again); once this activation has stopped
        it does nothing (where a reference would make a new activation for
        a message only this one could use)."""
        cell = self._cell

        def wake() -> None:
            if not cell.stopped:
                cell.put_system(message)
                if not cell.scheduled:
                    cell.owner.scheduler.schedule(cell)

        return wake

    def save_snapshot(self) -> None:
        """Store the actor's snapshot (not only at passivation): for actors
        whose state must survive a crash. Written once at the end of the
        current turn, however many messages of the turn asked: the state as
        the turn left it, queued in the same loop iteration as the turn's other
        writes (so, in practice, in their commit). A failed write is logged;
        the next change writes it again."""
        self._cell.snapshot_due = True

    def _write_snapshot(self) -> None:
        """The write ``save_snapshot`` asked for (the runtime calls it)."""
        cell = self._cell
        cell.snapshot_due = False
        data = cell.actor.snapshot()
        if data is None:
            return
        kind, key = cell.kind, cell.key

        def done(error: BaseException | None) -> None:
            if error is not None:
                log.error("snapshot of %s/%s not stored: %r", kind, key, error)

        cell.owner.snapshots.save_snapshot(kind, key, data, done)

    def stop(self) -> None:
        """Stop this actor after the current message."""
        self._cell.stop_requested = True

    def rest(self) -> None:
        """Passivate this actor at the end of the current turn, as the idle sweep
        would, if by then nothing is queued for it, no timer of its is pending
        and ``can_passivate()`` holds; otherwise the sweep takes it once idle.
        For an actor whose work is done for good (a closed chat): its memory
        goes now rather than after the kind's idle time."""
        self._cell.rest_requested = True
