"""``parley edge``: one edge process on uvloop, linked to the engine.

Start order: the metrics port first (one it cannot take is said at once, and
the edge can be watched while it attaches), then attach to the engine (a wrong
secret or no engine is said at once, and the edge exits before it takes a
visitor), then listen. A stop closes
each visitor websocket with 1001 (reconnect and resume) and ends the link.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import signal
import sys
from dataclasses import dataclass, field

from control.metrics import MetricsServer, edge_registry
from control.permissions import RPC_PERMISSIONS
from control.runner import PortInUse, raise_fd_limit, tune_gc
from edge.bridge.relay import unary_methods
from edge.config import EdgeConfig
from edge.link.client import RETRY_MAX
from edge.link.listener import LinkedEdge

log = logging.getLogger("parley.edge")


@dataclass(frozen=True, slots=True)
class EdgeProcessConfig:
    engine: str  # the engine's gRPC HOST:PORT
    secret: str
    reuse_port: bool = True
    link_queue: int = 10_000  # frames waiting for the link before "overloaded"
    attach_timeout: float = 10.0
    link_retry_max: float = RETRY_MAX  # the longest pause between attempts to attach again
    # Prometheus metrics at /metrics on metrics_host (None: none, 0: any free port).
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    edge: EdgeConfig = field(default_factory=EdgeConfig)

    def __post_init__(self) -> None:
        host, _, port = self.engine.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"engine must be HOST:PORT, not {self.engine!r}")
        if self.link_queue < 100:
            raise ValueError("link_queue must be at least 100 frames")
        if self.attach_timeout <= 0:
            raise ValueError("attach_timeout must be positive")
        if not 0 < self.link_retry_max <= 3600:
            raise ValueError("link_retry_max must be above 0 and at most 3600 seconds")
        if self.metrics_port is not None and not 0 <= self.metrics_port <= 65535:
            raise ValueError(f"metrics port must be 0-65535, got {self.metrics_port}")
        wildcard = ("", "0.0.0.0", "::")
        same_host = self.metrics_host == self.edge.host or wildcard.count(
            self.metrics_host
        ) + wildcard.count(self.edge.host)
        if self.metrics_port and self.metrics_port == self.edge.port and same_host:
            raise ValueError("the metrics port must differ from the edge's --port")


def banner(edge: LinkedEdge, config: EdgeProcessConfig, metrics_port: int = 0) -> str:
    host, port = config.edge.host, edge.port
    site = config.edge.demo_site or "SITE"
    lines = [
        f"Parley edge is running, linked to the engine at {config.engine}.",
        f"  Visitor websocket: ws://{host}:{port}/v1/visitor?site={site}",
        f"  Widget script: http://{host}:{port}/widget.js",
        f"  Operators' console: http://{host}:{port}/console",
    ]
    if config.edge.demo_site:
        lines.append(f"  Demo page: http://{host}:{port}/")
    if metrics_port:
        lines.append(f"  Metrics (Prometheus): http://{config.metrics_host}:{metrics_port}/metrics")
    if config.reuse_port:
        lines.append("  The port is shared with other edges on this machine (SO_REUSEPORT).")
    return "\n".join(lines)


async def run_edge(config: EdgeProcessConfig) -> None:
    raise_fd_limit()
    edge = LinkedEdge(config.edge, config.engine, config.secret, config.link_retry_max)
    edge.link.max_pending = config.link_queue
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    metrics = MetricsServer(edge_registry(edge)) if config.metrics_port is not None else None
    metrics_port = 0
    try:
        if metrics is not None:
            # First: a port or address it cannot take is said before anything
            # else, and the edge can be watched while it attaches.
            try:
                metrics_port = await metrics.start(config.metrics_host, config.metrics_port or 0)
            except OSError as error:
                if error.errno == errno.EADDRINUSE:
                    port = config.metrics_port or 0
                    raise PortInUse("metrics", config.metrics_host, port) from None
                raise
        await edge.attach(config.attach_timeout)
        await edge.start(config.reuse_port)
        edge.open_bridge(
            config.edge.console_engine or config.engine, unary_methods(RPC_PERMISSIONS)
        )
        tune_gc()
        sys.stdout.write(banner(edge, config, metrics_port) + "\n")
        sys.stdout.flush()
        await stop.wait()
    finally:
        if metrics is not None:
            await metrics.close()
        await edge.close()
    log.info("stopped")
