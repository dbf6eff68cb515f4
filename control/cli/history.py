"""The conversation history: past chats listed, searched and shown.

``history list`` filters and sorts the chats one may see (ListConversations),
``history search`` finds messages by their words (SearchConversations),
``history show`` prints a chat's summary and transcript (GetConversation,
ListMessages), ``history email`` emails a chat's transcript to its visitor
(SendTranscript). ``history reindex`` rebuilds the history index from the data
directory, with the server stopped (the index is also rebuilt at start when it
is missing or unreadable).
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import click

from control.cli.common import Ctx, fail, pass_ctx, status_line, when
from parley.v1 import control_pb2, control_pb2_grpc


def _stub(ctx: Ctx) -> Any:
    """The Conversations stub (the client's, once it holds one)."""
    client = ctx.client()
    stub = getattr(client, "conversations", None)
    return stub or control_pb2_grpc.ConversationsStub(client.channel)


def _ms(day: str | None) -> int:
    if not day:
        return 0
    try:
        moment = datetime.datetime.fromisoformat(day)
    except ValueError:
        fail(f"not a date or time: {day!r} (2026-11-27 or 2026-11-27T16:40)", 2)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return int(moment.timestamp() * 1000)


def _filter(
    site: str,
    department: str,
    operator: str,
    visitor: str,
    status: tuple[str, ...],
    ended: tuple[str, ...],
    rating: tuple[int, ...],
    since: str | None,
    until: str | None,
) -> control_pb2.ConversationFilter:
    return control_pb2.ConversationFilter(
        site_id=site, department_id=department, operator_id=operator, visitor_id=visitor,
        statuses=list(status), ended=list(ended), ratings=list(rating),
        start_time_ms=_ms(since), end_time_ms=_ms(until),
    )  # fmt: skip


def filter_options(f: Any) -> Any:
    for option in reversed(
        (
            click.option("--site", default="", help="Only this site's chats"),
            click.option("--department", default="", help="Only this department's"),
            click.option("--operator", default="", help="Only chats this operator was in"),
            click.option("--visitor", default="", help="Only this visitor's"),
            click.option("--status", multiple=True, help="new, queued, active, closed"),
            click.option(
                "--ended",
                multiple=True,
                help="visitor, operator, abandoned, no_operator, operator_offline, missed",
            ),
            click.option("--rating", multiple=True, type=click.IntRange(0, 5), help="0: unrated"),
            click.option("--since", help="Started at or after (2026-11-27, UTC unless given)"),
            click.option("--until", help="Started before"),
        )
    ):
        f = option(f)
    return f


@click.group()
def history() -> None:
    """Past chats: list, search and show them."""


@history.command("list")
@filter_options
@click.option("--order-by", default="time", show_default=True, help="time, operator or rating")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
@pass_ctx
def history_list(ctx: Ctx, /, order_by: str, limit: int, **filters: Any) -> None:
    """List the chats you may see, newest first."""
    reply = ctx.call(
        _stub(ctx).ListConversations,
        control_pb2.ListConversationsRequest(
            filter=_filter(**filters), order_by=order_by, page_size=limit
        ),
    )
    ctx.out_table(
        reply,
        reply.conversations,
        lambda c: (
            c.id,
            when(c.started_ms),
            c.status,
            c.ended or "-",
            ", ".join(o.name for o in c.operators) or "-",
            c.visitor_name or c.visitor_id,
            c.rating or "-",
            c.message_count,
        ),
        ("ID", "STARTED", "STATUS", "ENDED", "OPERATORS", "VISITOR", "RATING", "MESSAGES"),
    )


@history.command("search")
@click.argument("query")
@filter_options
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
@pass_ctx
def history_search(ctx: Ctx, /, query: str, limit: int, **filters: Any) -> None:
    """Find messages holding every word of QUERY."""
    reply = ctx.call(
        _stub(ctx).SearchConversations,
        control_pb2.SearchConversationsRequest(
            query=query, filter=_filter(**filters), page_size=limit
        ),
    )
    ctx.out_table(
        reply,
        reply.hits,
        lambda h: (h.conversation.id, h.seq, when(h.conversation.started_ms), h.snippet),
        ("CONVERSATION", "SEQ", "STARTED", "TEXT"),
    )


@history.command("show")
@click.argument("conversation_id")
@pass_ctx
def history_show(ctx: Ctx, conversation_id: str) -> None:
    """A chat's summary (its transcript: 'parley transcript ID')."""
    c = ctx.call(
        _stub(ctx).GetConversation,
        control_pb2.GetConversationRequest(conversation_id=conversation_id),
    )
    ctx.out(
        c,
        lambda: "\n".join(
            (
                f"conversation  {c.id}",
                f"site          {c.site_id}  department {c.department_id}",
                f"visitor       {c.visitor_name or '-'} ({c.visitor_id})",
                f"operators     {', '.join(o.name for o in c.operators) or '-'}",
                f"status        {c.status}{'  (missed)' if c.missed else ''}",
                f"started       {when(c.started_ms)}",
                f"closed        {when(c.closed_ms)}  ended: {c.ended or '-'}",
                f"rating        {c.rating or '-'} {c.rating_comment}".rstrip(),
                f"messages      {c.message_count}",
            )
        ),
    )


@history.command("email")
@click.argument("conversation_id")
@pass_ctx
def history_email(ctx: Ctx, conversation_id: str) -> None:
    """Email a chat's transcript to the email its visitor gave (notes left out)."""
    reply = ctx.call(
        _stub(ctx).SendTranscript,
        control_pb2.SendTranscriptRequest(conversation_id=conversation_id),
    )
    ctx.out(reply, lambda: f"transcript of {conversation_id} to {reply.email} (queued)")


@history.command("reindex")
@click.option(
    "--data",
    "data_dir",
    default="data",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The data directory (the server must be stopped)",
)
def history_reindex(data_dir: Path) -> None:
    """Rebuild the history index from the data directory's store."""
    from engine.persistence.lmdb_store import DataDirLocked, LmdbStore
    from engine.records.index import rebuild

    if not (data_dir / "lmdb").is_dir():
        fail(f"no Parley data in {data_dir}", 2)
    try:
        store = LmdbStore(data_dir)
    except DataDirLocked as error:
        fail(str(error), 1)
    try:
        count = rebuild(
            data_dir, store, lambda done: status_line(f"indexing: {done:,} conversations read")
        )
    finally:
        status_line("")
        store.close()
    click.echo(f"history index rebuilt: {count} conversations")
