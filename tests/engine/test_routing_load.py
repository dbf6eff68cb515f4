"""Assignment under concurrency, through the engine's sessions on a real LMDB:
1,000 visitors arriving at once on 50 operators, and a hypothesis property test
of the same invariants over random event sequences.

Invariants (PRODUCT.md E1): no operator ever receives a chat at its limit; no
chat is assigned twice; none is lost (every chat is assigned or waiting); the
queue is first come, first served; nobody waits while an operator has room.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.app import Engine
from engine.chat.auth import Principal
from engine.chat.events import Assigned, Closed
from engine.chat.messages import GetOperatorState, GetQueue, SettingsChanged
from engine.chat.records import Operator
from engine.chat.sessions import OperatorSession, VisitorSession
from tests.conftest import CHEAP_HASHER

HASH = CHEAP_HASHER.hash("a password for tests")


class Ledger:
    """Every assignment in the order operators received them, checked as it
    happens: an operator's open chats (assigned minus closed, as its sessions
    saw them) never exceed its limit when a new one arrives."""

    def __init__(self) -> None:
        self.order: list[str] = []
        self.assigned: dict[str, str] = {}  # conversation -> operator
        self.violations: list[str] = []


class Desk:
    """One operator's session and what it saw."""

    def __init__(self, engine: Engine, op: Operator, ledger: Ledger) -> None:
        self.op = op
        self.ledger = ledger
        self.open: set[str] = set()
        self.session = OperatorSession(engine, Principal(op.id, op.account_id, op.role, b""), self)
        self.limit = op.max_chats

    def push(self, event: Any) -> None:
        ledger = self.ledger
        if type(event) is Assigned:
            conv = event.conversation_id
            if len(self.open) >= self.limit:
                ledger.violations.append(f"{self.op.id} got {conv} with {len(self.open)} open")
            if conv in ledger.assigned:
                ledger.violations.append(f"{conv} assigned twice")
            ledger.assigned[conv] = self.op.id
            ledger.order.append(conv)
            self.open.add(conv)
        elif type(event) is Closed:
            self.open.discard(event.conversation_id)


class Nobody:
    def push(self, event: Any) -> None:
        pass


async def build(
    data: Path, operators: int, limit: int
) -> tuple[Engine, str, Any, list[Desk], Ledger]:
    engine = Engine(data, password_hasher=CHEAP_HASHER)
    d = engine.directory
    account = await d.create_account("load")
    site = await d.create_site(account.id, "web", [])
    dept = await d.create_department(account.id, site.id, "Support")
    ledger = Ledger()
    desks = []
    for i in range(operators):
        op = await d.add_operator(
            account.id,
            email=f"op{i}@load.test",
            password="",
            display_name=f"Op {i}",
            department_ids=[dept.id],
            max_chats=limit,
            password_hash=HASH,
        )
        desk = Desk(engine, op, ledger)
        await desk.session.hello({})
        desks.append(desk)
    return engine, dept.id, site, desks, ledger


async def arrive(engine: Engine, site: Any, dept_id: str, n: int) -> list[VisitorSession]:
    visitors = [VisitorSession(engine, site, Nobody()) for _ in range(n)]
    await asyncio.gather(*(v.hello(department_id=dept_id) for v in visitors))
    for i, v in enumerate(visitors):  # all in one loop turn: they arrive at once
        v.send(f"c{i}", "hello, anyone?")
    await engine.settle()
    return visitors


async def waiting(engine: Engine, dept_id: str) -> list[str]:
    line = await engine.system.ref("queue", dept_id).ask(GetQueue())
    return [w.conversation_id for w in line]


async def test_a_thousand_visitors_on_fifty_operators(tmp_path: Path) -> None:
    engine, dept_id, site, desks, ledger = await build(tmp_path, operators=50, limit=2)
    try:
        visitors = await arrive(engine, site, dept_id, 1000)
        convs = {v.conversation_id for v in visitors}
        assert len(convs) == 1000 and "" not in convs
        assert len(ledger.assigned) == 100
        line = await waiting(engine, dept_id)
        assert len(line) == 900 and set(line).isdisjoint(ledger.assigned)
        first_round = len(ledger.order)
        rng = random.Random(7)
        rounds = 0
        while len(ledger.assigned) < 1000:
            rounds += 1
            assert rounds < 200, "the queue stopped moving"
            busy = [(desk, conv) for desk in desks for conv in sorted(desk.open)]
            for desk, conv in rng.sample(busy, k=rng.randint(1, min(60, len(busy)))):
                desk.session.close_conversation(conv)
            await engine.settle()
            left = await waiting(engine, dept_id)
            # Nobody waits while someone has room; the line keeps its order.
            if left:
                assert all(len(desk.open) == desk.limit for desk in desks)
            assert left == [c for c in line if c not in ledger.assigned]
        assert ledger.violations == []
        # After the first wave, chats were assigned exactly in the order they queued.
        assert ledger.order[first_round:] == line
        assert set(ledger.assigned) == convs
    finally:
        await engine.close()


# -- the same invariants over random event sequences ---------------------------------

OPS = 4
event = st.one_of(
    st.tuples(st.just("arrive"), st.integers(1, 3)),
    st.tuples(st.just("close"), st.integers(0, 50)),  # an operator closes a chat
    st.tuples(st.just("leave"), st.integers(0, 50)),  # a waiting visitor closes
    st.tuples(st.just("status"), st.integers(0, OPS - 1), st.sampled_from(["online", "away"])),
    st.tuples(st.just("raise"), st.integers(0, OPS - 1)),  # an operator's limit goes up
)


async def play(data: Path, events: list[tuple[Any, ...]]) -> None:
    engine, dept_id, site, desks, ledger = await build(data, operators=OPS, limit=1)
    arrivals: list[str] = []
    visitors: list[VisitorSession] = []
    gone: set[str] = set()
    online = [True] * OPS  # each desk's status: a session starts online
    try:
        for step in events:
            kind = step[0]
            if kind == "arrive":
                for v in await arrive(engine, site, dept_id, step[1]):
                    # With every operator away the department is offline: the
                    # message is refused and no chat begins. Only then.
                    if v.conversation_id:
                        arrivals.append(v.conversation_id)
                    else:
                        assert not any(online), "no chat for a visitor while someone was online"
                    visitors.append(v)
            elif kind == "close":
                busy = sorted((c, desk) for desk in desks for c in desk.open)
                if busy:
                    conv, desk = busy[step[1] % len(busy)]
                    desk.session.close_conversation(conv)
            elif kind == "leave":
                queued = [v for v in visitors if v.conversation_id not in ledger.assigned]
                queued = [v for v in queued if v.conversation_id and v.conversation_id not in gone]
                if queued:
                    v = queued[step[1] % len(queued)]
                    gone.add(v.conversation_id)
                    v.close_conversation()
            elif kind == "status":
                desks[step[1]].session.set_status(step[2])
                online[step[1]] = step[2] == "online"
            elif kind == "raise":
                desk = desks[step[1]]
                desk.limit += 1
                op = await engine.directory.update_operator(
                    desk.op.account_id, desk.op.id, {"max_chats": desk.limit}
                )
                engine.system.ref("operator", op.id).tell(SettingsChanged())
            await engine.settle()
            line = await waiting(engine, dept_id)
            assert ledger.violations == []
            # Nothing lost: every chat is assigned, waiting, or left while waiting.
            assert set(arrivals) == set(ledger.assigned) | set(line) | gone
            assert set(ledger.assigned).isdisjoint(line)
            # First come, first served: the line is in arrival order, and every
            # assigned chat arrived before every chat still waiting.
            order = {c: i for i, c in enumerate(arrivals)}
            assert line == sorted(line, key=order.__getitem__)
            if line and ledger.assigned:
                assert max(order[c] for c in ledger.assigned) < order[line[0]]
            # Nobody waits while an online operator has room.
            if line:
                for desk in desks:
                    state = await engine.system.ref("operator", desk.op.id).ask(GetOperatorState())
                    if state.status == "online":
                        assert state.load >= desk.limit, (desk.op.id, state)
    finally:
        await engine.close()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(event, min_size=1, max_size=25))
def test_assignment_invariants_hold_for_any_sequence(
    tmp_path: Path, events: list[tuple[Any, ...]]
) -> None:
    import uvloop

    data = Path(tempfile.mkdtemp(dir=tmp_path))
    uvloop.run(play(data, events))
