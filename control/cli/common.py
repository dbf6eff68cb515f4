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

A refusal is read from the google.rpc.ErrorInfo every refusal carries (its
reason, the field at fault, the id of a failure's log line), not from the text of
the status, which stays for people: ``error: CODE: MESSAGE [STATUS]``, the field
after the message when the server names one; with ``--json`` the same as one
JSON object on standard error.
"""

from __future__ import annotations

import datetime
import os
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import click
import grpc
import orjson
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.json_format import MessageToDict
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from control.client import DEFAULT_SERVER, Client, load_credentials

EXIT_REFUSED, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_NOT_LOGGED_IN = 1, 2, 3, 4


def status_line(line: str) -> None:
    """A long command's progress: one line rewritten in place on a terminal
    (standard error), nothing in a script; "" clears it."""
    if sys.stderr.isatty():
        click.echo(f"\r\033[K{line}", err=True, nl=False)


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


def set_given(message: Any, fields: Iterable[tuple[str, Any]]) -> list[str]:
    """Set each (field, value) on MESSAGE whose value is not None (the options
    given) and name them: the update mask's paths. A list value replaces the
    field's list (an empty one clears it)."""
    paths = []
    for name, value in fields:
        if value is None:
            continue
        if isinstance(value, list):
            del getattr(message, name)[:]
            getattr(message, name).extend(value)
        else:
            setattr(message, name, value)
        paths.append(name)
    return paths


def mask(paths: Iterable[str]) -> FieldMask:
    """An update mask naming PATHS."""
    return FieldMask(paths=list(paths))


def id_list(value: str | None) -> list[str] | None:
    """A comma-separated option: None when not given, '' an empty list."""
    if value is None:
        return None
    return [v.strip() for v in value.split(",") if v.strip()]


def require_some(paths: Sequence[str], options: str) -> None:
    """Bad usage (exit 2) when no option of an update was given."""
    if not paths:
        fail(f"give at least one of {options}", EXIT_USAGE)


def fields_table(rows: Iterable[tuple[str, Any]]) -> str:
    """One thing's fields, a row each: for the ``show`` commands."""
    return table([(name, "-" if value in ("", None) else value) for name, value in rows], ("", ""))


# "<code>: <message>", the status text of a refusal, read when no ErrorInfo came.
_CODED = re.compile(r"([a-z][a-z0-9_]*): (.*)", re.DOTALL)


@dataclass(frozen=True)
class Refusal:
    """What the server said no with: its status, Parley's code (the ErrorInfo's
    reason, in lower case as the README lists them), the message for people, the
    field at fault and the request id of a failure's log line, when given."""

    status: grpc.StatusCode
    code: str
    message: str
    field: str = ""
    request_id: str = ""
    structured: bool = False

    @classmethod
    def of(cls, error: grpc.RpcError) -> Refusal:
        """The refusal ERROR carries: from its ErrorInfo, else from its text."""
        status = error.code() if isinstance(error, grpc.Call) else grpc.StatusCode.UNKNOWN
        details = (error.details() if isinstance(error, grpc.Call) else "") or ""
        info = _error_info(error)
        if info is not None:
            code = info.reason.lower()
            prefix = f"{code}: "
            message = details[len(prefix) :] if details.startswith(prefix) else details
            return cls(
                status,
                code,
                message,
                info.metadata.get("field", ""),
                info.metadata.get("request_id", ""),
                structured=True,
            )
        coded = _CODED.fullmatch(details)
        if coded is not None:
            return cls(status, coded.group(1), coded.group(2))
        return cls(status, "", details)

    def text(self) -> str:
        """``CODE: MESSAGE``, then the field at fault and the log line's id when
        given (and not said already)."""
        line = f"{self.code}: {self.message}" if self.code else self.message
        if self.field:
            line += f" (field: {self.field})"
        if self.request_id and self.request_id not in self.message:
            line += f" (request id {self.request_id})"
        return line

    def as_dict(self) -> dict[str, Any]:
        """The refusal for scripts: ``{"error": {...}}``."""
        error: dict[str, Any] = {
            "code": self.code,
            "reason": self.code.upper(),
            "status": self.status.name,
            "message": self.message,
        }
        if self.field:
            error["field"] = self.field
        if self.request_id:
            error["request_id"] = self.request_id
        return {"error": error}


def _error_info(error: grpc.RpcError) -> error_details_pb2.ErrorInfo | None:
    """The ErrorInfo in ERROR's status details (grpc-status-details-bin), if any."""
    if not isinstance(error, grpc.Call):
        return None
    try:
        status = rpc_status.from_call(error)
    except ValueError:  # details that do not match the status: not the server's
        return None
    if status is None:
        return None
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info
    return None


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
        return self._guard(lambda: client.call(method, request), need_token)

    def create(self, method: Callable[..., Any], request: Any) -> Any:
        """A create call with a fresh request id, retried once with the same id when
        the link fails (``Client.create``); a refusal exits as ``call``'s does."""
        client = self.client()
        return self._guard(lambda: client.create(method, request))

    def list(
        self, method: Callable[..., Any], request: Any, field: str, limit: int | None = None
    ) -> Any:
        """Every page of a list (the first LIMIT items when given), as one reply
        (``Client.list_all``); a refusal exits as ``call``'s does."""
        client = self.client()
        return self._guard(lambda: client.list_all(method, request, field, limit))

    def _guard(self, calling: Callable[[], Any], need_token: bool = True) -> Any:
        """What CALLING answers; a refusal exits: 3 when the server cannot be reached
        (or says to come back), 4 when the token is no good, else 1."""
        try:
            return calling()
        except grpc.RpcError as error:
            refusal = Refusal.of(error)
        status = refusal.status
        if status in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
            if refusal.structured:  # the server answered: busy, or stopping
                self.refuse(refusal, EXIT_UNREACHABLE)
            self.refuse(
                refusal,
                EXIT_UNREACHABLE,
                f"cannot reach the Parley server at {self.server}: {refusal.text()}",
            )
        if (
            status is grpc.StatusCode.UNAUTHENTICATED
            and need_token
            and refusal.code != "bad_credentials"
        ):
            # The server's message usually says to log in again already.
            hint = "" if "log in" in refusal.message else " (run 'parley login')"
            self.refuse(refusal, EXIT_NOT_LOGGED_IN, refusal.text() + hint)
        self.refuse(refusal, EXIT_REFUSED)

    def refuse(self, refusal: Refusal, exit_code: int, line: str | None = None) -> NoReturn:
        """Print REFUSAL on stderr (as JSON with ``--json``, else LINE or
        ``CODE: MESSAGE [STATUS]``) and exit with EXIT_CODE."""
        if self.as_json:
            document = refusal.as_dict()
            if line is not None:
                document["error"]["message"] = line
            click.echo(orjson.dumps(document).decode(), err=True)
            sys.exit(exit_code)
        fail(line if line is not None else f"{refusal.text()} [{refusal.status.name}]", exit_code)

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
