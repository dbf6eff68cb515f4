"""Kill -9 at a random moment: every acknowledged message survives, exactly once,
in order, with contiguous seqs; unacknowledged ones are there at most once."""

from __future__ import annotations

import asyncio
import os
import random
import signal
from pathlib import Path
from typing import Any

import grpc
import orjson

from loadtest.server import start
from parley.v1 import control_pb2, control_pb2_grpc, operator_pb2, operator_pb2_grpc
from tests.integration.helpers import Visitor

VISITORS = 20
WINDOW = 8  # messages in flight per visitor


async def start_server(data: Path) -> tuple[asyncio.subprocess.Process, dict[str, str]]:
    server = await start(
        data,
        "--visitor-rate",
        "100000",
        "--visitor-burst",
        "100000",
        "--visitor-ip-rate",
        "1000000",
    )
    return server.proc, server.info


async def on_duty(where: dict[str, str]) -> tuple[Any, Any]:
    """The demo operator online over gRPC (a site takes chats only then)."""
    channel = grpc.aio.insecure_channel(where["grpc"])
    login = await control_pb2_grpc.AuthStub(channel).Login(
        control_pb2.LoginRequest(email=where["demo_email"], password=where["demo_password"])
    )

    async def commands() -> Any:
        hello = operator_pb2.OperatorCommand(hello=operator_pb2.OperatorHello())
        yield operator_pb2.OperatorCommandBatch(commands=[hello])
        await asyncio.Event().wait()  # keep the stream open

    call = operator_pb2_grpc.OperatorSessionStub(channel).Connect(
        commands(), metadata=[("authorization", f"Bearer {login.token}")]
    )
    await call.read()  # the session is ready
    return channel, call


class Progress:
    """Counts acknowledgements of all visitors; ``reached`` is set at ``target``."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.count = 0
        self.reached = asyncio.Event()

    def acked(self) -> None:
        self.count += 1
        if self.count >= self.target:
            self.reached.set()


async def chatter(
    url: str,
    index: int,
    acked: dict[str, int],
    sent: set[str],
    stop: asyncio.Event,
    identity: dict[str, Any],
    progress: Progress,
) -> None:
    v = await Visitor(url).connect()
    welcome = await v.hello(name=f"visitor {index}")
    identity["token"] = welcome["token"]
    n = 0
    in_flight = 0
    try:
        while not stop.is_set():
            while in_flight < WINDOW:
                cid = f"v{index}-{n}"
                n += 1
                sent.add(cid)
                v.send({"type": "msg", "cid": cid, "text": f"message {cid}"})
                in_flight += 1
            frame = await v.recv("ack", timeout=10)
            acked[frame["cid"]] = frame["seq"]
            in_flight -= 1
            progress.acked()
    except (TimeoutError, KeyError, AssertionError, OSError):
        pass  # the server died under us: that is the point


async def test_acknowledged_messages_survive_sigkill(tmp_path: Path) -> None:
    data = tmp_path / "data"
    proc, where = await start_server(data)
    url = f"ws://{where['ws']}/v1/visitor?site={where['site']}"
    channel, call = await on_duty(where)
    acked: list[dict[str, int]] = [{} for _ in range(VISITORS)]
    sent: list[set[str]] = [set() for _ in range(VISITORS)]
    identities: list[dict[str, Any]] = [{} for _ in range(VISITORS)]
    stop = asyncio.Event()
    # A random moment, counted in acknowledged messages rather than seconds.
    progress = Progress(random.randint(150, 1500))
    tasks = [
        asyncio.create_task(chatter(url, i, acked[i], sent[i], stop, identities[i], progress))
        for i in range(VISITORS)
    ]
    async with asyncio.timeout(60):
        await progress.reached.wait()
    os.kill(proc.pid, signal.SIGKILL)
    await proc.wait()
    stop.set()
    call.cancel()
    await channel.close()
    await asyncio.wait(tasks, timeout=15)
    total_acked = sum(len(a) for a in acked)
    assert total_acked > 100, "too few messages went through to prove anything"

    proc, where = await start_server(data)
    try:
        url = f"ws://{where['ws']}/v1/visitor?site={where['site']}"
        for i in range(VISITORS):
            if not identities[i]:
                continue
            v = await Visitor(url).connect()
            v.send({"type": "hello", "v": 1, "token": identities[i]["token"], "last_seq": 0})
            welcome = await v.recv("welcome", timeout=10)
            await v.round_trip()  # the whole replay is in
            stored = [f for f in v.frames() if f["type"] == "msg"]
            await v.close()
            if not acked[i]:
                continue
            assert welcome["conversation"], f"visitor {i} lost its conversation"
            seqs = [f["seq"] for f in stored]
            assert seqs == list(range(1, len(seqs) + 1)), f"visitor {i}: seqs not contiguous"
            by_cid: dict[str, list[int]] = {}
            for f in stored:
                if f["from"] == "visitor":
                    by_cid.setdefault(f["cid"], []).append(f["seq"])
            for cid, seq in acked[i].items():
                assert by_cid.get(cid) == [seq], f"acknowledged {cid} missing or moved"
            for cid, where_seq in by_cid.items():
                assert len(where_seq) == 1 and cid in sent[i]
    finally:
        proc.send_signal(signal.SIGTERM)
        await proc.wait()


async def test_waiting_chats_keep_their_place_through_a_kill(tmp_path: Path) -> None:
    """A chat's record and its place in line are one commit: after kill -9 every
    chat whose first message was acknowledged is assigned or still waiting, in
    the order it came."""
    data = tmp_path / "data"
    server = await start(data)
    where = server.info
    channel, call = await on_duty(where)  # the demo operator: 5 chats at most
    url = f"ws://{where['ws']}/v1/visitor?site={where['site']}"
    visitors = []
    for i in range(8):
        v = await Visitor(url).connect()
        await v.hello(name=f"visitor {i}")
        v.send({"type": "msg", "cid": "1", "text": "hello"})
        visitors.append(((await v.recv("ack"))["conversation"], v))
    os.kill(server.pid, signal.SIGKILL)
    await server.proc.wait()
    call.cancel()
    await channel.close()

    server = await start(data)
    try:
        channel = grpc.aio.insecure_channel(server.info["grpc"])
        creds = orjson.loads((data / "owner-credentials.json").read_bytes())
        login = await control_pb2_grpc.AuthStub(channel).Login(
            control_pb2.LoginRequest(email=creds["email"], password=creds["password"])
        )
        md = [("authorization", f"Bearer {login.token}")]
        waiting = await control_pb2_grpc.ConversationsStub(channel).ListWaitingConversations(
            control_pb2.ListWaitingConversationsRequest(department_id=server.info["department"]),
            metadata=md,
        )
        line = [c.conversation_id for c in waiting.chats]
        assert line == [conv for conv, _ in visitors[5:]]  # the first five were assigned
        await channel.close()
    finally:
        await server.stop()
