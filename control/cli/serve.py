"""``parley serve``: run the engine, the edge and the gRPC services in one process.

The options become a ``ServeConfig`` (with the edge's ``EdgeConfig`` inside) and the
runner takes it from there; this module only reads flags and turns a data directory
already in use, or a port that cannot be bound, into exit code 1. The server's
modules are imported when the command runs, so the admin commands start quickly.
"""

from __future__ import annotations

from pathlib import Path

import click

from control.cli.common import EXIT_REFUSED, fail


@click.command()
@click.option("--demo", is_flag=True, help="Create a demo site, department and operator")
@click.option(
    "--data",
    "data_dir",
    default="data",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Data directory",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on")
@click.option(
    "--http-port",
    default=8080,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port for websockets, the widget and pages",
)
@click.option(
    "--grpc-port",
    default=50051,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port for the gRPC services",
)
@click.option(
    "--map-size-mb",
    default=1024,
    show_default=True,
    type=click.IntRange(1),
    help="Largest size of the LMDB store",
)
@click.option(
    "--visitor-rate",
    default=20.0,
    show_default=True,
    type=click.FloatRange(0.1),
    help="Frames per second a visitor connection may send, sustained",
)
@click.option(
    "--visitor-burst",
    default=60.0,
    show_default=True,
    type=click.FloatRange(1),
    help="Frames a visitor may send at once",
)
@click.option(
    "--tls-cert",
    type=click.Path(dir_okay=False, path_type=Path),
    help="PEM certificate chain: serve gRPC over TLS",
)
@click.option(
    "--tls-key",
    type=click.Path(dir_okay=False, path_type=Path),
    help="PEM private key of --tls-cert",
)
@click.option(
    "--visitor-ip-rate",
    default=500.0,
    show_default=True,
    type=click.FloatRange(1),
    help="Frames per second from one address, all its connections (bursts of twice that)",
)
@click.option(
    "--max-visitors-per-ip",
    default=200,
    show_default=True,
    type=click.IntRange(1),
    help="Visitor connections from one address",
)
@click.option(
    "--grace-seconds",
    default=30.0,
    show_default=True,
    type=click.FloatRange(0, 3600),
    help="An operator whose last session dropped is offline after this",
)
@click.option(
    "--abandon-seconds",
    default=60.0,
    show_default=True,
    type=click.FloatRange(0, 86400),
    help="A waiting visitor gone this long has abandoned the chat",
)
def serve(
    demo: bool,
    data_dir: Path,
    host: str,
    http_port: int,
    grpc_port: int,
    map_size_mb: int,
    visitor_rate: float,
    visitor_burst: float,
    tls_cert: Path | None,
    tls_key: Path | None,
    visitor_ip_rate: float,
    max_visitors_per_ip: int,
    grace_seconds: float,
    abandon_seconds: float,
) -> None:
    """Run engine, edge and gRPC in one process."""
    import logging

    import uvloop

    from control.runner import ServeConfig, run
    from edge.config import EdgeConfig
    from engine.persistence import DataDirLocked

    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if (tls_cert is None) != (tls_key is None):
        fail("--tls-cert and --tls-key go together", 2)
    config = ServeConfig(
        data_dir=data_dir,
        host=host,
        http_port=http_port,
        grpc_port=grpc_port,
        demo=demo,
        map_size_mb=map_size_mb,
        tls_cert=tls_cert,
        tls_key=tls_key,
        grace_seconds=grace_seconds,
        abandon_seconds=abandon_seconds,
        edge=EdgeConfig(
            host=host,
            port=http_port,
            visitor_rate=visitor_rate,
            visitor_burst=visitor_burst,
            max_per_ip=max_visitors_per_ip,
            ip_rate=visitor_ip_rate,
            ip_burst=2 * visitor_ip_rate,
        ),
    )
    try:
        uvloop.run(run(config))
    except DataDirLocked as error:
        fail(str(error), EXIT_REFUSED)
    except OSError as error:
        fail(f"cannot start: {error}", EXIT_REFUSED)
