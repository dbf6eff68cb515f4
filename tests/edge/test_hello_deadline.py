"""The hello deadline runs on the engine's clock: a fake clock moves it, with no
wall time spent waiting."""

from __future__ import annotations

from pathlib import Path

from engine.runtime import FakeClock
from tests.integration.helpers import Visitor, running, visitor_url


async def test_the_hello_deadline_is_kept_on_the_injected_clock(tmp_path: Path) -> None:
    clock = FakeClock()
    async with running(tmp_path, clock=clock, hello_timeout=10.0) as app:
        v = await Visitor(visitor_url(app)).connect()
        # A round trip: the server has seen the connection and set its deadline.
        v.send({"type": "ping"})
        await v.recv("pong")
        clock.advance(9.9)
        v.send({"type": "ping"})
        await v.recv("pong")
        assert [f["type"] for f in v.seen] == ["pong", "pong"]  # still open, no error
        clock.advance(0.2)
        assert (await v.recv("error"))["code"] == "hello_timeout"
        assert (await v.recv("_disconnected"))["code"] == 4408


async def test_a_hello_in_time_calls_the_deadline_off(tmp_path: Path) -> None:
    clock = FakeClock()
    async with running(tmp_path, clock=clock, hello_timeout=10.0) as app:
        v = await Visitor(visitor_url(app)).connect()
        await v.hello()
        clock.advance(60)
        v.send({"type": "ping"})
        await v.recv("pong")
        assert "error" not in [f["type"] for f in v.seen]
