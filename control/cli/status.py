"""``parley status``: how the server is doing, for whoever runs it.

One row per figure in a table, or with ``--json`` every field of the contract's
``ServerStatus`` (zeros included, so a script can read each key), its byte
counts as numbers.
"""

from __future__ import annotations

import datetime

import click
import orjson
from google.protobuf.json_format import MessageToDict

from control.cli.common import Ctx, pass_ctx, table
from parley.v1 import control_pb2


def _size(n: int) -> str:
    """Bytes in the largest unit that keeps a number of at least 1."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def _last_commit(ms: int) -> str:
    if ms <= 0:
        return "none since the start"
    moment = datetime.datetime.fromtimestamp(ms / 1000, datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _rows(s: control_pb2.ServerStatus) -> list[tuple[str, str]]:
    used = s.store_used_bytes / s.map_size_bytes if s.map_size_bytes else 0.0
    return [
        ("health", f"{s.health}: {s.health_reason}" if s.health_reason else s.health),
        ("version", s.version),
        ("uptime", str(datetime.timedelta(seconds=int(s.uptime_seconds)))),
        ("visitor websockets", str(s.visitor_websockets)),
        ("operator streams", str(s.operator_streams)),
        ("store used", f"{_size(s.store_used_bytes)} ({used:.0%} of the map)"),
        ("map size", _size(s.map_size_bytes)),
        ("store left", _size(s.store_left_bytes)),
        ("disk free", _size(s.disk_free_bytes)),
        ("last commit", _last_commit(s.last_commit_ms)),
        ("commits", str(s.commits)),
        ("history index lag", f"{s.history_index_lag} commits"),
    ]


@click.command()
@pass_ctx
def status(ctx: Ctx) -> None:
    """The server's health, version, uptime, connections and store (needs manage_sites)."""
    reply = ctx.call(ctx.client().server.GetStatus, control_pb2.GetStatusRequest())
    if ctx.as_json:
        doc = MessageToDict(
            reply, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
        )
        # JSON's mapping of 64-bit numbers is strings; a script wants numbers.
        for key, value in doc.items():
            if key.endswith(("_bytes", "_ms", "_lag")) or key == "commits":
                doc[key] = int(value)
        click.echo(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode())
    else:
        click.echo(table(_rows(reply), ("", "")))
