"""Actor runtime: ordering, ask, overflow, supervision, passivation."""

from __future__ import annotations

import asyncio
import gc
import weakref
from typing import Any

import orjson
import pytest

from engine.runtime import (
    Actor,
    ActorSystem,
    AskTimeout,
    Context,
    Directive,
    FakeClock,
    InlineScheduler,
    MailboxFull,
    SupervisorStrategy,
)
from engine.runtime.system import MemorySnapshots, Props


class Recorder(Actor):
    """Keeps what it got; 'boom' raises; ('get',) returns the log."""

    def __init__(self, key: str, snapshot: bytes | None) -> None:
        self.log: list[Any] = orjson.loads(snapshot) if snapshot else []

    def receive(self, message: Any, ctx: Context) -> Any:
        match message:
            case "boom":
                raise RuntimeError("boom")
            case ("get",):
                return list(self.log)
            case ("later", delay):
                ctx.start_timer("later", delay, ("fired",))
                return None
            case ("silent",):
                ctx.defer()  # never replies
                return None
            case ("rest",):
                ctx.rest()
                return None
            case ("rest", then):
                ctx.rest()
                ctx.self_ref.tell(then)  # queued for the next turn
                return None
            case _:
                self.log.append(message)
                return len(self.log)

    def snapshot(self) -> bytes | None:
        return orjson.dumps(self.log)


def make_system(**props: Any) -> tuple[ActorSystem, FakeClock, MemorySnapshots]:
    clock = FakeClock()
    snaps = MemorySnapshots()
    system = ActorSystem(scheduler=InlineScheduler(), clock=clock, snapshots=snaps)
    system.register("rec", Props(factory=Recorder, **props))
    return system, clock, snaps


def test_messages_from_one_sender_arrive_in_order() -> None:
    system, _, _ = make_system()
    ref = system.ref("rec", "a")
    for i in range(1000):
        ref.tell(i)
    replies: list[Any] = []
    ref.tell(("get",), lambda v, e: replies.append(v))
    assert replies == [list(range(1000))]


async def test_per_sender_order_on_the_loop_with_interleaved_senders() -> None:
    system = ActorSystem()
    system.register("rec", Props(factory=Recorder))
    ref = system.ref("rec", "a")
    for i in range(500):
        ref.tell(("x", i))
        ref.tell(("y", i))
    got = await ref.ask(("get",))
    xs = [i for tag, i in got if tag == "x"]
    ys = [i for tag, i in got if tag == "y"]
    assert xs == list(range(500)) and ys == list(range(500))


async def test_ask_times_out() -> None:
    system = ActorSystem()
    system.register("rec", Props(factory=Recorder))
    with pytest.raises(AskTimeout):
        await system.ref("rec", "a").ask(("silent",), timeout=0.05)


async def test_ask_returns_the_reply() -> None:
    system = ActorSystem()
    system.register("rec", Props(factory=Recorder))
    assert await system.ref("rec", "a").ask("hello") == 1


async def test_bounded_mailbox_rejects_overflow_and_keeps_what_it_took() -> None:
    system = ActorSystem()
    system.register("rec", Props(factory=Recorder, capacity=10))
    ref = system.ref("rec", "a")
    for i in range(10):
        ref.tell(i)
    with pytest.raises(MailboxFull):
        ref.tell(10)
    # The 10 accepted are all delivered once the loop runs; nothing else was.
    await asyncio.sleep(0)
    assert await ref.ask(("get",)) == list(range(10))


def test_failing_actor_restarts_from_last_snapshot_and_others_go_on() -> None:
    system, _, snaps = make_system()
    ref = system.ref("rec", "a")
    other = system.ref("rec", "b")
    ref.tell("kept")
    assert system.passivate("rec", "a")  # snapshot ["kept"]
    ref.tell("lost-on-restart")
    errors: list[Any] = []
    ref.tell("boom", lambda v, e: errors.append(e))
    other.tell("fine")
    assert errors and "boom" in str(errors[0])
    replies: list[Any] = []
    ref.tell(("get",), lambda v, e: replies.append(v))
    assert replies == [["kept"]]
    other.tell(("get",), lambda v, e: replies.append(v))
    assert replies[-1] == ["fine"]
    assert system.restarts == 1


def test_restart_budget_exhausted_stops_the_actor() -> None:
    strategy = SupervisorStrategy(max_restarts=2, window_seconds=60)
    system, _, _ = make_system(strategy=strategy)
    ref = system.ref("rec", "a")
    for _ in range(3):
        ref.tell("boom")
    assert system.restarts == 2
    assert not system.is_active("rec", "a")


def test_resume_directive_keeps_state() -> None:
    strategy = SupervisorStrategy(directives=((RuntimeError, Directive.RESUME),))
    system, _, _ = make_system(strategy=strategy)
    ref = system.ref("rec", "a")
    ref.tell("one")
    ref.tell("boom")
    replies: list[Any] = []
    ref.tell(("get",), lambda v, e: replies.append(v))
    assert replies == [["one"]]


def test_idle_actor_passivates_and_reactivates_with_state() -> None:
    system, clock, snaps = make_system(idle_seconds=30)
    system.start_passivation(interval=10)
    ref = system.ref("rec", "a")
    ref.tell("x")
    ref.tell("y")
    clock.advance(25)
    assert system.is_active("rec", "a")
    clock.advance(20)
    assert not system.is_active("rec", "a")
    assert orjson.loads(snaps.data[("rec", "a")]) == ["x", "y"]
    replies: list[Any] = []
    ref.tell(("get",), lambda v, e: replies.append(v))
    assert replies == [["x", "y"]]
    assert system.activated == 2


def test_an_actor_that_rests_is_passivated_after_its_turn() -> None:
    system, _, snaps = make_system()
    ref = system.ref("rec", "a")
    ref.tell("x")
    ref.tell(("rest",))
    assert not system.is_active("rec", "a")
    assert orjson.loads(snaps.data[("rec", "a")]) == ["x"]
    assert system.passivated == 1


def test_rest_waits_for_mail_and_timers() -> None:
    system, clock, _ = make_system()
    ref = system.ref("rec", "a")
    # Mail queued by the end of the turn is handled, not refused: no rest.
    ref.tell(("rest", "after"))
    assert system.is_active("rec", "a")
    replies: list[Any] = []
    ref.tell(("get",), lambda v, e: replies.append(v))
    assert replies == [["after"]]
    # A pending timer holds it too, as it holds the idle sweep.
    ref.tell(("later", 5.0))
    ref.tell(("rest",))
    assert system.is_active("rec", "a")
    clock.advance(6)
    ref.tell(("rest",))
    assert not system.is_active("rec", "a")


def test_a_reference_to_a_stopped_actor_keeps_none_of_its_state() -> None:
    system, _, _ = make_system()
    ref = system.ref("rec", "a")
    ref.tell("x")  # the reference is bound to the actor's cell now
    actor = weakref.ref(system._cells[("rec", "a")].actor)
    assert system.passivate("rec", "a")
    gc.collect()
    assert actor() is None
    replies: list[Any] = []
    ref.tell(("get",), lambda v, e: replies.append(v))  # back from its snapshot
    assert replies == [["x"]]


def test_timers_use_the_injected_clock() -> None:
    system, clock, _ = make_system()
    ref = system.ref("rec", "a")
    ref.tell(("later", 60.0))
    clock.advance(59)
    replies: list[Any] = []
    ref.tell(("get",), lambda v, e: replies.append(v))
    assert replies == [[]]
    clock.advance(2)
    ref.tell(("get",), lambda v, e: replies.append(v))
    assert replies[-1] == [("fired",)]


def test_bad_configuration_is_refused() -> None:
    with pytest.raises(ValueError, match="capacity"):
        Props(factory=Recorder, capacity=0)
    with pytest.raises(ValueError, match="max_restarts"):
        SupervisorStrategy(max_restarts=-1)
    system, _, _ = make_system()
    with pytest.raises(KeyError):
        system.ref("nope", "a")


def test_a_reference_to_a_stopped_actor_reaches_a_fresh_one() -> None:
    strategy = SupervisorStrategy(max_restarts=0)
    system, _, _ = make_system(strategy=strategy)
    ref = system.ref("rec", "a")
    ref.tell("before")
    ref.tell("boom")  # no restarts allowed: stopped
    assert not system.is_active("rec", "a")
    ref.tell("after")  # the same reference activates the actor again
    replies: list[Any] = []
    ref.tell(("get",), lambda v, e: replies.append(v))
    assert replies == [["after"]]
    assert system.activated == 2


def test_mailbox_statistics() -> None:
    system, _, _ = make_system()
    ref = system.ref("rec", "a")
    for i in range(5):
        ref.tell(i)
    cell = system._cells[("rec", "a")]
    stats = cell.stats()
    assert stats["received"] == 5 and stats["queued"] == 0 and stats["rejected"] == 0


async def test_a_tell_after_a_batch_of_asks_has_no_reply_to_defer() -> None:
    deferred: list[Any] = []

    class Deferring(Actor):
        def receive(self, message: Any, ctx: Context) -> Any:
            if message == "defer":
                deferred.append(ctx.defer())
            return message

    system = ActorSystem()
    system.register("d", Props(factory=lambda key, snap: Deferring()))
    ref = system.ref("d", "a")
    replies: list[Any] = []
    ref.tell("x", lambda v, e: replies.append(v))
    ref.tell("y", lambda v, e: replies.append(v))  # one batch, ending with an ask
    await asyncio.sleep(0.01)
    ref.tell("defer")  # a tell alone in the next turn
    await asyncio.sleep(0.01)
    assert replies == ["x", "y"] and deferred == [None]


async def test_tell_self_soon_lets_the_loop_run_in_between() -> None:
    turns: list[str] = []

    class Stepper(Actor):
        def receive(self, message: Any, ctx: Context) -> Any:
            turns.append(f"step{message}")
            if message < 3:
                ctx.tell_self_soon(message + 1)

    system = ActorSystem()
    system.register("s", Props(factory=lambda key, snap: Stepper()))
    system.ref("s", "a").tell(1)
    loop = asyncio.get_running_loop()
    for _ in range(20):
        loop.call_soon(turns.append, "io")
        await asyncio.sleep(0)
    steps = [i for i, t in enumerate(turns) if t.startswith("step")]
    assert [turns[i] for i in steps] == ["step1", "step2", "step3"]
    assert all(turns[i + 1] == "io" for i in steps[:-1])  # other work between the steps


class Saver(Recorder):
    """A Recorder that asks for its snapshot to be stored after each message."""

    def receive(self, message: Any, ctx: Context) -> Any:
        result = super().receive(message, ctx)
        ctx.save_snapshot()
        return result


class CountingSnapshots(MemorySnapshots):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []

    def save_snapshot(self, kind: str, key: str, data: bytes, done: Any) -> None:
        self.writes.append(data)
        super().save_snapshot(kind, key, data, done)


async def test_a_turn_stores_its_snapshot_once_as_the_turn_left_it() -> None:
    """Messages queued before the loop runs are one turn: one write, of the
    state the turn left (four writes before)."""
    snaps = CountingSnapshots()
    system = ActorSystem(snapshots=snaps)
    system.register("saver", Props(factory=Saver))
    ref = system.ref("saver", "a")
    for i in range(3):
        ref.tell(i)
    assert await ref.ask(("get",)) == [0, 1, 2]
    assert [orjson.loads(w) for w in snaps.writes] == [[0, 1, 2]]  # the ask was in the turn
    ref.tell(3)
    await ref.ask(("get",))
    assert [orjson.loads(w) for w in snaps.writes] == [[0, 1, 2], [0, 1, 2, 3]]


def test_a_failed_turns_save_is_dropped_and_the_actor_restarts_from_the_last_stored() -> None:
    system = ActorSystem(
        scheduler=InlineScheduler(), clock=FakeClock(), snapshots=(snaps := CountingSnapshots())
    )
    system.register("saver", Props(factory=Saver))
    ref = system.ref("saver", "a")
    ref.tell("kept")
    assert [orjson.loads(w) for w in snaps.writes] == [["kept"]]
    ref.tell("boom")  # fails before asking: nothing written, restarted from ["kept"]
    replies: list[Any] = []
    ref.tell(("get",), lambda v, e: replies.append(v))
    assert replies == [["kept"]]
