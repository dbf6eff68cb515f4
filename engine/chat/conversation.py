"""The Conversation actor: participants, status and the message journal.

Messages get their seq only when they are written, so seqs stay contiguous even
when a write fails. At most one write per conversation is in flight; posts that
arrive meanwhile wait in ``_buffer`` and go out together in the next write (the
store gathers many conversations' writes into one commit). After the commit the
conversation acknowledges each post with its seq and delivers the events to its
subscribers, in seq order. A failed write acknowledges nothing: its posts get the
store's refusal and their client ids are forgotten, so a resend is new.

Subscribers are sinks: visitor connections and operator sessions. A subscribe
replays the journal from the sink's last seen seq up to the last delivered seq,
inside one turn, so the sink sees every seq once and in order.

The conversation's record in ``conversations`` is its snapshot: it is rewritten
in the same commit as the event that changes it (start, join, close).
"""

from __future__ import annotations

import dataclasses
import logging
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
from engine.persistence.codec import (
    decode,
    encode,
    journal_key,
    journal_prefix,
    seq_of,
    waiting_key,
)
from engine.runtime import Actor, Reply, unhandled

log = logging.getLogger("parley.conversation")


def event_from_record(conversation_id: str, doc: dict[str, Any]) -> MessageEvent:
    return MessageEvent(
        conversation_id, doc["s"], doc["k"], doc["a"], doc["n"], doc["t"], doc["c"], doc["ts"]
    )


def record_of(event: MessageEvent) -> bytes:
    return encode(
        {
            "s": event.seq,
            "k": event.author_kind,
            "a": event.author_id,
            "n": event.author_name,
            "t": event.text,
            "c": event.client_msg_id,
            "ts": event.sent_at_ms,
        }
    )


class _Entry:
    """A post or system notice waiting for its write."""

    __slots__ = (
        "kind",
        "author_id",
        "name",
        "cid",
        "text",
        "replies",
        "after",
        "event",
        "origin",
        "extra",
    )

    def __init__(
        self,
        kind: str,
        author_id: str,
        name: str,
        cid: str,
        text: str,
        replies: list[Reply],
        after: Callable[[], None] | None = None,
        origin: Sink | None = None,
    ) -> None:
        self.kind = kind
        self.author_id = author_id
        self.name = name
        self.cid = cid
        self.text = text
        self.replies = replies
        self.after = after
        self.origin = origin
        self.event: MessageEvent | None = None
        self.extra: list[tuple[str, bytes, bytes | None]] = []  # written in the same commit


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
        self.delivered = 0
        self.cids: dict[str, int] = {}
        self._cid_pending: dict[str, _Entry] = {}
        self._buffer: list[_Entry] = []
        self._inflight: list[_Entry] | None = None
        self.subs: dict[Sink, str] = {}

    # -- recovery ------------------------------------------------------------------

    def started(self, ctx: Context) -> None:
        store = ctx.services.store
        raw = store.get("conversations", self.id.encode())
        if raw is None:
            return
        doc = decode(raw)
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
        # The journal is the truth: it gives the last seq and the client ids
        # already stored (one put per message, no separate id index).
        cids = self.cids
        for key, value in store.scan("journal", journal_prefix(self.id)):
            self.delivered = seq_of(key)
            cid = decode(value)["c"]
            if cid:
                cids[cid] = self.delivered

    def _meta_op(self) -> tuple[str, bytes, bytes]:
        assert self.info is not None
        doc = {
            "site": self.info.site_id,
            "dept": self.info.department_id,
            "visitor": self.info.visitor_id,
            "visitor_name": self.info.visitor_name,
            "info": self.info.to_list(),
            "closed_reason": self.closed_reason,
            "invisible": list(self.invisible.items()),
            "answered": self.answered,
            "missed": self.missed,
            "chat_status": self.chat_status,
            "closed_seq": self.closed_seq,
            "first_response_ms": self.first_response_ms,
            "status": self.status,
            "operators": list(self.operators.items()),
            "created_ms": self.created_ms,
            "rating": self.rating,
            "comment": self.comment,
        }
        return ("conversations", self.id.encode(), encode(doc))

    def can_passivate(self) -> bool:
        return not self.subs and self._inflight is None and not self._buffer

    # -- messages ------------------------------------------------------------------

    def receive(self, message: ConversationCommand | _StatusDone, ctx: Context) -> object:
        match message:
            case Post():
                return self._post(message, ctx)
            case Committed(seq, error):
                self._committed(error, ctx)
                return seq
            case Subscribe(sink, after_seq, role):
                return self._subscribe(sink, after_seq, role, ctx)
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
                return self._replay_missed(sink, ctx)
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

    def _waiting_op(
        self, info: ConversationInfo, ctx: Context
    ) -> tuple[bytes, tuple[str, bytes, bytes | None]]:
        key = waiting_key(info.department_id, info.priority, ctx.clock.wall_ms(), self.id)
        return key, ("waiting", key, encode(info.to_list()))

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
            if post.author_kind == "operator" and post.client_msg_id not in self.cids:
                self._operator_writes(post.author_id, ctx)
        cid = post.client_msg_id
        seq = self.cids.get(cid)
        if seq is not None:
            return seq  # a resend: the original seq, stored once
        reply = ctx.defer()
        pending = self._cid_pending.get(cid)
        if pending is not None:
            if reply is not None:
                pending.replies.append(reply)
            return None
        entry = _Entry(
            post.author_kind,
            post.author_id,
            post.author_name,
            cid,
            post.text,
            [reply] if reply is not None else [],
            None,
            post.origin,
        )
        self._cid_pending[cid] = entry
        self._buffer.append(entry)
        if self._inflight is None:
            self._flush(ctx)
        return None

    def _system_entry(
        self,
        text: str,
        after: Callable[[], None] | None,
        ctx: Context,
        kind: str = "system",
        extra: list[tuple[str, bytes, bytes | None]] | None = None,
    ) -> None:
        """A notice in the transcript; ``kind`` "note" keeps it from the visitor.
        ``after`` runs once it is stored (and makes the record be stored with it);
        ``extra`` writes go into the same commit."""
        entry = _Entry(kind, "", "", "", text, [], after or _nothing)
        entry.extra = extra or []
        self._buffer.append(entry)
        if self._inflight is None:
            self._flush(ctx)

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

    def _flush(self, ctx: Context) -> None:
        entries, self._buffer = self._buffer, []
        now = ctx.clock.wall_ms()
        seq = self.delivered
        cid_id = self.id
        ops: list[tuple[str, bytes, bytes | None]] = []
        for entry in entries:
            seq += 1
            event = MessageEvent(
                cid_id, seq, entry.kind, entry.author_id, entry.name, entry.text, entry.cid, now
            )
            entry.event = event
            ops.append(("journal", journal_key(cid_id, seq), record_of(event)))
            if entry.after is not None:
                ops.append(self._meta_op())
            ops.extend(entry.extra)
        self._inflight = entries
        ref = ctx.self_ref
        ctx.services.store.write(ops, lambda error: ref.tell_system(Committed(seq, error)))

    def _committed(self, error: BaseException | None, ctx: Context) -> None:
        entries = self._inflight or []
        self._inflight = None
        if error is not None:
            log.warning("conversation %s: write failed: %r", self.id, error)
            for entry in entries:
                self._cid_pending.pop(entry.cid, None)
                for reply in entry.replies:
                    reply(None, error)
        else:
            subs = self.subs
            for entry in entries:
                event = entry.event
                assert event is not None
                self.delivered = event.seq
                if entry.cid:
                    self.cids[entry.cid] = event.seq
                    self._cid_pending.pop(entry.cid, None)
                for reply in entry.replies:
                    reply(event.seq, None)
                origin = entry.origin  # has the text already; its ack says stored
                if entry.kind == "note":  # for operators only
                    for sink, role in subs.items():
                        if sink is not origin and role == "operator":
                            sink.push(event)
                else:
                    for sink in subs:
                        if sink is not origin:
                            sink.push(event)
                if entry.after is not None:
                    entry.after()
        if self._buffer:
            self._flush(ctx)

    def _subscribe(self, sink: Sink, after_seq: int, role: str, ctx: Context) -> int:
        info = self._require()
        if after_seq < self.delivered:
            start = journal_key(self.id, after_seq + 1)
            limit = self.delivered - after_seq
            visitor = role == "visitor"
            for _key, value in ctx.services.store.scan(
                "journal", journal_prefix(self.id), start=start, limit=limit
            ):
                doc = decode(value)
                if not (visitor and doc["k"] == "note"):
                    sink.push(event_from_record(self.id, doc))
        if self.subs.get(sink) != role:
            if role == "visitor":
                self.visitors += 1
                ctx.cancel_timer("abandon")  # back in time: not abandoned
            self.subs[sink] = role
        if role == "visitor":
            if self.status == "queued" and self.position:
                sink.push(Queued(info.conversation_id, self.position, self.eta))
            elif self.status == "closed":
                sink.push(Closed(self.id, "", self.closed_reason))
        return self.delivered

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
            self.closed_seq = self.delivered
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
        if read.seq > self.delivered:
            raise InvalidArgument("invalid_argument", f"seq {read.seq} is not stored yet")
        side = "visitor" if read.reader_kind == "visitor" else "operator"
        if read.seq <= self.read_up_to[side]:
            return self.read_up_to[side]  # old news: nothing to tell
        self.read_up_to[side] = read.seq
        event = ReadUpTo(self.id, read.reader_kind, read.reader_name, read.seq)
        for sink in self.subs:
            if sink is not read.origin:
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
            if sink is not typing.origin:
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

    def _replay_missed(self, sink: Sink, ctx: Context) -> int:
        """What operators wrote to a missed chat after it closed, for its returning
        visitor (notes stay with the operators). Reply: how many messages."""
        self._require()
        if not self.missed or self.delivered <= self.closed_seq:
            return 0
        count = 0
        start = journal_key(self.id, self.closed_seq + 1)
        for _key, value in ctx.services.store.scan("journal", journal_prefix(self.id), start=start):
            doc = decode(value)
            if doc["k"] != "note":
                sink.push(event_from_record(self.id, doc))
                count += 1
        return count

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
            last_seq=self.delivered,
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
