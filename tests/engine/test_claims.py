"""Claims a conversation makes on a colleague (invite, transfer, take-over) that
race with something else: the loser is refused and never shown the chat."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.app import Engine
from engine.chat.events import Assigned
from engine.chat.messages import CloseConversation, GetConversation, GetOperatorState, TakeOver
from engine.chat.sessions import OperatorSession, VisitorSession
from engine.errors import FailedPrecondition
from tests.engine.test_chat import Collect, principal, setup


async def colleague(engine: Engine, op: Any, name: str, online: bool = True) -> tuple[Any, Collect]:
    other = await engine.directory.add_operator(
        op.account_id,
        email=f"{name.lower()}@acme.test",
        password="correct horse",
        display_name=name,
        department_ids=[],  # takes no chats from the queue: only claims
        max_chats=2,
    )
    sink = Collect()
    if online:
        await OperatorSession(engine, principal(other), sink).hello({})
    return other, sink


async def chat_with_ana(tmp_path: Path) -> tuple[Engine, Any, str, Collect]:
    engine, site, dept, ana = await setup(tmp_path)
    ana_sink = Collect()
    await OperatorSession(engine, principal(ana), ana_sink).hello({})
    visitor = VisitorSession(engine, site, Collect())
    await visitor.hello(department_id=dept.id)
    visitor.send("m1", "hello?")
    await ana_sink.wait(lambda s: bool(s.of(Assigned)))
    return engine, ana, ana_sink.of(Assigned)[0].conversation_id, ana_sink


def shown(sink: Collect, conv: str) -> list[Assigned]:
    return [e for e in sink.of(Assigned) if e.conversation_id == conv]


async def test_the_second_of_two_take_overs_is_judged_after_the_first(tmp_path: Path) -> None:
    """Lea has no session, so her operator would refuse a claim: she is told the
    owner changed, which she hears first, and her operator is never asked."""
    engine, ana, conv, _ = await chat_with_ana(tmp_path)
    try:
        boss, boss_sink = await colleague(engine, ana, "Boss")
        lea, lea_sink = await colleague(engine, ana, "Lea", online=False)
        ref = engine.system.ref("conversation", conv)
        first = ref.ask(TakeOver(boss.id, "Boss", ana.id))
        second = ref.ask(TakeOver(lea.id, "Lea", ana.id))
        await first
        with pytest.raises(FailedPrecondition) as refused:
            await second
        assert refused.value.code == "owner_changed"
        await engine.settle()
        assert len(shown(boss_sink, conv)) == 1 and not shown(lea_sink, conv)
        summary = await ref.ask(GetConversation())
        assert list(summary.operators) == [boss.id]
    finally:
        await engine.close()


async def test_a_take_over_refused_at_the_end_is_never_shown(tmp_path: Path) -> None:
    """The chat closes while the taker's operator is accepting it: the taker is
    told it closed, is never shown the chat, and has its slot back."""
    engine, ana, conv, _ = await chat_with_ana(tmp_path)
    try:
        boss, boss_sink = await colleague(engine, ana, "Boss")
        ref = engine.system.ref("conversation", conv)
        taking = ref.ask(TakeOver(boss.id, "Boss", ana.id))
        ref.tell(CloseConversation("operator", ana.id, ""))  # handled before the claim's answer
        with pytest.raises(FailedPrecondition) as refused:
            await taking
        assert refused.value.code == "conversation_closed"
        await engine.settle()
        assert not shown(boss_sink, conv)
        state = await engine.system.ref("operator", boss.id).ask(GetOperatorState())
        assert state.load == 0 and not state.conversations
    finally:
        await engine.close()
