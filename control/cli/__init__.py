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

from control.cli import (
    accounts,
    auth,
    backups,
    blocks,
    chat,
    delivery,
    history,
    operators,
    privacy,
    records,
    reports,
    routing,
    serve,
    sites,
    split,
    status,
    templates,
)
from control.cli.common import Ctx, global_options, with_global_options

__all__ = ["main"]


@click.group(params=global_options())
@click.pass_context
def main(
    click_ctx: click.Context,
    server: str | None,
    token: str | None,
    as_json: bool,
    tls_ca: Path | None,
) -> None:
    """Parley: a self-hosted live-chat engine for customer support.

    The options below work before or after a command ('parley --json operator
    list' or 'parley operator list --json'). 'parley login' keeps the token in
    ~/.config/parley/credentials.json (PARLEY_CONFIG_DIR moves it). Exit codes:
    0 done, 1 refused by the server, 2 bad usage, 3 server unreachable, 4 not
    logged in.

    \b
    Shell completion, a line in ~/.bashrc or ~/.zshrc:
      eval "$(_PARLEY_COMPLETE=bash_source parley)"
      eval "$(_PARLEY_COMPLETE=zsh_source parley)"
    """
    click_ctx.obj = Ctx(server, token, as_json, tls_ca)


for command in (
    serve.serve,
    split.engine,
    split.edge,
    auth.login,
    auth.logout,
    auth.whoami,
    auth.password,
    auth.session,
    auth.token,
    auth.profile,
    accounts.account,
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
    reports.report,
    history.history,
    blocks.block,
    templates.template,
    chat.chat,
    status.status,
    delivery.mail,
    delivery.webhook,
    privacy.audit,
    privacy.visitor,
    backups.backup,
    backups.restore,
):
    main.add_command(command)
# After the commands are in: ``serve`` runs the server and ``restore`` works
# offline; they call none.
with_global_options(main, skip=("serve", "engine", "edge", "restore"))
