"""The server's own state, for ``parley status``: its health and why, version,
uptime, live connections and the store.

The front ends count their connections here (the edge its visitor websockets,
the gRPC operator stream its streams), since the engine cannot see them;
:func:`server_status` reads those counts beside the store's size, how much of
its map is used and what it may still take, and the time of its last commit.
The health (``engine/health.py`` has the rules) is judged from numbers read
here: the fullest mailbox, the writes waiting for the store, the visitor
websockets against the descriptor limit, the store's room, the history index's
lag and the outbox's retries. Everything is read on the loop thread and nothing
is written.
"""

from __future__ import annotations

import functools
import resource
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from typing import TYPE_CHECKING

from engine.chat.department import DepartmentQueue
from engine.health import Load, judge

if TYPE_CHECKING:
    from engine.app import Engine


@functools.cache
def version() -> str:
    """The installed Parley's version ("unknown" when run from a bare checkout):
    read once (the package metadata's lookup walks the path's folders, about
    2 ms, and the health is read every 2 s)."""
    try:
        return metadata.version("parley")
    except metadata.PackageNotFoundError:
        return "unknown"


class Connections:
    """Live connections per front end. The edge counts its visitor websockets in
    and out; a gRPC stream registers itself with how to end it, so a stop can
    tell every open stream to reconnect (:meth:`end_streams`)."""

    def __init__(self) -> None:
        self.visitor_websockets = 0  # this process's visitor sockets
        self.hosted_visitors = 0  # split mode: the edges' visitors, hosted here
        self._streams: dict[object, tuple[str, Callable[[], None]]] = {}

    def stream_opened(self, kind: str, end: Callable[[], None]) -> Callable[[], None]:
        """Count a stream of KIND ("operator" or "visitor") until the returned
        function is called (any number of times); END ends it at a stop."""
        token = object()
        self._streams[token] = (kind, end)

        def closed() -> None:
            self._streams.pop(token, None)

        return closed

    @property
    def visitors(self) -> int:
        """Visitors connected: by a socket here or through an edge."""
        return self.visitor_websockets + self.hosted_visitors

    @property
    def operator_streams(self) -> int:
        return sum(1 for kind, _ in self._streams.values() if kind == "operator")

    @property
    def visitor_streams(self) -> int:
        return sum(1 for kind, _ in self._streams.values() if kind == "visitor")

    def end_streams(self) -> int:
        """End every open stream (each is told to reconnect); how many there were."""
        ends = [end for _, end in self._streams.values()]
        for end in ends:
            end()
        return len(ends)


@dataclass(frozen=True, slots=True)
class ServerStatus:
    health: str  # serving, degraded, overloaded, or stopping (engine/health.py)
    version: str
    uptime_seconds: float
    visitor_websockets: int
    operator_streams: int
    store_used_bytes: int  # pages in use in the map
    map_size_bytes: int  # the map's present size
    store_left_bytes: int  # the map's free part and what it may still grow by
    disk_free_bytes: int
    last_commit_ms: int  # wall time of the last commit (0: none since the start)
    commits: int  # commits since the start
    health_reason: str = ""  # why it is not serving (empty when it is)
    index_lag: int = 0  # commits the history index is behind the store


def descriptor_limit() -> int:
    """The process's limit of open files (0: unlimited or unknown)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return 0 if soft == resource.RLIM_INFINITY else soft


def index_lag(engine: Engine) -> int:
    """Commits of the store the history index does not hold yet (0 when off)."""
    if not engine.history_on:
        return 0
    return max(0, engine.store.commit_number - engine.history.mark)


def load(engine: Engine, used: int, left: int) -> Load:
    """The numbers the health rules judge. Walks every live actor's mailbox
    (cheap: a length each), so it is read at a status call or a scrape, not per
    message."""
    kind, depth, capacity = "", 0, 1
    for cell in engine.system.cells():
        queued = len(cell.user)
        if queued * capacity > depth * cell.capacity:  # the fullest share, not the longest
            kind, depth, capacity = cell.kind, queued, cell.capacity
    _, retrying, _ = engine.deliveries.backlog()
    return Load(
        stopping=engine.stopping,
        mailbox_kind=kind,
        mailbox_depth=depth,
        mailbox_capacity=capacity,
        queued_writes=engine.store.queued,
        visitor_websockets=engine.connections.visitor_websockets,
        descriptor_limit=descriptor_limit(),
        store_used_bytes=used,
        store_left_bytes=left,
        index_lag=index_lag(engine),
        index_failure=engine.history.failure if engine.history_on else "",
        outbox_retrying=retrying,
    )


@dataclass(frozen=True, slots=True)
class Mailboxes:
    """The live actors of one kind and their mailboxes, at one moment."""

    actors: int
    queued: int  # messages in all their mailboxes
    deepest: int  # in the fullest one


@dataclass(frozen=True, slots=True)
class WaitingLine:
    """A department's line: chats waiting, and how long the first has waited."""

    department_id: str
    waiting: int
    oldest_seconds: float


def actors(engine: Engine) -> tuple[dict[str, Mailboxes], list[WaitingLine]]:
    """Every live actor's mailbox by kind, and each live department's line, in
    one walk over the live actors (a scrape's, not a message's cost)."""
    now = engine.clock.monotonic()
    counts: dict[str, list[int]] = {}
    lines = []
    for cell in engine.system.cells():
        depth = len(cell)
        row = counts.setdefault(cell.kind, [0, 0, 0])
        row[0] += 1
        row[1] += depth
        row[2] = max(row[2], depth)
        actor = cell.actor
        if isinstance(actor, DepartmentQueue):
            since = min((w.since for w in actor.waiting), default=now)
            lines.append(WaitingLine(cell.key, len(actor.waiting), max(0.0, now - since)))
    return {kind: Mailboxes(*row) for kind, row in counts.items()}, lines


def server_status(engine: Engine) -> ServerStatus:
    """What the server is doing now."""
    space = engine.store.space()
    lag = index_lag(engine)
    health, reason = judge(load(engine, space.used, space.left))
    return ServerStatus(
        health=health,
        health_reason=reason,
        index_lag=lag,
        version=version(),
        uptime_seconds=max(0.0, engine.clock.monotonic() - engine.started_at),
        visitor_websockets=engine.connections.visitors,
        operator_streams=engine.connections.operator_streams,
        store_used_bytes=space.used,
        map_size_bytes=space.map_size,
        store_left_bytes=space.left,
        disk_free_bytes=space.disk_free,
        last_commit_ms=engine.store.last_commit_ms,
        commits=engine.store.commits,
    )
