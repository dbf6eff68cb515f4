"""The actor base class and its context.

An actor is a plain class: state in attributes, one ``receive`` method that
handles each message (dispatching with ``match``). Its return value is the reply
to an ask. An actor that replies later (after a journal commit, say) calls
``ctx.defer()`` and keeps the returned reply callable. An actor touches the world
only through its context: its own reference, other actors, the clock, keyed
timers (``start_timer``; their rules are in ``engine.runtime.timers``) and the
services the system was given (the store, the directory).
"""

from __future__ import annotations

import logging
from collections.abc import Hashable
from typing import TYPE_CHECKING, Any

from engine.runtime import timers
from engine.runtime.clock import Clock
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
