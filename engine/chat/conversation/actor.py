"""The Conversation actor: one per chat, its state and the dispatch of its commands.

The actor holds a :class:`~engine.chat.conversation.state.ConversationState`,
recovered from the conversation's record on activation, and hands each command
to the function that owns it: the lifecycle (start, post, subscribe, assign,
requeue, move, close: ``lifecycle.py``), the operators' actions (join, leave,
invite, transfers, take-over, chat status: ``actions.py``) and the receipts
(typing, read, rating: ``receipts.py``). Those raise a refusal (``Refused``) for
a command the chat's state forbids; the runtime answers the asker with it. It
is passivated only with nobody subscribed, nothing being written or replayed and
no claim out to an operator.
"""

from __future__ import annotations

from engine.chat.conversation import actions, lifecycle, receipts
from engine.chat.conversation.actions import StatusDone
from engine.chat.conversation.state import ConversationState
from engine.chat.journal import ReplayPage
from engine.chat.messages import (
    AbandonCheck,
    AssignTo,
    ClaimDone,
    CloseConversation,
    Committed,
    ConversationCommand,
    GetConversation,
    InviteOperator,
    JoinChat,
    LeaveChat,
    MarkRead,
    MoveToDepartment,
    OperatorLeft,
    Post,
    QueuePositionChanged,
    Rate,
    RenameVisitor,
    ReplayMissed,
    SetChatStatus,
    SetTyping,
    Start,
    Subscribe,
    TakeOver,
    TransferToDepartment,
    TransferToOperator,
    Unsubscribe,
)
from engine.chat.services import ChatServices, Context
from engine.runtime import Actor, unhandled


class Conversation(Actor[ConversationCommand | StatusDone, ChatServices]):
    def __init__(self, key: str, snapshot: bytes | None) -> None:
        # The record in ``conversations`` is the snapshot: read in ``started``.
        self.chat = ConversationState(key)

    def started(self, ctx: Context) -> None:
        self.chat.recover(ctx.services.store, ctx.services.backlog)

    def can_passivate(self) -> bool:
        # A closed chat rests as soon as it is idle (its last subscriber gone,
        # its last write committed): its record and journal are in the store,
        # and a later message (a rating, a resume, a late reply) activates it
        # again from there. Kept until the idle sweep instead, chats closed at a
        # few thousand a minute held several KiB each for minutes.
        return self.chat.idle

    def receive(self, message: ConversationCommand | StatusDone, ctx: Context) -> object:
        chat = self.chat
        match message:
            # The cases go roughly by frequency (posts first); the functions
            # are in lifecycle.py, receipts.py and actions.py.
            case Post():
                return lifecycle.post(chat, message, ctx)
            case Committed(seq, error):
                chat.journal.committed(error, ctx)
                if chat.status == "closed":
                    ctx.rest()  # the close's last write may be this one
                return seq
            case ReplayPage():
                chat.journal.resume(message, ctx)
                return None
            case Subscribe(sink, after_seq, role):
                lifecycle.subscribe(chat, sink, after_seq, role, ctx)  # replies when caught up
                return None
            case Unsubscribe(sink):
                lifecycle.unsubscribe(chat, sink, ctx)
                if chat.status == "closed":
                    ctx.rest()  # the last to leave a closed chat lets it go
                return None
            case AbandonCheck():
                lifecycle.abandon_check(chat, ctx)
                return None
            case MoveToDepartment(dept_id, reason):
                lifecycle.move(chat, dept_id, reason, ctx)
                return None
            case OperatorLeft(op_id, requeue):
                lifecycle.operator_left(chat, op_id, requeue, ctx)
                return None
            case Start(info, invitation):
                return lifecycle.start(chat, info, invitation, ctx)
            case AssignTo(operator_id, operator_name):
                lifecycle.assign(chat, operator_id, operator_name, ctx)
                return None
            case QueuePositionChanged(position, eta):
                lifecycle.queue_position(chat, position, eta)
                return None
            case CloseConversation(by_kind, by_id, reason):
                lifecycle.close(chat, by_kind, by_id, ctx, reason)
                return None
            case SetTyping():
                receipts.typing(chat, message, ctx)
                return None
            case MarkRead():
                return receipts.mark_read(chat, message)
            case Rate(visitor_id, score, comment):
                return receipts.rate(chat, visitor_id, score, comment, ctx)
            case GetConversation():
                return chat.summary()
            case RenameVisitor(name, email):
                lifecycle.rename_visitor(chat, name, email, ctx)
                return None
            case ReplayMissed(sink):
                lifecycle.replay_missed(chat, sink, ctx)  # replies when the replay is done
                return None
            case JoinChat(op_id, name, invisible):
                actions.join(chat, op_id, name, invisible, ctx)
                return None
            case LeaveChat(op_id):
                actions.leave(chat, op_id, ctx)
                return None
            case InviteOperator() | TransferToOperator() | TakeOver():
                actions.claim(chat, message, ctx.defer(), ctx)  # replies when answered
                return None
            case ClaimDone():
                actions.claim_done(chat, message, ctx)
                return None
            case StatusDone():
                actions.status_done(chat, message, ctx)
                return None
            case TransferToDepartment(by_id, dept_id):
                actions.transfer_to_department(chat, by_id, dept_id, ctx)
                return None
            case SetChatStatus(op_id, status):
                actions.set_chat_status(chat, op_id, status, ctx)
                return None
        unhandled(message)
