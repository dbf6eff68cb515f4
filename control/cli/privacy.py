"""The audit log and one visitor's data: ``parley audit list``, ``parley visitor
export`` and ``parley visitor erase`` (the Audit and Visitors services)."""

from __future__ import annotations

import click

from control.cli.common import Ctx, pass_ctx, status_line, when
from control.cli.history import _ms
from parley.v1 import control_pb2


@click.group()
def audit() -> None:
    """The account's audit log (needs view_audit)."""


@audit.command("list")
@click.option("--kind", default="", help="Only this kind (Sites.UpdateSite, chat.take_over)")
@click.option("--actor", default="", help="Only this operator's")
@click.option("--since", help="At or after (2026-11-27, UTC unless given)")
@click.option("--until", help="Before")
@pass_ctx
def audit_list(ctx: Ctx, kind: str, actor: str, since: str | None, until: str | None) -> None:
    """Configuration changes and sensitive actions, newest first."""
    reply = ctx.list(
        ctx.client().audit.ListAuditEvents,
        control_pb2.ListAuditEventsRequest(
            kind=kind, actor_id=actor, since_ms=_ms(since), until_ms=_ms(until)
        ),
        "events",
    )
    ctx.out_table(
        reply,
        reply.events,
        lambda e: (
            when(e.at_ms),
            e.kind,
            e.actor_id or "-",
            " ".join(e.target_ids),
            ",".join(e.fields),
            e.address or "-",
            e.outcome,
        ),
        ("when", "kind", "actor", "targets", "fields", "address", "outcome"),
    )


@click.group()
def visitor() -> None:
    """One visitor's data: export and erasure."""


def _query(visitor_id: str | None, email: str | None) -> tuple[str, str]:
    if (visitor_id is None) == (email is None):
        raise click.UsageError("give a VISITOR_ID or --email")
    return visitor_id or "", email or ""


@visitor.command("export")
@click.argument("visitor_id", required=False)
@click.option("--email", help="Every visitor who gave this email")
@pass_ctx
def visitor_export(ctx: Ctx, visitor_id: str | None, email: str | None) -> None:
    """Print everything stored of a visitor as JSON (needs export_visitors)."""
    vid, mail = _query(visitor_id, email)
    status_line("exporting...")
    try:
        reply = ctx.call(
            ctx.client().visitors.ExportVisitor,
            control_pb2.ExportVisitorRequest(visitor_id=vid, email=mail),
        )
    finally:
        status_line("")
    click.echo(reply.document.decode())


@visitor.command("erase")
@click.argument("visitor_id", required=False)
@click.option("--email", help="Every visitor who gave this email")
@pass_ctx
def visitor_erase(ctx: Ctx, visitor_id: str | None, email: str | None) -> None:
    """Remove everything stored of a visitor, for good (needs erase_visitors)."""
    vid, mail = _query(visitor_id, email)
    reply = ctx.call(
        ctx.client().visitors.EraseVisitor,
        control_pb2.EraseVisitorRequest(visitor_id=vid, email=mail),
    )
    ctx.out(
        reply,
        lambda: (
            f"Erased {', '.join(reply.visitor_ids)}: {reply.conversations} chats, "
            f"{reply.messages} messages, {reply.tickets} offline requests"
        ),
    )
