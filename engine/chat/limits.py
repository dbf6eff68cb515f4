"""What one site, and one visitor, may store: a site's storage quota and a
visitor's hourly message budget.

Both are plain rules over plain data, time passed in. A site's quota is checked
against the bytes of messages and tickets it has stored, as the store meters
them (``LmdbStore.site_bytes``): a site over its quota refuses new visitor
messages and tickets with ``quota_exceeded`` while every other site goes on, and
its operators can still answer and close chats. A visitor's budget is a token
bucket of ``per_hour`` messages refilled evenly over the hour: a visitor who
spends it is refused with ``rate_limited`` and told when the next message will
be taken. Buckets live in memory, per visitor id (a restart forgives), and a
visitor whose bucket is full again is forgotten, so the table holds only the
visitors who wrote lately.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from engine.chat.events import CommandFailed

MAX_TRACKED = 100_000  # visitors with a partly spent budget before full ones are swept


@dataclass(frozen=True, slots=True)
class Limits:
    """The defaults of every site and visitor; 0 turns a limit off."""

    site_quota_bytes: int = 1 << 30
    visitor_messages_per_hour: int = 600

    def __post_init__(self) -> None:
        if self.site_quota_bytes < 0:
            raise ValueError("site_quota_bytes must be >= 0 (0: no quota)")
        if self.visitor_messages_per_hour < 0:
            raise ValueError("visitor_messages_per_hour must be >= 0 (0: no budget)")


def over_quota(stored: int, quota: int) -> CommandFailed | None:
    """The refusal for a site that has stored ``stored`` bytes, if over ``quota``."""
    if quota and stored >= quota:
        return CommandFailed(
            "quota_exceeded",
            "this site has used its storage quota; new messages and requests are "
            "refused until an administrator raises it",
        )
    return None


class MessageBudget:
    """``per_hour`` messages per visitor, refilled evenly; time passed in."""

    __slots__ = ("per_hour", "_rate", "_buckets", "_sweep_at")

    def __init__(self, per_hour: int) -> None:
        self.per_hour = per_hour
        self._rate = per_hour / 3600.0  # messages a second
        self._buckets: dict[str, tuple[float, float]] = {}  # visitor: (tokens, at)
        self._sweep_at = MAX_TRACKED  # table size that triggers the next sweep

    def spend(self, visitor_id: str, now: float) -> float:
        """Take one message from ``visitor_id``'s budget: 0.0 when taken, else the
        seconds until one will be."""
        if not self.per_hour:
            return 0.0
        tokens, at = self._buckets.get(visitor_id, (float(self.per_hour), now))
        tokens = min(float(self.per_hour), tokens + (now - at) * self._rate)
        if tokens < 1.0:
            self._buckets[visitor_id] = (tokens, now)
            return (1.0 - tokens) / self._rate
        if len(self._buckets) >= self._sweep_at and visitor_id not in self._buckets:
            self._sweep(now)
        self._buckets[visitor_id] = (tokens - 1.0, now)
        return 0.0

    def refusal(self, wait: float, client_msg_id: str) -> CommandFailed:
        """The answer to a visitor whose budget is spent for ``wait`` seconds."""
        seconds = max(1, math.ceil(wait))
        return CommandFailed(
            "rate_limited",
            f"at most {self.per_hour} messages an hour; retry in {seconds} s",
            True,
            client_msg_id,
        )

    def _sweep(self, now: float) -> None:
        """Forget the visitors whose budget is whole again."""
        full = float(self.per_hour)
        rate = self._rate
        self._buckets = {
            v: (t, at) for v, (t, at) in self._buckets.items() if t + (now - at) * rate < full
        }
        # Sweeping again only after the table doubles keeps each message's share
        # of the sweeps constant, however many visitors are mid-budget.
        self._sweep_at = max(MAX_TRACKED, 2 * len(self._buckets))

    def __len__(self) -> int:
        return len(self._buckets)
