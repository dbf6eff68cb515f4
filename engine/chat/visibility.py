"""What an operator may see and do with a chat: the one place that decides.

A role sees chats within a scope (its own, its departments', or all of the
account's: :func:`scope_of`); the board's lists, the chat actions of the
operator session and the RPCs that name a chat all ask this module (the rule
itself, :func:`~engine.chat.board.in_scope`, is shared with the board's lists).
A chat out of sight "does not exist": the refusal never hints that it does.
Which permission each chat action needs is the table
``engine.chat.permissions.CHAT_ACTIONS``; ``permissions.require`` checks one.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from engine.chat.board import in_scope
from engine.chat.events import ChatCard
from engine.chat.kinds import BOARD, CONVERSATION
from engine.chat.messages import ConversationSummary, GetCard, GetConversation
from engine.chat.permissions import VIEW_SCOPES
from engine.errors import FailedPrecondition, NotFound

if TYPE_CHECKING:
    from engine.app import Engine
    from engine.chat.auth import Principal

# A conversation id's shape, checked before any actor is asked about it.
CONVERSATION_ID = re.compile(r"^s[a-z2-7]{9}-[a-z2-7]{12}$")


def scope_of(permissions: frozenset[str]) -> str:
    """Which chats a role sees: own, department or all (the widest held)."""
    scope = "own"
    for name in ("department", "all"):
        if VIEW_SCOPES[name] in permissions:
            scope = name
    return scope


def unknown_conversation(conversation_id: str) -> NotFound:
    """The refusal for a chat that does not exist or is out of sight (the same)."""
    return NotFound("unknown_conversation", f"no conversation {conversation_id[:40]!r}")


async def chat_in_sight(
    engine: Engine, principal: Principal, conversation_id: str
) -> ConversationSummary:
    """The conversation's summary when this operator may see it (it is in it,
    or its role sees its departments' or all chats); else the chat is unknown."""
    unknown = unknown_conversation(conversation_id)
    if not CONVERSATION_ID.match(conversation_id):
        raise unknown
    directory = engine.directory
    summary = await engine.system.ref(CONVERSATION, conversation_id).ask(GetConversation())
    site = directory.sites.get(summary.site_id)
    if site is None or site.account_id != principal.account_id:
        raise unknown
    me = principal.operator_id
    scope = scope_of(directory.role_permissions(principal.account_id, principal.role))
    participants = (*summary.operators, *summary.invisible)
    depts = directory.operator(me).department_ids
    if in_scope(scope, me, depts, summary.department_id, participants):
        return summary
    raise unknown


async def card_in_sight(
    engine: Engine, principal: Principal, scope: str, conversation_id: str
) -> ChatCard:
    """The chat's card if this operator may act on it; else the chat 'does not
    exist' (no hint that it does). Closed chats have left the lists: those who
    could see one are told it is closed."""
    board = engine.system.ref(BOARD, principal.account_id)
    card: ChatCard | None = await board.ask(GetCard(conversation_id))
    if card is None:
        summary = await chat_in_sight(engine, principal, conversation_id)
        if summary.status == "closed":
            raise FailedPrecondition("conversation_closed", "the conversation is closed")
        raise unknown_conversation(conversation_id)
    me = principal.operator_id
    op = engine.directory.operator(me)
    participants = (*card.operators, *card.invisible)
    if not in_scope(scope, me, op.department_ids, card.department_id, participants):
        raise unknown_conversation(conversation_id)
    return card


def may_pick(engine: Engine, operator_id: str, summary: ConversationSummary) -> None:
    """Refuse a pick from the New pool unless the chat waits in one of the
    operator's departments (others' chats are unknown to it)."""
    op = engine.directory.operator(operator_id)
    if summary.site_id not in engine.directory.sites or (
        summary.department_id not in op.department_ids
    ):
        raise NotFound("unknown_conversation", f"no conversation {summary.id!r}")
