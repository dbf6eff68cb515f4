"""The operators' actions on a chat: join, leave, invite, transfer, take over, status.

Joining (visibly or not) and leaving change the participants at once. Inviting a
colleague, transferring to one and taking over are claims: the colleague's operator
actor must accept the chat (online, below its limit) before anything changes. The
conversation has one claim out at a time; a claim that comes meanwhile waits and is
checked again once that one is done, so of two take-overs at once the second finds
the owner changed and its operator is never asked. A claim is accepted quietly: the
colleague's sessions hear of the chat only when the conversation confirms it
(``ConfirmClaim``), and a claim refused at the end (the chat closed, or its owner
left, meanwhile) is handed back with ``Released``, unseen. A transfer to a
department requeues the chat there. The chat status (on hold, which frees the
operator's slot, not waiting, active) goes through the operator's actor when it
changes the load. Which permission each action needs is ``CHAT_ACTIONS`` in
``engine/chat/permissions.py``; the sessions check it before they ask.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

from engine.chat.conversation.lifecycle import requeue
from engine.chat.conversation.state import ClaimAction, ConversationState
from engine.chat.events import OperatorJoined
from engine.chat.kinds import OPERATOR
from engine.chat.messages import (
    Adopt,
    Claim,
    ClaimDone,
    ConfirmClaim,
    Hold,
    InviteOperator,
    Released,
    TakeOver,
    TransferToOperator,
)
from engine.chat.services import Context
from engine.errors import FailedPrecondition, InvalidArgument, NotFound, Refused
from engine.runtime import MailboxFull, Reply

CHAT_STATUSES = ("active", "on_hold", "not_waiting")


def join(chat: ConversationState, op_id: str, name: str, invisible: bool, ctx: Context) -> None:
    """An operator joins an active chat (or a missed one, which the visitor left:
    the visitor is not told)."""
    info = chat.require()
    if chat.status == "closed" and not chat.missed:
        raise FailedPrecondition("conversation_closed", "the conversation is closed")
    if op_id in chat.operators or op_id in chat.invisible:
        raise FailedPrecondition("already_in_chat", "you are in this chat already")
    if chat.status == "queued":
        raise FailedPrecondition("waiting", "this chat waits for an operator: pick it instead")
    ctx.ref(OPERATOR, op_id).tell(Adopt(info))
    if invisible or chat.status == "closed":
        # Nobody tells the visitor; the transcript notes it for operators.
        chat.invisible[op_id] = name
        how = "invisibly" if invisible else "after the visitor left"
        chat.notice(f"{name} joined {how}", None, ctx, kind="note")
    else:
        chat.operators[op_id] = name
        joined = OperatorJoined(chat.id, name, chat.avatar_of(op_id, ctx))
        chat.notice(
            f"{name} joined the chat",
            chat.subscribers.later_to_visitors(joined),
            ctx,
            code=("joined", name),
        )
    chat.card(ctx)


def leave(chat: ConversationState, op_id: str, ctx: Context) -> None:
    """An operator leaves; the last visible one leaving an active chat requeues it."""
    chat.open_for_action()
    name = chat.participant(op_id)
    invisible = chat.invisible.pop(op_id, None) is not None
    chat.operators.pop(op_id, None)
    ctx.ref(OPERATOR, op_id).tell(Released(chat.id))
    if invisible:
        chat.notice(f"{name} left", None, ctx, kind="note")
    elif chat.operators or chat.status != "active":
        chat.notice(f"{name} left the chat", None, ctx, code=("left", name))
    else:
        requeue(chat, f"{name} left the chat; finding another operator", ctx, code=("left", name))
    chat.card(ctx)


# -- claims: invite, transfer to an operator, take over -------------------------------


def claim(chat: ConversationState, action: ClaimAction, reply: Reply | None, ctx: Context) -> None:
    """Invite, transfer or take-over: answered with ``reply`` once the colleague's
    operator actor has answered (or at once, refused). One claim is out at a
    time: this one waits while another is."""
    if chat.claiming:
        chat.waiting_claims.append((action, reply))
        return
    _claim(chat, action, reply, ctx)


def _claim(chat: ConversationState, action: ClaimAction, reply: Reply | None, ctx: Context) -> None:
    """Check the action against the chat as it is now, then ask the colleague's
    operator actor to accept the chat (raises the refusal)."""
    info = chat.open_for_action()
    target = action.operator_id
    if isinstance(action, TakeOver):
        if action.from_id not in chat.operators:
            raise FailedPrecondition(
                "owner_changed", "the chat is no longer with that operator: look again"
            )
        if target in chat.operators:
            raise FailedPrecondition("already_in_chat", "you are in this chat already")
    else:
        by = chat.participant(action.by_id)
        if target == action.by_id:
            raise InvalidArgument("invalid_argument", "that is you")
        if isinstance(action, TransferToOperator) and target in chat.operators:
            # The colleague is in the chat already: handing over is leaving.
            _drop(chat, action.by_id, ctx)
            chat.notice(
                f"{by} transferred the chat to {chat.operators[target]}",
                None,
                ctx,
                code=("transferred", by, chat.operators[target]),
            )
            chat.card(ctx)
            if reply is not None:
                reply(None, None)
            return
        if target in chat.operators or target in chat.invisible:
            raise FailedPrecondition("already_in_chat", "that operator is in this chat")
    me = ctx.self_ref

    def answered(value: tuple[str, int, int] | None, error: BaseException | None) -> None:
        accepted = error is None and value is not None and value[0] == "accepted"
        me.tell_system(ClaimDone(action, target, accepted, reply))

    ctx.ref(OPERATOR, target).tell(Claim(info, True, confirm=True), answered)
    chat.claiming = True


def claim_done(chat: ConversationState, done: ClaimDone, ctx: Context) -> None:
    """The colleague's operator actor answered: apply the action (and confirm
    the claim) or refuse it (and hand the chat back); then the next claim."""
    chat.claiming = False
    try:
        _settle(chat, done, ctx)
    finally:
        _next_claim(chat, ctx)


def _settle(chat: ConversationState, done: ClaimDone, ctx: Context) -> None:
    action, target, reply = done.action, done.operator_id, done.reply
    op = ctx.services.directory.operators.get(target)
    target_name = op.display_name if op is not None else "An operator"
    refusal: BaseException | None = None
    if not done.accepted:
        refusal = FailedPrecondition(
            "operator_unavailable", f"{target_name} is not online or has no free slot"
        )
    elif chat.status == "closed":
        refusal = FailedPrecondition("conversation_closed", "the conversation is closed")
    elif isinstance(action, TakeOver) and action.from_id not in chat.operators:
        refusal = FailedPrecondition(
            "owner_changed", "the chat is no longer with that operator: look again"
        )
    if refusal is not None:
        if done.accepted:
            ctx.ref(OPERATOR, target).tell(Released(chat.id))
        if reply is not None:
            reply(None, refusal)
        return
    ctx.ref(OPERATOR, target).tell(ConfirmClaim(chat.id))
    chat.invisible.pop(target, None)
    chat.operators[target] = target_name
    joined = OperatorJoined(chat.id, target_name, chat.avatar_of(target, ctx))
    if isinstance(action, InviteOperator):
        by = chat.operators.get(action.by_id) or chat.invisible.get(action.by_id, "")
        text, code = f"{by} invited {target_name}", ("invited", by, target_name)
    elif isinstance(action, TransferToOperator):
        by = _drop(chat, action.by_id, ctx)
        text = f"{by} transferred the chat to {target_name}"
        code = ("transferred", by, target_name)
    else:
        by = _drop(chat, action.from_id, ctx)
        text = f"{target_name} took over the chat from {by}"
        code = ("took_over", by, target_name)
    chat.notice(text, chat.subscribers.later_to_visitors(joined), ctx, code=code)
    chat.card(ctx)
    if reply is not None:
        reply(None, None)


def _next_claim(chat: ConversationState, ctx: Context) -> None:
    """Send out the first waiting claim that still holds; answer the others."""
    while chat.waiting_claims and not chat.claiming:
        action, reply = chat.waiting_claims.popleft()
        try:
            _claim(chat, action, reply, ctx)
        except (Refused, MailboxFull) as error:
            if reply is not None:
                reply(None, error)


def _drop(chat: ConversationState, op_id: str, ctx: Context) -> str:
    name = chat.operators.pop(op_id, None) or chat.invisible.pop(op_id, "")
    ctx.ref(OPERATOR, op_id).tell(Released(chat.id))
    return name


# -- transfer to a department ------------------------------------------------------


def transfer_to_department(chat: ConversationState, by_id: str, dept_id: str, ctx: Context) -> None:
    """Every operator leaves and the chat waits first in the department's line."""
    info = chat.open_for_action()
    by = chat.participant(by_id)
    dept = ctx.services.directory.departments.get(dept_id)
    if dept is None or dept.site_id != info.site_id:
        raise NotFound("unknown_department", f"no department {dept_id[:40]!r} on this site")
    for op_id in (*chat.operators, *chat.invisible):
        ctx.ref(OPERATOR, op_id).tell(Released(chat.id))
    chat.operators.clear()
    chat.invisible.clear()
    chat.info = dataclasses.replace(info, department_id=dept_id, region_id="")
    requeue(chat, f"{by} transferred the chat to {dept.name}", ctx, code=("moved", dept.name))
    chat.card(ctx)


# -- chat status -------------------------------------------------------------------


class StatusDone(NamedTuple):
    """To the conversation from itself: the operator's actor answered a change of
    chat status that changes its load (on hold, or back from it)."""

    operator_id: str
    name: str
    status: str
    was: str
    ok: bool
    reply: Reply | None


def set_chat_status(chat: ConversationState, op_id: str, status: str, ctx: Context) -> None:
    """active, on_hold or not_waiting. Reply (deferred): None, or at_capacity
    when coming back from hold would pass the operator's limit."""
    chat.open_for_action()
    name = chat.participant(op_id)
    if status not in CHAT_STATUSES:
        raise InvalidArgument("invalid_argument", "chat status is active, on_hold or not_waiting")
    if status == chat.chat_status or (status == "active" and not chat.chat_status):
        return
    reply = ctx.defer()
    me = ctx.self_ref
    was = chat.chat_status

    def held(value: bool | None, error: BaseException | None) -> None:
        me.tell_system(StatusDone(op_id, name, status, was, bool(value) and error is None, reply))

    if status == "on_hold" or was == "on_hold":
        ctx.ref(OPERATOR, op_id).tell(Hold(chat.id, status == "on_hold"), held)
    else:
        held(True, None)


def status_done(chat: ConversationState, done: StatusDone, ctx: Context) -> None:
    if not done.ok:
        if done.reply is not None:
            done.reply(None, FailedPrecondition("at_capacity", "you are at your chat limit"))
        return
    chat.chat_status = "" if done.status == "active" else done.status
    text = {
        "on_hold": f"{done.name} put the chat on hold",
        "not_waiting": f"{done.name} marked the visitor as not waiting",
        "active": f"{done.name} took the chat back",
    }[done.status]
    kind = "system" if done.status != "not_waiting" else "note"
    chat.notice(text, None, ctx, kind=kind, code=(done.status, done.name))
    chat.card(ctx)
    if done.reply is not None:
        done.reply(None, None)
