"""What every ``parley`` command shares: the call context, output and exit codes.

A command gets a ``Ctx`` (the server, the token, ``--json`` and the TLS CA) and
calls the server through it: ``Ctx.call`` turns a refusal into its exit code
(1 refused, 3 unreachable, 4 not logged in) and ``Ctx.out`` or ``Ctx.out_table``
print the reply as JSON or for humans. The global options are taken on either side
of a command (``parley --json operator list`` and ``parley operator list --json``):
the root group and every command below it carry the same options, and whichever
is given writes into the one ``Ctx``. The option blocks and the request helpers
that several groups repeat live here too, so each group reads as its commands
only; how a command gets a password is in ``passwords``.
"""

from __future__ import annotations

import datetime
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import click
import grpc
import orjson
from google.protobuf.json_format import MessageToDict

from control.client import DEFAULT_SERVER, Client, load_credentials

EXIT_REFUSED, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_NOT_LOGGED_IN = 1, 2, 3, 4


def fail(message: str, code: int) -> NoReturn:
    """Print ``error: MESSAGE`` on stderr and exit with CODE."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> str:
    """ROWS under HEADERS in left-aligned columns, a dashed line below the headers.

    A cell with line breaks takes that many lines, the row's other cells blank below
    their first; then an empty line parts the rows, so each reads as one."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [
        max(len(line) for r in cells for line in r[i].split("\n")) for i in range(len(headers))
    ]
    tall = any("\n" in c for r in cells for c in r)
    lines = []
    for index, r in enumerate(cells):
        split = [c.split("\n") for c in r]
        if tall and index > 1:
            lines.append("")
        for n in range(max(len(c) for c in split)):
            parts = [c[n] if n < len(c) else "" for c in split]
            lines.append("  ".join(p.ljust(w) for p, w in zip(parts, widths, strict=True)).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def when(ms: int) -> str:
    """A time in milliseconds since the epoch, to the minute in UTC ('-' for none)."""
    if ms <= 0:
        return "-"
    moment = datetime.datetime.fromtimestamp(ms / 1000, datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def set_given(request: Any, fields: Iterable[tuple[str, Any]]) -> None:
    """Set each (field, value) on REQUEST whose value is not None: the options given."""
    for name, value in fields:
        if value is not None:
            setattr(request, name, value)


site_option = click.option("--site", "site_id", required=True, help="Site id")


class Ctx:
    """The server, token, output mode and TLS CA of one invocation, and its one client.

    Each is the option given (on either side of the command), else its environment
    variable, else (server and token) what ``parley login`` saved."""

    def __init__(
        self, server: str | None, token: str | None, as_json: bool, tls_ca: Path | None = None
    ) -> None:
        saved = load_credentials()
        self.server = (
            server or os.environ.get("PARLEY_SERVER") or saved.get("server") or DEFAULT_SERVER
        )
        self.token = token or os.environ.get("PARLEY_TOKEN") or saved.get("token")
        self.as_json = as_json
        env_ca = os.environ.get("PARLEY_TLS_CA")
        self.tls_ca = tls_ca or (Path(env_ca) if env_ca else None)
        self._client: Client | None = None

    def client(self, need_token: bool = True) -> Client:
        """The client, made on first use; without a token (when one is needed) exit 4."""
        if need_token and not self.token:
            fail("not logged in: run 'parley login' or set PARLEY_TOKEN", EXIT_NOT_LOGGED_IN)
        if self._client is None:
            try:
                self._client = Client(self.server, self.token, self.tls_ca)
            except OSError as error:
                fail(f"cannot read the TLS CA file: {error}", EXIT_UNREACHABLE)
        return self._client

    def call(self, method: Callable[..., Any], request: Any, need_token: bool = True) -> Any:
        """Call METHOD with REQUEST; a refusal exits with its code and message."""
        client = self.client(need_token)
        try:
            return client.call(method, request)
        except grpc.RpcError as error:
            code = error.code()
            if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                fail(
                    f"cannot reach the Parley server at {self.server}: {error.details()}",
                    EXIT_UNREACHABLE,
                )
            details = error.details() or ""
            if (
                code is grpc.StatusCode.UNAUTHENTICATED
                and need_token
                and not details.startswith("bad_credentials")
            ):
                # The server's message usually says to log in again already.
                hint = "" if "log in" in details else " (run 'parley login')"
                fail(f"{details}{hint}", EXIT_NOT_LOGGED_IN)
            fail(f"{details} [{code.name}]", EXIT_REFUSED)

    def out(self, message: Any, human: Callable[[], str]) -> None:
        """Print MESSAGE as JSON with ``--json``, else the text HUMAN makes."""
        if self.as_json:
            click.echo(
                orjson.dumps(
                    MessageToDict(message, preserving_proto_field_name=True),
                    option=orjson.OPT_INDENT_2,
                ).decode()
            )
        else:
            click.echo(human())

    def out_table(
        self,
        message: Any,
        items: Iterable[Any],
        row: Callable[[Any], Sequence[Any]],
        headers: Sequence[str],
    ) -> None:
        """Print MESSAGE as JSON with ``--json``, else a table of one ROW per item."""
        self.out(message, lambda: table([row(item) for item in items], headers))


pass_ctx = click.make_pass_decorator(Ctx)

# The global options: the root group takes them before the command, and
# ``with_global_options`` gives every command below it the same ones, so they
# also work after it. One list, so the two cannot drift apart.
GLOBAL_HELP = {
    "server": "gRPC address of the Parley server, HOST:PORT [env PARLEY_SERVER; "
    f"else the saved login's, else {DEFAULT_SERVER}]",
    "token": "Session or API token [env PARLEY_TOKEN; else the saved login's]",
    "as_json": "Print JSON instead of tables",
    "tls_ca": "CA certificate (PEM) of a server with TLS [env PARLEY_TLS_CA]",
}


def global_options(callback: Callable[..., Any] | None = None) -> list[click.Option]:
    """Fresh ``--server``, ``--token``, ``--json`` and ``--tls-ca`` options.

    With CALLBACK they are for a command below the root: not passed to the
    command's function, handed to CALLBACK instead."""
    below = callback is not None
    extra: dict[str, Any] = {"expose_value": False, "callback": callback} if below else {}
    return [
        click.Option(["--server"], help=GLOBAL_HELP["server"], **extra),
        click.Option(["--token"], help=GLOBAL_HELP["token"], **extra),
        click.Option(["--json", "as_json"], is_flag=True, help=GLOBAL_HELP["as_json"], **extra),
        click.Option(
            ["--tls-ca"],
            type=click.Path(dir_okay=False, path_type=Path),
            help=GLOBAL_HELP["tls_ca"],
            **extra,
        ),
    ]


def _given_below(click_ctx: click.Context, param: click.Parameter, value: Any) -> None:
    """A global option given after the command: it wins over the root's value and
    the environment, as a value given before the command does."""
    if value is None or value is False:
        return
    ctx = click_ctx.find_object(Ctx)
    if ctx is None:  # only while completing a command line: nothing to call
        return
    if param.name == "as_json":
        ctx.as_json = True
    elif param.name in ("server", "token", "tls_ca"):
        setattr(ctx, param.name, value)


def with_global_options(group: click.Group, skip: Iterable[str] = ()) -> None:
    """Give every command below GROUP (but those named in SKIP, and theirs) the
    global options, so each can be written after the command too."""
    for name, command in group.commands.items():
        if name in skip:
            continue
        command.params.extend(global_options(_given_below))
        if isinstance(command, click.Group):
            with_global_options(command)
