"""A stream's outgoing queue: bounded, and empty once the stream is over."""

from __future__ import annotations

import pytest

from control.grpc.streams import BatchSink
from engine.errors import PermissionDenied, Unavailable


async def test_a_reader_past_its_bound_is_cut_and_its_queue_let_go() -> None:
    sink: BatchSink[int] = BatchSink(limit=10)
    for i in range(10):
        sink.push(i)
    assert sink.events == list(range(10)) and not sink.overflowed
    sink.push(10)  # one past the bound
    assert sink.overflowed
    # Nothing held will be sent (the client resumes by seq): none of it stays.
    assert sink.events == []
    for i in range(1_000):  # the chats keep pushing until they hear it left
        sink.push(i)
    assert sink.events == []
    with pytest.raises(Unavailable) as info:
        async for _ in sink.batches():
            pass
    assert info.value.code == "too_slow"


async def test_an_ended_stream_holds_nothing_and_a_closed_one_drains() -> None:
    ended: BatchSink[int] = BatchSink(limit=10)
    ended.push(1)
    ended.end(PermissionDenied("token_revoked", "signed out"))
    ended.push(2)
    assert ended.events == []
    with pytest.raises(PermissionDenied):
        async for _ in ended.batches():
            pass

    closed: BatchSink[int] = BatchSink(limit=10)
    closed.push(1)
    closed.push(2)
    closed.close()  # the client's commands ended: what is queued still goes
    assert [batch async for batch in closed.batches()] == [[1, 2]]


def test_a_replay_finds_room_under_half_the_bound() -> None:
    sink: BatchSink[int] = BatchSink(limit=10)
    for i in range(4):
        sink.push(i)
    assert sink.has_room()
    sink.push(4)  # half the bound unread: replays wait, live events still go
    assert not sink.has_room() and sink.events == [0, 1, 2, 3, 4]
    sink.drop()
    # A stream that is over has room: what a replay pushes goes nowhere, so
    # its replays run to their end rather than wait for a reader that is gone.
    assert sink.has_room()


async def test_a_waiting_replay_is_woken_when_the_writer_takes_or_the_stream_ends() -> None:
    woken: list[str] = []
    sink: BatchSink[int] = BatchSink(limit=10)
    assert sink.when_room(lambda: woken.append("room now"))  # room: at once
    assert woken == ["room now"]
    for i in range(7):
        sink.push(i)
    assert sink.when_room(lambda: woken.append("a"))
    assert sink.when_room(lambda: woken.append("b"))
    assert woken == ["room now"]  # no room: they wait
    batches = sink.batches(limit=3)
    assert await anext(batches) == [0, 1, 2]  # 4 left: under half the bound
    assert woken == ["room now", "a", "b"]  # each once, in order
    for i in range(7, 12):
        sink.push(i)
    assert await anext(batches) == [3, 4, 5]  # 6 left: still no room
    assert sink.when_room(lambda: woken.append("c"))
    assert woken == ["room now", "a", "b"]
    sink.drop()  # the stream is cut: the replay goes on, to find it gone
    assert woken == ["room now", "a", "b", "c"]
