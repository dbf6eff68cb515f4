"""The journal of sequenced streams, on a real LMDB in a temporary directory:
seqs, client ids across failures and restarts (a window of the stream's last
ids, rebuilt from its tail), paged replay, recovery, and schema versions."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from engine.app import Engine
from engine.chat import journal as journal_module
from engine.chat.conversation import _CatchingUp
from engine.chat.events import Ack, Closed, MessageEvent, Typing
from engine.chat.journal import MESSAGES, RECENT_CIDS, Backlog, Journal, ReplayPage
from engine.chat.messages import (
    CloseConversation,
    Committed,
    Post,
    ReplayMissed,
    SetTyping,
    Subscribe,
)
from engine.chat.sessions import OperatorSession, VisitorSession
from engine.persistence import LmdbStore, StoreFull
from engine.persistence.codec import encode, journal_key
from engine.persistence.schema import (
    META,
    SCHEMA_VERSION,
    NewerSchema,
    upgrade,
)
from engine.runtime import Actor, ActorSystem, Context
from engine.runtime.clock import FakeClock
from engine.runtime.system import Props
from tests.engine.test_chat import Collect, principal, setup


class Writer(Actor):
    """A bare journal in an actor: ("post", cid, text) -> seq once stored."""

    def __init__(self, key: str, snapshot: bytes | None) -> None:
        self.key = key
        self.journal = Journal(key, MESSAGES, Committed)
        self.delivered: list[int] = []

    def started(self, ctx: Context) -> None:
        self.journal.open(ctx.services.store)

    def receive(self, message: Any, ctx: Context) -> Any:
        match message:
            case ("post", cid, text):
                draft = MessageEvent(self.key, 0, "visitor", "v1", "Bob", text, cid, 0)
                return self.journal.append(
                    draft,
                    ctx,
                    answer=True,
                    on_committed=lambda e, _tag: self.delivered.append(e.seq),
                )
            case Committed(_seq, error):
                self.journal.committed(error, ctx)
                return None
            case ("replay", after, seen, page):
                reply = ctx.defer()
                self.journal.replay(
                    after, lambda e: seen.append(e.seq), lambda: reply(None, None), ctx, page=page
                )
                return None
            case ("paced replay", after, seen, page, room, *when_room):
                reply = ctx.defer()
                self.journal.replay(
                    after,
                    lambda e: seen.append(e.seq),
                    lambda: reply(None, None),
                    ctx,
                    page=page,
                    room=room,
                    when_room=when_room[0] if when_room else None,
                )
                return None
            case ReplayPage():
                self.journal.resume(message, ctx)
                return None
            case ("state",):
                j = self.journal
                return {"last": j.last_seq, "recent": len(j._recent), "idle": j.idle}
        raise ValueError(message)


def system_on(store: LmdbStore, clock: FakeClock | None = None) -> ActorSystem:
    system = ActorSystem(services=SimpleNamespace(store=store), clock=clock)
    system.register("w", Props(Writer))
    return system


def stored(store: LmdbStore, stream: str) -> list[tuple[int, str]]:
    return [(e.seq, e.client_msg_id) for e in MESSAGES.read(store, stream, 0, 1_000_000)]


async def fill(store: LmdbStore) -> int:
    """Fill the map behind the journal's back until it is full."""
    filler = 0
    for size in (16384, 3200):
        while True:
            try:
                await store.write_async([META.put(f"fill{filler}", "x" * size)])
            except StoreFull:
                break
            filler += 1
            assert filler < 20000
    return filler


async def test_seqs_stay_contiguous_across_a_failed_write(tmp_path: Path) -> None:
    store = LmdbStore(tmp_path, map_size=1 << 20, max_map_size=1 << 20)
    try:
        w = system_on(store).ref("w", "s1")
        assert await w.ask(("post", "a", "first")) == 1
        filler = await fill(store)
        big = "y" * 6000  # more than is left
        failed = await asyncio.gather(
            w.ask(("post", "b", big)), w.ask(("post", "c", big)), return_exceptions=True
        )
        assert all(isinstance(f, StoreFull) for f in failed)  # nothing acknowledged
        assert (await w.ask(("state",)))["last"] == 1
        for i in range(filler):
            await store.write_async([META.delete(f"fill{i}")])
        # The failed ids were forgotten: the resend of b is new, and numbered
        # right after the last stored seq.
        assert await w.ask(("post", "b", big)) == 2
        assert await w.ask(("post", "d", "after")) == 3
        assert await w.ask(("post", "b", big)) == 2  # stored once
        assert stored(store, "s1") == [(1, "a"), (2, "b"), (3, "d")]
    finally:
        await store.drain()
        store.close()


async def test_concurrent_resends_of_a_pending_id_share_the_write(tmp_path: Path) -> None:
    store = LmdbStore(tmp_path)
    try:
        w = system_on(store).ref("w", "s1")
        seqs = await asyncio.gather(*(w.ask(("post", cid, "t")) for cid in "xyxxy"))
        assert seqs == [1, 2, 1, 1, 2]
        assert stored(store, "s1") == [(1, "x"), (2, "y")]
    finally:
        await store.drain()
        store.close()


async def test_resends_in_the_window_are_deduplicated_after_reactivation(tmp_path: Path) -> None:
    n = RECENT_CIDS + 100  # more ids than the window holds
    store = LmdbStore(tmp_path)
    w = system_on(store).ref("w", "s1")
    seqs = await asyncio.gather(*(w.ask(("post", f"c{i}", f"m{i}")) for i in range(n)))
    assert seqs == list(range(1, n + 1))  # c{i} is seq i + 1
    await store.drain()
    store.close()

    store = LmdbStore(tmp_path)  # a restart: the window is read from the tail
    try:
        system = system_on(store)
        w = system.ref("w", "s1")
        state = await w.ask(("state",))
        assert state == {"last": n, "recent": RECENT_CIDS, "idle": True}
        oldest = n - RECENT_CIDS  # c{oldest} is the oldest id in the window
        assert await w.ask(("post", f"c{n - 1}", "again")) == n
        assert await w.ask(("post", f"c{oldest}", "again")) == oldest + 1
        # Older than the window: a new message (a client resends only what it
        # has not had acknowledged, far fewer than the window).
        assert await w.ask(("post", f"c{oldest - 1}", "again")) == n + 1
        # Recent and new ids in the same writes: the recent ones answered and
        # not written, the new ones numbered on without a gap.
        mixed = [f"c{n - 10}", "n1", f"c{n - 5}", "n2", f"c{n - 10}", "n3"]
        seqs = await asyncio.gather(*(w.ask(("post", cid, "t")) for cid in mixed))
        assert seqs == [n - 9, n + 2, n - 4, n + 3, n - 9, n + 4]
        assert [s for s, _ in stored(store, "s1")] == list(range(1, n + 5))
        # Memory stays bounded by the window, however long the stream.
        for i in range(n):
            await w.ask(("post", f"d{i}", "more"))
        assert (await w.ask(("state",)))["recent"] == RECENT_CIDS
    finally:
        await store.drain()
        store.close()


async def test_recovery_after_reopen_goes_on_from_the_last_seq(tmp_path: Path) -> None:
    store = LmdbStore(tmp_path)
    w = system_on(store).ref("w", "s1")
    await asyncio.gather(*(w.ask(("post", f"c{i}", "t")) for i in range(50)))
    await w.ask(("post", "", "no client id"))
    await store.drain()
    store.close()
    store = LmdbStore(tmp_path)
    try:
        w = system_on(store).ref("w", "s1")
        assert (await w.ask(("state",)))["last"] == 51
        assert await w.ask(("post", "later", "t")) == 52
        assert [s for s, _ in stored(store, "s1")] == list(range(1, 53))
        assert store.last("journal", b"s\x00") is None  # prefixes are not confused
    finally:
        await store.drain()
        store.close()


async def test_replay_pages_reach_a_moving_end_in_order(tmp_path: Path) -> None:
    store = LmdbStore(tmp_path)
    try:
        w = system_on(store).ref("w", "s1")
        await asyncio.gather(*(w.ask(("post", f"c{i}", "t")) for i in range(100)))
        seen: list[int] = []
        replay = w.ask(("replay", 10, seen, 7))
        # Appends while the replay runs, a page per loop turn.
        posts = [w.ask(("post", f"d{i}", "t")) for i in range(30)]
        await asyncio.sleep(0)
        assert 0 < len(seen) < 90  # paged: not all in one turn
        await replay
        await asyncio.gather(*posts)
        state = await w.ask(("state",))
        assert seen == list(range(11, len(seen) + 11))  # each seq once, in order
        assert seen[-1] <= state["last"] == 130
        assert state["idle"]
    finally:
        await store.drain()
        store.close()


async def test_a_replay_waits_while_its_reader_has_no_room(tmp_path: Path) -> None:
    """A reader that has not read what it was sent gets no further page (an
    operator resuming fifty chats on a slow link was cut past its bound, came
    back, and was replayed all of it again, over and over); the replay looks
    again until the reader has room, then goes on in order."""
    store = LmdbStore(tmp_path)
    try:
        w = system_on(store).ref("w", "s1")
        await asyncio.gather(*(w.ask(("post", f"c{i}", "t")) for i in range(50)))
        seen: list[int] = []
        has_room = False
        looked = 0
        looked_thrice = asyncio.Event()

        def room() -> bool:
            nonlocal looked
            looked += 1
            if looked == 3:
                looked_thrice.set()
            return has_room

        replay = w.ask(("paced replay", 0, seen, 10, room))
        async with asyncio.timeout(10):
            await looked_thrice.wait()  # the first look and two more after waiting
        assert seen == []
        has_room = True
        await replay
        assert seen == list(range(1, 51))
        assert (await w.ask(("state",)))["idle"]  # the replay is over
    finally:
        await store.drain()
        store.close()


async def test_a_replay_waits_for_its_reader_to_say_it_has_room(tmp_path: Path) -> None:
    """A reader that can say when it has room again (a visitor's socket
    drained, the edge's answer, a stream's writer taking its queue) wakes the
    replay: meanwhile nothing looks at it, however long it takes (no timer:
    the clock moved a minute, and a round trip through the actor), and once
    woken it goes on at once, one wake asked per wait. A reader that cannot
    say (False) is looked at again after REPLAY_WAIT."""
    clock = FakeClock()
    store = LmdbStore(tmp_path)
    try:
        w = system_on(store, clock).ref("w", "s1")
        await asyncio.gather(*(w.ask(("post", f"c{i}", "t")) for i in range(30)))
        seen: list[int] = []
        allowed = 4
        looks = 0
        wakes: list[Callable[[], None]] = []
        asked = asyncio.Event()

        def room() -> bool:
            nonlocal looks
            looks += 1
            return len(seen) < allowed

        def when_room(wake: Callable[[], None]) -> bool:
            wakes.append(wake)
            asked.set()
            return True

        replay = w.ask(("paced replay", 0, seen, 10, room, when_room), timeout=3600)
        async with asyncio.timeout(10):
            await asked.wait()
        assert seen == [1, 2, 3, 4] and len(wakes) == 1
        looked = looks
        clock.advance(60)
        await w.ask(("state",))  # the actor has had its turns since
        assert looks == looked and seen == [1, 2, 3, 4] and len(wakes) == 1
        allowed = 30
        asked.clear()
        wakes[0]()
        async with asyncio.timeout(10):
            await replay
        assert seen == list(range(1, 31)) and len(wakes) == 1
        assert (await w.ask(("state",)))["idle"]

        # A reader that cannot say: looked at again when REPLAY_WAIT has passed.
        seen.clear()
        allowed = 2
        cannot: list[int] = []

        def cannot_say(wake: Callable[[], None]) -> bool:
            cannot.append(1)
            return False

        replay = w.ask(("paced replay", 0, seen, 10, room, cannot_say))
        await w.ask(("state",))
        assert seen == [1, 2] and cannot == [1]
        looked = looks
        allowed = 30
        clock.advance(journal_module.REPLAY_WAIT)
        async with asyncio.timeout(10):
            await replay
        assert seen == list(range(1, 31)) and looks > looked and cannot == [1]
    finally:
        await store.drain()
        store.close()


def drained_at_once(wake: Callable[[], None]) -> bool:
    """A reader that says it has room again on the loop's next turn."""
    asyncio.get_running_loop().call_soon(wake)
    return True


def counted_reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Every store read of a journal from now on, as (after_seq, limit)."""
    reads: list[tuple[int, int]] = []
    read = Journal.read

    def counted(self: Journal[Any], after_seq: int, limit: int) -> list[Any]:
        reads.append((after_seq, limit))
        return read(self, after_seq, limit)

    monkeypatch.setattr(Journal, "read", counted)
    return reads


async def test_a_replay_stops_mid_page_where_its_reader_is_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Room is asked after each record: a page of big records is cut short
    where the reader has no more room (a visitor's send buffer takes a few
    KiB of them, not a page of 200), and goes on from there, nothing skipped
    or sent twice. What the page read holds past that point is kept for the
    next step: each page is read from the store once, however many waits."""
    reads = counted_reads(monkeypatch)
    store = LmdbStore(tmp_path)
    try:
        w = system_on(store).ref("w", "s1")
        await asyncio.gather(*(w.ask(("post", f"c{i}", "t")) for i in range(30)))
        seen: list[int] = []
        taken: list[int] = []  # how many were delivered at each look with room

        def room() -> bool:
            # Room for 4 more after each time the reader has drained.
            if len(seen) - sum(taken) >= 4:
                taken.append(len(seen) - sum(taken))
                return False
            return True

        async with asyncio.timeout(10):
            await w.ask(("paced replay", 0, seen, 10, room, drained_at_once))
        assert seen == list(range(1, 31))
        assert taken == [4] * 7  # 28 in runs of 4 (each a wait), then the last 2
        assert [after for after, _limit in reads] == [0, 10, 20]  # pages of 10, each read once
        assert (await w.ask(("state",)))["idle"]
    finally:
        await store.drain()
        store.close()


def test_a_catching_up_subscriber_gets_other_events_where_they_happened() -> None:
    sink = Collect()
    journal = SimpleNamespace(last_seq=5)
    c = _CatchingUp(sink, "visitor", journal, None)  # type: ignore[arg-type]

    def ev(seq: int, kind: str = "visitor") -> MessageEvent:
        return MessageEvent("c", seq, kind, "", "", "t", "", 0)

    typing = Typing("c", "operator", "Ana", True, "")
    c.push(typing)  # after seq 5
    c.push(ev(6))  # a live message: the replay brings it
    journal.last_seq = 7
    closed = Closed("c", "", "")
    c.push(closed)  # after seq 7
    c.skip.add(6)  # its own post: it has the ack
    for seq in (4, 5, 6):
        c.replayed(ev(seq))
    c.replayed(ev(7, "note"))  # visitors do not see notes
    assert sink.events == [ev(4), ev(5), typing, closed]
    assert c == sink and hash(c) == hash(sink) and {sink: 1}[c] == 1  # type: ignore[index]


async def test_subscribe_replays_in_pages_with_live_traffic_between(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal_module, "REPLAY_PAGE", 5)
    engine, site, dept, op = await setup(tmp_path)
    try:
        osession = OperatorSession(engine, principal(op), Collect())
        await osession.hello({})
        vsink = Collect()
        visitor = VisitorSession(engine, site, vsink)
        await visitor.hello(department_id=dept.id)
        for i in range(300):
            visitor.send(f"m{i}", f"message {i}")
        await vsink.wait(lambda s: len(s.of(Ack)) == 300)
        await engine.settle()
        conv = visitor.conversation_id
        ref = engine.system.ref("conversation", conv)
        last = engine.transcript(conv, 0, 10_000)[-1].seq  # 300 messages and the join notice
        own_acks: list[Any] = []

        class Watcher(Collect):
            def push(self, event: Any) -> None:
                super().push(event)
                if isinstance(event, MessageEvent) and 20 < event.seq < 200:
                    time.sleep(0.001)  # a slow replay: the late writes commit meanwhile
                if isinstance(event, MessageEvent) and event.seq == 20:
                    # Mid-replay: the visitor types and writes, this sink writes.
                    ref.tell(SetTyping("visitor", visitor.visitor_id, "Bob", True, "", visitor))
                    for i in range(5):
                        visitor.send(f"late{i}", f"late {i}")
                    ref.tell(
                        Post("operator", op.id, "Ana", "own", "mine", self),
                        lambda seq, error: own_acks.append((seq, error)),
                    )

        watcher = Watcher()
        reached = await ref.ask(Subscribe(watcher, 0, "operator"))
        await vsink.wait(lambda s: len(s.of(Ack)) == 305)
        await watcher.wait(lambda s: len(own_acks) == 1)
        await engine.settle()
        seqs = [e.seq for e in watcher.of(MessageEvent)]
        total = engine.transcript(conv, 0, 10_000)[-1].seq
        assert total == last + 6
        own_seq = own_acks[0][0]
        assert own_acks[0][1] is None and last < own_seq <= total
        # Every seq once and in order, but its own message (it has the ack).
        assert seqs == [s for s in range(1, total + 1) if s != own_seq]
        assert last < reached <= total  # the late writes were committed during the replay
        # The typing came after the last message stored before it, in place.
        events = watcher.events
        at = events.index(next(e for e in events if isinstance(e, Typing)))
        assert events[at - 1].seq == last
        assert all(e.seq > last for e in events[at + 1 :] if isinstance(e, MessageEvent))
    finally:
        await engine.close()


async def test_missed_replies_are_replayed_in_pages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal_module, "REPLAY_PAGE", 3)
    engine, site, dept, op = await setup(tmp_path)
    try:
        await OperatorSession(engine, principal(op), Collect()).hello({})
        vsink = Collect()
        visitor = VisitorSession(engine, site, vsink)
        await visitor.hello(department_id=dept.id)
        visitor.send("q", "anyone?")
        await vsink.wait(lambda s: bool(s.of(Ack)))
        ref = engine.system.ref("conversation", visitor.conversation_id)
        # The visitor left before anyone answered; then its operator writes.
        await ref.ask(CloseConversation("system", "", "abandoned"))
        await engine.settle()
        for i in range(10):
            await ref.ask(Post("operator", op.id, "Ana", f"r{i}", f"reply {i}"))
        sink = Collect()
        assert await ref.ask(ReplayMissed(sink)) == 10
        assert [e.text for e in sink.of(MessageEvent)] == [f"reply {i}" for i in range(10)]
    finally:
        await engine.close()


async def test_an_older_store_is_upgraded_once_and_a_newer_refused(tmp_path: Path) -> None:
    store = LmdbStore(tmp_path)
    # Version 1 data: records only, no schema version.
    ops = [
        (
            "journal",
            journal_key(stream, seq),
            encode({"s": seq, "k": "visitor", "a": "v", "n": "", "t": "t", "c": cid, "ts": 0}),
        )
        for stream in ("sA-c1", "sB-c2")
        for seq, cid in ((1, "x"), (2, ""), (3, "y"))
    ]
    await store.write_async(ops)
    assert upgrade(store, store.write_now) == 2  # both sites' usage counted
    assert META.get(store, "schema") == SCHEMA_VERSION
    assert upgrade(store, store.write_now) == 0  # once
    await store.write_async([META.put("schema", SCHEMA_VERSION + 1)])
    with pytest.raises(NewerSchema):
        upgrade(store, store.write_now)
    store.close()


async def test_after_a_restart_a_resend_keeps_its_seq(tmp_path: Path) -> None:
    engine, site, dept, op = await setup(tmp_path)
    await OperatorSession(engine, principal(op), Collect()).hello({})
    vsink = Collect()
    visitor = VisitorSession(engine, site, vsink)
    welcome = await visitor.hello(department_id=dept.id)
    visitor.send("a", "first")
    await vsink.wait(lambda s: bool(s.of(Ack)))
    conv = visitor.conversation_id
    visitor.detach()
    await engine.close()
    engine = Engine(tmp_path)
    try:
        vsink = Collect()
        visitor = VisitorSession(engine, site, vsink)
        assert (await visitor.hello(token=welcome["token"], last_seq=99))["conversation_id"] == conv
        visitor.send("a", "first")
        await vsink.wait(lambda s: bool(s.of(Ack)))
        assert vsink.of(Ack)[0].seq == 1
    finally:
        await engine.close()


def test_a_record_waiting_for_its_write_takes_about_its_size() -> None:
    """An encoded record waits in its write until the commit (thousands of them
    at overload): it must hold a block of its own size, not the 4 KiB its
    encoder wrote it into."""
    import tracemalloc

    drafts = [
        MessageEvent(
            "c1", n, "visitor", "v1", "Bob", "Hello, a question about my order", f"m{n}", 1
        )
        for n in range(1_000)
    ]
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        records = [MESSAGES.encode(d) for d in drafts]
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    size = max(len(r) for r in records)
    assert held < len(records) * (size + 200), (held, size)


def test_the_backlog_counts_each_stream_and_forgets_a_restarted_ones(tmp_path: Path) -> None:
    """The engine's count of unstored drafts: each stream's share; a journal
    opened again for a stream (its actor restarted after a failure) drops what
    its predecessor left counted, so the bound never fills with ghosts."""
    backlog = Backlog(3)
    backlog.add("a")
    backlog.add("a")
    backlog.add("b")
    assert backlog.waiting == 3 and backlog.full
    backlog.remove("a", 1)
    assert (backlog.waiting, backlog.of("a"), backlog.full) == (2, 1, False)
    store = LmdbStore(tmp_path)
    try:
        Journal("a", MESSAGES, Committed).open(store, backlog)
        assert (backlog.waiting, backlog.of("a"), backlog.of("b")) == (1, 0, 1)
    finally:
        store.close()
    assert not Backlog(0).full  # 0: no bound
    with pytest.raises(ValueError):
        Backlog(-1)
