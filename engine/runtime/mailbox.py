"""Bounded mailboxes.

Two deques: system messages (supervision, passivation, commit notices) always go
first and are never refused; user messages are bounded by ``capacity``. The
overflow policy is *reject*: ``put`` returns False and the sender gets
:class:`~engine.runtime.errors.MailboxFull` (a teller's reply callback or an
asker's future fails). Dropping silently would lose chat messages; blocking is
impossible on one loop. Statistics are kept for monitoring.
"""

from __future__ import annotations

from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class Mailbox(Generic[T]):
    __slots__ = ("_user", "_system", "capacity", "received", "rejected", "high_water")

    def __init__(self, capacity: int = 10_000) -> None:
        if capacity < 1:
            raise ValueError(f"mailbox capacity must be at least 1, got {capacity}")
        self._user: deque[T] = deque()
        self._system: deque[T] = deque()
        self.capacity = capacity
        self.received = 0
        self.rejected = 0
        self.high_water = 0

    def put(self, item: T) -> bool:
        """Enqueue a user message; False when the mailbox is full."""
        user = self._user
        if len(user) >= self.capacity:
            self.rejected += 1
            return False
        user.append(item)
        self.received += 1
        n = len(user)
        if n > self.high_water:
            self.high_water = n
        return True

    def put_system(self, item: T) -> None:
        """Enqueue a system message; never refused, always served first."""
        self._system.append(item)

    def pop(self) -> T | None:
        if self._system:
            return self._system.popleft()
        if self._user:
            return self._user.popleft()
        return None

    def drain(self) -> list[T]:
        """Take everything still queued (used when an actor stops)."""
        items = list(self._system) + list(self._user)
        self._system.clear()
        self._user.clear()
        return items

    def __len__(self) -> int:
        return len(self._user) + len(self._system)

    def stats(self) -> dict[str, int]:
        return {
            "queued": len(self),
            "capacity": self.capacity,
            "received": self.received,
            "rejected": self.rejected,
            "high_water": self.high_water,
        }
