"""``parley engine`` and ``parley edge``: split mode, one engine and any number
of edges.

``parley engine`` is ``parley serve`` without the websocket listener: the
actors, the store and the gRPC services, plus the EdgeLink service edges attach
to, with the link secret (the data directory's ``link-secret``, made on the
first start, or ``--link-secret-file``). ``parley edge`` holds visitor
websockets, the static pages and the console bridge, and links to the engine;
several edges may share one port (SO_REUSEPORT). An edge that cannot attach at
start (no engine, a wrong secret) says why and exits 1; once attached it keeps
its visitors through the engine's restarts.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from control.cli.common import EXIT_REFUSED, EXIT_USAGE, fail
from control.cli.serve import _setting_flags, run_server
from control.logs import LOG_FORMATS
from edge.config import EdgeConfig
from edge.link import secret as link_secret
from edge.link.client import RETRY_MAX
from edge.visitor.protocol import RATE_BURST, RATE_PER_SECOND

SECRET_ENV = "PARLEY_LINK_SECRET"


def _secret(path: Path | None, required: bool) -> str:
    """The link secret from ``path`` or $PARLEY_LINK_SECRET ("" when neither
    and not ``required``); a clear usage error when unusable."""
    try:
        if path is not None:
            return link_secret.read(path)
        if os.environ.get(SECRET_ENV):
            return link_secret.check(os.environ[SECRET_ENV])
    except link_secret.SecretError as error:
        fail(str(error), EXIT_USAGE)
    if required:
        fail(
            "give the engine's link secret: --link-secret-file (the engine's data "
            f"directory has it, link-secret) or {SECRET_ENV}",
            EXIT_USAGE,
        )
    return ""


_SECRET_FILE = click.option(
    "--link-secret-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help=f"A file holding the link secret [env {SECRET_ENV} holds the secret itself]",
)


@click.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A TOML file of settings, as for parley serve [env PARLEY_CONFIG]",
)
@_SECRET_FILE
@_setting_flags
def engine(config_path: Path | None, link_secret_file: Path | None, **flags: Any) -> None:
    """Run the engine alone (split mode): actors, store and gRPC, with the
    edge link that `parley edge` processes attach to.

    The settings are parley serve's (--http-port and the visitor limits are
    the edges' own, set on parley edge). Without --link-secret-file or
    PARLEY_LINK_SECRET the secret is DATA/link-secret, made on the first start."""
    secret = _secret(link_secret_file, required=False)
    run_server(config_path, flags, websockets=False, edge_link=True, link_secret=secret)


@click.command()
@click.option("--engine", "engine_target", required=True, help="The engine's gRPC HOST:PORT")
@_SECRET_FILE
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on")
@click.option("--port", default=8080, show_default=True, type=int, help="HTTP and websocket port")
@click.option(
    "--reuse-port/--no-reuse-port",
    default=True,
    show_default=True,
    help="Share the port with other edges on this machine (SO_REUSEPORT)",
)
@click.option(
    "--console-engine",
    default="",
    help="The gRPC address the console bridge calls [default: --engine]",
)
@click.option(
    "--console-origin", multiple=True, help="Another origin whose pages may open the console"
)
@click.option("--demo-site", default="", help="The site id the demo page at / embeds")
@click.option("--max-visitors-per-ip", default=200, show_default=True, type=int)
@click.option("--visitor-rate", default=RATE_PER_SECOND, show_default=True, type=float)
@click.option("--visitor-burst", default=RATE_BURST, show_default=True, type=float)
@click.option("--visitor-ip-rate", default=500.0, show_default=True, type=float)
@click.option(
    "--visitor-send-buffer-kib",
    default=1024,
    show_default=True,
    type=click.IntRange(64, 1 << 20),
    help="Unsent KiB a visitor's socket may hold before the visitor is cut (it resumes); "
    "a replay waits while half of it is unsent",
)
@click.option(
    "--listen-backlog",
    default=1024,
    show_default=True,
    type=click.IntRange(1),
    help="Connections waiting to be accepted on --port (capped by the kernel)",
)
@click.option(
    "--link-queue",
    default=10_000,
    show_default=True,
    type=int,
    help="Visitor frames waiting for the link before messages are refused 'overloaded'",
)
@click.option(
    "--link-retry-max",
    default=RETRY_MAX,
    show_default=True,
    type=float,
    help="The longest pause, in seconds, between two attempts to attach to the engine again",
)
@click.option(
    "--metrics-port",
    default=0,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Serve Prometheus metrics at /metrics on this port of --metrics-host (0: none)",
)
@click.option(
    "--metrics-host",
    default="127.0.0.1",
    show_default=True,
    help="Address of the metrics port (keep it off the public one)",
)
@click.option("--log-format", type=click.Choice(LOG_FORMATS), default="human", show_default=True)
def edge(
    engine_target: str,
    link_secret_file: Path | None,
    host: str,
    port: int,
    reuse_port: bool,
    console_engine: str,
    console_origin: tuple[str, ...],
    demo_site: str,
    max_visitors_per_ip: int,
    visitor_rate: float,
    visitor_burst: float,
    visitor_ip_rate: float,
    visitor_send_buffer_kib: int,
    listen_backlog: int,
    link_queue: int,
    link_retry_max: float,
    metrics_port: int,
    metrics_host: str,
    log_format: str,
) -> None:
    """Run an edge (split mode): visitor websockets, the widget and console
    pages and the console bridge, linked to the engine at --engine."""
    import uvloop

    from control.edge_runner import EdgeProcessConfig, run_edge
    from control.logs import configure as configure_logs
    from control.runner import PortInUse
    from edge.link.client import LinkError

    secret = _secret(link_secret_file, required=True)
    try:
        config = EdgeProcessConfig(
            engine=engine_target,
            secret=secret,
            reuse_port=reuse_port,
            link_queue=link_queue,
            link_retry_max=link_retry_max,
            metrics_port=metrics_port or None,
            metrics_host=metrics_host,
            edge=EdgeConfig(
                host=host,
                port=port,
                visitor_rate=visitor_rate,
                visitor_burst=visitor_burst,
                max_per_ip=max_visitors_per_ip,
                ip_rate=visitor_ip_rate,
                ip_burst=2 * visitor_ip_rate,
                console_origins=tuple(o.rstrip("/").lower() for o in console_origin),
                console_engine=console_engine or engine_target,
                demo_site=demo_site,
                backlog=listen_backlog,
                send_buffer_limit=visitor_send_buffer_kib << 10,
            ),
        )
    except ValueError as error:
        fail(str(error), EXIT_USAGE)
    configure_logs(log_format)
    try:
        uvloop.run(run_edge(config))
    except PortInUse as error:
        fail(f"{error}; choose another with --metrics-port", EXIT_REFUSED)
    except LinkError as error:
        fail(str(error), EXIT_REFUSED)
    except OSError as error:
        fail(f"cannot start the edge: {error}", EXIT_REFUSED)
