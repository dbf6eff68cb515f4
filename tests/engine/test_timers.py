"""Keyed timers on the inline scheduler with a fake clock: no wall time, no loop
(but for ask, whose future needs one)."""

from __future__ import annotations

from typing import Any

import pytest

from engine.runtime import (
    Actor,
    ActorSystem,
    AskTimeout,
    Context,
    FakeClock,
    InlineScheduler,
    SupervisorStrategy,
)
from engine.runtime.system import MemorySnapshots, Props


class Sleeper(Actor):
    """Arms, cancels and reports timers as its messages say; keeps what fired."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock  # lets a turn move time (see advance_then)
        self.fired: list[Any] = []

    def receive(self, message: Any, ctx: Context) -> Any:
        match message:
            case ("start", key, delay, what):
                ctx.start_timer(key, delay, ("fired", what))
            case ("cancel", key):
                ctx.cancel_timer(key)
            case ("has", key):
                return ctx.has_timer(key)
            case ("advance_then", seconds, then):
                # Time moves inside the turn: a timer falling due now queues its
                # fire behind this message; ``then`` is handled before it is.
                self.clock.advance(seconds)
                self.receive(then, ctx)
            case ("waker", what, into):
                into.append(ctx.waker(("fired", what)))
            case ("start_and_stop", key, delay):
                ctx.start_timer(key, delay, ("fired", key))
                ctx.stop()
            case "boom":
                raise RuntimeError("boom")
            case ("silent",):
                ctx.defer()  # never replies
            case ("get",):
                return list(self.fired)
            case ("fired", what):
                self.fired.append(what)
        return None


class Rearming(Sleeper):
    """Arms a timer as it starts (and so again after each restart)."""

    def started(self, ctx: Context) -> None:
        ctx.start_timer("boot", 10.0, ("fired", "boot"))


def make_system(**props: Any) -> tuple[ActorSystem, FakeClock]:
    clock = FakeClock()
    system = ActorSystem(scheduler=InlineScheduler(), clock=clock, snapshots=MemorySnapshots())
    system.register("sleeper", Props(factory=lambda _key, _snap: Sleeper(clock), **props))
    system.register("rearming", Props(factory=lambda _key, _snap: Rearming(clock), **props))
    return system, clock


def fired(system: ActorSystem, kind: str = "sleeper", key: str = "a") -> list[Any]:
    replies: list[Any] = []
    system.ref(kind, key).tell(("get",), lambda value, error: replies.append(value))
    return replies[0]


def test_a_timer_fires_once_after_its_delay_on_the_injected_clock() -> None:
    system, clock = make_system()
    ref = system.ref("sleeper", "a")
    ref.tell(("start", "t", 30.0, "one"))
    clock.advance(29.9)
    assert fired(system) == []
    clock.advance(0.2)
    assert fired(system) == ["one"]
    clock.advance(300)
    assert fired(system) == ["one"]


def test_starting_a_key_again_replaces_its_timer() -> None:
    system, clock = make_system()
    ref = system.ref("sleeper", "a")
    ref.tell(("start", "t", 10.0, "first"))
    ref.tell(("start", "t", 20.0, "second"))
    clock.advance(15)
    assert fired(system) == []
    clock.advance(10)
    assert fired(system) == ["second"]


def test_a_cancelled_timer_never_fires_and_other_keys_do() -> None:
    system, clock = make_system()
    ref = system.ref("sleeper", "a")
    ref.tell(("start", "t", 10.0, "cancelled"))
    ref.tell(("start", "u", 10.0, "kept"))
    ref.tell(("cancel", "t"))
    ref.tell(("cancel", "never-started"))  # nothing to cancel: fine
    clock.advance(60)
    assert fired(system) == ["kept"]


def test_keys_are_per_actor() -> None:
    system, clock = make_system()
    system.ref("sleeper", "a").tell(("start", "t", 10.0, "a's"))
    system.ref("sleeper", "b").tell(("start", "t", 10.0, "b's"))
    system.ref("sleeper", "b").tell(("cancel", "t"))
    clock.advance(10)
    assert fired(system, key="a") == ["a's"]
    assert fired(system, key="b") == []


def test_a_fire_already_queued_is_dropped_when_its_timer_is_cancelled() -> None:
    system, clock = make_system()
    ref = system.ref("sleeper", "a")
    ref.tell(("start", "t", 10.0, "late"))
    # The timer falls due during the turn: its fire sits in the mailbox when
    # the same turn cancels it.
    ref.tell(("advance_then", 10.0, ("cancel", "t")))
    cell = system._cells[("sleeper", "a")]
    assert cell.received == 3  # the fire was dequeued, and dropped unseen
    assert fired(system) == []


def test_a_fire_already_queued_is_dropped_when_its_timer_is_replaced() -> None:
    system, clock = make_system()
    ref = system.ref("sleeper", "a")
    ref.tell(("start", "t", 10.0, "old"))
    ref.tell(("advance_then", 10.0, ("start", "t", 5.0, "new")))
    assert fired(system) == []
    clock.advance(5)
    assert fired(system) == ["new"]


def test_has_timer_until_it_fires() -> None:
    system, clock = make_system()
    ref = system.ref("sleeper", "a")
    answers: list[Any] = []
    ref.tell(("start", "t", 10.0, "x"))
    ref.tell(("has", "t"), lambda value, error: answers.append(value))
    clock.advance(10)
    ref.tell(("has", "t"), lambda value, error: answers.append(value))
    assert answers == [True, False]


def test_a_pending_timer_holds_passivation() -> None:
    system, clock = make_system(idle_seconds=30)
    system.start_passivation(interval=10)
    ref = system.ref("sleeper", "a")
    ref.tell(("start", "t", 100.0, "x"))
    clock.advance(90)  # idle for many sweeps, but waiting on its timer
    assert system.is_active("sleeper", "a") and system.passivated == 0
    clock.advance(10)
    assert fired(system) == ["x"]
    clock.advance(50)  # the timer is over: idle now
    assert not system.is_active("sleeper", "a")
    assert system.passivated == 1


def test_stopping_drops_the_timers() -> None:
    system, clock = make_system()
    ref = system.ref("sleeper", "a")
    ref.tell(("start", "t", 10.0, "x"))
    ref.tell(("start_and_stop", "u", 10.0))
    assert not system.is_active("sleeper", "a")
    clock.advance(60)
    # Nothing woke a fresh actor: the fires went with the stopped one.
    assert not system.is_active("sleeper", "a") and system.activated == 1


def test_a_waker_wakes_its_activation_and_not_a_later_one() -> None:
    """A waker (a reader saying it has room) hands its message to the actor
    that made it, each time it is called; once that activation has stopped it
    does nothing: no new activation for a message only the old one could use."""
    system, _clock = make_system()
    ref = system.ref("sleeper", "a")
    wakers: list[Any] = []
    ref.tell(("waker", "room", wakers))
    (wake,) = wakers
    wake()
    assert fired(system) == ["room"]
    assert system.passivate("sleeper", "a")
    wake()
    assert not system.is_active("sleeper", "a") and system.activated == 1


def test_explicit_passivation_drops_the_timers() -> None:
    system, clock = make_system()
    ref = system.ref("sleeper", "a")
    ref.tell(("start", "t", 10.0, "x"))
    assert system.passivate("sleeper", "a")
    clock.advance(60)
    assert not system.is_active("sleeper", "a") and system.activated == 1


def test_a_restarted_actor_starts_without_timers_and_its_started_may_rearm() -> None:
    system, clock = make_system(strategy=SupervisorStrategy(max_restarts=5))
    ref = system.ref("rearming", "a")
    ref.tell(("start", "t", 5.0, "before the crash"))
    clock.advance(4)
    ref.tell("boom")  # restart: "t" and the first "boot" are dropped
    assert system.restarts == 1
    clock.advance(8)  # past the first boot timer and "t", short of the new boot
    assert fired(system, "rearming") == []
    clock.advance(2)
    assert fired(system, "rearming") == ["boot"]


def test_a_bad_delay_is_refused_clearly() -> None:
    system, _clock = make_system(strategy=SupervisorStrategy(max_restarts=5))
    ref = system.ref("sleeper", "a")
    errors: list[Any] = []
    bad = (-1.0, float("nan"), float("inf"), "10")
    for delay in bad:
        ref.tell(("start", "t", delay, "x"), lambda value, error: errors.append(error))
    assert len(errors) == len(bad)
    assert all("timer delay must be a finite number" in str(e) for e in errors)


async def test_ask_times_out_on_the_injected_clock() -> None:
    system, clock = make_system()
    pending = system.ref("sleeper", "a").ask(("silent",), timeout=5.0)
    clock.advance(4.9)
    assert not pending.done()
    clock.advance(0.2)
    assert pending.done()
    with pytest.raises(AskTimeout):
        pending.result()
