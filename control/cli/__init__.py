"""The ``parley`` command: serve, and the admin groups over the gRPC control plane.

Human tables by default, ``--json`` for scripts. Exit codes: 0 done; 1 the server
refused (the message names the reason code); 2 bad usage; 3 the server cannot
be reached; 4 not logged in. This module holds the root group and its global
options; each command group lives in its own module beside it, and ``common``
holds what they share.
"""

from __future__ import annotations

from pathlib import Path

import click

from control.cli import auth, blocks, chat, operators, records, routing, serve, sites, templates
from control.cli.common import Ctx

__all__ = ["main"]


@click.group()
@click.option("--server", help="gRPC address of the Parley server [env PARLEY_SERVER]")
@click.option("--token", help="Session token [env PARLEY_TOKEN]; else the saved login")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables")
@click.option(
    "--tls-ca",
    type=click.Path(dir_okay=False, path_type=Path),
    help="CA certificate (PEM) of a server with TLS [env PARLEY_TLS_CA]",
)
@click.pass_context
def main(
    click_ctx: click.Context,
    server: str | None,
    token: str | None,
    as_json: bool,
    tls_ca: Path | None,
) -> None:
    """Parley: a self-hosted live-chat engine for customer support."""
    click_ctx.obj = Ctx(server, token, as_json, tls_ca)


for command in (
    serve.serve,
    auth.login,
    auth.logout,
    auth.whoami,
    auth.password,
    auth.session,
    auth.token,
    auth.profile,
    sites.site,
    sites.language,
    routing.department,
    routing.region,
    routing.group,
    routing.link,
    operators.operator,
    operators.role,
    records.transcript,
    records.ticket,
    records.stats,
    records.usage,
    blocks.block,
    templates.template,
    chat.chat,
):
    main.add_command(command)
