"""Reading what the account holds: transcripts, offline requests, statistics, usage.

These commands change nothing. ``transcript`` prints a conversation's stored
messages, ``ticket list`` (and ``ticket show``) the requests visitors left when
nobody could chat,
``stats`` the live numbers of a site's departments and ``usage`` what the
account has stored.
"""

from __future__ import annotations

import click
import grpc

from control.cli.common import Ctx, fields_table, pass_ctx, site_option, when
from parley.v1 import control_pb2

# The contract's AuthorKind (common.proto), as the FROM column names it.
_AUTHOR_KINDS = {1: "visitor", 2: "operator", 3: "system"}


@click.command()
@click.argument("conversation_id")
@click.option("--after", default=0, type=click.IntRange(0), help="Only messages after this seq")
@pass_ctx
def transcript(ctx: Ctx, conversation_id: str, after: int) -> None:
    """Print a conversation's stored messages."""
    reply = ctx.list(
        ctx.client().conversations.ListMessages,
        control_pb2.ListMessagesRequest(conversation_id=conversation_id, after_seq=after),
        "messages",
    )
    ctx.out_table(
        reply,
        reply.messages,
        lambda m: (m.seq, _AUTHOR_KINDS.get(m.author_kind, "?"), m.author_name or "-", m.text),
        ("SEQ", "FROM", "NAME", "TEXT"),
    )


@click.group()
def ticket() -> None:
    """Offline requests visitors left when nobody could chat."""


@ticket.command("list")
@site_option
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 1000))
@pass_ctx
def ticket_list(ctx: Ctx, site_id: str, limit: int) -> None:
    """List a site's offline requests, newest first.

    The VISITOR column is the id 'parley block add --visitor' takes."""
    reply = ctx.list(
        ctx.client().tickets.ListTickets,
        control_pb2.ListTicketsRequest(site_id=site_id),
        "tickets",
        limit=limit,
    )
    names = {} if ctx.as_json or not reply.tickets else _department_names(ctx, site_id)
    ctx.out_table(
        reply,
        reply.tickets,
        lambda t: (
            when(t.created_ms),
            t.name or "-",
            t.email,
            names.get(t.department_id, t.department_id) or "-",
            t.visitor_id or "-",
            t.status,
            t.conversation_id or "-",
            _short(t.text, 50),
        ),
        ("CREATED", "NAME", "EMAIL", "DEPARTMENT", "VISITOR", "STATUS", "CHAT", "MESSAGE"),
    )


@ticket.command("show")
@click.argument("ticket_id")
@pass_ctx
def ticket_show(ctx: Ctx, ticket_id: str) -> None:
    """Show one offline request in full."""
    t = ctx.call(ctx.client().tickets.GetTicket, control_pb2.GetTicketRequest(ticket_id=ticket_id))
    ctx.out(
        t,
        lambda: fields_table(
            (
                ("id", t.id),
                ("kind", "missed chat" if t.kind == "missed_chat" else "offline request"),
                ("conversation", t.conversation_id or "-"),
                ("status", t.status),
                ("created", when(t.created_ms)),
                ("site", t.site_id),
                ("department", t.department_id),
                ("visitor", t.visitor_id),
                ("name", t.name),
                ("email", t.email),
                ("language", t.language),
                ("page", t.page_url or "-"),
                ("message", t.text),
                *(
                    (f"reply {i}", f"{when(r.sent_ms)} {r.operator_name}: {r.text}")
                    for i, r in enumerate(t.replies, 1)
                ),
            )
        ),
    )


def _department_names(ctx: Ctx, site_id: str) -> dict[str, str]:
    """The site's department names by id; none when the caller may not list them
    (view_tickets without view_config): the table shows the ids then."""
    client = ctx.client()
    try:
        reply = client.list_all(
            client.departments.ListDepartments,
            control_pb2.ListDepartmentsRequest(site_id=site_id),
            "departments",
        )
    except grpc.RpcError:
        return {}
    return {d.id: d.name for d in reply.departments}


def _short(text: str, width: int) -> str:
    """TEXT on one line, cut to WIDTH characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "\u2026"


@click.command()
@site_option
@pass_ctx
def stats(ctx: Ctx, site_id: str) -> None:
    """Live numbers per department: waiting, active, on hold, missed, online."""
    reply = ctx.call(
        ctx.client().reports.GetStatistics, control_pb2.GetStatisticsRequest(site_id=site_id)
    )
    ctx.out_table(
        reply,
        reply.departments,
        lambda d: (
            d.name,
            d.waiting,
            d.active,
            d.on_hold,
            d.missed,
            d.operators_online,
            f"{d.first_response_ms / 1000:.1f} s" if d.first_response_ms else "-",
        ),
        ("DEPARTMENT", "WAITING", "ACTIVE", "ON HOLD", "MISSED", "ONLINE", "1ST RESPONSE"),
    )


@click.command()
@pass_ctx
def usage(ctx: Ctx) -> None:
    """What the account uses."""
    u = ctx.call(ctx.client().reports.GetUsage, control_pb2.GetUsageRequest())
    ctx.out_table(
        u,
        [u],
        lambda n: (n.sites, n.departments, n.operators, n.conversations, n.messages, n.store_bytes),
        ("SITES", "DEPARTMENTS", "OPERATORS", "CONVERSATIONS", "MESSAGES", "STORE BYTES"),
    )
