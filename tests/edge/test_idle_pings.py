"""A silent visitor websocket is pinged; one that does not answer is cut, one
that does stays (edge/idle.py: one timer for every connection)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from picows import WSCloseCode, WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from edge.idle import KERNEL_CLOCK, IdlePings
from tests.integration.helpers import running, visitor_url

pytestmark = pytest.mark.skipif(not KERNEL_CLOCK, reason="picows pings without TCP_INFO")


class Peer(WSListener):  # type: ignore[misc]
    """A visitor that sees the server's pings (picows does not answer them for
    it) and answers them only when told to."""

    def __init__(self, answer: bool) -> None:
        self.answer = answer
        self.events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self.seen: list[str] = []  # every event's kind, in order

    def _put(self, kind: str, value: Any) -> None:
        self.seen.append(kind)
        self.events.put_nowait((kind, value))

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        kind = frame.msg_type
        if kind is WSMsgType.PING:
            if self.answer:
                transport.send_pong(frame.get_payload_as_bytes())
            self._put("ping", time.monotonic())
        elif kind is WSMsgType.TEXT:
            self._put(orjson.loads(frame.get_payload_as_bytes())["type"], None)
        elif kind is WSMsgType.CLOSE:
            self._put("close", (frame.get_close_code(), time.monotonic()))

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self._put("disconnected", None)

    async def next(self, kind: str, timeout: float = 10.0) -> Any:
        """The value of the next event of ``kind``; other events are skipped."""
        async with asyncio.timeout(timeout):
            while True:
                got, value = await self.events.get()
                if got == kind:
                    return value


async def connect(url: str, answer: bool) -> tuple[WSTransport, Peer]:
    transport, peer = await ws_connect(lambda: Peer(answer), url, enable_auto_pong=False)
    transport.send(WSMsgType.TEXT, orjson.dumps({"type": "hello", "v": 1}))
    await peer.next("welcome")
    return transport, peer


async def test_a_visitor_that_does_not_answer_pings_is_cut_one_that_does_stays(
    tmp_path: Path,
) -> None:
    async with running(tmp_path, idle_timeout=0.4) as app:
        url = visitor_url(app)
        live_transport, live = await connect(url, answer=True)
        deaf_transport, deaf = await connect(url, answer=False)
        pinged_at = await deaf.next("ping")
        code, closed_at = await deaf.next("close")
        assert code == WSCloseCode.GOING_AWAY
        # Cut once its answer was overdue (0.4 s), not at the ping.
        assert closed_at - pinged_at >= 0.3
        await deaf.next("disconnected")
        # The other one answered its pings all along, and more of them since.
        await live.next("ping")
        await live.next("ping")
        live_transport.send(WSMsgType.TEXT, orjson.dumps({"type": "ping"}))
        await live.next("pong")
        assert "close" not in live.seen and "disconnected" not in live.seen
        live_transport.disconnect()
        await live_transport.wait_disconnected()
        deaf_transport.disconnect()


async def test_a_visitor_that_talks_is_not_pinged(tmp_path: Path) -> None:
    async with running(tmp_path, idle_timeout=0.6) as app:
        url = visitor_url(app)
        talker_transport, talker = await connect(url, answer=False)
        quiet_transport, quiet = await connect(url, answer=True)
        # Frames every 0.1 s from one, nothing from the other: the quiet one is
        # pinged twice (so its idle time has passed twice) while the other is not.
        pings = 0
        async with asyncio.timeout(20):
            while pings < 2:
                talker_transport.send(WSMsgType.TEXT, orjson.dumps({"type": "ping"}))
                await talker.next("pong")
                try:
                    await quiet.next("ping", timeout=0.1)
                    pings += 1
                except TimeoutError:
                    # Cut though it answers every ping (its pong, in the tick
                    # of its ping, once looked as old as the ping): say so.
                    assert "close" not in quiet.seen, quiet.seen
        talker_transport.send(WSMsgType.TEXT, orjson.dumps({"type": "ping"}))
        await talker.next("pong")  # a round trip: whatever came before it is queued
        assert "ping" not in talker.seen
        assert quiet.seen.count("ping") >= 2
        for transport in (talker_transport, quiet_transport):
            transport.disconnect()
            await transport.wait_disconnected()


def test_timeouts_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        IdlePings(0, 30)


def test_a_round_is_spread_over_its_steps() -> None:
    """100 connections, pinged every 15 s in steps of 0.5 s: each step looks at
    its share (4 at most), and a round at each connection once, within the 15 s."""
    looked: list[int] = []

    class Conn:
        def __init__(self, n: int) -> None:
            self.n = n

        @property
        def transport(self) -> None:
            looked.append(self.n)
            return None  # gone: nothing to ping

    pings = IdlePings(30, 30)
    assert pings.steps == 30
    conns = [Conn(n) for n in range(100)]
    for conn in conns:
        pings.watched.add(conn)
    for step in range(pings.steps):
        before = len(looked)
        pings.step(float(step))
        assert len(looked) - before <= 4
        if step == 24:  # 25 steps of 4: the round is done, each looked at once
            assert sorted(looked) == list(range(100))
    # The next round starts again from every connection.
    assert len(set(looked[100:])) == len(looked[100:]) == 20


async def test_a_pong_within_the_kernels_tick_of_its_ping_counts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The kernel says how long a socket has been silent in ticks (4 ms at
    HZ=250), so a pong on a fast link can look as old as its ping: measured
    0.25 s later it reads 252 ms, not under the 250 since the ping. That answer
    counts; a socket silent since before the ping is still cut at ``reply``."""
    kernel: dict[Any, int] = {}  # what TCP_INFO says of each socket, in ms
    monkeypatch.setattr("edge.idle.silent_ms", lambda transport: kernel[transport])

    class Transport:
        is_disconnected = False
        is_close_frame_sent = False

        def __init__(self) -> None:
            self.pings = 0
            self.closed = 0
            self.underlying_transport = self

        def send_ping(self) -> None:
            self.pings += 1

        def send_close(self, code: Any, reason: bytes) -> None:
            self.closed += 1
            self.is_close_frame_sent = True

        def abort(self) -> None:
            self.is_disconnected = True

    class Conn:
        def __init__(self) -> None:
            self.transport = Transport()

    pings = IdlePings(1.0, 1.0)
    quick, deaf = Conn(), Conn()
    pings.watched.add(quick)
    pings.watched.add(deaf)
    kernel[quick.transport] = kernel[deaf.transport] = 1000  # silent for the idle time
    pings.check(10.0)
    assert quick.transport.pings == deaf.transport.pings == 1
    kernel[quick.transport] = 252  # the pong, in the ping's tick
    kernel[deaf.transport] = 1252  # nothing since
    pings.check(10.25)
    kernel[quick.transport] = 1002
    kernel[deaf.transport] = 2002
    pings.check(11.0)  # a second after the ping
    assert deaf.transport.closed == 1  # no answer within reply: cut
    assert quick.transport.closed == 0 and quick.transport.pings == 2  # answered: idle again
