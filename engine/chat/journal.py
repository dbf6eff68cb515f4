"""One journal for the sequenced, group-committed streams of the chat: a
conversation's messages (Conversation actor) and a pair of operators' direct
messages (InternalChat actor). The databases are ``engine/persistence/schema.py``'s
``StreamTable``; a record kind below is the codec of one stream's records.

Writing. ``append`` takes a draft record (seq and time still 0). At most one
write per stream is in flight; drafts that arrive meanwhile wait in a buffer and
go out together in the next write (the store gathers many streams' writes into
one commit). Seqs are given at the write, so they stay contiguous when a write
fails: a failed write acknowledges nothing, its client ids are forgotten (a
resend is new) and the next write numbers from the last committed seq again.
After the commit each entry's replies get its seq and its ``on_committed`` runs,
in seq order. A write may carry other writes into the same commit: the owner's
state (``state``: its record, built at the write) and ``extra`` operations
(a place in a waiting line).

Client ids. A resend of a client id among the stream's last ``RECENT_CIDS``
stored ids answers the original seq and stores nothing; resends of an id whose
write is pending share that write. That window is the de-duplication promise: a
client resends only what it has not had acknowledged (a few messages), far
fewer than the window. The window is kept in memory (an LRU) and rebuilt on
activation from the stream's last ``RECENT_CIDS`` records, so neither memory
nor activation grows with the stream, and no index is written beside each
record (a second write per message that measurably slowed every commit).

Backlog. The actor drains its mailbox into the buffer as fast as messages
come, so the mailbox's bound never holds back a store that falls behind: the
buffer would take all memory. ``crowded`` says when a client's new draft would
wait past a bound: behind ``WAITING_POSTS`` of its stream, or behind
``BACKLOG`` unstored drafts of every stream of the engine together (a
:class:`Backlog`, shared by the engine's journals: with many chats the first
bound alone lets the whole backlog grow to chats x ``WAITING_POSTS``). Its
owner refuses it ``overloaded`` (retryable) before anything of it is done,
stored or acknowledged. Notices are never refused, but they are counted. The
sessions read the same count and refuse a client's message while it is full,
before any actor runs (``engine/chat/sessions/``): the cheap place, so the
excess costs little of the capacity; the check here catches what arrived
together.

Activation reads the last key and the records of the window, whatever the
stream's length.

Replay. ``replay`` reads from a seq up to the live end a page at a time
(``REPLAY_PAGE`` records); each next page is a message to self sent after the
loop has served other work (``ctx.tell_self_soon``), so a long replay never holds
the loop for long. It reads only what is committed *and* delivered (up to
``last_seq``), and catches up with a moving end: the caller joins the live feed
in the turn the replay reaches it, so a reader sees every seq once and in order.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

import orjson

from engine.chat.events import DirectMessage, FileRef, MessageEvent
from engine.chat.services import Context
from engine.persistence.codec import journal_prefix
from engine.persistence.schema import (
    CONVERSATION_JOURNAL,
    DIRECT_JOURNAL,
    Op,
    Reader,
    StreamTable,
)
from engine.runtime import Reply

log = logging.getLogger("parley.journal")

RECENT_CIDS = 128  # the de-duplication window: client ids kept per stream (an LRU)
REPLAY_PAGE = 200  # records per replay turn
REPLAY_WAIT = 0.02  # seconds between looks at a reader with no room that cannot say when it has
WAITING_POSTS = 1_000  # clients' drafts a stream holds behind its write in flight
BACKLOG = 20_000  # drafts accepted and not yet stored, all streams of an engine together

WhenRoom = Callable[[Callable[[], None]], bool]
"""A reader's offer to wake a waiting replay: called with ``wake``, it returns
whether it will call it, once, when it has room again (or is gone, so that a
replay nobody reads ends); False leaves the replay to look again by itself."""


class Backlog:
    """The drafts accepted and not yet stored (buffered or being written), over
    every journal of one engine, and the bound past which a client's new draft
    is refused (``limit``; 0: none). Each stream's share is kept too, so a
    journal made again (its actor restarted after a failure, once the failed
    one's write has landed) drops what its predecessor left counted."""

    __slots__ = ("limit", "waiting", "_streams")

    def __init__(self, limit: int = BACKLOG) -> None:
        if limit < 0:
            raise ValueError("the backlog's limit must be >= 0 (0: none)")
        self.limit = limit
        self.waiting = 0
        self._streams: dict[str, int] = {}

    @property
    def full(self) -> bool:
        return 0 < self.limit <= self.waiting

    def add(self, stream: str) -> None:
        self.waiting += 1
        streams = self._streams
        streams[stream] = streams.get(stream, 0) + 1

    def remove(self, stream: str, n: int) -> None:
        streams = self._streams
        left = streams.get(stream, 0) - n
        if left > 0:
            streams[stream] = left
        else:
            streams.pop(stream, None)
        self.waiting -= n

    def forget(self, stream: str) -> None:
        """A stream's journal starts afresh: nothing of it waits any more."""
        self.waiting -= self._streams.pop(stream, 0)

    def of(self, stream: str) -> int:
        return self._streams.get(stream, 0)


def _compact(data: bytes) -> bytes:
    """A copy of ``data`` its own size. orjson's output keeps the 4 KiB block it
    was written into, however short the document: a record waits in its write
    until the commit (with thousands waiting at overload, 4 KiB each was most
    of the backlog's memory), so it is copied into a block of its size."""
    return bytes(memoryview(data))


class Record(Protocol):
    @property
    def seq(self) -> int: ...

    @property
    def client_msg_id(self) -> str: ...


R = TypeVar("R", bound=Record)


class RecordKind(ABC, Generic[R]):
    """How one kind of stream record is stored: its table and its codec."""

    table: StreamTable

    @abstractmethod
    def encode(self, record: R) -> bytes: ...

    @abstractmethod
    def decode(self, stream: str, data: bytes) -> R: ...

    @abstractmethod
    def stamp(self, draft: R, seq: int, now_ms: int) -> R:
        """The draft as written: its seq and time."""

    def read(self, store: Reader, stream: str, after_seq: int, limit: int) -> list[R]:
        """Up to ``limit`` stored records after ``after_seq``, in seq order."""
        decode = self.decode
        return [decode(stream, v) for v in self.table.read(store, stream, after_seq, limit)]


class MessageRecords(RecordKind[MessageEvent]):
    """A conversation's messages and notices (``journal``):
    ``{"s", "k": author kind, "a": author id, "n": author name, "t", "c", "ts"}``,
    and ``"f": [digest, name, content type, size, width, height]`` for an
    attachment's message, ``"o"``: a notice's code and arguments, when it has them."""

    table = CONVERSATION_JOURNAL

    def encode(self, record: MessageEvent) -> bytes:
        doc = {
            "s": record.seq,
            "k": record.author_kind,
            "a": record.author_id,
            "n": record.author_name,
            "t": record.text,
            "c": record.client_msg_id,
            "ts": record.sent_at_ms,
        }
        if record.attachment is not None:
            doc["f"] = list(record.attachment)
        if record.notice:
            doc["o"] = record.notice
        return _compact(orjson.dumps(doc))

    def decode(self, stream: str, data: bytes) -> MessageEvent:
        d = orjson.loads(data)
        f = d.get("f")
        return MessageEvent(
            stream, d["s"], d["k"], d["a"], d["n"], d["t"], d["c"], d["ts"],
            FileRef(*f) if f is not None else None, tuple(d.get("o", ())),
        )  # fmt: skip

    def stamp(self, draft: MessageEvent, seq: int, now_ms: int) -> MessageEvent:
        return MessageEvent(
            draft.conversation_id,
            seq,
            draft.author_kind,
            draft.author_id,
            draft.author_name,
            draft.text,
            draft.client_msg_id,
            now_ms,
            draft.attachment,
            draft.notice,
        )


class DirectRecords(RecordKind[DirectMessage]):
    """Messages between two operators (``internal``):
    ``{"s", "f": from id, "n": from name, "to": to id, "t", "c", "ts"}``."""

    table = DIRECT_JOURNAL

    def encode(self, record: DirectMessage) -> bytes:
        return _compact(
            orjson.dumps(
                {
                    "s": record.seq,
                    "f": record.from_id,
                    "n": record.from_name,
                    "to": record.to_id,
                    "t": record.text,
                    "c": record.client_msg_id,
                    "ts": record.sent_at_ms,
                }
            )
        )

    def decode(self, stream: str, data: bytes) -> DirectMessage:
        d = orjson.loads(data)
        return DirectMessage(stream, d["s"], d["f"], d["n"], d["to"], d["t"], d["c"], d["ts"])

    def stamp(self, draft: DirectMessage, seq: int, now_ms: int) -> DirectMessage:
        return DirectMessage(
            draft.pair_id,
            seq,
            draft.from_id,
            draft.from_name,
            draft.to_id,
            draft.text,
            draft.client_msg_id,
            now_ms,
        )


MESSAGES = MessageRecords()
DIRECT = DirectRecords()


OnCommitted = Callable[[R, Any], None]  # (the record as written, the append's tag)


class _Entry(Generic[R]):
    """A draft waiting for its write (then the record as written)."""

    __slots__ = (
        "draft",
        "record",
        "replies",
        "on_committed",
        "tag",
        "extra",
        "state",
    )

    def __init__(
        self,
        draft: R,
        replies: list[Reply],
        on_committed: OnCommitted[R] | None,
        tag: Any,
        extra: Sequence[Op],
        state: StateOp[R] | None,
    ) -> None:
        self.draft = draft
        self.record = draft
        self.replies = replies
        self.on_committed = on_committed
        self.tag = tag
        self.extra = extra
        self.state = state


CommitMessage = Callable[[int, BaseException | None], object]
StateOp = Callable[[R, int], Op]
"""The owner's state written with an entry (its draft, its seq): its record."""


class Journal(Generic[R]):
    """One stream's writer and reader, inside its actor. The actor forwards the
    commit notice (``commit_message(seq, error)``, sent to itself) to
    :meth:`committed` and :class:`ReplayPage` to :meth:`resume`."""

    def __init__(
        self,
        stream: str,
        kind: RecordKind[R],
        commit_message: CommitMessage,
        recent: int = RECENT_CIDS,
    ) -> None:
        self.stream = stream
        self.prefix = journal_prefix(stream)
        self.kind = kind
        self.last_seq = 0  # the last committed and delivered seq
        self._commit_message = commit_message
        self._store: Reader | None = None
        self._recent: OrderedDict[str, int] = OrderedDict()
        self._recent_max = recent
        self._pending: dict[str, _Entry[R]] = {}
        self._buffer: list[_Entry[R]] = []
        self._inflight: list[_Entry[R]] | None = None
        self._replays = 0  # replays still running
        self._backlog = Backlog(0)  # the engine's, from ``open``

    def open(self, store: Reader, backlog: Backlog | None = None) -> None:
        """Recover on activation: the last seq, from the last key, and the window
        of recent client ids, from the records at the end. ``backlog``: the
        engine's count of unstored drafts (none: this journal's own, unbounded)."""
        self._store = store
        if backlog is not None:
            backlog.forget(self.stream)  # a failed predecessor's drafts are gone
            self._backlog = backlog
        last = self.last_seq = self.kind.table.last_seq(store, self.stream)
        size = self._recent_max
        if last:
            for record in self.kind.read(store, self.stream, max(0, last - size), size):
                if record.client_msg_id:
                    self._remember(record.client_msg_id, record.seq)

    @property
    def store(self) -> Reader:
        assert self._store is not None, "open the journal first"
        return self._store

    @property
    def idle(self) -> bool:
        """Nothing buffered, being written or being replayed."""
        return self._inflight is None and not self._buffer and not self._replays

    def crowded(self, cid: str, limit: int) -> bool:
        """Whether a new draft with client id ``cid`` would wait behind ``limit``
        others of this stream, or the engine's backlog is full; a resend of a
        pending or recent id never is (it writes nothing)."""
        if len(self._buffer) < limit and not self._backlog.full:
            return False
        return cid not in self._pending and cid not in self._recent

    # -- client ids ---------------------------------------------------------------

    def seq_for(self, cid: str) -> int | None:
        """The committed seq of a client id, or None (new, or its write pending)."""
        if not cid:
            return None
        recent = self._recent
        seq = recent.get(cid)
        if seq is not None:
            recent.move_to_end(cid)
        return seq

    def _remember(self, cid: str, seq: int) -> None:
        recent = self._recent
        recent[cid] = seq
        if len(recent) > self._recent_max:
            recent.popitem(last=False)

    # -- writing ------------------------------------------------------------------

    def append(
        self,
        draft: R,
        ctx: Context,
        *,
        answer: bool = False,
        on_committed: OnCommitted[R] | None = None,
        tag: Any = None,
        extra: Sequence[Op] = (),
        state: StateOp[R] | None = None,
    ) -> int | None:
        """Write ``draft`` in the stream's next write. A client id among the recent
        ones answers its seq at once and writes nothing. ``answer``: the current
        message is answered with the seq after the commit (or the write's error);
        a resend of a pending id joins that write. ``on_committed(record, tag)``
        runs after the commit. ``state(draft, seq)``: a write of the owner's
        state as of this entry, in the same commit (a chat's record with its
        notice). Both are held only until the commit: a journal keeps nothing
        that points back at its owner, so an owner leaving memory is freed at
        once, not by a full collection of reference cycles."""
        cid = draft.client_msg_id
        if cid:
            pending = self._pending.get(cid)
            if pending is not None:
                if answer:
                    reply = ctx.defer()
                    if reply is not None:
                        pending.replies.append(reply)
                return None
            seq = self._recent.get(cid)
            if seq is not None:
                self._recent.move_to_end(cid)
                return seq
        replies: list[Reply] = []
        if answer:
            reply = ctx.defer()
            if reply is not None:
                replies.append(reply)
        entry = _Entry(draft, replies, on_committed, tag, extra, state)
        if cid:
            self._pending[cid] = entry
        self._buffer.append(entry)
        self._backlog.add(self.stream)
        if self._inflight is None:
            self._flush(ctx)
        return None

    def _flush(self, ctx: Context) -> None:
        entries, self._buffer = self._buffer, []
        now = ctx.clock.wall_ms()
        seq = self.last_seq
        kind, table, prefix = self.kind, self.kind.table, self.prefix
        ops: list[Op] = []
        for entry in entries:
            seq += 1
            record = entry.record = kind.stamp(entry.draft, seq, now)
            table.append(ops, prefix, seq, kind.encode(record))
            if entry.state is not None:
                ops.append(entry.state(entry.draft, seq))  # the state as of this entry
            ops.extend(entry.extra)
        self._inflight = entries
        ref, message = ctx.self_ref, self._commit_message
        ctx.services.store.write(ops, lambda error: ref.tell_system(message(seq, error)))

    def committed(self, error: BaseException | None, ctx: Context) -> None:
        """The write in flight is committed (or failed): answer and deliver in
        seq order, then write what was buffered meanwhile. A notice with no
        write in flight is the failed predecessor's (an actor restarted after a
        failure; the runtime starts it only once that write has landed, and
        ``open`` read what it left): nothing of this journal's."""
        entries = self._inflight
        if entries is None:
            return
        self._backlog.remove(self.stream, len(entries))
        if error is not None:
            log.warning("stream %s: write failed: %r", self.stream, error)
            for entry in entries:
                self._pending.pop(entry.record.client_msg_id, None)
                for reply in entry.replies:
                    reply(None, error)
        else:
            recent, pending, most = self._recent, self._pending, self._recent_max
            for entry in entries:
                record = entry.record
                seq = self.last_seq = record.seq
                cid = record.client_msg_id
                if cid:
                    recent[cid] = seq
                    if len(recent) > most:
                        recent.popitem(last=False)
                    pending.pop(cid, None)
                for reply in entry.replies:
                    reply(seq, None)
                if entry.on_committed is not None:
                    # What it appends waits for the next write.
                    entry.on_committed(record, entry.tag)
        self._inflight = None
        if self._buffer:
            self._flush(ctx)

    # -- reading ------------------------------------------------------------------

    def read(self, after_seq: int, limit: int) -> list[R]:
        """Delivered records after ``after_seq``, at most ``limit``."""
        limit = min(limit, self.last_seq - after_seq)
        return self.kind.read(self.store, self.stream, after_seq, limit)

    def replay(
        self,
        after_seq: int,
        deliver: Callable[[R], None],
        done: Callable[[], None],
        ctx: Context,
        alive: Callable[[], bool] | None = None,
        page: int | None = None,
        room: Callable[[], bool] | None = None,
        when_room: WhenRoom | None = None,
    ) -> Replay[R]:
        """Deliver every record after ``after_seq`` up to the live end, a page
        now and a page per later turn; ``done`` runs in the turn that reaches
        the end. ``alive`` (checked before each later page) stops a replay
        nobody wants any more; ``room`` (checked next, and after each record
        delivered) says whether the reader has room for more: a replay goes at
        its reader's pace, a page of big records cut short where it is full.
        While the reader has no room the replay waits for ``when_room`` to
        wake it (see :data:`WhenRoom`), or, for a reader that cannot say,
        looks again every REPLAY_WAIT seconds."""
        replay = Replay(
            self, after_seq + 1, deliver, done, alive, page or REPLAY_PAGE, room, when_room
        )
        self._replays += 1
        replay.step(ctx)
        return replay

    def resume(self, page: ReplayPage, ctx: Context) -> None:
        """The next page of a replay (a message the actor sent itself)."""
        if page.replay.journal is self:  # not one from before a restart
            page.replay.step(ctx)


class Replay(Generic[R]):
    """A reader catching up with a journal, one page per turn."""

    __slots__ = (
        "journal", "next_seq", "deliver", "done", "alive", "page", "room", "when_room",
        "finished", "held",
    )  # fmt: skip

    def __init__(
        self,
        journal: Journal[R],
        next_seq: int,
        deliver: Callable[[R], None],
        done: Callable[[], None],
        alive: Callable[[], bool] | None,
        page: int,
        room: Callable[[], bool] | None = None,
        when_room: WhenRoom | None = None,
    ) -> None:
        self.journal = journal
        self.next_seq = next_seq
        self.deliver = deliver
        self.done = done
        self.alive = alive
        self.page = page
        self.room = room
        self.when_room = when_room
        self.finished = False
        # What the last page held past where its reader was full: the next
        # step starts there rather than read a page again for a few (a read
        # costs about as much for a few records as for a page: a chat written
        # a moment ago is merged from the log's staged writes, all of them).
        # At most a page is held for a reader that drains slowly.
        self.held: list[R] = []

    def step(self, ctx: Context) -> None:
        if self.finished:
            return
        if self.alive is not None and not self.alive():
            self._finish()
            return
        if self.room is not None and not self.room():
            # Its reader has not read what it was sent: pages pushed anyway
            # would only cut a slow reader, which resumes and is replayed
            # again, all of it, over and over.
            self._wait(ctx)
            return
        journal = self.journal
        end = journal.last_seq
        full = False
        if self.next_seq <= end:
            records = self.held or journal.read(self.next_seq - 1, self.page)
            self.held = []
            deliver, room = self.deliver, self.room
            for i, record in enumerate(records):
                deliver(record)
                self.next_seq = record.seq + 1
                # A page of big messages can be more than the reader takes
                # at once: it stops where the reader is full.
                if room is not None and not room():
                    full = True
                    self.held = records[i + 1 :]
                    break
            if not records:
                self.next_seq = end + 1  # a hole (records missing) must not stall it
        if self.next_seq > journal.last_seq:
            self._finish()
            self.done()
        elif full:
            self._wait(ctx)
        else:
            ctx.tell_self_soon(ReplayPage(self))

    def _wait(self, ctx: Context) -> None:
        """Take the next page once the reader has room: when it says so, or
        REPLAY_WAIT seconds from now for a reader that cannot say. Exactly one
        of the two, once: the replay goes on from one message at a time."""
        when_room = self.when_room
        if when_room is not None and when_room(ctx.waker(ReplayPage(self))):
            return
        ctx.start_timer(self, REPLAY_WAIT, ReplayPage(self))

    def _finish(self) -> None:
        self.finished = True
        self.held = []
        self.journal._replays -= 1


@dataclass(frozen=True, slots=True)
class ReplayPage:
    """To an actor from itself: the next page of ``replay``."""

    replay: Replay[Any] = field(compare=False)
