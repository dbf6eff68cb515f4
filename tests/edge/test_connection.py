"""The visitor connection's state machine, driven without a loop or a socket."""

from __future__ import annotations

import pytest

from edge.visitor.codes import CLOSE_RATE
from edge.visitor.connection import ConnectionState, Phase
from edge.visitor.frames import FrameError, Hello, Ping, ReadTo, Send


def test_frames_during_a_hello_are_held_and_handed_back_in_order() -> None:
    state = ConnectionState(100.0, 10.0)
    assert state.hello_deadline == 110.0
    assert state.accept(Send("c0", "early")) == Send("c0", "early")  # the session refuses it
    hello = Hello(department="d1")
    assert state.accept(hello) is hello
    assert state.phase is Phase.GREETING
    held = [Send("c1", "a"), Ping(), FrameError("bad_json", "x"), Hello(), ReadTo(1)]
    assert [state.accept(frame) for frame in held] == [None] * len(held)
    assert state.hello_done(welcomed=True) == held
    assert state.ready and state.hello_deadline is None
    assert state.held == []
    assert state.accept(ReadTo(2)) == ReadTo(2)


def test_a_refusal_that_closes_does_not_wait_for_a_running_hello() -> None:
    """A flood during a long hello (a resume at a slow reader's pace) is closed
    when its strikes run out, not held with the frames behind the hello."""
    state = ConnectionState(0.0, 10.0)
    state.accept(Hello())
    assert state.accept(FrameError("rate_limited", "slow down")) is None  # held
    closing = FrameError("rate_limited", "too many frames; closing", "", CLOSE_RATE)
    assert state.accept(closing) is closing
    assert state.held == [FrameError("rate_limited", "slow down")]


def test_a_refused_hello_leaves_the_connection_waiting_with_its_deadline() -> None:
    state = ConnectionState(0.0, 5.0)
    state.accept(Hello(department="dnosuch"))
    state.accept(Send("c1", "held"))
    assert state.hello_done(welcomed=False) == [Send("c1", "held")]
    assert state.phase is Phase.WAITING and state.hello_deadline == 5.0
    assert state.deadline_reached()  # the timer fired: close it
    assert not state.deadline_reached()  # spent


def test_a_running_hello_outlives_the_deadline_and_a_refusal_after_it_closes() -> None:
    """A resume replays what was missed at the reader's pace, which may take
    longer than the deadline: the running hello decides. Refused, the
    connection is past its deadline (the glue arms the timer again, due now)."""
    state = ConnectionState(0.0, 5.0)
    state.accept(Hello())
    assert not state.deadline_reached()
    state.hello_done(welcomed=False)
    assert state.deadline_reached()
    assert not state.deadline_reached()  # spent


def test_a_welcomed_connection_ignores_its_deadline_and_a_second_hello() -> None:
    state = ConnectionState(0.0, 5.0)
    state.accept(Hello())
    state.hello_done(welcomed=True)
    assert not state.deadline_reached()
    state.accept(Hello())  # run, and refused by the session
    assert state.hello_done(welcomed=False) == []
    assert state.ready


def test_misuse_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="hello_timeout"):
        ConnectionState(0.0, 0.0)
    with pytest.raises(RuntimeError, match="without a hello"):
        ConnectionState(0.0, 1.0).hello_done(welcomed=True)
