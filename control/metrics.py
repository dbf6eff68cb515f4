"""Prometheus metrics at ``/metrics`` on a port of their own (``--metrics-port``).

Never on the public HTTP port: the numbers are the whole server's. The port is
served on the event loop by a few lines of asyncio (one request per
connection), so a scrape reads the engine's state on the loop thread, where it
is written, without a lock; the Prometheus client only formats.

Nothing here is counted per message. :class:`EngineCollector` reads, at the
scrape, the counters the engine keeps as plain integers (``engine/meters.py``),
the store's commit histograms, and gauges straight from the state that holds
them: connections, mailboxes, the waiting lines, the outbox, the history index,
the attached edges. An edge process (split mode) serves its own on a port of
its own (``parley edge --metrics-port``): :class:`EdgeCollector`, its
connections, what it refused itself, and its link to the engine (up or not,
the items waiting for it, and its lag: the round trip of a probe through both
queues, ``edge/link/client.py``).

Names are ``parley_*`` in base units (seconds, bytes). Labels are bounded: a
connection kind, an actor kind, a direction, a refusal code, a department id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from engine.health import DEGRADED, OVERLOADED, SERVING, STOPPING
from engine.meters import Histogram
from engine.status import actors, descriptor_limit, index_lag, server_status

if TYPE_CHECKING:
    from edge.link.listener import LinkedEdge
    from edge.link.service import EdgeLinkService
    from edge.server import BaseEdge, Edge
    from engine.app import Engine

log = logging.getLogger("parley.metrics")

PATH = "/metrics"
_HEALTHS = (SERVING, DEGRADED, OVERLOADED, STOPPING)


def _histogram(name: str, text: str, h: Histogram) -> HistogramMetricFamily:
    buckets = [(str(bound) if bound != float("inf") else "+Inf", n) for bound, n in h.cumulative()]
    return HistogramMetricFamily(name, text, buckets=buckets, sum_value=h.sum)


def _listener(edge: BaseEdge) -> Iterator[Metric]:
    """What a websocket listener (the one-process server's or an edge
    process's) counts itself."""
    yield CounterMetricFamily(
        "parley_visitor_cuts",
        "Visitor websockets dropped for not reading what they were sent (they resume)",
        value=edge.cuts,
    )


class EngineCollector(Collector):
    """The engine's and the edge's numbers, read at each scrape."""

    def __init__(
        self, engine: Engine, edge: Edge | None = None, link: EdgeLinkService | None = None
    ) -> None:
        self.engine = engine
        self.edge = edge
        self.link = link

    def collect(self) -> Iterator[Metric]:
        engine, meters, store = self.engine, self.engine.meters, self.engine.store
        status = server_status(engine)

        health = GaugeMetricFamily(
            "parley_health", "1 for the server's present health", labels=["state"]
        )
        for state in _HEALTHS:
            health.add_metric([state], 1.0 if status.health == state else 0.0)
        yield health
        yield GaugeMetricFamily(
            "parley_uptime_seconds", "Seconds since the server started", value=status.uptime_seconds
        )

        connections = GaugeMetricFamily(
            "parley_connections", "Open connections by kind", labels=["kind"]
        )
        # A socket is counted where it is open: an edge's visitors by the edge
        # (its own metrics), the engine hosting them as visitor_on_edge.
        connections.add_metric(["visitor_websocket"], engine.connections.visitor_websockets)
        connections.add_metric(["visitor_on_edge"], engine.connections.hosted_visitors)
        connections.add_metric(["operator_stream"], status.operator_streams)
        connections.add_metric(["visitor_stream"], engine.connections.visitor_streams)
        consoles = len(self.edge.consoles) if self.edge is not None else 0
        connections.add_metric(["console_bridge"], consoles)
        hosts = self.link.hosts if self.link is not None else ()
        connections.add_metric(["edge_link"], len(hosts))
        yield connections
        yield GaugeMetricFamily(
            "parley_link_queued_items",
            "Frames queued for the attached edges, not yet written to their streams",
            value=sum(host.queued for host in hosts),
        )
        if self.edge is not None:
            yield from _listener(self.edge)
        yield GaugeMetricFamily(
            "parley_open_files_limit",
            "The process's limit of open files (each websocket holds one; 0: none)",
            value=descriptor_limit(),
        )

        messages = CounterMetricFamily(
            "parley_messages", "Chat messages stored and acknowledged", labels=["direction"]
        )
        messages.add_metric(["from_visitor"], meters.visitor_messages)
        messages.add_metric(["from_operator"], meters.operator_messages)
        yield messages
        yield _histogram(
            "parley_visitor_ack_seconds",
            "A visitor message from its arrival to its durable ack",
            meters.ack_seconds,
        )
        refusals = CounterMetricFamily(
            "parley_refusals", "Chat messages refused, by code", labels=["code"]
        )
        for code, count in sorted(meters.refusals.items()):
            refusals.add_metric([code], count)
        yield refusals

        yield CounterMetricFamily("parley_store_commits", "Store commits", value=store.commits)
        yield _histogram(
            "parley_store_commit_seconds",
            "A batch of writes from its hand-off to the writer to its commit",
            store.commit_seconds,
        )
        yield _histogram(
            "parley_store_commit_writes", "Writes gathered into one commit", store.batch_writes
        )
        yield GaugeMetricFamily(
            "parley_store_queued_writes", "Writes waiting for the next commit", value=store.queued
        )
        yield GaugeMetricFamily(
            "parley_store_used_bytes", "Bytes in use in the store", value=status.store_used_bytes
        )
        yield GaugeMetricFamily(
            "parley_store_left_bytes",
            "What the store can still take (its free part and what it may grow by)",
            value=status.store_left_bytes,
        )
        yield GaugeMetricFamily(
            "parley_history_index_lag_commits",
            "Store commits the history index does not hold yet",
            value=index_lag(engine),
        )

        yield from self._actors()

        assignments = CounterMetricFamily(
            "parley_assignments", "Chats assigned to an operator", labels=["department"]
        )
        for department, count in sorted(meters.assignments.items()):
            assignments.add_metric([department], count)
        yield assignments
        yield _histogram(
            "parley_queue_wait_seconds",
            "Time a chat waited in its department's line before it was assigned",
            meters.wait_seconds,
        )

        pending, retrying, failed = engine.deliveries.backlog()
        outbox = GaugeMetricFamily(
            "parley_outbox_entries", "Emails and webhook calls in the outbox", labels=["state"]
        )
        outbox.add_metric(["pending"], pending - retrying)
        outbox.add_metric(["retrying"], retrying)
        outbox.add_metric(["failed"], failed)
        yield outbox

    def _actors(self) -> Iterator[Metric]:
        """Live actors, their mailboxes and the departments' waiting lines."""
        kinds, lines = actors(self.engine)
        live = GaugeMetricFamily("parley_actors", "Live actors by kind", labels=["kind"])
        queued = GaugeMetricFamily(
            "parley_mailbox_queued", "Messages queued in the mailboxes of a kind", labels=["kind"]
        )
        deepest = GaugeMetricFamily(
            "parley_mailbox_depth_max", "The deepest mailbox of a kind", labels=["kind"]
        )
        for kind, boxes in sorted(kinds.items()):
            live.add_metric([kind], boxes.actors)
            queued.add_metric([kind], boxes.queued)
            deepest.add_metric([kind], boxes.deepest)
        waiting = GaugeMetricFamily(
            "parley_queue_waiting", "Chats waiting in a department's line", labels=["department"]
        )
        oldest = GaugeMetricFamily(
            "parley_queue_oldest_wait_seconds",
            "How long the first chat in a department's line has waited",
            labels=["department"],
        )
        for line in lines:
            waiting.add_metric([line.department_id], line.waiting)
            oldest.add_metric([line.department_id], line.oldest_seconds)
        yield from (live, queued, deepest, waiting, oldest)


class EdgeCollector(Collector):
    """An edge process's numbers (split mode), read at each scrape."""

    def __init__(self, edge: LinkedEdge) -> None:
        self.edge = edge

    def collect(self) -> Iterator[Metric]:
        edge, link = self.edge, self.edge.link
        now = time.monotonic()
        yield GaugeMetricFamily(
            "parley_uptime_seconds", "Seconds since the edge started", value=now - edge.started
        )
        connections = GaugeMetricFamily(
            "parley_connections", "Open connections by kind", labels=["kind"]
        )
        connections.add_metric(["visitor_websocket"], len(edge.connections))
        connections.add_metric(["console_bridge"], len(edge.consoles))
        yield connections
        yield GaugeMetricFamily(
            "parley_open_files_limit",
            "The process's limit of open files (each websocket holds one; 0: none)",
            value=descriptor_limit(),
        )
        refusals = CounterMetricFamily(
            "parley_edge_refusals",
            "Visitor frames and connections the edge refused before the engine saw them, by code",
            labels=["code"],
        )
        for code, count in sorted(edge.refusals.items()):
            refusals.add_metric([code], count)
        yield refusals
        yield from _listener(edge)
        yield GaugeMetricFamily(
            "parley_link_up", "1 while the edge is attached to the engine", value=float(link.up)
        )
        yield CounterMetricFamily(
            "parley_link_attachments",
            "Times the edge attached to the engine (the first, then once after each loss)",
            value=link.attachments,
        )
        yield GaugeMetricFamily(
            "parley_link_queued_items",
            "Items waiting to be written to the engine (past --link-queue a message is refused)",
            value=link.queued,
        )
        yield GaugeMetricFamily(
            "parley_link_lag_seconds",
            "The last probe's round trip through the link and the engine's queue for this "
            "edge, or the age of the probe still out when longer",
            value=link.lag(now),
        )
        yield _histogram(
            "parley_link_round_trip_seconds",
            "Probes of the link, from queued to answered",
            link.round_trips,
        )


def registry(
    engine: Engine, edge: Edge | None = None, link: EdgeLinkService | None = None
) -> CollectorRegistry:
    """A registry of Parley's metrics alone (not the client's process defaults)."""
    reg = CollectorRegistry(auto_describe=False)
    reg.register(EngineCollector(engine, edge, link))
    return reg


def edge_registry(edge: LinkedEdge) -> CollectorRegistry:
    """An edge process's registry."""
    reg = CollectorRegistry(auto_describe=False)
    reg.register(EdgeCollector(edge))
    return reg


class MetricsServer:
    """``GET /metrics`` on its own port, served on the running loop."""

    def __init__(self, reg: CollectorRegistry) -> None:
        self.registry = reg
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self, host: str, port: int) -> int:
        self.server = await asyncio.start_server(self._serve, host, port)
        self.port = self.server.sockets[0].getsockname()[1]
        return self.port

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(10.0):
                head = await reader.readuntil(b"\r\n\r\n")
            method, _, rest = head.partition(b" ")
            target = rest.split(b" ", 1)[0].decode("latin-1")
            if method not in (b"GET", b"HEAD"):
                status, body, kind = "405 Method Not Allowed", b"use GET\n", "text/plain"
            elif target.split("?", 1)[0] != PATH:
                status, body, kind = "404 Not Found", b"see /metrics\n", "text/plain"
            else:
                status, body, kind = "200 OK", generate_latest(self.registry), CONTENT_TYPE_LATEST
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: {kind}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            )
            if method != b"HEAD":
                writer.write(body)
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
            pass  # a client that sent no request in time, or went away
        except Exception:  # a bug: log it, keep serving
            log.exception("metrics scrape failed")
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
