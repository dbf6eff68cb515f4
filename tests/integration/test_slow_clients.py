"""Clients that stop reading are cut off; nothing grows without bound, and the
others go on."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import orjson
import pytest

from control.runner import Parley
from edge import server as edge_server
from edge.visitor.protocol import MAX_RATE_STRIKES
from engine.chat.messages import GetConversation, GetOperatorState
from parley.v1 import operator_pb2
from tests.integration.helpers import (
    Operator,
    Visitor,
    demo_operator,
    hears_reset,
    masked_text_frame,
    no_replay_timer,
    pings,
    raw_resume,
    raw_visitor,
    running,
    visitor_url,
)

BIG = "x" * 3900


async def test_an_operator_that_does_not_read_loses_its_stream(tmp_path: Path) -> None:
    async with running(
        tmp_path, stream_backlog=50, visitor_rate=10_000, visitor_burst=10_000
    ) as app:
        lazy = await demo_operator(app)
        outbox: asyncio.Queue[object] = asyncio.Queue()

        async def commands() -> AsyncIterator[operator_pb2.OperatorCommandBatch]:
            yield operator_pb2.OperatorCommandBatch(
                commands=[operator_pb2.OperatorCommand(hello=operator_pb2.OperatorHello())]
            )
            await outbox.get()  # hold the stream open; never read from it

        call = lazy.sessions.Connect(commands(), metadata=lazy.metadata)
        # The session is attached once it says ready; from then on nobody reads.
        async with asyncio.timeout(10):
            while not any(e.WhichOneof("event") == "ready" for e in (await call.read()).events):
                pass
        assert await _online(app, app.demo["operator"])  # type: ignore[index]
        v = await Visitor(visitor_url(app)).connect()
        await v.hello()
        for i in range(400):
            v.send({"type": "msg", "cid": f"m{i}", "text": BIG})
        for _ in range(400):
            ack = await v.recv("ack", timeout=20)
        # The server gave up on the stream: reading it now ends in UNAVAILABLE.
        with pytest.raises(grpc.aio.AioRpcError) as info:
            async with asyncio.timeout(20):
                while await call.read() is not grpc.aio.EOF:
                    pass
        assert info.value.code() is grpc.StatusCode.UNAVAILABLE
        assert "too_slow" in (info.value.details() or "")
        # A fresh session resumes the conversation where its client had got to
        # (a replay counts toward the backlog too, and this one is small).
        fresh = await demo_operator(app)
        await fresh.open(resume={ack["conversation"]: ack["seq"] - 3})
        assigned = await fresh.recv("assigned")
        assert assigned.conversation_id == ack["conversation"]
        replay = [(await fresh.recv("message")).seq for _ in range(3)]
        assert replay == [ack["seq"] - 2, ack["seq"] - 1, ack["seq"]]
        await fresh.close()
        outbox.put_nowait(None)
        await lazy.close()


async def test_a_visitor_that_does_not_read_is_cut_off(tmp_path: Path) -> None:
    """Cut with a reset: the server's socket is gone at once with what was queued
    for it (not left in FIN-WAIT-1 behind megabytes nobody reads), the client
    sees the reset, and the other visitors go on."""
    async with running(tmp_path, send_buffer_limit=64 * 1024) as app:
        op: Operator = await demo_operator(app)
        await op.open()
        port = app.http_port
        assert app.demo is not None
        reader, writer = await raw_visitor(port, app.demo["site"], rcvbuf=4096)
        writer.write(masked_text_frame(orjson.dumps({"type": "hello", "v": 1})))
        writer.write(
            masked_text_frame(orjson.dumps({"type": "msg", "cid": "1", "text": "please flood me"}))
        )
        await writer.drain()
        conv = (await op.recv("assigned")).conversation_id
        # The operator writes far more than the buffer limit; the visitor reads
        # nothing. In waves of 500: a chat with 1,000 messages waiting for the
        # store refuses more as overloaded, which a slow disk (or a busy machine)
        # would make of one wave of 2,000.
        for wave in range(0, 2000, 500):
            for i in range(wave, wave + 500):
                op.say(conv, f"o{i}", BIG)
            for _ in range(500):  # each stored and sent on to the visitor
                await op.recv("ack", timeout=30)
        state = await app.engine.system.ref("conversation", conv).ask(_summary())  # type: ignore[union-attr]
        assert state.last_seq == 2002  # the join notice, the visitor's, the operator's
        # Every message was pushed at the connection, and it was dropped on the way.
        await app.engine.settle()  # type: ignore[union-attr]
        assert app.edge is not None and not app.edge.connections
        # The kernel released the server's end, and dropped its send queue.
        client_port = writer.get_extra_info("sockname")[1]
        left = _server_end(port, client_port)
        for _ in range(100):
            if left is None:
                break
            await asyncio.sleep(0.01)
            left = _server_end(port, client_port)
        assert left is None, f"the server's socket is still there: {left}"
        # The client's end heard the reset: after what had reached it, an error.
        await hears_reset(reader, writer)
        # Everyone else is fine.
        other = await Visitor(visitor_url(app)).connect()
        await other.hello()
        other.send({"type": "msg", "cid": "x", "text": "hi"})
        assert (await other.recv("ack"))["seq"] == 1
        await op.close()


async def long_chat(app: Parley, answers: int) -> tuple[Operator, dict[str, Any], str]:
    """A chat answered ``answers`` times with BIG, its visitor gone: the
    operator, the visitor's welcome (its token) and the chat."""
    op: Operator = await demo_operator(app)
    await op.open()
    first = await Visitor(visitor_url(app)).connect()
    welcome = await first.hello()
    first.send({"type": "msg", "cid": "1", "text": "tell me everything"})
    chat = (await op.recv("assigned")).conversation_id
    await first.recv("ack")
    await first.close()
    for i in range(answers):
        op.say(chat, f"o{i}", BIG)
    for _ in range(answers):
        await op.recv("ack", timeout=30)
    return op, welcome, chat


async def stalled_resume(
    app: Parley, token: str
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, Any]:
    """A visitor resuming its chat from the start on a raw socket that reads
    nothing (small kernel buffers both ends), once its replay waits for room
    (its hello still running): the socket, and the server's connection."""
    assert app.edge is not None and app.demo is not None
    async with asyncio.timeout(10):
        while app.edge.connections:  # the chat's first visitor gone
            await asyncio.sleep(0.01)
    reader, writer, conn = await raw_resume(
        app.http_port, app.demo["site"], token, app.edge.connections
    )
    async with asyncio.timeout(10):
        while conn._room_waiters is None:
            await asyncio.sleep(0.01)
    return reader, writer, conn


async def test_a_visitor_resuming_a_long_chat_gets_it_at_its_own_pace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page of replayed messages can be far more than the send buffer's bound
    (200 of 3.9 KB against 64 KiB): the replay sends what the connection has
    room for and waits for it to drain, so a visitor that reads, however slowly
    its socket takes it, gets the whole chat and is never cut for it. The
    replay takes longer than the hello deadline here (0.2 s): a hello being
    served is not overdue."""
    no_replay_timer(monkeypatch)
    async with running(
        tmp_path,
        send_buffer_limit=64 * 1024,
        visitor_rate=10_000,
        visitor_burst=10_000,
        hello_timeout=0.2,
    ) as app:
        op, welcome, conv = await long_chat(app, 300)
        again = Visitor(visitor_url(app))
        await again.connect()
        # Kernel buffers that take little at a time (as for a visitor on a slow
        # line): what they cannot take waits in the server's send buffer.
        assert app.edge is not None and len(app.edge.connections) == 1
        (conn,) = app.edge.connections
        server_end = conn.transport.underlying_transport.get_extra_info("socket")
        server_end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16384)
        sock = again.transport.underlying_transport.get_extra_info("socket")  # type: ignore[union-attr]
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        again.send({"type": "hello", "v": 1, "token": welcome["token"], "last_seq": 0})
        seqs = [(await again.recv("msg", timeout=30))["seq"] for _ in range(302)]
        assert seqs == list(range(1, 303))
        assert (await again.recv("welcome"))["conversation"] == conv  # the live end
        await again.round_trip()  # still connected: nothing cut it
        assert app.edge is not None and len(app.edge.connections) == 1
        await op.close()


async def test_a_visitor_whose_replay_waits_is_still_cut_past_its_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a replay waits for a visitor's socket to drain, the socket's high
    water is a quarter of the bound (so the transport says when it has
    drained) and the transport counts as paused: whatever else fills it past
    the whole bound (here pongs, for a flood of pings it does not read) still
    cuts the visitor, and the visitor resumes all of it."""
    no_replay_timer(monkeypatch)
    async with running(
        tmp_path, send_buffer_limit=64 * 1024, visitor_rate=10_000, visitor_burst=10_000
    ) as app:
        op, welcome, chat = await long_chat(app, 100)
        reader, writer, conn = await stalled_resume(app, welcome["token"])
        assert conn.transport.underlying_transport.get_write_buffer_size() > 16 * 1024
        writer.write(pings(1000))  # 127 KB of pongs
        await writer.drain()
        async with asyncio.timeout(10):
            while conn in app.edge.connections:
                await asyncio.sleep(0.01)
        await hears_reset(reader, writer)
        again = Visitor(visitor_url(app))
        await again.connect()
        again.send({"type": "hello", "v": 1, "token": welcome["token"], "last_seq": 0})
        seqs = [(await again.recv("msg", timeout=30))["seq"] for _ in range(102)]
        assert seqs == list(range(1, 103))
        await again.recv("welcome")
        await op.close()


async def test_a_ping_flood_during_a_long_resume_is_closed_not_held(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A visitor whose resume waits for it to read (its hello still running)
    and which floods pings instead: past its burst each is refused, and when
    the strikes run out the connection is closed 4429 then and there, not held
    behind the hello (which would wait for the reader for good)."""
    no_replay_timer(monkeypatch)
    monkeypatch.setattr(edge_server, "CLOSE_GRACE", 0.2)
    async with running(
        tmp_path, send_buffer_limit=64 * 1024, visitor_rate=0.1, visitor_burst=5
    ) as app:
        op, welcome, chat = await long_chat(app, 100)
        reader, writer, conn = await stalled_resume(app, welcome["token"])
        writer.write(pings(5 + MAX_RATE_STRIKES))
        await writer.drain()
        async with asyncio.timeout(10):
            while conn in app.edge.connections:
                await asyncio.sleep(0.01)
        assert len(conn.state.held) <= MAX_RATE_STRIKES  # the refusals before the close
        writer.close()
        await op.close()


async def test_a_closed_visitor_that_does_not_read_is_reset_after_a_grace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A connection closed (here for bad frames) while what it was sent waits
    unread: a graceful close would wait for it to read for good, holding the
    socket and the queue; after CLOSE_GRACE it is reset."""
    monkeypatch.setattr(edge_server, "CLOSE_GRACE", 0.2)
    async with running(tmp_path, visitor_rate=10_000, visitor_burst=10_000) as app:
        op: Operator = await demo_operator(app)
        await op.open()
        assert app.demo is not None and app.edge is not None
        reader, writer = await raw_visitor(app.http_port, app.demo["site"], rcvbuf=4096)
        (conn,) = app.edge.connections
        server_end = conn.transport.underlying_transport.get_extra_info("socket")
        server_end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16384)
        writer.write(masked_text_frame(orjson.dumps({"type": "hello", "v": 1})))
        writer.write(masked_text_frame(orjson.dumps({"type": "msg", "cid": "1", "text": "hi"})))
        await writer.drain()
        chat = (await op.recv("assigned")).conversation_id
        for i in range(100):  # 390 KB: under the send bound, far over what the kernel takes
            op.say(chat, f"o{i}", BIG)
        for _ in range(100):
            await op.recv("ack", timeout=30)
        await app.engine.settle()  # type: ignore[union-attr]
        assert conn.transport.underlying_transport.get_write_buffer_size() > 0
        # Bad frames until the server closes the connection.
        writer.write(b"".join(masked_text_frame(b"nonsense") for _ in range(20)))
        await writer.drain()
        async with asyncio.timeout(10):
            while conn in app.edge.connections:
                await asyncio.sleep(0.01)
        await hears_reset(reader, writer)
        await op.close()


def _server_end(server_port: int, client_port: int) -> str | None:
    """The server's end of the connection from ``client_port`` as the kernel
    holds it (Linux, /proc/net/tcp): "state <hex>, <bytes queued to send>
    queued", or None once it is gone."""
    local, remote = f"0100007F:{server_port:04X}", f"0100007F:{client_port:04X}"
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == local and fields[2] == remote:
            return f"state {fields[3]}, {int(fields[4].split(':')[0], 16)} queued"
    return None


def _summary() -> GetConversation:
    return GetConversation()


async def _online(app: Parley, operator_id: str) -> bool:
    assert app.engine is not None
    state = await app.engine.system.ref("operator", operator_id).ask(GetOperatorState())
    return state.online
