"""The runtime's promises about turns (``engine/runtime/system.py``): system
messages go before user messages, a busy actor yields after ``budget`` messages,
and a drain of the run queue gives the loop back after ``max_turns`` turns."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from engine.runtime import Actor, ActorSystem, Context, MailboxFull
from engine.runtime.system import LoopScheduler, Props


class Logger(Actor):
    """Appends (key, message) to a shared log; ('echo', m) sends itself the
    system message m while handling."""

    def __init__(self, key: str, log: list[Any]) -> None:
        self.key = key
        self.log = log

    def receive(self, message: Any, ctx: Context) -> Any:
        self.log.append((self.key, message))
        if isinstance(message, tuple) and message[0] == "echo":
            ctx.self_ref.tell_system(message[1])
        return None


def system_with(log: list[Any], **scheduler: int) -> ActorSystem:
    system = ActorSystem(scheduler=LoopScheduler(**scheduler))
    system.register("log", Props(lambda key, _snapshot: Logger(key, log), capacity=3))
    return system


async def drained(system: ActorSystem) -> None:
    """Until the run queue is empty (each drain is one loop callback)."""
    while system.scheduler.pending:
        await asyncio.sleep(0)


async def test_system_messages_go_first_and_one_sent_in_a_turn_waits_for_the_next() -> None:
    log: list[Any] = []
    system = system_with(log)
    ref = system.ref("log", "a")
    ref.tell(("echo", "late"))
    ref.tell("u2")
    ref.tell("u3")
    ref.tell_system("s1")  # queued after the user messages, handled before them
    await drained(system)
    assert [m for _, m in log] == ["s1", ("echo", "late"), "u2", "u3", "late"]


async def test_system_messages_are_never_refused() -> None:
    log: list[Any] = []
    system = system_with(log)
    ref = system.ref("log", "a")
    for i in range(3):
        ref.tell(i)
    with pytest.raises(MailboxFull):
        ref.tell(3)
    ref.tell_system("commit")  # the mailbox is full, and still it is taken
    await drained(system)
    assert [m for _, m in log] == ["commit", 0, 1, 2]


async def test_a_busy_actor_yields_after_its_budget() -> None:
    log: list[Any] = []
    system = system_with(log, budget=2)
    system.register("busy", Props(lambda key, _snapshot: Logger(key, log), capacity=100))
    a, b = system.ref("busy", "a"), system.ref("busy", "b")
    for i in range(6):
        a.tell(i)
    for i in range(3):
        b.tell(i)
    await drained(system)
    assert log == [
        ("a", 0), ("a", 1), ("b", 0), ("b", 1), ("a", 2), ("a", 3), ("b", 2), ("a", 4), ("a", 5),
    ]  # fmt: skip


async def test_a_drain_gives_the_loop_back_after_max_turns() -> None:
    log: list[Any] = []
    system = system_with(log, budget=1, max_turns=3)
    system.register("busy", Props(lambda key, _snapshot: Logger(key, log), capacity=100))
    ref = system.ref("busy", "a")
    for i in range(7):
        ref.tell(i)
    # A callback queued after the first drain runs after its third turn.
    asyncio.get_running_loop().call_soon(log.append, "loop")
    await drained(system)
    assert [m if isinstance(m, str) else m[1] for m in log] == [0, 1, 2, "loop", 3, 4, 5, 6]
