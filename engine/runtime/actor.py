"""The actor base class and its context.

An actor is a plain class: state in attributes, one ``receive`` method that
handles each message (dispatching with ``match``). Its return value is the reply
to an ask. An actor that replies later (after a journal commit, say) calls
``ctx.defer()`` and keeps the returned reply callable. An actor touches the world
only through its context: its own reference, other actors, the clock, timers and
the services the system was given (the store, the directory).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from engine.runtime.clock import Clock, Timer
from engine.runtime.errors import UnhandledMessage
from engine.runtime.ref import Ref, Reply

if TYPE_CHECKING:
    from engine.runtime.system import ActorSystem, Cell

log = logging.getLogger("parley.runtime")


class Actor:
    """Subclass and implement :meth:`receive`."""

    def started(self, ctx: Context) -> None:
        """Called once after activation or restart, before any message."""

    def receive(self, message: Any, ctx: Context) -> Any:
        raise UnhandledMessage(f"{type(self).__name__} does not handle {message!r}")

    def snapshot(self) -> bytes | None:
        """State to keep when passivated; None keeps nothing."""
        return None

    def can_passivate(self) -> bool:
        """False while the actor holds live connections or pending work."""
        return True


class Context:
    """What an actor may use; one per activation."""

    __slots__ = ("_cell", "_self_ref", "_reply", "_deferred")

    def __init__(self, cell: Cell) -> None:
        self._cell = cell
        self._self_ref: Ref | None = None  # made on first use: most actors never ask
        self._reply: Reply | None = None
        self._deferred = False

    @property
    def self_ref(self) -> Ref:
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
    def services(self) -> Any:
        return self._cell.owner.services

    def ref(self, kind: str, key: str) -> Ref:
        return self._cell.owner.ref(kind, key)

    def defer(self) -> Reply | None:
        """Take the current message's reply to complete later (None for a tell)."""
        self._deferred = True
        return self._reply

    def schedule(self, delay: float, message: object) -> Timer:
        """Send ``message`` to this actor after ``delay`` seconds."""
        ref = self.self_ref
        return self._cell.owner.clock.call_later(delay, lambda: ref.tell_system(message))

    def tell_self_soon(self, message: object) -> None:
        """Send ``message`` to this actor once the loop has served what else is
        ready (I/O included): the next piece of long work cut into pieces, so
        that no turn holds the loop for long. Never refused."""
        ref = self.self_ref
        self._cell.owner.scheduler.later(lambda: ref.tell_system(message))

    def save_snapshot(self) -> None:
        """Store the actor's snapshot now (not only at passivation): for actors
        whose state must survive a crash. A failed write is logged; the next
        change writes it again."""
        cell = self._cell
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
