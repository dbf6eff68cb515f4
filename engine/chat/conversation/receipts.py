"""The courtesies around the messages: typing, read receipts and the rating.

Typing and read receipts go to the other participants live and are not stored
(how far each side has read is kept in memory only). A visitor's draft is shown
to operator sessions, which drop it unless their role has ``typing_preview``,
and only on sites that allow it; a visitor never sees one. A closed chat is
rated once by its visitor, 1 to 5 with an optional comment: a notice in the
transcript, and the chat's operators are told through their operator actors.
"""

from __future__ import annotations

from engine.chat import notify
from engine.chat.conversation.state import ConversationState
from engine.chat.events import Rated, ReadUpTo, Typing
from engine.chat.kinds import OPERATOR
from engine.chat.messages import MarkRead, NotifySessions, SetTyping
from engine.chat.services import Context
from engine.errors import FailedPrecondition, InvalidArgument, PermissionDenied


def typing(chat: ConversationState, command: SetTyping, ctx: Context) -> None:
    info = chat.require()
    if chat.status == "closed":
        raise FailedPrecondition("conversation_closed", "the conversation is closed")
    if command.author_kind == "visitor":
        if command.author_id != info.visitor_id:
            raise PermissionDenied("not_participant", "not this conversation's visitor")
    elif command.author_id not in chat.operators:
        raise PermissionDenied("not_participant", "you are not in this conversation")
    site = ctx.services.directory.sites.get(info.site_id)
    preview = command.preview if command.author_kind == "visitor" and command.active else ""
    if site is None or not site.typing_preview:
        preview = ""
    plain = Typing(chat.id, command.author_kind, command.author_name, command.active, "")
    full = plain._replace(preview=preview) if preview else plain
    # A visitor never sees a draft; operator sessions drop it unless their role
    # has typing_preview.
    chat.subscribers.to_others(command.origin, plain, full)


def mark_read(chat: ConversationState, read: MarkRead) -> int:
    """Reply: how far the reader's side has read now."""
    info = chat.require()
    if read.reader_kind == "visitor":
        if read.reader_id != info.visitor_id:
            raise PermissionDenied("not_participant", "not this conversation's visitor")
    elif read.reader_id not in chat.operators:
        raise PermissionDenied("not_participant", "you are not in this conversation")
    if read.seq > chat.journal.last_seq:
        raise InvalidArgument("invalid_argument", f"seq {read.seq} is not stored yet")
    side = "visitor" if read.reader_kind == "visitor" else "operator"
    if read.seq <= chat.read_up_to[side]:
        return chat.read_up_to[side]  # old news: nothing to tell
    chat.read_up_to[side] = read.seq
    event = ReadUpTo(chat.id, read.reader_kind, read.reader_name, read.seq)
    chat.subscribers.to_others(read.origin, event, event)
    return read.seq


def rate(chat: ConversationState, visitor_id: str, score: int, comment: str, ctx: Context) -> int:
    """Reply: the score."""
    info = chat.require()
    if visitor_id != info.visitor_id:
        raise PermissionDenied("not_participant", "not this conversation's visitor")
    if chat.status != "closed":
        raise FailedPrecondition("not_closed", "a chat is rated once it is closed")
    if chat.rating:
        raise FailedPrecondition("already_rated", "this chat has been rated already")
    if not 1 <= score <= 5 or len(comment) > 1000:
        raise InvalidArgument("invalid_argument", "a rating is 1-5 with a comment of 1000")
    chat.rating, chat.comment = score, comment
    rated = Rated(chat.id, score)

    def announce() -> None:
        # The chat is closed, so its operators' sessions have left it: tell
        # them through their operator actors. The visitor hears it in the reply.
        for op_id in chat.operators:
            ctx.ref(OPERATOR, op_id).tell(NotifySessions(rated))

    text = f"The visitor rated the chat {score}/5" + (f": {comment}" if comment else "")
    # For the operators' transcript: the visitor has its own answer (the reply).
    hooks = notify.chat_ops(ctx.services, info, "rating", score=score, comment=comment)
    chat.notice(text, announce, ctx, kind="note", extra=hooks)
    return score
