"""What the chat actors may use besides their messages: the services protocol.

The runtime hands every actor the services object the system was given, typed as
the actor kind states it. The chat actors state :class:`ChatServices`: the store,
the directory of accounts and settings, and the engine's timing settings. The
engine (``engine/app.py``) is what implements it; it checks so once, where it
builds the actor system. ``Context`` here is the runtime's context with these
services, the one every chat actor's ``receive`` and helpers take.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from engine.runtime import Context as RuntimeContext

if TYPE_CHECKING:
    from engine.chat.directory import Directory
    from engine.chat.journal import Backlog
    from engine.delivery.outbox import Deliveries
    from engine.meters import Meters
    from engine.persistence.lmdb_store import LmdbStore


class ChatServices(Protocol):
    """The services of the chat actors (read only)."""

    @property
    def store(self) -> LmdbStore:
        """The database: journals, records, snapshots."""
        ...

    @property
    def directory(self) -> Directory:
        """Accounts, sites, departments and operators, as configured now."""
        ...

    @property
    def deliveries(self) -> Deliveries:
        """The outbox: the writes of emails and webhook calls (engine/delivery/)."""
        ...

    @property
    def grace_seconds(self) -> float:
        """An operator whose last session dropped is offline after this long."""
        ...

    @property
    def abandon_seconds(self) -> float:
        """A waiting visitor gone this long has abandoned the chat."""
        ...

    @property
    def backlog(self) -> Backlog:
        """Messages accepted and not yet stored, over every journal (its bound
        refuses clients' new messages ``overloaded``; engine/chat/journal.py)."""
        ...

    @property
    def meters(self) -> Meters:
        """The engine's counters (assignments, waits; engine/meters.py)."""
        ...


Context = RuntimeContext[ChatServices]
"""The context of a chat actor: its ``services`` are :class:`ChatServices`."""
