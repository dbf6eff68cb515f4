"""The conversation history: who may see which past chats, and the checks of a query.

Sight follows the chat scopes (``engine/chat/visibility.py``): an operator
always sees the chats it took part in (named in the record, visibly or not, or
having written in it); with ``view_department_chats`` its departments' too, with
``view_all_chats`` the account's. ``view_history`` (the history's permission)
opens the account's whole history. What is out of sight "does not exist":
``GetConversation`` answers ``unknown_conversation`` as for an id nobody made.

``GetConversation`` reads LMDB (the truth, never behind); lists and searches
read the index (``engine/records/index.py``), which follows the store a moment
behind. Bad input is refused before anything is read, each with its code:
``invalid_time_range``, ``invalid_query``, ``invalid_order_by``,
``invalid_filter``; a site, department or operator of no concern to the caller
is unknown (``NOT_FOUND``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import orjson

from engine.chat.permissions import VIEW_HISTORY
from engine.chat.visibility import CONVERSATION_ID, scope_of, unknown_conversation
from engine.errors import FailedPrecondition, InvalidArgument
from engine.persistence.schema import CONVERSATION_JOURNAL, CONVERSATIONS
from engine.records.queries import ORDERS, Filters, Hit, Key, list_rows, match_expression, search
from engine.records.rows import (
    ENDED_FILTERS,
    STATUSES,
    ConversationRow,
    doc_participants,
    facts_of,
    row_of,
)

if TYPE_CHECKING:
    from engine.app import Engine
    from engine.chat.auth import Principal

MAX_QUERY = 200  # characters of a search


@dataclass(frozen=True, slots=True)
class Query:
    """A list's or a search's filters as asked (checked by :func:`filters`)."""

    site_id: str = ""
    department_id: str = ""
    operator_id: str = ""
    visitor_id: str = ""
    statuses: tuple[str, ...] = ()
    ended: tuple[str, ...] = ()
    ratings: tuple[int, ...] = ()
    from_ms: int = 0
    to_ms: int = 0


def history_scope(permissions: frozenset[str]) -> str:
    """Which past chats a role sees beyond its own: all with view_history, else
    as the chat scopes say."""
    return "all" if VIEW_HISTORY in permissions else scope_of(permissions)


def _bad(code: str, message: str, field: str) -> InvalidArgument:
    return InvalidArgument(code, message, field=field)


def filters(engine: Engine, p: Principal, q: Query) -> Filters:
    """The caller's sight and the query's filters; refuses bad ones."""
    directory = engine.directory
    if q.site_id:
        sites: tuple[str, ...] = (directory.site(q.site_id, p.account_id).id,)
    else:
        sites = tuple(s.id for s in directory.list_sites(p.account_id))
    if q.department_id:
        dept = directory.department_of_account(q.department_id, p.account_id)
        if q.site_id and dept.site_id != q.site_id:
            directory.department(q.department_id, q.site_id)  # unknown on this site
    if q.operator_id:
        directory.operator(q.operator_id, p.account_id)
    for status in q.statuses:
        if status not in STATUSES:
            raise _bad("invalid_filter", f"status is one of {', '.join(STATUSES)}", "statuses")
    for tag in q.ended:
        if tag not in ENDED_FILTERS:
            raise _bad("invalid_filter", f"ended is one of {', '.join(ENDED_FILTERS)}", "ended")
    for rating in q.ratings:
        if not 0 <= rating <= 5:
            raise _bad("invalid_filter", "a rating is 1 to 5 (0: not rated)", "ratings")
    if q.from_ms < 0 or q.to_ms < 0 or (q.to_ms and q.from_ms >= q.to_ms):
        raise _bad(
            "invalid_time_range",
            "the time range must end after it starts (start_time before end_time)",
            "end_time",
        )
    me = directory.operator(p.operator_id)
    return Filters(
        sites=sites,
        scope=history_scope(directory.role_permissions(p.account_id, p.role)),
        me=p.operator_id,
        my_departments=tuple(me.department_ids),
        department_id=q.department_id,
        operator_id=q.operator_id,
        visitor_id=q.visitor_id,
        statuses=tuple(q.statuses),
        ended=tuple(q.ended),
        ratings=tuple(q.ratings),
        from_ms=q.from_ms,
        to_ms=q.to_ms,
    )


def check_order(order_by: str) -> str:
    order = order_by or "time"
    if order not in ORDERS:
        raise _bad("invalid_order_by", f"order_by is one of {', '.join(ORDERS)}", "order_by")
    return order


def check_text(text: str) -> str:
    """The FTS5 expression of a search text; refuses an empty or long one."""
    if len(text) > MAX_QUERY:
        raise _bad("invalid_query", f"a search is at most {MAX_QUERY} characters", "query")
    expression = match_expression(text)
    if not expression:
        raise _bad("invalid_query", "a search needs at least one word", "query")
    return expression


async def list_conversations(
    engine: Engine, p: Principal, q: Query, order_by: str, after: Key | None, limit: int
) -> list[ConversationRow]:
    """A page of the past chats the caller sees, newest first unless ordered
    by operator (its name, then newest) or rating (best, then newest)."""
    order = check_order(order_by)
    f = filters(engine, p, q)
    check_kept(engine)
    return await engine.history.read(lambda conn: list_rows(conn, f, order, after, limit))


async def search_conversations(
    engine: Engine, p: Principal, text: str, q: Query, after: Key | None, limit: int
) -> list[Hit]:
    """Messages of the chats the caller sees that hold every word of ``text``."""
    expression = check_text(text)
    f = filters(engine, p, q)
    check_kept(engine)
    return await engine.history.read(lambda conn: search(conn, f, expression, after, limit))


def check_kept(engine: Engine) -> None:
    """Lists and searches read the index: refused on a server that keeps none."""
    if not engine.history_on:
        raise FailedPrecondition(
            "history_off",
            "this server keeps no history index (it was started with --no-history)",
        )


def get_conversation(engine: Engine, p: Principal, conversation_id: str) -> ConversationRow:
    """A conversation's summary, read from the store, if the caller sees it."""
    unknown = unknown_conversation(conversation_id)
    if not CONVERSATION_ID.match(conversation_id):
        raise unknown
    directory = engine.directory
    doc = CONVERSATIONS.get(engine.store, conversation_id)
    if doc is None:
        raise unknown
    row = row_of(conversation_id, doc)
    site = directory.sites.get(row.site_id)
    if site is None or site.account_id != p.account_id:
        raise unknown
    records = [
        orjson.loads(v)
        for v in CONVERSATION_JOURNAL.read(engine.store, conversation_id, 0, 1 << 40)
    ]
    facts = facts_of(records)
    scope = history_scope(directory.role_permissions(p.account_id, p.role))
    took_part = p.operator_id in doc_participants(doc) | facts.authors
    mine = directory.operator(p.operator_id).department_ids
    if scope == "all" or took_part or (scope == "department" and row.department_id in mine):
        return row_of(conversation_id, doc, facts.counted)
    raise unknown
