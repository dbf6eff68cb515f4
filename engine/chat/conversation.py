"""The Conversation actor: participants, status and the message journal.

Messages and notices go through the conversation's :class:`Journal`
(``engine/chat/journal.py``): seqs given at the write and contiguous, one write in
flight with later posts written together in the next, a client id stored once.
After the commit the conversation acknowledges each post with its seq and
delivers the events to its subscribers, in seq order. A failed write
acknowledges nothing: its posts get the store's refusal and their client ids are
forgotten, so a resend is new.

Subscribers are sinks: visitor connections and operator sessions. A subscribe
replays the journal from the sink's last seen seq, a page per turn, then the
sink is live; meanwhile a stand-in (:class:`_CatchingUp`) holds what else
happens, so the sink sees every seq once and in order, and every other event
where it happened between them.

The conversation's record (``conversations``, see ``engine/persistence/schema.py``)
is its snapshot: it is written in the same commit as the event that changes it
(start, join, close).
"""

from __future__ import annotations

import dataclasses
import logging
from collections import deque
from collections.abc import Callable
from typing import Any, NamedTuple

from engine.chat.events import (
    ChatCard,
    Closed,
    Event,
    MessageEvent,
    OperatorJoined,
    Queued,
    Rated,
    ReadUpTo,
    Sink,
    Typing,
)
from engine.chat.journal import MESSAGES, Journal, ReplayPage
from engine.chat.kinds import BOARD, OPERATOR, QUEUE, VISITOR
from engine.chat.messages import (
    AbandonCheck,
    Adopt,
    AssignTo,
    CardChanged,
    Claim,
    ClaimDone,
    CloseConversation,
    Committed,
    ConversationCommand,
    ConversationEnded,
    ConversationInfo,
    ConversationSummary,
    Dequeue,
    Enqueue,
    GetConversation,
    Hold,
    InviteOperator,
    JoinChat,
    LeaveChat,
    MarkRead,
    MissedReply,
    MoveToDepartment,
    NotifySessions,
    OperatorLeft,
    Post,
    QueuePositionChanged,
    Rate,
    Released,
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
from engine.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from engine.persistence.schema import CONVERSATIONS, WAITING, ConversationDoc, Op
from engine.runtime import Actor, Reply, unhandled

log = logging.getLogger("parley.conversation")


class _CatchingUp:
    """A subscriber while its replay runs, standing in ``subs`` for its sink: it
    hashes and compares equal to the sink, so ``subs.pop(sink)`` finds it and an
    origin check ``sink != origin`` skips it. Messages reach it live but are
    dropped (the replay reads them from the store, in order); every other event
    (queue position, joined, closed, typing, read) is held with the seq it came
    after and released right after the replay delivers that seq."""

    __slots__ = ("sink", "role", "journal", "held", "skip", "reply")

    def __init__(
        self, sink: Sink, role: str, journal: Journal[MessageEvent], reply: Reply | None
    ) -> None:
        self.sink = sink
        self.role = role
        self.journal = journal
        self.held: deque[tuple[int, Event]] = deque()
        self.skip: set[int] = set()  # its own posts: it has their acks
        self.reply = reply

    def push(self, event: Event) -> None:
        if type(event) is not MessageEvent:
            self.held.append((self.journal.last_seq, event))

    def replayed(self, event: MessageEvent) -> None:
        sink = self.sink
        if self.skip and event.seq in self.skip:
            self.skip.discard(event.seq)
        elif self.role != "visitor" or event.author_kind != "note":
            sink.push(event)
        held = self.held
        while held and held[0][0] <= event.seq:
            sink.push(held.popleft()[1])

    def release(self) -> None:
        held = self.held
        while held:
            self.sink.push(held.popleft()[1])

    def __hash__(self) -> int:
        return hash(self.sink)

    def __eq__(self, other: object) -> bool:
        return other is self or other is self.sink


CHAT_STATUSES = ("active", "on_hold", "not_waiting")


class _StatusDone(NamedTuple):
    operator_id: str
    name: str
    status: str
    was: str
    ok: bool
    reply: Reply | None


class Conversation(Actor[ConversationCommand | _StatusDone, ChatServices]):
    def __init__(self, key: str, snapshot: bytes | None) -> None:
        self.id = key
        self.info: ConversationInfo | None = None
        self.status = "new"
        self.operators: dict[str, str] = {}
        self.position = 0
        self.eta = 0
        self.visitors = 0  # visitor connections subscribed
        self.closed_reason = ""
        self.invisible: dict[str, str] = {}  # joined without the visitor knowing
        self.answered = False  # an operator has written to the visitor
        self.missed = False  # closed before anyone answered
        self.chat_status = ""  # "" | on_hold | not_waiting
        self.updated_ms = 0
        self.closed_seq = 0  # the close notice's seq: a missed chat's replies follow it
        self.first_response_ms = 0
        self.created_ms = 0
        self.rating = 0  # 1-5 once the visitor rated the closed chat
        # How far each side has read (kept in memory: a receipt is a courtesy,
        # not a record).
        self.read_up_to = {"visitor": 0, "operator": 0}
        self.comment = ""
        # Messages and notices; with_state writes carry the record (_meta_op).
        self.journal = Journal(key, MESSAGES, Committed, state=self._meta_op)
        self._on_post = self._posted  # bound once: one per message otherwise
        self._on_notice = self._noticed
        self.subs: dict[Sink, str] = {}
        self._catching: dict[Sink, _CatchingUp] = {}  # sinks whose replay runs

    # -- recovery ------------------------------------------------------------------

    def started(self, ctx: Context) -> None:
        store = ctx.services.store
        self.journal.open(store)  # the last seq: one read, whatever the length
        doc = CONVERSATIONS.get(store, self.id)
        if doc is None:
            return
        stored = doc.get("info") or [
            self.id,
            doc["site"],
            doc["dept"],
            doc["visitor"],
            doc["visitor_name"],
        ]
        self.info = ConversationInfo(self.id, *stored[1:])
        self.status = doc["status"]
        self.operators = dict(doc["operators"])
        self.created_ms = doc["created_ms"]
        self.rating = doc.get("rating", 0)
        self.comment = doc.get("comment", "")
        self.closed_reason = doc.get("closed_reason", "")
        self.invisible = dict(doc.get("invisible", ()))
        self.answered = doc.get("answered", False)
        self.missed = doc.get("missed", False)
        self.chat_status = doc.get("chat_status", "")
        self.closed_seq = doc.get("closed_seq", 0)
        self.first_response_ms = doc.get("first_response_ms", 0)

    def _meta_op(self) -> Op:
        assert self.info is not None
        doc: ConversationDoc = {
            "site": self.info.site_id,
            "dept": self.info.department_id,
            "visitor": self.info.visitor_id,
            "visitor_name": self.info.visitor_name,
            "info": self.info.to_list(),
            "closed_reason": self.closed_reason,
            "invisible": [list(i) for i in self.invisible.items()],
            "answered": self.answered,
            "missed": self.missed,
            "chat_status": self.chat_status,
            "closed_seq": self.closed_seq,
            "first_response_ms": self.first_response_ms,
            "status": self.status,
            "operators": [list(o) for o in self.operators.items()],
            "created_ms": self.created_ms,
            "rating": self.rating,
            "comment": self.comment,
        }
        return CONVERSATIONS.put(self.id, doc)

    def can_passivate(self) -> bool:
        return not self.subs and self.journal.idle

    # -- messages ------------------------------------------------------------------

    def receive(self, message: ConversationCommand | _StatusDone, ctx: Context) -> object:
        match message:
            case Post():
                return self._post(message, ctx)
            case Committed(seq, error):
                self.journal.committed(error, ctx)
                return seq
            case ReplayPage():
                self.journal.resume(message, ctx)
                return None
            case Subscribe(sink, after_seq, role):
                self._subscribe(sink, after_seq, role, ctx)  # replies when caught up
                return None
            case Unsubscribe(sink):
                if self.subs.pop(sink, None) == "visitor":
                    self.visitors -= 1
                    if not self.visitors and self.status == "queued":
                        # The visitor left while waiting: gone for good unless
                        # it is back within the abandonment time.
                        ctx.start_timer("abandon", ctx.services.abandon_seconds, AbandonCheck())
                return None
            case AbandonCheck():
                if not self.visitors and self.status == "queued":
                    self._close("system", "", ctx, "abandoned")
                return None
            case MoveToDepartment(dept_id, reason):
                self._move(dept_id, reason, ctx)
                return None
            case OperatorLeft(op_id, requeue):
                self._operator_left(op_id, requeue, ctx)
                return None
            case Start(info):
                return self._start(info, ctx)
            case AssignTo(operator_id, operator_name):
                self._assign(operator_id, operator_name, ctx)
                return None
            case QueuePositionChanged(position, eta):
                self.position, self.eta = position, eta
                if self.status == "queued":
                    event = Queued(self.id, position, eta)
                    for sink, role in self.subs.items():
                        if role == "visitor":
                            sink.push(event)
                return None
            case CloseConversation(by_kind, by_id, reason):
                self._close(by_kind, by_id, ctx, reason)
                return None
            case SetTyping():
                self._typing(message, ctx)
                return None
            case MarkRead():
                return self._mark_read(message)
            case Rate(visitor_id, score, comment):
                return self._rate(visitor_id, score, comment, ctx)
            case GetConversation():
                return self._summary()
            case ReplayMissed(sink):
                self._replay_missed(sink, ctx)  # replies when the replay is done
                return None
            case JoinChat(op_id, name, invisible):
                self._join(op_id, name, invisible, ctx)
                return None
            case LeaveChat(op_id):
                self._leave(op_id, ctx)
                return None
            case InviteOperator() | TransferToOperator() | TakeOver():
                self._claim_for(message, ctx)
                return None
            case ClaimDone():
                self._claim_done(message, ctx)
                return None
            case _StatusDone():
                self._status_done(message, ctx)
                return None
            case TransferToDepartment(by_id, dept_id):
                self._transfer_to_department(by_id, dept_id, ctx)
                return None
            case SetChatStatus(op_id, status):
                self._set_chat_status(op_id, status, ctx)
                return None
        unhandled(message)

    def _require(self) -> ConversationInfo:
        if self.info is None:
            raise NotFound("unknown_conversation", f"no conversation {self.id!r}")
        return self.info

    def _start(self, info: ConversationInfo, ctx: Context) -> str:
        if self.info is not None:
            return self.id
        self.info = info
        self.status = "queued"
        self.created_ms = ctx.clock.wall_ms()
        # The record and the place in line are one commit: a crash keeps both
        # or neither.
        key, op = self._waiting_op(info, ctx)
        ctx.services.store.write([self._meta_op(), op], _log_failure)
        ctx.ref(QUEUE, info.department_id).tell(Enqueue(info, key))
        self._card(ctx)
        return self.id

    def _waiting_op(self, info: ConversationInfo, ctx: Context) -> tuple[bytes, Op]:
        key = WAITING.key(info.department_id, info.priority, ctx.clock.wall_ms(), self.id)
        return key, WAITING.put(key, info.to_list())

    def _post(self, post: Post, ctx: Context) -> int | None:
        info = self._require()
        if post.author_kind == "visitor":
            if self.status == "closed":
                raise FailedPrecondition("conversation_closed", "the conversation is closed")
            if post.author_id != info.visitor_id:
                raise PermissionDenied("not_participant", "not this conversation's visitor")
        else:
            if self.status == "closed" and not self.missed:
                raise FailedPrecondition("conversation_closed", "the conversation is closed")
            if post.author_id not in self.operators and post.author_id not in self.invisible:
                raise PermissionDenied("not_participant", "you are not in this conversation")
            if post.author_kind == "operator" and self.journal.seq_for(post.client_msg_id) is None:
                self._operator_writes(post.author_id, ctx)
        draft = MessageEvent(
            self.id,
            0,
            post.author_kind,
            post.author_id,
            post.author_name,
            post.text,
            post.client_msg_id,
            0,
        )
        # A resend of a stored id: its original seq, stored once.
        return self.journal.append(
            draft, ctx, answer=True, on_committed=self._on_post, tag=post.origin
        )

    def _system_entry(
        self,
        text: str,
        after: Callable[[], None] | None,
        ctx: Context,
        kind: str = "system",
        extra: list[Op] | None = None,
    ) -> None:
        """A notice in the transcript; ``kind`` "note" keeps it from the visitor.
        ``after`` runs once it is stored. The record is stored with it, and
        ``extra`` writes, in the same commit."""
        draft = MessageEvent(self.id, 0, kind, "", "", text, "", 0)
        self.journal.append(
            draft, ctx, on_committed=self._on_notice, tag=after, extra=extra or (), with_state=True
        )

    def _posted(self, event: MessageEvent, origin: Sink | None) -> None:
        """A post is stored: to the subscribers but the one it came from (which
        has its ack); notes to operators only."""
        if origin is not None and self._catching:
            catching = self._catching.get(origin)
            if catching is not None:
                catching.skip.add(event.seq)  # its replay must not echo it either
        if event.author_kind == "note":
            for sink, role in self.subs.items():
                if sink is not origin and role == "operator":
                    sink.push(event)
        else:
            for sink in self.subs:
                if sink is not origin:
                    sink.push(event)

    def _noticed(self, event: MessageEvent, after: Callable[[], None] | None) -> None:
        """A notice is stored: to the subscribers, then ``after``."""
        self._posted(event, None)
        if after is not None:
            after()

    def _to_visitors(self, event: Event) -> Callable[[], None]:
        """A callable that pushes ``event`` to the visitor connections then on."""

        def push() -> None:
            for sink, role in self.subs.items():
                if role == "visitor":
                    sink.push(event)

        return push

    def _operator_writes(self, op_id: str, ctx: Context) -> None:
        """An operator's first visible word: an invisible one shows itself, and
        a missed chat is answered (the visitor gets it when it is back)."""
        info = self._require()
        name = self.invisible.pop(op_id, None)
        if name is not None:
            self.operators[op_id] = name
            joined = OperatorJoined(self.id, name)

            self._system_entry(f"{name} joined the chat", self._to_visitors(joined), ctx)
            self._card(ctx)
        if not self.answered:
            self.answered = True
            self.first_response_ms = max(1, ctx.clock.wall_ms() - self.created_ms)
            self._card(ctx)
            if self.missed:
                ctx.ref(VISITOR, info.visitor_id).tell(MissedReply(self.id))

    def _subscribe(self, sink: Sink, after_seq: int, role: str, ctx: Context) -> None:
        """Replay from ``after_seq`` (a page per turn), then live. Reply: the
        last seq delivered when the replay reached the live end."""
        info = self._require()
        was = self.subs.pop(sink, None)  # a live sink subscribing again
        if was != role and role == "visitor":
            self.visitors += 1
            ctx.cancel_timer("abandon")  # back in time: not abandoned
        catching = _CatchingUp(sink, role, self.journal, ctx.defer())
        self.subs[catching] = role  # stands in for the sink until caught up
        self._catching[sink] = catching
        if role == "visitor":
            if self.status == "queued" and self.position:
                catching.push(Queued(info.conversation_id, self.position, self.eta))
            elif self.status == "closed":
                catching.push(Closed(self.id, "", self.closed_reason))

        def done() -> None:
            self._caught_up(catching)

        self.journal.replay(
            after_seq, catching.replayed, done, ctx, alive=lambda: self._still_catching(catching)
        )

    def _still_catching(self, catching: _CatchingUp) -> bool:
        """Whether a replay is still wanted (its sink did not leave or start over)."""
        sink = catching.sink
        if self._catching.get(sink) is catching and sink in self.subs:
            return True
        if self._catching.get(sink) is catching:
            del self._catching[sink]
        if catching.reply is not None:
            catching.reply(self.journal.last_seq, None)
        return False

    def _caught_up(self, catching: _CatchingUp) -> None:
        sink = catching.sink
        catching.release()
        del self._catching[sink]
        role = self.subs.pop(sink)  # the stand-in
        self.subs[sink] = role
        if catching.reply is not None:
            catching.reply(self.journal.last_seq, None)

    def _assign(self, operator_id: str, operator_name: str, ctx: Context) -> None:
        self._require()
        if self.status == "closed":
            ctx.ref(OPERATOR, operator_id).tell(Released(self.id))
            return
        self.invisible.pop(operator_id, None)
        self.operators[operator_id] = operator_name
        self.status = "active"
        self._card(ctx)
        joined = OperatorJoined(self.id, operator_name)

        self._system_entry(f"{operator_name} joined the chat", self._to_visitors(joined), ctx)

    def _close(self, by_kind: str, by_id: str, ctx: Context, reason: str = "") -> None:
        info = self._require()
        if by_kind == "operator" and by_id not in self.operators:
            raise PermissionDenied("not_participant", "you are not in this conversation")
        if self.status == "closed":
            if by_kind == "system":
                return  # a timer that lost the race: nothing to do
            raise FailedPrecondition("conversation_closed", "the conversation is closed already")
        was_queued = self.status == "queued"
        self.status = "closed"
        self.closed_reason = reason if by_kind == "system" else ""
        self.missed = not self.answered and reason in ("abandoned", "no_operator")
        self.chat_status = ""
        self._card(ctx)
        last_operator = next(reversed(self.operators), "")
        closed = Closed(self.id, by_id, self.closed_reason)
        if by_kind == "system":
            text = _SYSTEM_CLOSE.get(reason, "Chat closed")
        else:
            name = self.operators.get(by_id, "") if by_kind == "operator" else "the visitor"
            text = f"Chat closed by {name}"

        def finish() -> None:
            self.closed_seq = self.journal.last_seq
            for sink in self.subs:
                sink.push(closed)
            for op_id in (*self.operators, *self.invisible):
                ctx.ref(OPERATOR, op_id).tell(Released(self.id))
            ctx.ref(VISITOR, info.visitor_id).tell(ConversationEnded(self.id, last_operator))
            if was_queued:
                ctx.ref(QUEUE, info.department_id).tell(Dequeue(self.id))

        self._system_entry(text, finish, ctx)

    def _move(self, dept_id: str, reason: str, ctx: Context) -> None:
        """Wait on in another department (the fallback after the maximum wait)."""
        info = self._require()
        if self.status != "queued":
            return
        dept = ctx.services.directory.departments.get(dept_id)
        if dept is None:
            self._close("system", "", ctx, "no_operator")
            return
        why = "nobody was free in time" if reason == "max_wait" else reason
        moved = dataclasses.replace(info, department_id=dept_id, region_id="", priority=1)
        self._requeue(f"Moved to {dept.name}: {why}", ctx, moved)
        self._card(ctx)

    def _operator_left(self, op_id: str, requeue: bool, ctx: Context) -> None:
        self._require()
        name = self.operators.pop(op_id, None)
        if name is None or self.status == "closed":
            return
        if self.operators:
            self._system_entry(f"{name} went offline and left the chat", _nothing, ctx)
            self._card(ctx)
            return
        if not requeue:
            self._close("system", op_id, ctx, "operator_offline")
            return
        self._requeue(f"{name} went offline; finding another operator", ctx)
        self._card(ctx)

    def _mark_read(self, read: MarkRead) -> int:
        info = self._require()
        if read.reader_kind == "visitor":
            if read.reader_id != info.visitor_id:
                raise PermissionDenied("not_participant", "not this conversation's visitor")
        elif read.reader_id not in self.operators:
            raise PermissionDenied("not_participant", "you are not in this conversation")
        if read.seq > self.journal.last_seq:
            raise InvalidArgument("invalid_argument", f"seq {read.seq} is not stored yet")
        side = "visitor" if read.reader_kind == "visitor" else "operator"
        if read.seq <= self.read_up_to[side]:
            return self.read_up_to[side]  # old news: nothing to tell
        self.read_up_to[side] = read.seq
        event = ReadUpTo(self.id, read.reader_kind, read.reader_name, read.seq)
        for sink in self.subs:
            if sink != read.origin:  # != : a catching-up stand-in equals its sink
                sink.push(event)
        return read.seq

    def _typing(self, typing: SetTyping, ctx: Context) -> None:
        info = self._require()
        if self.status == "closed":
            raise FailedPrecondition("conversation_closed", "the conversation is closed")
        if typing.author_kind == "visitor":
            if typing.author_id != info.visitor_id:
                raise PermissionDenied("not_participant", "not this conversation's visitor")
        elif typing.author_id not in self.operators:
            raise PermissionDenied("not_participant", "you are not in this conversation")
        site = ctx.services.directory.sites.get(info.site_id)
        preview = typing.preview if typing.author_kind == "visitor" and typing.active else ""
        if site is None or not site.typing_preview:
            preview = ""
        plain = Typing(self.id, typing.author_kind, typing.author_name, typing.active, "")
        full = plain._replace(preview=preview) if preview else plain
        for sink, role in self.subs.items():
            if sink != typing.origin:  # != : a catching-up stand-in equals its sink
                # A visitor never sees a draft; operator sessions drop it unless
                # their role has typing_preview.
                sink.push(full if role == "operator" else plain)

    def _rate(self, visitor_id: str, score: int, comment: str, ctx: Context) -> int:
        info = self._require()
        if visitor_id != info.visitor_id:
            raise PermissionDenied("not_participant", "not this conversation's visitor")
        if self.status != "closed":
            raise FailedPrecondition("not_closed", "a chat is rated once it is closed")
        if self.rating:
            raise FailedPrecondition("already_rated", "this chat has been rated already")
        if not 1 <= score <= 5 or len(comment) > 1000:
            raise InvalidArgument("invalid_argument", "a rating is 1-5 with a comment of 1000")
        self.rating, self.comment = score, comment
        rated = Rated(self.id, score)

        def announce() -> None:
            # The chat is closed, so its operators' sessions have left it: tell
            # them through their operator actors. The visitor hears it in the reply.
            for op_id in self.operators:
                ctx.ref(OPERATOR, op_id).tell(NotifySessions(rated))

        text = f"The visitor rated the chat {score}/5" + (f": {comment}" if comment else "")
        self._system_entry(text, announce, ctx)
        return score

    # -- the operators' lists and actions -----------------------------------------

    def _card(self, ctx: Context) -> None:
        """Tell the account's board how this chat looks now."""
        info = self._require()
        site = ctx.services.directory.sites.get(info.site_id)
        if site is None:
            return
        self.updated_ms = ctx.clock.wall_ms()
        card = ChatCard(
            self.id,
            info.site_id,
            info.department_id,
            info.visitor_id,
            info.visitor_name,
            self.status,
            tuple(self.operators),
            tuple(self.invisible),
            self.missed and not self.answered,  # answered: dealt with, off the list
            self.chat_status,
            self.created_ms,
            self.updated_ms,
            self.first_response_ms,
        )
        ctx.ref(BOARD, site.account_id).tell(CardChanged(card))

    def _participant(self, op_id: str) -> str:
        name = self.operators.get(op_id) or self.invisible.get(op_id)
        if name is None:
            raise PermissionDenied("not_participant", "you are not in this conversation")
        return name

    def _open_for_action(self) -> ConversationInfo:
        info = self._require()
        if self.status == "closed":
            raise FailedPrecondition("conversation_closed", "the conversation is closed")
        return info

    def _join(self, op_id: str, name: str, invisible: bool, ctx: Context) -> None:
        info = self._require()
        if self.status == "closed" and not self.missed:
            raise FailedPrecondition("conversation_closed", "the conversation is closed")
        if op_id in self.operators or op_id in self.invisible:
            raise FailedPrecondition("already_in_chat", "you are in this chat already")
        if self.status == "queued":
            raise FailedPrecondition("waiting", "this chat waits for an operator: pick it instead")
        ctx.ref(OPERATOR, op_id).tell(Adopt(info))
        if invisible or self.status == "closed":
            # Nobody tells the visitor; the transcript notes it for operators.
            self.invisible[op_id] = name
            how = "invisibly" if invisible else "after the visitor left"
            self._system_entry(f"{name} joined {how}", None, ctx, kind="note")
        else:
            self.operators[op_id] = name
            joined = OperatorJoined(self.id, name)

            self._system_entry(f"{name} joined the chat", self._to_visitors(joined), ctx)
        self._card(ctx)

    def _leave(self, op_id: str, ctx: Context) -> None:
        self._open_for_action()
        name = self._participant(op_id)
        invisible = self.invisible.pop(op_id, None) is not None
        self.operators.pop(op_id, None)
        ctx.ref(OPERATOR, op_id).tell(Released(self.id))
        if invisible:
            self._system_entry(f"{name} left", None, ctx, kind="note")
        elif self.operators or self.status != "active":
            self._system_entry(f"{name} left the chat", None, ctx)
        else:
            self._requeue(f"{name} left the chat; finding another operator", ctx)
        self._card(ctx)

    def _requeue(self, text: str, ctx: Context, info: ConversationInfo | None = None) -> None:
        """Nobody is left to answer (or the chat moves on to another department):
        back in a queue, first in line. The notice, the record and the place in
        line are one commit."""
        waiting = info or dataclasses.replace(self._require(), preferred_operator_id="", priority=1)
        self.status = "queued"
        self.chat_status = ""
        self.info = waiting
        key, op = self._waiting_op(waiting, ctx)

        def enqueue() -> None:
            ctx.ref(QUEUE, waiting.department_id).tell(Enqueue(waiting, key))

        self._system_entry(text, enqueue, ctx, extra=[op])

    def _claim_for(
        self, action: InviteOperator | TransferToOperator | TakeOver, ctx: Context
    ) -> None:
        """Invite, transfer or take-over: the colleague's operator actor must
        accept the chat (online, below its limit) before anything changes."""
        info = self._open_for_action()
        target = action.operator_id
        if isinstance(action, TakeOver):
            if action.from_id not in self.operators:
                raise FailedPrecondition(
                    "owner_changed", "the chat is no longer with that operator: look again"
                )
            if target in self.operators:
                raise FailedPrecondition("already_in_chat", "you are in this chat already")
        else:
            by = self._participant(action.by_id)
            if target == action.by_id:
                raise InvalidArgument("invalid_argument", "that is you")
            if isinstance(action, TransferToOperator) and target in self.operators:
                # The colleague is in the chat already: handing over is leaving.
                self._drop(action.by_id, ctx)
                self._system_entry(
                    f"{by} transferred the chat to {self.operators[target]}", None, ctx
                )
                self._card(ctx)
                return
            if target in self.operators or target in self.invisible:
                raise FailedPrecondition("already_in_chat", "that operator is in this chat")
        reply = ctx.defer()
        me = ctx.self_ref

        def answered(value: Any, error: BaseException | None) -> None:
            accepted = error is None and value is not None and value[0] == "accepted"
            me.tell_system(ClaimDone(action, target, accepted, reply))

        ctx.ref(OPERATOR, target).tell(Claim(info, True), answered)

    def _claim_done(self, done: ClaimDone, ctx: Context) -> None:
        action, target, reply = done.action, done.operator_id, done.reply
        directory = ctx.services.directory
        op = directory.operators.get(target)
        target_name = op.display_name if op is not None else "An operator"
        refusal: BaseException | None = None
        if not done.accepted:
            refusal = FailedPrecondition(
                "operator_unavailable", f"{target_name} is not online or has no free slot"
            )
        elif self.status == "closed":
            refusal = FailedPrecondition("conversation_closed", "the conversation is closed")
        elif isinstance(action, TakeOver) and action.from_id not in self.operators:
            refusal = FailedPrecondition(
                "owner_changed", "the chat is no longer with that operator: look again"
            )
        if refusal is not None:
            if done.accepted:
                ctx.ref(OPERATOR, target).tell(Released(self.id))
            if reply is not None:
                reply(None, refusal)
            return
        self.invisible.pop(target, None)
        self.operators[target] = target_name
        joined = OperatorJoined(self.id, target_name)
        if isinstance(action, InviteOperator):
            by = self.operators.get(action.by_id) or self.invisible.get(action.by_id, "")
            text = f"{by} invited {target_name}"
        elif isinstance(action, TransferToOperator):
            by = self._drop(action.by_id, ctx)
            text = f"{by} transferred the chat to {target_name}"
        else:
            by = self._drop(action.from_id, ctx)
            text = f"{target_name} took over the chat from {by}"

        self._system_entry(text, self._to_visitors(joined), ctx)
        self._card(ctx)
        if reply is not None:
            reply(None, None)

    def _drop(self, op_id: str, ctx: Context) -> str:
        name = self.operators.pop(op_id, None) or self.invisible.pop(op_id, "")
        ctx.ref(OPERATOR, op_id).tell(Released(self.id))
        return name

    def _transfer_to_department(self, by_id: str, dept_id: str, ctx: Context) -> None:
        info = self._open_for_action()
        by = self._participant(by_id)
        dept = ctx.services.directory.departments.get(dept_id)
        if dept is None or dept.site_id != info.site_id:
            raise NotFound("unknown_department", f"no department {dept_id[:40]!r} on this site")
        for op_id in (*self.operators, *self.invisible):
            ctx.ref(OPERATOR, op_id).tell(Released(self.id))
        self.operators.clear()
        self.invisible.clear()
        self.info = dataclasses.replace(info, department_id=dept_id, region_id="")
        self._requeue(f"{by} transferred the chat to {dept.name}", ctx)
        self._card(ctx)

    def _set_chat_status(self, op_id: str, status: str, ctx: Context) -> None:
        self._open_for_action()
        name = self._participant(op_id)
        if status not in CHAT_STATUSES:
            raise InvalidArgument(
                "invalid_argument", "chat status is active, on_hold or not_waiting"
            )
        if status == self.chat_status or (status == "active" and not self.chat_status):
            return
        reply = ctx.defer()
        me = ctx.self_ref
        was = self.chat_status

        def held(value: Any, error: BaseException | None) -> None:
            me.tell_system(
                _StatusDone(op_id, name, status, was, bool(value) and error is None, reply)
            )

        if status == "on_hold" or was == "on_hold":
            ctx.ref(OPERATOR, op_id).tell(Hold(self.id, status == "on_hold"), held)
        else:
            held(True, None)

    def _status_done(self, done: _StatusDone, ctx: Context) -> None:
        if not done.ok:
            if done.reply is not None:
                done.reply(None, FailedPrecondition("at_capacity", "you are at your chat limit"))
            return
        self.chat_status = "" if done.status == "active" else done.status
        text = {
            "on_hold": f"{done.name} put the chat on hold",
            "not_waiting": f"{done.name} marked the visitor as not waiting",
            "active": f"{done.name} took the chat back",
        }[done.status]
        self._system_entry(
            text, None, ctx, kind="system" if done.status != "not_waiting" else "note"
        )
        self._card(ctx)
        if done.reply is not None:
            done.reply(None, None)

    def _replay_missed(self, sink: Sink, ctx: Context) -> None:
        """What operators wrote to a missed chat after it closed, for its returning
        visitor (notes stay with the operators), a page per turn. Reply: how many
        messages."""
        self._require()
        reply = ctx.defer()
        if not self.missed or self.journal.last_seq <= self.closed_seq:
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

        self.journal.replay(self.closed_seq, deliver, done, ctx)

    def _summary(self) -> ConversationSummary:
        info = self._require()
        return ConversationSummary(
            id=self.id,
            site_id=info.site_id,
            department_id=info.department_id,
            visitor_id=info.visitor_id,
            visitor_name=info.visitor_name,
            status=self.status,
            operators=dict(self.operators),
            last_seq=self.journal.last_seq,
            rating=self.rating,
            visitor_connected=self.visitors > 0,
            invisible=dict(self.invisible),
            missed=self.missed,
            chat_status=self.chat_status,
        )


_SYSTEM_CLOSE = {
    "abandoned": "The visitor left before anyone answered",
    "no_operator": "Nobody could answer in time",
    "operator_offline": "Chat closed: the operator went offline",
}


def _nothing() -> None:
    return None


def _log_failure(error: BaseException | None) -> None:
    if error is not None:
        log.error("conversation record not stored: %r", error)
