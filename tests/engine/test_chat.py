"""The chat actors through engine sessions, on a real LMDB in a temp directory."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from engine.app import Engine
from engine.chat.auth import Principal
from engine.chat.events import Ack, Assigned, Closed, CommandFailed, MessageEvent, Queued
from engine.chat.journal import WAITING_POSTS
from engine.chat.limits import Limits
from engine.chat.messages import GetOperatorState
from engine.chat.sessions import OperatorSession, VisitorSession
from engine.errors import NotFound
from tests.conftest import CHEAP_HASHER


class Collect:
    def __init__(self) -> None:
        self.events: list[Any] = []
        self.changed = asyncio.Event()

    def push(self, event: Any) -> None:
        self.events.append(event)
        self.changed.set()

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]

    async def wait(self, pred: Any, timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while not pred(self):
                self.changed.clear()
                await self.changed.wait()


async def setup(
    tmp_path: Path, max_chats: int = 2, map_size: int = 1 << 30, limits: Limits | None = None
) -> tuple[Engine, Any, Any, Any]:
    engine = Engine(
        tmp_path,
        map_size=map_size,
        max_map_size=map_size,
        password_hasher=CHEAP_HASHER,
        limits=limits,
    )
    account = await engine.directory.create_account("acme")
    site = await engine.directory.create_site(account.id, "web", ["https://acme.test"])
    dept = await engine.directory.create_department(account.id, site.id, "Support")
    op = await engine.directory.add_operator(
        account.id,
        email="ana@acme.test",
        password="correct horse",
        display_name="Ana",
        department_ids=[dept.id],
        max_chats=max_chats,
    )
    return engine, site, dept, op


def principal(op: Any) -> Principal:
    return Principal(op.id, op.account_id, op.role, b"")


async def test_visitor_and_operator_exchange_messages(tmp_path: Path) -> None:
    engine, site, dept, op = await setup(tmp_path)
    try:
        osink = Collect()
        osession = OperatorSession(engine, principal(op), osink)
        await osession.hello({})
        vsink = Collect()
        visitor = VisitorSession(engine, site, vsink)
        welcome = await visitor.hello(department_id=dept.id, name="Bob")
        assert welcome["conversation_id"] == "" and welcome["token"]
        visitor.send("m1", "hello?")
        visitor.send("m1", "hello?")  # resent before the ack: one message
        await vsink.wait(lambda s: len(s.of(Ack)) == 2)
        assert {a.seq for a in vsink.of(Ack)} == {1}
        await osink.wait(lambda s: any(e.text == "hello?" for e in s.of(MessageEvent)))
        conv_id = osink.of(Assigned)[0].conversation_id
        osession.send(conv_id, "o1", "Hi Bob")
        await vsink.wait(lambda s: any(e.text == "Hi Bob" for e in s.of(MessageEvent)))
        texts = [e.text for e in engine.transcript(conv_id)]
        assert texts == ["hello?", "Ana joined the chat", "Hi Bob"]
        assert [e.seq for e in engine.transcript(conv_id)] == [1, 2, 3]
        visitor.send("m1", "hello?")  # resent after the ack: the original seq
        await vsink.wait(lambda s: len(s.of(Ack)) == 3)
        assert vsink.of(Ack)[-1].seq == 1

        # Resume from seq 1 with the token: exactly what was missed, in order.
        visitor.detach()
        again = Collect()
        v2 = VisitorSession(engine, site, again)
        w2 = await v2.hello(token=welcome["token"], last_seq=1)
        assert w2["visitor_id"] == welcome["visitor_id"] and w2["conversation_id"] == conv_id
        assert [e.seq for e in again.of(MessageEvent)] == [2, 3]

        osession.close_conversation(conv_id)
        await again.wait(lambda s: bool(s.of(Closed)))
        state = await engine.system.ref("operator", op.id).ask(GetOperatorState())
        assert state.load == 0
        osession.send(conv_id, "o2", "too late")
        await osink.wait(lambda s: bool(s.of(CommandFailed)))
        assert osink.of(CommandFailed)[0].code == "conversation_closed"
    finally:
        await engine.close()


async def test_queue_positions_and_assignment_when_capacity_frees(tmp_path: Path) -> None:
    engine, site, dept, op = await setup(tmp_path, max_chats=1)
    try:
        osink = Collect()
        osession = OperatorSession(engine, principal(op), osink)
        await osession.hello({})
        sinks = []
        for i in range(3):
            sink = Collect()
            v = VisitorSession(engine, site, sink)
            await v.hello(department_id=dept.id)
            v.send(f"c{i}", f"visitor {i}")
            await sink.wait(lambda s: bool(s.of(Ack)))
            sinks.append(sink)
        await sinks[2].wait(lambda s: bool(s.of(Queued)) and s.of(Queued)[-1].position == 2)
        assert sinks[1].of(Queued)[-1].position == 1
        first = osink.of(Assigned)[0].conversation_id
        osession.close_conversation(first)
        await osink.wait(lambda s: len(s.of(Assigned)) == 2)
        await sinks[2].wait(lambda s: s.of(Queued)[-1].position == 1)
        assert len(osink.of(Assigned)) == 2
    finally:
        await engine.close()


async def test_bad_commands_get_clear_refusals(tmp_path: Path) -> None:
    engine, site, dept, op = await setup(tmp_path)
    try:
        sink = Collect()
        v = VisitorSession(engine, site, sink)
        v.send("x", "before hello")
        assert sink.events[-1].code == "no_hello"
        with pytest.raises(NotFound):
            await v.hello(department_id="dnope")
        await v.hello(department_id=dept.id)
        v.send("x", "")
        v.send("x", "y" * 5000)
        v.send("", "no id")
        assert [e.code for e in sink.of(CommandFailed)][-3:] == [
            "empty_message",
            "message_too_long",
            "bad_client_msg_id",
        ]
        osink = Collect()
        o = OperatorSession(engine, principal(op), osink)
        await o.hello({})
        o.send("s" + "a" * 9 + "-" + "b" * 12, "c1", "unknown")
        await osink.wait(lambda s: bool(s.of(CommandFailed)))
        assert osink.of(CommandFailed)[0].code == "unknown_conversation"
    finally:
        await engine.close()


async def test_a_full_store_refuses_the_message_and_keeps_serving(tmp_path: Path) -> None:
    engine, site, dept, op = await setup(tmp_path, map_size=1 << 20)
    try:
        await OperatorSession(engine, principal(op), Collect()).hello({})
        sink = Collect()
        v = VisitorSession(engine, site, sink)
        await v.hello(department_id=dept.id)
        v.send("ok", "fits")
        await sink.wait(lambda s: bool(s.of(Ack)))
        # Fill the map behind the engine's back until it is full.
        from engine.persistence import StoreFull

        filler = 0
        for size in (16384, 3200):  # big pieces, then pieces the size of the message
            while True:
                try:
                    await engine.store.write_async(
                        [("meta", f"fill{filler}".encode(), b"x" * size)]
                    )
                except StoreFull:
                    break
                filler += 1
                assert filler < 20000
        v.send("big", "y" * 3000)
        await sink.wait(lambda s: bool(s.of(CommandFailed)))
        refusal = sink.of(CommandFailed)[0]
        assert refusal.code == "store_full" and refusal.retryable
        assert refusal.client_msg_id == "big"
        # Free space: the resend with the same id is stored, once.
        for i in range(filler):
            await engine.store.write_async([("meta", f"fill{i}".encode(), None)])
        v.send("big", "y" * 3000)
        await sink.wait(lambda s: len(s.of(Ack)) == 2)
        stored = engine.transcript(v.conversation_id)
        assert [e.seq for e in stored] == [1, 2, 3]  # fits, "Ana joined", the resend
        assert [e.client_msg_id for e in stored] == ["ok", "", "big"]
    finally:
        await engine.close()


async def test_state_survives_passivation_and_restart(tmp_path: Path) -> None:
    engine, site, dept, op = await setup(tmp_path)
    osink = Collect()
    o = OperatorSession(engine, principal(op), osink)
    await o.hello({})
    vsink = Collect()
    v = VisitorSession(engine, site, vsink)
    welcome = await v.hello(department_id=dept.id)
    v.send("a", "first")
    await osink.wait(lambda s: bool(s.of(MessageEvent)))
    conv = v.conversation_id
    v.detach()
    o.detach()
    await engine.settle()
    assert engine.system.passivate("conversation", conv)
    assert not engine.system.is_active("conversation", conv)
    await engine.close()

    engine = Engine(tmp_path, password_hasher=CHEAP_HASHER)
    try:
        osink = Collect()
        o = OperatorSession(engine, principal(op), osink)
        await o.hello({conv: 1})  # seen up to 1: only the join notice comes again
        await osink.wait(lambda s: bool(s.of(MessageEvent)))
        assert osink.of(Assigned)[0].conversation_id == conv
        assert [e.seq for e in osink.of(MessageEvent)] == [2]
        vsink = Collect()
        v = VisitorSession(engine, site, vsink)
        w = await v.hello(token=welcome["token"], last_seq=2)
        assert w["conversation_id"] == conv
        v.send("a", "first")  # a resend after the restart: still seq 1
        v.send("b", "second")
        await vsink.wait(lambda s: len(s.of(Ack)) == 2)
        assert [a.seq for a in vsink.of(Ack)] == [1, 3]
        state = await engine.system.ref("operator", op.id).ask(GetOperatorState())
        assert state.load == 1 and state.online
    finally:
        await engine.close()


async def test_a_flood_past_the_store_is_refused_overloaded_before_any_ack(
    tmp_path: Path,
) -> None:
    """A visitor's burst lands in its chat at once, faster than any commit: what
    would wait behind more than WAITING_POSTS drafts is refused ``overloaded``
    (retryable), so the backlog in memory is bounded; everything acknowledged is
    stored at its seq, and a refused message resent later is taken."""
    engine, site, dept, op = await setup(tmp_path, limits=Limits(visitor_messages_per_hour=0))
    try:
        await OperatorSession(engine, principal(op), Collect()).hello({})  # the site is open
        vsink = Collect()
        visitor = VisitorSession(engine, site, vsink)
        await visitor.hello(department_id=dept.id, name="Bob")
        visitor.send("first", "hello?")
        await vsink.wait(lambda s: len(s.of(Ack)) == 1)
        burst = 2 * WAITING_POSTS
        for i in range(burst):  # no await between: no commit can land meanwhile
            visitor.send(f"m{i}", f"message {i}")
        await vsink.wait(lambda s: len(s.of(Ack)) + len(s.of(CommandFailed)) == 1 + burst)
        refused = vsink.of(CommandFailed)
        assert refused and {(r.code, r.retryable) for r in refused} == {("overloaded", True)}
        acks = vsink.of(Ack)[1:]
        assert len(acks) <= 1 + WAITING_POSTS  # the write in flight, and those behind it
        conv_id = acks[0].conversation_id
        stored = {e.client_msg_id: e.seq for e in engine.transcript(conv_id, 0, 10_000)}
        assert all(stored[a.client_msg_id] == a.seq for a in acks)
        assert not {r.client_msg_id for r in refused} & set(stored)
        visitor.send(refused[0].client_msg_id, "again")
        await vsink.wait(lambda s: len(s.of(Ack)) == 2 + len(acks))
        assert vsink.of(Ack)[-1].client_msg_id == refused[0].client_msg_id
    finally:
        await engine.close()
