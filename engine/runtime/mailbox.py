"""Bounded mailboxes.

Two queues: system messages (supervision, timers, commit notices) always go first
and are never refused; user messages are bounded by ``capacity``. The overflow
policy is *reject*: the sender gets :class:`~engine.runtime.errors.MailboxFull`
(``Ref.tell`` raises it; an asker's future fails with it). Dropping silently
would lose chat messages; blocking is impossible on one loop.

The hot path (``Ref.tell`` and ``Cell.run``) works on ``user`` and ``system``
directly; the methods here are for everything else. The system deque is made on
first use and statistics are updated once per turn, not per message, to keep an
idle actor small and a message cheap.
"""

from __future__ import annotations

from collections import deque
from typing import Any


class Envelope:
    """A message with its reply callable. Messages without a reply travel bare,
    so a tell allocates nothing but its message."""

    __slots__ = ("message", "reply")

    def __init__(self, message: Any, reply: Any) -> None:
        self.message = message
        self.reply = reply


class Mailbox:
    __slots__ = ("user", "system", "capacity", "received", "rejected", "high_water")

    def __init__(self, capacity: int = 10_000) -> None:
        if capacity < 1:
            raise ValueError(f"mailbox capacity must be at least 1, got {capacity}")
        self.user: deque[Any] = deque()
        self.system: deque[Any] | None = None
        self.capacity = capacity
        self.received = 0
        self.rejected = 0
        self.high_water = 0

    def put(self, item: Any) -> bool:
        """Enqueue a user message; False when the mailbox is full."""
        if len(self.user) >= self.capacity:
            self.rejected += 1
            return False
        self.user.append(item)
        return True

    def put_system(self, item: Any) -> None:
        """Enqueue a system message; never refused, always served first."""
        if self.system is None:
            self.system = deque()
        self.system.append(item)

    def pop(self) -> Any:
        """The next message, system first; None when empty."""
        if self.system:
            return self.system.popleft()
        if self.user:
            return self.user.popleft()
        return None

    def drain(self) -> list[Any]:
        """Take everything still queued (used when an actor stops)."""
        items = list(self.system or ()) + list(self.user)
        if self.system is not None:
            self.system.clear()
        self.user.clear()
        return items

    def __len__(self) -> int:
        return len(self.user) + (len(self.system) if self.system else 0)

    def stats(self) -> dict[str, int]:
        return {
            "queued": len(self),
            "capacity": self.capacity,
            "received": self.received,
            "rejected": self.rejected,
            "high_water": self.high_water,
        }
