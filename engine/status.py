"""The server's own state, for ``parley status``: version, uptime, live
connections and the store.

The front ends count their connections here (the edge its visitor websockets,
the gRPC operator stream its streams), since the engine cannot see them;
:func:`server_status` reads those counts beside the store's size, how much of
its map is used and what it may still take, and the time of its last commit.
Everything is read on the loop thread and nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.app import Engine


def version() -> str:
    """The installed Parley's version ("unknown" when run from a bare checkout)."""
    try:
        return metadata.version("parley")
    except metadata.PackageNotFoundError:
        return "unknown"


class Connections:
    """Live connections per front end. The edge counts its visitor websockets in
    and out; a gRPC stream registers itself with how to end it, so a stop can
    tell every open stream to reconnect (:meth:`end_streams`)."""

    def __init__(self) -> None:
        self.visitor_websockets = 0
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
    def operator_streams(self) -> int:
        return sum(1 for kind, _ in self._streams.values() if kind == "operator")

    def end_streams(self) -> int:
        """End every open stream (each is told to reconnect); how many there were."""
        ends = [end for _, end in self._streams.values()]
        for end in ends:
            end()
        return len(ends)


@dataclass(frozen=True, slots=True)
class ServerStatus:
    health: str  # "serving", or "stopping" once a stop has begun
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


def server_status(engine: Engine) -> ServerStatus:
    """What the server is doing now."""
    space = engine.store.space()
    return ServerStatus(
        health="stopping" if engine.stopping else "serving",
        version=version(),
        uptime_seconds=max(0.0, engine.clock.monotonic() - engine.started_at),
        visitor_websockets=engine.connections.visitor_websockets,
        operator_streams=engine.connections.operator_streams,
        store_used_bytes=space.used,
        map_size_bytes=space.map_size,
        store_left_bytes=space.left,
        disk_free_bytes=space.disk_free,
        last_commit_ms=engine.store.last_commit_ms,
        commits=engine.store.commits,
    )
