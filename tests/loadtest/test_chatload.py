"""The capacity benchmarks' load operators act as a console does when their
stream ends: they come back and resume the chats they are in, so a benchmark
whose operators were cut (a slow reader, an engine restarted) goes on, instead
of every later visitor being told no operator is online."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

from control.runner import Parley
from engine.chat.messages import GetOperatorState
from loadtest.chatload import Chat, Outcomes
from tests.integration.helpers import Visitor, running, visitor_url


class Fleet:
    """What a benchmark's Chat needs to know of a server a test started."""

    def __init__(self, app: Parley) -> None:
        assert app.demo is not None and app.owner is not None
        self.info: dict[str, Any] = {
            "grpc": f"127.0.0.1:{app.grpc_port}",
            "owner_email": app.owner["email"],
            "owner_password": app.owner["password"],
            "department": app.demo["department"],
            "ws": f"127.0.0.1:{app.http_port}",
            "site": app.demo["site"],
        }

    def visitor_url(self) -> str:
        return f"ws://{self.info['ws']}/v1/visitor?site={self.info['site']}"


async def online(app: Parley, email: str) -> bool:
    assert app.engine is not None
    operator = app.engine.directory.operator_by_email(email)
    assert operator is not None
    state = await app.engine.system.ref("operator", operator.id).ask(GetOperatorState())
    return bool(state.online)


async def test_a_load_operator_cut_by_a_restart_comes_back(tmp_path: Path) -> None:
    async with running(tmp_path) as first:
        out = Outcomes()
        chat = Chat(Fleet(first), out)  # type: ignore[arg-type]
        await chat.open(visitors=1, operators=1)  # its chat's first message acknowledged
        assert len(out.acked) == 1 and out.operator_cuts == 0
        assert await online(first, "load0@parley.local")
        config = dataclasses.replace(
            first.config,
            grpc_port=first.grpc_port,
            edge=dataclasses.replace(first.config.edge, port=first.http_port),
        )
    # Stopped: the operator's stream ended. Started again on the same ports
    # and data, the server sees the operator come back on its own.
    again = Parley(config)
    await again.start()
    try:
        async with asyncio.timeout(15):
            while not await online(again, "load0@parley.local"):
                await asyncio.sleep(0.02)
        assert out.operator_cuts >= 1
        # So a new visitor's message is taken, not refused as offline.
        v = await Visitor(visitor_url(again)).connect()
        await v.hello(name="After the restart")
        v.send({"type": "msg", "cid": "c1", "text": "anyone there?"})
        assert (await v.recv("ack"))["seq"] >= 1
        await v.close()
    finally:
        await chat.close()
        await again.stop()
