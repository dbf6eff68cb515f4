"""SIGTERM drains a real ``parley serve``: visitors are closed with 1001 (going
away) and operators' streams end with UNAVAILABLE ``server_stopping``, the
process exits 0, and every message acknowledged before the stop is stored."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import grpc
import pytest

from edge.visitor.codes import CLOSE_GOING_AWAY
from parley.v1 import operator_pb2
from tests.integration.helpers import Visitor, demo_operator, running
from tests.integration.process import serve
from tests.integration.test_durability import on_duty

FAST = ("--visitor-rate", "100000", "--visitor-burst", "100000", "--visitor-ip-rate", "1000000")
SENT = 200


async def stream_end(call: Any) -> grpc.aio.AioRpcError:
    """The error an operator's stream ends with, read to its end."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async with asyncio.timeout(30):
            while True:
                await call.read()
    return caught.value


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_a_stop_drains_and_loses_no_acknowledged_message(
    tmp_path: Path, sig: signal.Signals
) -> None:
    data = tmp_path / "data"
    served = await serve(data, *FAST)
    signalled: signal.Signals | None = None
    try:
        channel, call = await on_duty(served.info)
        v = await Visitor(served.visitor_url()).connect()
        token = (await v.hello(name="Bob"))["token"]
        for i in range(SENT):
            v.send({"type": "msg", "cid": f"m{i}", "text": f"message {i}"})
        acked: dict[str, int] = {}
        while len(acked) < 20:  # the stop lands while the rest are on their way
            ack = await v.recv("ack", timeout=30)
            acked[ack["cid"]] = ack["seq"]
        served.proc.send_signal(sig)
        signalled = sig  # once: a second SIGINT while stopping is the default's
        async with asyncio.timeout(30):
            while (frame := await v.inbox.get())["type"] != "_disconnected":
                if frame["type"] == "ack":
                    acked[frame["cid"]] = frame["seq"]
        assert frame["code"] == CLOSE_GOING_AWAY
        ended = await stream_end(call)
        assert ended.code() is grpc.StatusCode.UNAVAILABLE
        assert (ended.details() or "").startswith("server_stopping: ")
        await channel.close()
    finally:
        code = await served.stop(None if signalled else sig)
    assert code == 0, "".join(served.stderr)
    log = "".join(served.stderr)
    assert f"stopping on {sig.name}" in log and "draining: 1 streams and 1 visitor" in log

    served = await serve(data, *FAST)
    try:
        again = await Visitor(served.visitor_url()).connect()
        again.send({"type": "hello", "v": 1, "token": token, "last_seq": 0})
        await again.recv("welcome", timeout=30)
        await again.round_trip()  # the whole replay is in
        stored = {f["cid"]: f["seq"] for f in again.frames() if f["type"] == "msg" and f.get("cid")}
        await again.close()
    finally:
        assert await served.stop() == 0
    assert len(acked) >= 20
    assert {cid: stored.get(cid) for cid in acked} == acked


async def test_a_stream_opened_once_a_stop_began_is_told_to_reconnect(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        assert app.engine is not None
        op = await demo_operator(app)
        app.engine.stopping = True  # the stop's first step, before the servers close
        assert app.engine.status().health == "stopping"
        await op.open(hello=False)
        op.send_commands(operator_pb2.OperatorCommand(hello=operator_pb2.OperatorHello()))
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await op.recv()
        assert caught.value.code() is grpc.StatusCode.UNAVAILABLE
        assert (caught.value.details() or "").startswith("server_stopping: ")
