"""Supervision as data: a directive chosen per exception type, with a restart
budget per time window (after protoactor's one-for-one strategy).

- RESUME: keep the state, drop the failing message.
- RESTART: rebuild the actor from its last snapshot (or from scratch).
- STOP: stop the actor; later messages activate a fresh one if it is virtual.
- ESCALATE: treated as STOP here (no parent hierarchy): the error is logged.

By default an :class:`UnhandledMessage` resumes: a message the actor has no
handler for is the sender's bug and says nothing wrong of the actor's state.
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass, field

from engine.runtime.errors import UnhandledMessage


class Directive(enum.Enum):
    RESUME = "resume"
    RESTART = "restart"
    STOP = "stop"
    ESCALATE = "escalate"


@dataclass(frozen=True, slots=True)
class SupervisorStrategy:
    """Which directive each exception type gets, and how many restarts are allowed."""

    directives: tuple[tuple[type[BaseException], Directive], ...] = (
        (UnhandledMessage, Directive.RESUME),
    )
    default: Directive = Directive.RESTART
    max_restarts: int = 10
    window_seconds: float = 60.0

    def __post_init__(self) -> None:
        if self.max_restarts < 0:
            raise ValueError("max_restarts must be >= 0")
        if self.window_seconds <= 0:
            raise ValueError("window_seconds must be > 0")

    def decide(self, error: BaseException) -> Directive:
        for kind, directive in self.directives:
            if isinstance(error, kind):
                return directive
        return self.default


@dataclass(slots=True)
class RestartBudget:
    """Remembers recent restarts of one actor."""

    strategy: SupervisorStrategy
    times: deque[float] = field(default_factory=deque)

    def allow(self, now: float) -> bool:
        """Record a restart at ``now``; False when the budget is spent."""
        times = self.times
        while times and now - times[0] > self.strategy.window_seconds:
            times.popleft()
        if len(times) >= self.strategy.max_restarts:
            return False
        times.append(now)
        return True
