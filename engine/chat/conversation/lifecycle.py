"""A conversation's life: started, written to, assigned, requeued, moved, closed.

A chat starts queued in its department's line (the record and the place in line
are one commit), is assigned an operator by the queue, goes back in a line when
nobody is left to answer (or moves to a fallback department after the maximum
wait), and is closed by a participant or by the system (abandoned, nobody in
time, the operator gone offline). Posts go through the journal: seqs given at
the write and contiguous, one write in flight with later posts written together
in the next, a client id stored once; after the commit each post is acknowledged
with its seq and delivered to the subscribers, in seq order. A failed write
acknowledges nothing: its posts get the store's refusal and their client ids
are forgotten, so a resend is new. A waiting visitor whose connections all left
has abandoned the chat unless one is back within the abandonment time (a keyed
timer). Each function takes the actor's :class:`ConversationState`.
"""

from __future__ import annotations

import dataclasses
import logging

from engine.chat import notify
from engine.chat.conversation.state import ConversationState
from engine.chat.events import Closed, Event, FileRef, MessageEvent, OperatorJoined, Queued, Sink
from engine.chat.journal import MESSAGES, WAITING_POSTS
from engine.chat.kinds import OPERATOR, QUEUE, VISITOR
from engine.chat.messages import (
    AbandonCheck,
    ConversationEnded,
    ConversationInfo,
    Dequeue,
    Enqueue,
    InvitationWords,
    MissedReply,
    Post,
    Released,
)
from engine.chat.services import Context
from engine.errors import FailedPrecondition, PermissionDenied, Unavailable
from engine.persistence.schema import FILE_REFS, TICKETS, WAITING, Op

log = logging.getLogger("parley.conversation")

_ABANDON = "abandon"  # the timer key: the waiting visitor's connections all left

_SYSTEM_CLOSE = {
    "abandoned": "The visitor left before anyone answered",
    "no_operator": "Nobody could answer in time",
    "operator_offline": "Chat closed: the operator went offline",
}


def start(
    chat: ConversationState,
    info: ConversationInfo,
    invitation: InvitationWords | None,
    ctx: Context,
) -> str:
    """Queued in the department's line (a second start is a no-op). Reply: the id.

    A chat that answers an operator's invitation starts with the invitation's
    words, the inviter's message of seq 1 (the visitor's answer comes after
    them: its post is queued behind this start). The message, the record and
    the place in line are one commit, so a restart finds all of them or none,
    and a second start (the record is there) stores nothing again. The words
    do not answer the chat: until an operator writes in it, it can be missed."""
    if chat.info is not None:
        return chat.id
    chat.info = info
    chat.status = "queued"
    chat.created_ms = ctx.clock.wall_ms()
    # The record and the place in line are one commit: a crash keeps both
    # or neither.
    key, op = _waiting_op(chat, info, ctx)
    hooks = notify.chat_ops(ctx.services, info, "chat.started", visitor_name=info.visitor_name)
    if invitation is None:
        ctx.services.store.write([chat.record_op(), op, *hooks], _log_failure)
    else:
        by, name, text = invitation.operator_id, invitation.operator_name, invitation.text
        draft = MessageEvent(chat.id, 0, "operator", by, name, text, "", 0)
        said = notify.chat_ops(
            ctx.services, info, "message", author_kind="operator", author_id=by,
            author_name=name, text=text, client_msg_id="",
        )  # fmt: skip
        chat.journal.append(
            draft, ctx, on_committed=chat.on_post, extra=[op, *hooks, *said], state=chat.record_op
        )
    ctx.ref(QUEUE, info.department_id).tell(Enqueue(info, key))
    chat.card(ctx)
    return chat.id


def _waiting_op(chat: ConversationState, info: ConversationInfo, ctx: Context) -> tuple[bytes, Op]:
    key = WAITING.key(info.department_id, info.priority, ctx.clock.wall_ms(), chat.id)
    return key, WAITING.put(key, info.to_list())


def post(chat: ConversationState, post: Post, ctx: Context) -> int | None:
    """Store a message. Reply (deferred to the commit): its seq; a resend of a
    stored client id gets its original seq, stored once."""
    info = chat.require()
    if chat.journal.crowded(post.client_msg_id, WAITING_POSTS):
        # The store is far behind (1,000 of this chat's, or the engine's
        # backlog of every chat's, wait): refused before anything is done, so
        # memory stays bounded and the client resends later (as an edge's
        # full link).
        raise Unavailable("overloaded", "the server is busy; resend later")
    if post.author_kind == "visitor":
        if chat.status == "closed":
            raise FailedPrecondition("conversation_closed", "the conversation is closed")
        if post.author_id != info.visitor_id:
            raise PermissionDenied("not_participant", "not this conversation's visitor")
    else:
        if chat.status == "closed" and not chat.missed:
            raise FailedPrecondition("conversation_closed", "the conversation is closed")
        if post.author_id not in chat.operators and post.author_id not in chat.invisible:
            raise PermissionDenied("not_participant", "you are not in this conversation")
        if post.author_kind == "operator" and chat.journal.seq_for(post.client_msg_id) is None:
            _operator_writes(chat, post.author_id, ctx)
    draft = MessageEvent(
        chat.id,
        0,
        post.author_kind,
        post.author_id,
        post.author_name,
        post.text,
        post.client_msg_id,
        0,
        post.attachment,
    )
    hooks = notify.chat_ops(
        ctx.services, info, "message", author_kind=post.author_kind, author_id=post.author_id,
        author_name=post.author_name, text=post.text, client_msg_id=post.client_msg_id,
    )  # fmt: skip
    if post.attachment is not None:
        # The file's reference, in the message's commit: the file is kept (and
        # served to this chat) exactly while a stored message names it.
        hooks = [*hooks, attachment_ref(info.site_id, chat.id, post.attachment, ctx)]
    return chat.journal.append(
        draft,
        ctx,
        answer=True,
        on_committed=chat.on_post,
        tag=post.origin,
        extra=hooks,
    )


def attachment_ref(site_id: str, conv_id: str, f: FileRef, ctx: Context) -> Op:
    """The write of a conversation's reference to a stored file."""
    doc = {"n": f.name, "t": f.content_type, "z": f.size, "w": f.width, "h": f.height}
    return FILE_REFS.put(site_id, f.digest, conv_id, {**doc, "ms": ctx.clock.wall_ms()})


def _operator_writes(chat: ConversationState, op_id: str, ctx: Context) -> None:
    """An operator's first visible word: an invisible one shows itself, and
    a missed chat is answered (the visitor gets it when it is back)."""
    info = chat.require()
    name = chat.invisible.pop(op_id, None)
    if name is not None:
        chat.operators[op_id] = name
        joined = OperatorJoined(chat.id, name, chat.avatar_of(op_id, ctx))
        chat.notice(
            f"{name} joined the chat",
            chat.subscribers.later_to_visitors(joined),
            ctx,
            code=("joined", name),
        )
        chat.card(ctx)
    if not chat.answered:
        chat.answered = True
        chat.first_response_ms = max(1, ctx.clock.wall_ms() - chat.created_ms)
        chat.card(ctx)
        if chat.missed:
            ctx.ref(VISITOR, info.visitor_id).tell(MissedReply(chat.id))


# -- connections coming and going ---------------------------------------------------


def subscribe(chat: ConversationState, sink: Sink, after_seq: int, role: str, ctx: Context) -> None:
    """Replay from ``after_seq`` (a page per turn), then live. Reply: the last
    seq delivered when the replay reached the live end. A visitor connection
    is first told where the chat stands (its place in line, or closed)."""
    info = chat.require()
    held: list[Event] = []
    if role == "visitor":
        if chat.status == "queued" and chat.position:
            held.append(Queued(info.conversation_id, chat.position, chat.eta))
        elif chat.status == "closed":
            held.append(Closed(chat.id, "", chat.closed_reason))
    if chat.subscribers.subscribe(sink, after_seq, role, held, ctx):
        ctx.cancel_timer(_ABANDON)  # back in time: not abandoned


def unsubscribe(chat: ConversationState, sink: Sink, ctx: Context) -> None:
    if chat.subscribers.unsubscribe(sink) and chat.status == "queued":
        # The visitor left while waiting: gone for good unless it is back
        # within the abandonment time.
        ctx.start_timer(_ABANDON, ctx.services.abandon_seconds, AbandonCheck())


def abandon_check(chat: ConversationState, ctx: Context) -> None:
    if not chat.subscribers.visitors and chat.status == "queued":
        close(chat, "system", "", ctx, "abandoned")


def queue_position(chat: ConversationState, position: int, eta: int) -> None:
    chat.position, chat.eta = position, eta
    if chat.status == "queued":
        chat.subscribers.to_visitors(Queued(chat.id, position, eta))


# -- operators coming and going -----------------------------------------------------


def assign(chat: ConversationState, operator_id: str, operator_name: str, ctx: Context) -> None:
    """The queue gave the chat to an operator (whose actor accepted it)."""
    chat.require()
    if chat.status == "closed":
        ctx.ref(OPERATOR, operator_id).tell(Released(chat.id))
        return
    chat.invisible.pop(operator_id, None)
    chat.operators[operator_id] = operator_name
    chat.status = "active"
    if not chat.assigned_ms:
        chat.assigned_ms = ctx.clock.wall_ms()
    chat.card(ctx)
    joined = OperatorJoined(chat.id, operator_name, chat.avatar_of(operator_id, ctx))
    hooks = notify.chat_ops(
        ctx.services, chat.require(), "chat.assigned", operator_id=operator_id,
        operator_name=operator_name,
    )  # fmt: skip
    chat.notice(
        f"{operator_name} joined the chat",
        chat.subscribers.later_to_visitors(joined),
        ctx,
        extra=hooks,
        code=("joined", operator_name),
    )


def requeue(
    chat: ConversationState,
    text: str,
    ctx: Context,
    info: ConversationInfo | None = None,
    code: tuple[str, ...] = ("requeued",),
) -> None:
    """Nobody is left to answer (or the chat moves on to another department):
    back in a queue, first in line. The notice, the record and the place in
    line are one commit."""
    waiting = info or dataclasses.replace(chat.require(), preferred_operator_id="", priority=1)
    chat.status = "queued"
    chat.chat_status = ""
    chat.info = waiting
    key, op = _waiting_op(chat, waiting, ctx)

    def enqueue() -> None:
        ctx.ref(QUEUE, waiting.department_id).tell(Enqueue(waiting, key))

    chat.notice(text, enqueue, ctx, extra=[op], code=code)


def move(chat: ConversationState, dept_id: str, reason: str, ctx: Context) -> None:
    """Wait on in another department (the fallback after the maximum wait)."""
    info = chat.require()
    if chat.status != "queued":
        return
    dept = ctx.services.directory.departments.get(dept_id)
    if dept is None:
        close(chat, "system", "", ctx, "no_operator")
        return
    why = "nobody was free in time" if reason == "max_wait" else reason
    moved = dataclasses.replace(info, department_id=dept_id, region_id="", priority=1)
    requeue(chat, f"Moved to {dept.name}: {why}", ctx, moved, ("moved", dept.name))
    chat.card(ctx)


def operator_left(chat: ConversationState, op_id: str, requeued: bool, ctx: Context) -> None:
    """An operator went offline: the others go on, else the chat is requeued
    or closed (as its department wants)."""
    chat.require()
    name = chat.operators.pop(op_id, None)
    if name is None or chat.status == "closed":
        return
    if chat.operators:
        chat.notice(f"{name} went offline and left the chat", None, ctx, code=("left", name))
        chat.card(ctx)
        return
    if not requeued:
        close(chat, "system", op_id, ctx, "operator_offline")
        return
    requeue(chat, f"{name} went offline; finding another operator", ctx, code=("left", name))
    chat.card(ctx)


def rename_visitor(chat: ConversationState, name: str, email: str, ctx: Context) -> None:
    """The visitor said who it is: the chat's card (the operators' lists and
    panels) shows the new name, and a note (operators only) keeps it in the
    transcript, stored with the chat's record."""
    info = chat.require()
    chat.info = dataclasses.replace(info, visitor_name=name)
    said = f"{name} <{email}>" if email else name
    chat.notice(f"The visitor is now known as {said}", None, ctx, kind="note")
    chat.card(ctx)


# -- the end ------------------------------------------------------------------------


def close(
    chat: ConversationState, by_kind: str, by_id: str, ctx: Context, reason: str = ""
) -> None:
    info = chat.require()
    if by_kind == "operator" and by_id not in chat.operators:
        raise PermissionDenied("not_participant", "you are not in this conversation")
    if chat.status == "closed":
        if by_kind == "system":
            return  # a timer that lost the race: nothing to do
        raise FailedPrecondition("conversation_closed", "the conversation is closed already")
    was_queued = chat.status == "queued"
    chat.status = "closed"
    chat.closed_reason = reason if by_kind == "system" else ""
    chat.missed = not chat.answered and reason in ("abandoned", "no_operator")
    chat.chat_status = ""
    chat.closed_ms = ctx.clock.wall_ms()  # stored with the close notice (history)
    chat.closed_by = f"{by_kind}:{by_id}"
    chat.card(ctx)
    last_operator = next(reversed(chat.operators), "")
    closed = Closed(chat.id, by_id, chat.closed_reason)
    if by_kind == "system":
        text = _SYSTEM_CLOSE.get(reason, "Chat closed")
        code: tuple[str, ...] = ("closed", reason)
    else:
        name = chat.operators.get(by_id, "") if by_kind == "operator" else "the visitor"
        text = f"Chat closed by {name}"
        code = ("closed_by_" + by_kind, name if by_kind == "operator" else "")

    # The close's webhooks, and a missed chat's emails, in the close's commit.
    extra = notify.chat_ops(
        ctx.services, info, "chat.closed", reason=chat.closed_reason, closed_by=chat.closed_by,
        missed=chat.missed,
    )  # fmt: skip
    if chat.missed:
        said = MESSAGES.read(ctx.services.store, chat.id, 0, 50)
        lines = [
            f"{m.author_name or m.author_kind}: {m.text}"
            for m in said
            if m.author_kind == "visitor"
        ]
        extra += notify.missed_ops(ctx.services, info, lines)
        # A visitor who gave an email can be answered by it: a ticket of the chat.
        ticket = notify.missed_ticket(
            ctx.services, info, [m.text for m in said if m.author_kind == "visitor"], chat.closed_ms
        )
        if ticket is not None:
            extra += [
                TICKETS.put(ticket.site_id, ticket.id, ticket.to_doc()),
                *notify.ticket_ops(ctx.services, ticket, notices=False),
            ]

    def finish() -> None:
        chat.subscribers.to_all(closed)
        for op_id in (*chat.operators, *chat.invisible):
            ctx.ref(OPERATOR, op_id).tell(Released(chat.id))
        ctx.ref(VISITOR, info.visitor_id).tell(ConversationEnded(chat.id, last_operator))
        if was_queued:
            ctx.ref(QUEUE, info.department_id).tell(Dequeue(chat.id))

    chat.notice(text, finish, ctx, extra=extra, code=code, closes=True)


def replay_missed(chat: ConversationState, sink: Sink, ctx: Context) -> None:
    """What operators wrote to a missed chat after it closed, for its returning
    visitor (notes stay with the operators), a page per turn. Reply: how many
    messages."""
    chat.require()
    reply = ctx.defer()
    if not chat.missed or chat.journal.last_seq <= chat.closed_seq:
        if reply is not None:
            reply(0, None)
        return
    count = 0

    def deliver(event: MessageEvent) -> None:
        nonlocal count
        if event.author_kind != "note":
            sink.push(event)
            count += 1

    def done() -> None:
        if reply is not None:
            reply(count, None)

    chat.journal.replay(chat.closed_seq, deliver, done, ctx)


def _log_failure(error: BaseException | None) -> None:
    if error is not None:
        log.error("conversation record not stored: %r", error)
