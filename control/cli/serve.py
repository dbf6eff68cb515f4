"""``parley serve``: run the engine, the edge and the gRPC services in one process.

The flags are made from the settings of ``control.config`` (one flag per setting,
so the file, the environment and the flags cannot disagree about what exists),
``control.config.load`` merges them with ``--config`` and the ``PARLEY_*``
variables, and the runner takes a ``ServeConfig`` from there. This module only
reads flags and turns failures into exit codes: a bad setting is bad usage (2),
a port in use or a data directory already in use is 1, each one line on stderr.
The server's modules are imported when the command runs, so the admin commands
start quickly.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any

import click

from control.cli.common import EXIT_REFUSED, EXIT_USAGE, fail
from control.config import (
    ConfigError,
    ServeSettings,
    defaults,
    env_name,
    flag_name,
    load,
    setting_types,
)
from control.logs import LOG_FORMATS

# The paths' flags read them as click paths (and complete file names); the other
# flags take their setting's own type.
_FLAG_TYPES: dict[str, Any] = {
    "data": click.Path(file_okay=False, path_type=Path),
    "tls_cert": click.Path(dir_okay=False, path_type=Path),
    "tls_key": click.Path(dir_okay=False, path_type=Path),
    "log_format": click.Choice(LOG_FORMATS),
}


def _setting_flags(function: Callable[..., Any]) -> Callable[..., Any]:
    """One flag per setting, none with a default of its own (an absent flag is
    None, so the environment, the file or the setting's default decide)."""
    default, kinds = defaults(), setting_types()
    for f in reversed(fields(ServeSettings)):
        kind, _ = kinds[f.name]
        shown = default[f.name]
        if isinstance(shown, bool):
            shown = str(shown).lower()
        given = "" if shown is None else f"default: {shown}; "
        help_text = f"{f.metadata['help']} [{given}env {env_name(f.name)}]"
        if kind is bool:
            flag = flag_name(f.name)
            option = click.option(f"{flag}/--no-{flag[2:]}", f.name, default=None, help=help_text)
        else:
            flag_type = _FLAG_TYPES.get(f.name, kind)
            option = click.option(flag_name(f.name), f.name, type=flag_type, help=help_text)
        function = option(function)
    return function


@click.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A TOML file of settings: the flags' names with underscores (http_port = 8080) "
    "[env PARLEY_CONFIG]",
)
@_setting_flags
def serve(config_path: Path | None, **flags: Any) -> None:
    """Run engine, edge and gRPC in one process.

    Each setting is a flag, a key of the --config file and an environment
    variable (PARLEY_HTTP_PORT for --http-port); a flag wins over the variable,
    the variable over the file, the file over the default. Paths in the file
    are relative to its folder. The owner's and the server administrator's
    first passwords are printed once (PARLEY_OWNER_EMAIL, PARLEY_OWNER_PASSWORD,
    PARLEY_ADMIN_EMAIL and PARLEY_ADMIN_PASSWORD choose them on the first
    start)."""
    run_server(config_path, flags)


def run_server(config_path: Path | None, flags: dict[str, Any], **mode: Any) -> None:
    """Load the settings, run the server until a signal, and turn a failure to
    start into its exit code. ``mode`` sets fields of the ServeConfig the flags
    do not (``parley engine``'s split mode)."""
    import dataclasses

    import uvloop

    from control.logs import configure as configure_logs
    from control.runner import PortInUse, run
    from engine.persistence import DataDirLocked

    if config_path is None and os.environ.get("PARLEY_CONFIG"):
        config_path = Path(os.environ["PARLEY_CONFIG"])
    try:
        settings = load(flags, os.environ, config_path)
    except ConfigError as error:
        for problem in error.problems:
            click.echo(f"error: {problem}", err=True)
        raise SystemExit(EXIT_USAGE) from None
    configure_logs(settings.log_format)
    config = dataclasses.replace(serve_config(settings), **mode)
    try:
        uvloop.run(run(config))
    except PortInUse as error:
        key = f"{error.service}_port"
        fail(
            f"{error}; choose another with {flag_name(key)} ({key} in the config file, "
            f"or {env_name(key)})",
            EXIT_REFUSED,
        )
    except DataDirLocked as error:
        fail(str(error), EXIT_REFUSED)
    except OSError as error:
        fail(f"cannot start: {error}", EXIT_REFUSED)


def serve_config(settings: ServeSettings) -> Any:
    """The runner's ServeConfig from the merged settings."""
    from argon2 import PasswordHasher

    from control.runner import ServeConfig
    from edge.config import EdgeConfig
    from engine.chat.limits import Limits

    return ServeConfig(
        data_dir=settings.data,
        host=settings.host,
        http_port=settings.http_port,
        grpc_port=settings.grpc_port,
        metrics_port=settings.metrics_port or None,  # 0: no metrics port
        demo=settings.demo,
        map_size_mb=settings.map_size_mb,
        max_map_size_mb=settings.max_map_size_mb,
        limits=Limits(
            site_quota_bytes=settings.site_quota_mb << 20,
            visitor_messages_per_hour=settings.visitor_messages_per_hour,
        ),
        tls_cert=settings.tls_cert,
        tls_key=settings.tls_key,
        grace_seconds=settings.grace_seconds,
        abandon_seconds=settings.abandon_seconds,
        history=settings.history,
        message_backlog=settings.message_backlog,
        password_hasher=PasswordHasher(memory_cost=settings.password_hash_memory_kib),
        edge=EdgeConfig(
            host=settings.host,
            port=settings.http_port,
            visitor_rate=settings.visitor_rate,
            visitor_burst=settings.visitor_burst,
            max_per_ip=settings.max_visitors_per_ip,
            ip_rate=settings.visitor_ip_rate,
            ip_burst=2 * settings.visitor_ip_rate,
            console_origins=settings.console_origin_list(),
            console_engine=settings.console_engine,
            backlog=settings.listen_backlog,
            send_buffer_limit=settings.visitor_send_buffer_kib << 10,
        ),
    )
