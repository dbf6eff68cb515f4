"""The blacklist: keep an address, a network or a visitor from chatting on a site.

A block names exactly one of an address or network (``--ip``, CIDR allowed) and a
visitor id, may carry a reason for colleagues and may expire after some hours;
``block list`` shows a site's blocks and ``block remove`` lifts one.
"""

from __future__ import annotations

import click

from control.cli.common import Ctx, fail, pass_ctx, site_option, when
from parley.v1 import control_pb2


@click.group()
def block() -> None:
    """The blacklist: addresses, networks or visitors kept from chatting."""


@block.command("add")
@site_option
@click.option("--ip", help="An address or network (CIDR)")
@click.option("--visitor", "visitor_id", help="A visitor id (parley ticket list shows them)")
@click.option("--reason", default="", help="Why (for colleagues)")
@click.option("--hours", default=0, type=click.IntRange(0, 8784), help="Expires after; 0 never")
@pass_ctx
def block_add(
    ctx: Ctx, site_id: str, ip: str | None, visitor_id: str | None, reason: str, hours: int
) -> None:
    """Block an address, a network or a visitor on a site."""
    if (ip is None) == (visitor_id is None):
        fail("give --ip or --visitor", 2)
    kind, value = ("ip", ip) if ip is not None else ("visitor", visitor_id or "")
    b = ctx.create(
        ctx.client().blocks.CreateBlock,
        control_pb2.CreateBlockRequest(
            block=control_pb2.Block(site_id=site_id, kind=kind, value=value, reason=reason),
            expires_in_seconds=hours * 3600,
        ),
    )
    ctx.out(b, lambda: f"Blocked {b.kind} {b.value} with id {b.id}")


@block.command("list")
@site_option
@pass_ctx
def block_list(ctx: Ctx, site_id: str) -> None:
    """A site's blacklist."""
    reply = ctx.list(
        ctx.client().blocks.ListBlocks, control_pb2.ListBlocksRequest(site_id=site_id), "blocks"
    )
    ctx.out_table(
        reply,
        reply.blocks,
        lambda b: (
            b.id,
            b.kind,
            b.value,
            when(b.created_ms),
            when(b.expires_ms) if b.expires_ms else "never",
            b.reason or "-",
        ),
        ("ID", "KIND", "ADDRESS OR VISITOR", "CREATED", "EXPIRES", "REASON"),
    )


@block.command("remove")
@click.argument("block_id")
@pass_ctx
def block_remove(ctx: Ctx, block_id: str) -> None:
    """Lift a block."""
    ctx.call(ctx.client().blocks.DeleteBlock, control_pb2.DeleteBlockRequest(block_id=block_id))
    click.echo(f"Removed block {block_id}")
