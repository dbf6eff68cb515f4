"""What every ``parley`` command shares: the call context, output and exit codes.

A command gets a ``Ctx`` (the server, the token and ``--json`` from the root group)
and calls the server through it: ``Ctx.call`` turns a refusal into its exit code
(1 refused, 3 unreachable, 4 not logged in) and ``Ctx.out`` or ``Ctx.out_table``
print the reply as JSON or for humans. The option blocks and the request helpers
that several groups repeat live here too, so each group reads as its commands only.
"""

from __future__ import annotations

import getpass
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

EXIT_REFUSED, EXIT_UNREACHABLE, EXIT_NOT_LOGGED_IN = 1, 3, 4


def fail(message: str, code: int) -> NoReturn:
    """Print ``error: MESSAGE`` on stderr and exit with CODE."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> str:
    """ROWS under HEADERS in left-aligned columns, a dashed line below the headers."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def secret(env: str, prompt: str, given: str | None = None) -> str:
    """A password: the option's value GIVEN, else the environment variable ENV, else asked."""
    return given or os.environ.get(env) or getpass.getpass(prompt)


def set_given(request: Any, fields: Iterable[tuple[str, Any]]) -> None:
    """Set each (field, value) on REQUEST whose value is not None: the options given."""
    for name, value in fields:
        if value is not None:
            setattr(request, name, value)


site_option = click.option("--site", "site_id", required=True, help="Site id")


class Ctx:
    """The server, token and output mode of one invocation, and its one client."""

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
                fail(f"{error.details()} (run 'parley login')", EXIT_NOT_LOGGED_IN)
            fail(f"{error.details()} [{code.name}]", EXIT_REFUSED)

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
