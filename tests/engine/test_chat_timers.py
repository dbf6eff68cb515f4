"""The chat actors' waits, on the inline scheduler with a fake clock: the queue,
offers, the grace after a dropped operator, the maximum wait and abandonment.

Actors run in the caller's stack and time moves only by ``advance``, so no test
waits on a clock. The store is a real LMDB in a temporary directory; its commits
come back on the loop, which ``settle`` drains (the engine is quiet when no
actor has mail and no write is pending) before each assertion, so an assertion
that something did not happen is made on a settled engine.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, NamedTuple

from engine.app import Engine
from engine.chat.auth import Principal
from engine.chat.events import (
    Ack,
    Assigned,
    Closed,
    CommandFailed,
    MessageEvent,
    Offered,
    OfferWithdrawn,
    Queued,
)
from engine.chat.messages import GetConversation, GetOperatorState, GetQueue
from engine.chat.records import Department, Site
from engine.chat.sessions import OperatorSession, VisitorSession
from engine.runtime import FakeClock, InlineScheduler
from tests.engine.test_chat import Collect as Sink

# add_operator takes an imported argon2id hash as it is: no slow hashing here.
NO_LOGIN = "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"


class World:
    """An engine on the inline scheduler and a fake clock, with one site."""

    def __init__(self, engine: Engine, clock: FakeClock) -> None:
        self.engine = engine
        self.clock = clock
        self.account_id = ""
        self.tokens: dict[str, str] = {}  # conversation -> its visitor's token
        self.site: Site
        self.dept: Department

    @classmethod
    async def make(cls, tmp_path: Path, **settings: Any) -> World:
        clock = FakeClock()
        engine = Engine(tmp_path, clock=clock, scheduler=InlineScheduler(), **settings)
        world = cls(engine, clock)
        directory = engine.directory
        account = await directory.create_account("acme")
        world.account_id = account.id
        world.site = await directory.create_site(account.id, "web", ["https://acme.test"])
        world.dept = await directory.create_department(account.id, world.site.id, "Support")
        return world

    async def department(self, name: str, **settings: Any) -> Department:
        dept = await self.engine.directory.create_department(self.account_id, self.site.id, name)
        return await self.set(dept, **settings) if settings else dept

    async def set(self, dept: Department, **settings: Any) -> Department:
        return await self.engine.directory.update_department(self.account_id, dept.id, settings)

    async def operator(
        self,
        name: str,
        *,
        max_chats: int = 1,
        auto_accept: bool = True,
        departments: list[str] | None = None,
    ) -> tuple[OperatorSession, Sink, str]:
        """A new operator with a session attached: (session, its sink, its id)."""
        directory = self.engine.directory
        op = await directory.add_operator(
            self.account_id,
            email=f"{name.lower()}@acme.test",
            password="",
            password_hash=NO_LOGIN,
            display_name=name,
            department_ids=departments or [self.dept.id],
            max_chats=max_chats,
        )
        if not auto_accept:
            await directory.update_operator(self.account_id, op.id, {"auto_accept": False})
        sink = Sink()
        session = OperatorSession(self.engine, Principal(op.id, op.account_id, op.role, b""), sink)
        await session.hello({})
        await self.settle()
        return session, sink, op.id

    async def visitor(
        self, text: str = "hello", department: Department | None = None
    ) -> tuple[VisitorSession, Sink, str]:
        """A visitor who says ``text``: (session, its sink, its conversation)."""
        sink = Sink()
        session = VisitorSession(self.engine, self.site, sink)
        welcome = await session.hello(department_id=(department or self.dept).id)
        session.send("first", text)
        await self.settle()
        assert sink.of(Ack), sink.events
        self.tokens[session.conversation_id] = welcome["token"]
        return session, sink, session.conversation_id

    async def come_back(self, token: str) -> tuple[VisitorSession, Sink]:
        sink = Sink()
        session = VisitorSession(self.engine, self.site, sink)
        await session.hello(token=token)
        await self.settle()
        return session, sink

    async def settle(self) -> None:
        await self.engine.settle()

    async def advance(self, seconds: float) -> None:
        """Move time on; every timer falling due fires in order, in this stack."""
        self.clock.advance(seconds)
        await self.settle()

    async def ask(self, kind: str, key: str, message: Any) -> Any:
        return await self.engine.system.ref(kind, key).ask(message)

    async def conversation(self, conv_id: str) -> dict[str, Any]:
        summary: dict[str, Any] = await self.ask("conversation", conv_id, GetConversation())
        return summary

    async def waiting(self, dept: Department | None = None) -> list[tuple[str, str]]:
        """The line: (conversation, offered to) in order."""
        line = await self.ask("queue", (dept or self.dept).id, GetQueue())
        return [(w.conversation_id, w.offered_to) for w in line]


@asynccontextmanager
async def world(tmp_path: Path, **settings: Any) -> AsyncIterator[World]:
    w = await World.make(tmp_path, **settings)
    try:
        yield w
    finally:
        await w.engine.close()


class Line(NamedTuple):
    """Sue, who takes one chat at most, busy with a first visitor; a second waits."""

    sue: OperatorSession
    sue_sink: Sink
    busy: str
    visitor: VisitorSession
    visitor_sink: Sink
    conv: str


async def one_waiting(w: World) -> Line:
    sue, sue_sink, _ = await w.operator("Sue")
    _, _, busy = await w.visitor()
    visitor, sink, conv = await w.visitor()
    assert assigned(sue_sink) == [busy] and await w.waiting() == [(conv, "")]
    return Line(sue, sue_sink, busy, visitor, sink, conv)


def assigned(sink: Sink) -> list[str]:
    return [e.conversation_id for e in sink.of(Assigned)]


def withdrawn(sink: Sink) -> list[tuple[str, str]]:
    return [(e.conversation_id, e.reason) for e in sink.of(OfferWithdrawn)]


# -- the queue ------------------------------------------------------------------------


async def test_the_line_is_served_in_arrival_order_as_capacity_frees(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        ana, asink, _ = await w.operator("Ana", max_chats=1)
        visitors = [await w.visitor(f"visitor {i}") for i in range(4)]
        convs = [conv for _, _, conv in visitors]
        assert assigned(asink) == convs[:1]
        assert await w.waiting() == [(c, "") for c in convs[1:]]
        assert [sink.of(Queued)[-1].position for _, sink, _ in visitors[1:]] == [1, 2, 3]
        for served in range(1, 4):
            ana.close_conversation(convs[served - 1])
            await w.settle()
            assert assigned(asink) == convs[: served + 1]
            assert await w.waiting() == [(c, "") for c in convs[served + 1 :]]
        assert [sink.of(Queued)[-1].position for _, sink, _ in visitors[2:]] == [1, 1]


# -- offers ---------------------------------------------------------------------------


async def test_an_offer_times_out_and_moves_on_and_a_decline_too(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        w.dept = await w.set(w.dept, offer_seconds=10)
        ana, asink, _ = await w.operator("Ana", auto_accept=False)
        await w.advance(1)  # Ana has been idle longer: she is asked first
        ben, bsink, ben_id = await w.operator("Ben", auto_accept=False)
        _, _, conv = await w.visitor()
        assert [(o.conversation_id, o.expires_in) for o in asink.of(Offered)] == [(conv, 10)]
        assert bsink.of(Offered) == []
        await w.advance(9.9)
        assert withdrawn(asink) == [] and bsink.of(Offered) == []
        await w.advance(0.2)
        assert withdrawn(asink) == [(conv, "timeout")]
        assert [o.conversation_id for o in bsink.of(Offered)] == [conv]
        assert await w.waiting() == [(conv, ben_id)]
        # Answering the offer that timed out is a clear error.
        ana.answer_offer(conv, True)
        await w.settle()
        assert [e.code for e in asink.of(CommandFailed)] == ["no_offer"]
        ben.answer_offer(conv, False)
        await w.settle()
        assert withdrawn(bsink) == [(conv, "declined")]
        # Both turned it down: it waits, offered to nobody; no timer is left to
        # withdraw anything again.
        assert await w.waiting() == [(conv, "")]
        await w.advance(60)
        assert withdrawn(asink) == [(conv, "timeout")]
        assert withdrawn(bsink) == [(conv, "declined")]
        assert assigned(asink) == assigned(bsink) == []


async def test_an_accepted_offer_does_not_time_out_later(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        w.dept = await w.set(w.dept, offer_seconds=10)
        ana, asink, ana_id = await w.operator("Ana", auto_accept=False)
        _, _, conv = await w.visitor()
        await w.advance(5)
        ana.answer_offer(conv, True)
        await w.settle()
        assert assigned(asink) == [conv]
        await w.advance(60)
        assert withdrawn(asink) == []
        state = await w.ask("operator", ana_id, GetOperatorState())
        assert state.conversations == (conv,) and state.offers == ()
        assert (await w.conversation(conv)).status == "active"


# -- grace after a dropped operator ---------------------------------------------------


async def test_a_dropped_operator_is_offline_after_the_grace_and_its_chat_moves(
    tmp_path: Path,
) -> None:
    async with world(tmp_path, grace_seconds=30) as w:
        w.dept = await w.set(w.dept, offline_action="forward", offline_seconds=10)
        ana, asink, ana_id = await w.operator("Ana")
        _, vsink, conv = await w.visitor()
        assert assigned(asink) == [conv]
        ben, bsink, _ = await w.operator("Ben")
        ana.detach()
        await w.settle()
        await w.advance(29.9)
        state = await w.ask("operator", ana_id, GetOperatorState())
        assert state.sessions == 0 and state.status == "online"  # in its grace
        assert state.conversations == (conv,)
        await w.advance(0.2)
        state = await w.ask("operator", ana_id, GetOperatorState())
        assert state.status == "offline" and state.conversations == (conv,)
        await w.advance(9.8)  # offline, but not for offline_seconds yet
        assert assigned(bsink) == []
        await w.advance(0.2)
        assert assigned(bsink) == [conv]
        state = await w.ask("operator", ana_id, GetOperatorState())
        assert state.conversations == ()
        assert any("went offline" in e.text for e in vsink.of(MessageEvent))


async def test_an_operator_back_within_the_grace_keeps_its_chats(tmp_path: Path) -> None:
    async with world(tmp_path, grace_seconds=30) as w:
        w.dept = await w.set(w.dept, offline_action="close", offline_seconds=0)
        ana, asink, ana_id = await w.operator("Ana")
        _, vsink, conv = await w.visitor()
        ana.detach()
        await w.settle()
        await w.advance(20)
        back_sink = Sink()
        principal = Principal(ana_id, w.account_id, "operator", b"")
        back = OperatorSession(w.engine, principal, back_sink)
        await back.hello({})
        await w.settle()
        assert assigned(back_sink) == [conv]
        await w.advance(300)  # well past the first grace
        state = await w.ask("operator", ana_id, GetOperatorState())
        assert state.status == "online" and state.conversations == (conv,)
        assert (await w.conversation(conv)).status == "active"
        assert vsink.of(Closed) == []


async def test_an_operator_back_after_the_grace_keeps_chats_not_moved_yet(tmp_path: Path) -> None:
    """Offline after the grace, back before offline_seconds: the forward is called
    off, and the next time it goes offline its chats get the full time again."""
    async with world(tmp_path, grace_seconds=30) as w:
        w.dept = await w.set(w.dept, offline_action="forward", offline_seconds=60)
        ana, _, ana_id = await w.operator("Ana")
        _, _, conv = await w.visitor()
        _, bsink, _ = await w.operator("Ben")
        ana.detach()
        await w.settle()
        await w.advance(31)  # t=31: offline, the forward due at t=90
        assert (await w.ask("operator", ana_id, GetOperatorState())).status == "offline"
        principal = Principal(ana_id, w.account_id, "operator", b"")
        back = OperatorSession(w.engine, principal, Sink())
        await back.hello({})
        await w.settle()
        await w.advance(9)
        back.detach()  # t=40: offline at t=70, the forward due at t=130
        await w.settle()
        await w.advance(89.9)
        state = await w.ask("operator", ana_id, GetOperatorState())
        assert state.status == "offline" and state.conversations == (conv,)
        assert assigned(bsink) == []
        await w.advance(0.2)
        assert assigned(bsink) == [conv]


# -- maximum wait ---------------------------------------------------------------------


async def test_max_wait_moves_the_chat_to_the_fallback_department(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        sales = await w.department("Sales")
        w.dept = await w.set(w.dept, max_wait_seconds=30, fallback_department_id=sales.id)
        _, sally_sink, _ = await w.operator("Sally", departments=[sales.id])
        _, _, _, _, vsink, conv = await one_waiting(w)
        await w.advance(29.9)
        assert await w.waiting() == [(conv, "")] and assigned(sally_sink) == []
        await w.advance(0.2)
        assert assigned(sally_sink) == [conv]
        assert await w.waiting() == []
        summary = await w.conversation(conv)
        assert summary.department_id == sales.id and summary.status == "active"
        assert any(e.text.startswith("Moved to Sales") for e in vsink.of(MessageEvent))


async def test_max_wait_without_a_fallback_closes_with_no_operator(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        w.dept = await w.set(w.dept, max_wait_seconds=20)
        _, _, _, _, vsink, conv = await one_waiting(w)
        await w.advance(19.9)
        assert vsink.of(Closed) == []
        await w.advance(0.2)
        assert [(c.conversation_id, c.reason) for c in vsink.of(Closed)] == [(conv, "no_operator")]
        assert await w.waiting() == []
        assert (await w.conversation(conv)).missed


async def test_a_chat_served_in_time_is_not_touched_by_its_max_wait(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        w.dept = await w.set(w.dept, max_wait_seconds=30)
        sue, sue_sink, busy, _, vsink, conv = await one_waiting(w)
        await w.advance(20)
        sue.close_conversation(busy)
        await w.settle()
        assert assigned(sue_sink) == [busy, conv]
        restarts = w.engine.system.restarts
        await w.advance(120)
        assert vsink.of(Closed) == []
        assert (await w.conversation(conv)).status == "active"
        assert w.engine.system.restarts == restarts  # the queue met no stale timer


# -- abandonment ----------------------------------------------------------------------


async def left_waiting(w: World, seconds: float) -> str:
    """The waiting visitor's page closes; ``seconds`` pass. Returns its chat."""
    line = await one_waiting(w)
    line.visitor.detach()
    await w.settle()
    await w.advance(seconds)
    return line.conv


async def test_a_visitor_gone_while_queued_abandons_the_chat(tmp_path: Path) -> None:
    async with world(tmp_path, abandon_seconds=60) as w:
        conv = await left_waiting(w, 59.9)
        summary = await w.conversation(conv)
        assert summary.status == "queued" and not summary.visitor_connected
        await w.advance(0.2)
        summary = await w.conversation(conv)
        assert summary.status == "closed" and summary.missed
        assert await w.waiting() == []
        last = w.engine.transcript(conv)[-1]
        assert last.text == "The visitor left before anyone answered"


async def test_a_visitor_back_in_time_keeps_its_place(tmp_path: Path) -> None:
    async with world(tmp_path, abandon_seconds=60) as w:
        conv = await left_waiting(w, 45)
        _, sink = await w.come_back(w.tokens[conv])
        assert sink.of(Queued)[-1].position == 1
        await w.advance(300)
        summary = await w.conversation(conv)
        assert summary.status == "queued" and summary.visitor_connected
        assert await w.waiting() == [(conv, "")]


async def test_the_max_wait_holds_across_a_restart(tmp_path: Path) -> None:
    """A chat that waited 10 s of its 30 before the engine restarted is moved on
    20 s after, counted from when it joined the line."""
    async with world(tmp_path) as w:
        w.dept = await w.set(w.dept, max_wait_seconds=30)
        _, _, _, _, _, conv = await one_waiting(w)
        await w.advance(10)
        wall_ms, dept_id = w.clock.wall_ms(), w.dept.id
    clock = FakeClock(wall_ms=wall_ms)
    engine = Engine(tmp_path, clock=clock, scheduler=InlineScheduler())
    try:
        line = await engine.system.ref("queue", dept_id).ask(GetQueue())  # reloads the line
        assert [x.conversation_id for x in line] == [conv]
        conversation = engine.system.ref("conversation", conv)
        clock.advance(19.9)
        await engine.settle()
        assert (await conversation.ask(GetConversation())).status == "queued"
        clock.advance(0.2)
        await engine.settle()
        summary = await conversation.ask(GetConversation())
        assert summary.status == "closed" and summary.missed
    finally:
        await engine.close()
