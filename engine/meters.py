"""The engine's meters: plain counters and fixed-bucket histograms, read when
someone asks (``control/metrics.py`` turns them into Prometheus metrics at a
scrape).

Why not the Prometheus client's own counters: an ``inc()`` or ``observe()`` there
takes a lock and walks label dictionaries, on every message. Here a count is an
integer attribute and an observation is one ``bisect`` into a short tuple and two
additions, on the loop thread only; the scrape, also on the loop thread, copies
them. Gauges (mailbox depths, the waiting lines, the outbox) are not kept at all:
they are read from the actors' and services' own state at the scrape.

Labels stay bounded: a refusal's code, a department id, a message's direction;
never a visitor, a conversation or an operator.
"""

from __future__ import annotations

from bisect import bisect_left

# Latencies, in seconds: half a millisecond to ten seconds.
LATENCY_BOUNDS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
# Waits in a department's line, in seconds: a second to an hour.
WAIT_BOUNDS = (1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
# Writes gathered into one commit.
BATCH_BOUNDS = (1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0)


class Histogram:
    """Counts of observations at or under each bound (not cumulative; the last
    slot is past the last bound), their sum and their number."""

    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.sum += value

    @property
    def count(self) -> int:
        return sum(self.counts)

    def cumulative(self) -> list[tuple[float, int]]:
        """(upper bound, observations at or under it), ending with +Inf."""
        total, out = 0, []
        for bound, count in zip((*self.bounds, float("inf")), self.counts, strict=True):
            total += count
            out.append((bound, total))
        return out


class Meters:
    """What the engine counts as it works (loop thread only)."""

    def __init__(self) -> None:
        self.visitor_messages = 0  # acknowledged (stored) visitor messages
        self.operator_messages = 0  # acknowledged operator replies and notes
        self.ack_seconds = Histogram(LATENCY_BOUNDS)  # visitor message -> durable ack
        self.refusals: dict[str, int] = {}  # messages refused, by code
        self.assignments: dict[str, int] = {}  # chats assigned, by department
        self.wait_seconds = Histogram(WAIT_BOUNDS)  # time in line before assignment

    def refused(self, code: str) -> None:
        self.refusals[code] = self.refusals.get(code, 0) + 1

    def assigned(self, department_id: str, waited: float) -> None:
        self.assignments[department_id] = self.assignments.get(department_id, 0) + 1
        self.wait_seconds.observe(waited)
