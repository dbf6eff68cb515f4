"""The edge link in one test process: a real engine (``Parley`` with the
EdgeLink service and no websocket listener of its own), a real
:class:`~edge.link.listener.LinkedEdge` attached over real gRPC, visitors,
consoles and files on real websockets and HTTP. The kill -9 cases run as
processes in tests/integration/test_split_mode.py."""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest
from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from control.permissions import RPC_PERMISSIONS
from control.runner import Parley, ServeConfig
from edge.bridge.relay import unary_methods
from edge.config import EdgeConfig
from edge.console_login import LOGIN_METHOD
from edge.files import MAX_PIECE, VISITOR_HEADER
from edge.link import client as link_client
from edge.link import secret as link_secret
from edge.link.client import LinkRefused
from edge.link.files import UPLOAD_WINDOW
from edge.link.listener import LinkedEdge
from engine.backup import restore
from engine.chat.auth import MAX_FAILURES_PER_IP
from parley.link.v1 import link_pb2
from parley.v1 import bridge_pb2, common_pb2, control_pb2
from tests.conftest import CHEAP_HASHER
from tests.edge.console import Console
from tests.integration.attach_clients import EXE, PNG, get_file, ws_upload
from tests.integration.helpers import (
    Operator,
    Visitor,
    hears_reset,
    masked_text_frame,
    no_replay_timer,
    on_duty,
    pings,
    raw_resume,
    raw_visitor,
    read_frame,
    settled,
)


@asynccontextmanager
async def linked(tmp_path: Path, **edge_config: Any) -> AsyncIterator[tuple[Parley, LinkedEdge]]:
    config = ServeConfig(
        data_dir=tmp_path / "data",
        grpc_port=0,
        demo=True,
        websockets=False,
        edge_link=True,
        password_hasher=CHEAP_HASHER,
    )
    app = Parley(config)
    await app.start()
    secret = link_secret.ensure(config.data_dir)
    edge = LinkedEdge(EdgeConfig(port=0, **edge_config), f"127.0.0.1:{app.grpc_port}", secret)
    try:
        await edge.attach()
        await edge.start(reuse_port=False)
        edge.open_bridge(f"127.0.0.1:{app.grpc_port}", unary_methods(RPC_PERMISSIONS))
        yield app, edge
    finally:
        await edge.close()
        await app.stop()


def url(app: Parley, edge: LinkedEdge, site: str | None = None) -> str:
    assert app.demo is not None
    return f"ws://127.0.0.1:{edge.port}/v1/visitor?site={site or app.demo['site']}"


def text_frames(payloads: list[bytes]) -> bytes:
    """Client text frames (whole, masked), to be written at once: the edge reads
    them in one go, before its link's writer can run."""
    out = bytearray()
    for payload in payloads:
        assert len(payload) < 126
        mask = os.urandom(4)
        out += bytes((0x81, 0x80 | len(payload))) + mask
        out += bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
    return bytes(out)


async def test_a_full_link_refuses_overloaded_before_any_ack(tmp_path: Path) -> None:
    async with linked(tmp_path) as (app, edge):
        op = await on_duty(app)
        v = await Visitor(url(app, edge)).connect()
        await v.hello(name="Ann")
        edge.link.max_pending = 1  # one frame waiting for the link fills it
        frames = [b'{"type":"msg","cid":"m%d","text":"number %d"}' % (i, i) for i in range(5)]
        assert v.transport is not None
        v.transport.underlying_transport.write(text_frames(frames))
        ack = await v.recv("ack")
        assert ack["cid"] == "m0"
        refused = [await v.recv("error") for _ in range(4)]
        assert [r["cid"] for r in refused] == ["m1", "m2", "m3", "m4"]
        for r in refused:
            assert r["code"] == "overloaded" and r["retryable"] is True
            assert r["retry_after_ms"] > 0
        await settled(app, v)  # nothing else comes for them
        assert [f["cid"] for f in v.frames() if f["type"] == "ack"] == ["m0"]
        # Sent again once the queue has room: stored once each.
        edge.link.max_pending = 1000
        for i in range(1, 5):
            v.send({"type": "msg", "cid": f"m{i}", "text": f"number {i}"})
            assert (await v.recv("ack"))["cid"] == f"m{i}"
        reply = await op.api.conversations.ListMessages(
            control_pb2.ListMessagesRequest(conversation_id=ack["conversation"], page_size=50),
            metadata=op.metadata,
        )
        visitor = common_pb2.AuthorKind.Value("AUTHOR_KIND_VISITOR")
        texts = [m.text for m in reply.messages if m.author_kind == visitor]
        assert texts == [f"number {i}" for i in range(5)]
        await v.close()


async def test_the_engine_refuses_an_unknown_site_and_a_foreign_origin(tmp_path: Path) -> None:
    async with linked(tmp_path) as (app, edge):
        v = await Visitor(url(app, edge, site="nosuchsite")).connect()
        error = await v.recv("error")
        assert error["code"] == "unknown_site"
        assert (await v.recv("_disconnected"))["code"] == 4403
        v = await Visitor(url(app, edge)).connect(origin="https://elsewhere.example")
        error = await v.recv("error")
        assert error["code"] == "origin_not_allowed"
        assert (await v.recv("_disconnected"))["code"] == 4403
        # The allowed page (no Origin: not a browser) chats.
        ok = await Visitor(url(app, edge)).connect()
        assert (await ok.hello())["token"]
        await ok.close()


async def test_a_stopping_engine_tells_the_visitors_and_refuses_honestly(tmp_path: Path) -> None:
    async with linked(tmp_path) as (app, edge):
        await on_duty(app)
        v = await Visitor(url(app, edge)).connect()
        await v.hello()
        v.send({"type": "msg", "cid": "a", "text": "before"})
        await v.recv("ack")
        # The engine stops: its streams end, the edge keeps the socket.
        assert app.engine is not None
        app.engine.stopping = True
        app.engine.connections.end_streams()
        told = await v.recv("service")
        assert told == {
            "type": "service",
            "state": "reconnecting",
            "message": "reconnecting to the service",
        }
        v.send({"type": "msg", "cid": "b", "text": "while away"})
        refused = await v.recv("error")
        assert (refused["code"], refused["cid"]) == ("reconnecting", "b")
        v.send({"type": "ping"})
        await v.recv("pong")  # answered by the edge itself meanwhile
        # Back: the edge reattaches, resumes the visitor and says so.
        app.engine.stopping = False
        assert (await v.recv("service", timeout=10))["state"] == "connected"
        v.send({"type": "msg", "cid": "b", "text": "while away"})
        assert (await v.recv("ack"))["cid"] == "b"
        await v.close()


async def test_a_wrong_secret_is_refused(tmp_path: Path) -> None:
    async with linked(tmp_path) as (app, _edge):
        other = LinkedEdge(EdgeConfig(port=0), f"127.0.0.1:{app.grpc_port}", "x" * 32)
        with pytest.raises(LinkRefused, match="link secret"):
            await other.attach()
        await other.close()


async def open_chat(app: Parley, edge: LinkedEdge) -> tuple[Operator, Visitor, str]:
    """The demo operator on duty and a visitor through the edge in a chat."""
    op = await on_duty(app)
    v = await Visitor(url(app, edge)).connect()
    await v.hello(name="Ann")
    v.send({"type": "msg", "cid": "m1", "text": "hello"})
    chat = (await v.recv("ack"))["conversation"]
    assert (await op.recv("assigned")).conversation_id == chat
    return op, v, chat


async def test_a_file_goes_up_and_comes_down_through_the_edge(tmp_path: Path) -> None:
    async with linked(tmp_path) as (app, edge):
        op, v, chat = await open_chat(app, edge)
        at = f"127.0.0.1:{edge.port}"
        token = v.welcome["token"]
        # More pieces than the edge's window, sent without waiting: all arrive.
        data = PNG * 40
        assert len(data) > UPLOAD_WINDOW
        done = await ws_upload(at, token, chat, data, piece=MAX_PIECE)
        assert done["type"] == "done", done
        digest = hashlib.sha256(data).hexdigest()
        assert done["file"] == {"sha256": digest, "name": "photo.png", "type": "image/png",
                                "size": len(data)}  # fmt: skip
        while not (message := await op.recv("message")).HasField("attachment"):
            pass  # the chat's text before it
        assert message.attachment.sha256 == digest and message.seq == done["seq"]
        # Down again, to the chat's visitor and to its operator, as stored.
        status, headers, body = await get_file(at, chat, digest, {VISITOR_HEADER: token})
        assert (status, body, headers["Content-Type"]) == (200, data, "image/png")
        assert headers["X-Content-Type-Options"] == "nosniff"
        bearer = {"Authorization": f"Bearer {op.token}"}
        assert (await get_file(at, chat, digest, bearer))[2] == data
        # Nobody else; and the engine's own checks refuse as in one process.
        other = await Visitor(url(app, edge)).connect()
        await other.hello(name="Bob")
        stranger = {VISITOR_HEADER: other.welcome["token"]}
        assert (await get_file(at, chat, digest, stranger))[0] == 404
        assert (await get_file(at, chat, digest, {}))[0] == 401
        refused = await ws_upload(at, token, chat, EXE, name="run.exe", cid="f2")
        assert (refused["type"], refused["code"]) == ("error", "attachment_type_refused")
        refused = await ws_upload(at, other.welcome["token"], chat, PNG, cid="f3")
        assert refused["code"] == "not_in_chat"
        # A websocket on the same edge after the files: picows still serves it.
        assert (await v.round_trip()) is None
        await other.close()
        await v.close()
        await op.close()


async def login_from(
    edge: LinkedEdge, source: str, email: str, password: str
) -> bridge_pb2.BridgeFrame:
    """A console login on the edge's login socket, from the address ``source``."""
    got: asyncio.Queue[bytes] = asyncio.Queue()

    class Listener(WSListener):  # type: ignore[misc]
        def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
            if frame.msg_type is WSMsgType.BINARY:
                got.put_nowait(frame.get_payload_as_bytes())

    transport, _ = await ws_connect(
        Listener, f"ws://127.0.0.1:{edge.port}/v1/console/login", local_addr=(source, 0)
    )
    request = control_pb2.LoginRequest(email=email, password=password)
    call = bridge_pb2.UnaryCall(call_id=3, method=LOGIN_METHOD, request=request.SerializeToString())
    transport.send(WSMsgType.BINARY, bridge_pb2.BridgeFrame(call=call).SerializeToString())
    async with asyncio.timeout(5):
        frame = bridge_pb2.BridgeFrame.FromString(await got.get())
    transport.disconnect()
    return frame


async def test_a_console_logs_in_on_the_edge_counted_by_the_browsers_address(
    tmp_path: Path,
) -> None:
    async with linked(tmp_path) as (app, edge):
        assert app.demo is not None
        good = await login_from(edge, "127.0.0.2", app.demo["email"], app.demo["password"])
        assert good.WhichOneof("frame") == "reply" and good.reply.call_id == 3
        token = control_pb2.LoginResponse.FromString(good.reply.response).token
        assert token
        # Wrong passwords from one browser's address (other emails each time, so
        # no email's own limit is reached): that address is throttled...
        for i in range(MAX_FAILURES_PER_IP):
            bad = await login_from(edge, "127.0.0.3", f"nobody{i}@example.com", "wrong")
            assert bad.error.reason == "BAD_CREDENTIALS", bad
        throttled = await login_from(edge, "127.0.0.3", "someone@example.com", "wrong")
        assert throttled.error.reason == "THROTTLED", throttled
        # ...and not another's, though both came through the same edge.
        bad = await login_from(edge, "127.0.0.4", "someone@example.com", "wrong")
        assert bad.error.reason == "BAD_CREDENTIALS", bad
        good = await login_from(edge, "127.0.0.4", app.demo["email"], app.demo["password"])
        assert good.WhichOneof("frame") == "reply"

        # The token opens the console's bridge on the edge: ready, a unary
        # call, the events of a visitor's chat, a command answered.
        console = Console(app)
        console.url = f"ws://127.0.0.1:{edge.port}/v1/console"
        await (await console.connect()).hello(token)
        assert console.ready is not None
        assert console.ready.session.operator_id == app.demo["operator"]
        sites = await console.call(
            "/parley.v1.Sites/ListSites", control_pb2.ListSitesRequest(),
            control_pb2.ListSitesResponse,
        )  # fmt: skip
        assert [s.id for s in sites.sites] == [app.demo["site"]]
        v = await Visitor(url(app, edge)).connect()
        await v.hello(name="Ann")
        v.send({"type": "msg", "cid": "v1", "text": "anyone there?"})
        chat = (await v.recv("ack"))["conversation"]
        assert (await console.event("assigned")).conversation_id == chat
        message = await console.event("message")
        assert (message.conversation_id, message.text) == (chat, "anyone there?")
        console.say(chat, "o1", "Yes, here")
        await console.event("ack")
        while (frame := await v.recv("msg"))["from"] != "operator":
            pass
        assert frame["text"] == "Yes, here"
        await console.close()
        await v.close()


async def test_a_replay_through_an_edge_keeps_under_its_link_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A visitor resuming a long chat through an edge: the replay goes at the
    pace of the link's queue (a page of 200 at once would pass this bound of 40
    and cut the edge, and every visitor on it, then again on each resume)."""
    no_replay_timer(monkeypatch)
    async with linked(tmp_path) as (app, edge):
        op, v, chat = await open_chat(app, edge)
        for i in range(150):
            op.say(chat, f"o{i}", f"answer {i}")
        for _ in range(150):
            await op.recv("ack")
        assert app.link is not None
        (host,) = app.link.hosts
        host.max_pending = 40
        again = await Visitor(url(app, edge)).connect()
        again.send({"type": "hello", "v": 1, "token": v.welcome["token"], "last_seq": 0})
        seqs = [(await again.recv("msg", timeout=20))["seq"] for _ in range(152)]
        assert seqs == list(range(1, 153))
        assert (await again.recv("welcome"))["conversation"] == chat
        await again.round_trip()
        assert not host.cut and edge.link.attachments == 1


async def long_chat(app: Parley, edge: LinkedEdge) -> tuple[Operator, Visitor, str]:
    """A chat through the edge with 300 answers of 3.9 KB (1.2 MB), its visitor
    gone: a resume replays far more than a send bound of 64 KiB."""
    op, v, chat = await open_chat(app, edge)
    for i in range(300):
        op.say(chat, f"o{i}", "x" * 3900)
    for _ in range(300):
        await op.recv("ack", timeout=30)
    await v.close()
    return op, v, chat


async def test_a_visitor_resuming_through_an_edge_gets_it_at_its_own_pace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine sends a replay a window at a time (a quarter of the edge's
    send bound) and asks the edge for room before the next; the edge answers
    once the visitor's socket has drained. So a visitor resuming a long chat of
    big messages on a slow line gets all of it and is not cut (the whole
    bound, 64 KiB, is a sixth of one page of the replay)."""
    no_replay_timer(monkeypatch)
    async with linked(tmp_path, send_buffer_limit=64 * 1024) as (app, edge):
        op, v, chat = await long_chat(app, edge)
        again = await Visitor(url(app, edge)).connect()
        # Kernel buffers that take little at a time, as on a slow line.
        (conn,) = edge.connections
        server_end = conn.transport.underlying_transport.get_extra_info("socket")
        server_end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16384)
        assert again.transport is not None
        client_end = again.transport.underlying_transport.get_extra_info("socket")
        client_end.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        again.send({"type": "hello", "v": 1, "token": v.welcome["token"], "last_seq": 0})
        seqs = [(await again.recv("msg", timeout=30))["seq"] for _ in range(302)]
        assert seqs == list(range(1, 303))
        assert (await again.recv("welcome"))["conversation"] == chat
        await again.round_trip()
        assert edge.connections == {conn}  # not cut


async def test_a_replay_of_uneven_records_asks_again_when_a_record_overshot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Records of uneven size (here 4.5 to 12 KB of CJK text against a window
    of 16 KiB) can take a replay a whole window past what its ask named: the
    edge's answer then leaves it still a window ahead, and the engine asks
    again rather than wait for an answer nobody asked for."""
    no_replay_timer(monkeypatch)
    sizes = random.Random(7).choices(range(1500, 4000), k=120)
    async with linked(tmp_path, send_buffer_limit=64 * 1024) as (app, edge):
        op, v, chat = await open_chat(app, edge)
        for i, size in enumerate(sizes):
            op.say(chat, f"o{i}", "中" * size)
        for _ in sizes:
            await op.recv("ack", timeout=30)
        await v.close()
        again = await Visitor(url(app, edge)).connect()
        again.send({"type": "hello", "v": 1, "token": v.welcome["token"], "last_seq": 0})
        seqs = [(await again.recv("msg", timeout=10))["seq"] for _ in range(len(sizes) + 2)]
        assert seqs == list(range(1, len(sizes) + 3))
        assert (await again.recv("welcome"))["conversation"] == chat


async def stalled_resume(
    app: Parley, edge: LinkedEdge, token: str
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, Any]:
    """A visitor resuming its chat from the start on a raw socket that reads
    nothing (small kernel buffers both ends), once its socket has backed up
    and the edge owes the engine's ask for room: the socket, and the edge's
    connection."""
    assert app.demo is not None
    reader, writer, conn = await raw_resume(edge.port, app.demo["site"], token, edge.connections)
    async with asyncio.timeout(10):
        while not conn.room_owed:
            await asyncio.sleep(0.01)
    return reader, writer, conn


async def test_a_replay_waits_for_a_visitor_that_stopped_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A visitor that resumes and then reads nothing for a while: the edge
    owes the engine's ask for room until the socket drains, the replay waits
    meanwhile (nothing past the bound, no cut), and goes on to the end when the
    visitor reads again."""
    no_replay_timer(monkeypatch)
    async with linked(tmp_path, send_buffer_limit=64 * 1024) as (app, edge):
        op, v, chat = await long_chat(app, edge)
        assert app.demo is not None
        reader, writer, conn = await stalled_resume(app, edge, v.welcome["token"])
        unsent = conn.transport.underlying_transport.get_write_buffer_size()
        assert 32 * 1024 <= unsent <= 64 * 1024
        seqs: list[int] = []
        async with asyncio.timeout(30):
            while (doc := orjson.loads(await read_frame(reader)))["type"] != "welcome":
                if doc["type"] == "msg":
                    seqs.append(doc["seq"])
        assert seqs == list(range(1, 303)) and doc["conversation"] == chat
        assert edge.connections == {conn}  # never cut
        writer.close()


async def test_a_visitor_whose_replay_waits_is_still_cut_by_its_edge(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the edge owes the engine room for a replay, the socket's high
    water is a quarter of the bound and the transport counts as paused: what
    else fills it past the whole bound (here pongs, for a flood of pings the
    visitor does not read) still cuts the visitor (the edge looks at each
    write), who resumes all of it."""
    no_replay_timer(monkeypatch)
    limits = {"visitor_rate": 10_000, "visitor_burst": 10_000}
    async with linked(tmp_path, send_buffer_limit=64 * 1024, **limits) as (app, edge):
        op, v, chat = await long_chat(app, edge)
        reader, writer, conn = await stalled_resume(app, edge, v.welcome["token"])
        assert conn.watching
        writer.write(pings(1000))  # 127 KB of pongs
        await writer.drain()
        async with asyncio.timeout(10):
            while conn in edge.connections:
                await asyncio.sleep(0.01)
        await hears_reset(reader, writer)
        again = await Visitor(url(app, edge)).connect()
        again.send({"type": "hello", "v": 1, "token": v.welcome["token"], "last_seq": 0})
        seqs = [(await again.recv("msg", timeout=30))["seq"] for _ in range(302)]
        assert seqs == list(range(1, 303))
        assert (await again.recv("welcome"))["conversation"] == chat


async def test_a_replay_on_a_new_link_counts_what_the_socket_still_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The link breaks while a resumed visitor's socket holds half its bound or
    more, unread: the engine's new half of the connection counts those bytes
    as sent and unconfirmed (the edge names them in its Open), so it asks for
    room before it adds more; the visitor, reading again, gets every message
    once, in order, and is never cut."""
    no_replay_timer(monkeypatch)
    async with linked(tmp_path, send_buffer_limit=64 * 1024) as (app, edge):
        op, v, chat = await long_chat(app, edge)
        assert app.demo is not None and app.link is not None
        reader, writer, conn = await stalled_resume(app, edge, v.welcome["token"])
        # Another visitor's burst passes the link's bound (1 here): the link is
        # cut and the edge attaches again.
        (old,) = app.link.hosts
        old.max_pending = 1
        other = await Visitor(url(app, edge)).connect()
        await other.hello()
        assert other.transport is not None
        frames = [b'{"type":"msg","cid":"b%d","text":"burst"}' % i for i in range(3)]
        other.transport.underlying_transport.write(text_frames(frames))
        async with asyncio.timeout(10):
            while not (
                edge.link.attachments == 2
                and (hosts := [h for h in app.link.hosts if h is not old])
                and conn.number in hosts[0].connections
            ):
                await asyncio.sleep(0.01)
        assert old.cut
        hosted = hosts[0].connections[conn.number]
        unsent = conn.transport.underlying_transport.get_write_buffer_size()
        assert hosted.sent >= unsent >= 32 * 1024  # nothing read since: all of it counted
        seqs: list[int] = []
        async with asyncio.timeout(30):
            while (doc := orjson.loads(await read_frame(reader)))["type"] != "welcome":
                if doc["type"] == "msg":
                    seqs.append(doc["seq"])
        assert seqs == list(range(1, 303))
        assert conn in edge.connections  # never cut
        writer.close()
        await other.close()


async def lazy_visitor(
    app: Parley, edge: LinkedEdge
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, Any]:
    """A visitor on a raw socket that reads only when the test does, small
    kernel buffers both ends, its hello sent: the socket, and the edge's
    connection."""
    assert app.demo is not None
    before = set(edge.connections)
    reader, writer = await raw_visitor(edge.port, app.demo["site"], rcvbuf=4096)
    (lazy,) = set(edge.connections) - before
    server_end = lazy.transport.underlying_transport.get_extra_info("socket")
    server_end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16384)
    writer.write(masked_text_frame(orjson.dumps({"type": "hello", "v": 1})))
    await writer.drain()
    return reader, writer, lazy


async def test_an_answer_for_room_lets_a_replay_ahead_by_what_the_socket_can_take(
    tmp_path: Path,
) -> None:
    """Until the edge has answered, a replay may be a window (a quarter of the
    send bound) ahead; an answer says how much the socket still had unsent,
    and the replay may then be three windows less that ahead (never less
    than one): the socket holds at most three quarters of its bound either way."""
    async with linked(tmp_path, send_buffer_limit=64 * 1024) as (app, edge):
        op, v, chat = await open_chat(app, edge)
        assert app.link is not None
        (host,) = app.link.hosts
        (hosted,) = host.connections.values()
        window = 16 * 1024
        assert hosted.window == window and hosted.ahead_limit == window
        for unsent, limit in ((0, 3 * window), (20_000, 3 * window - 20_000), (10**9, window)):
            host.handle(
                link_pb2.EdgeItem(connection=hosted.number, room=hosted.sent, room_unsent=unsent)
            )
            assert (hosted.ahead_limit, hosted.confirmed) == (limit, hosted.sent)
        # An edge that does not say (an older one): a window.
        host.handle(link_pb2.EdgeItem(connection=hosted.number, room=hosted.sent))
        assert hosted.ahead_limit == window
        v.send({"type": "msg", "cid": "m2", "text": "still here?"})
        assert (await v.recv("ack"))["seq"] > 1

        # A real answer from the edge says what its socket held when it answered.
        reader, writer, lazy = await lazy_visitor(app, edge)
        async with asyncio.timeout(10):
            while not lazy.welcomed:
                await asyncio.sleep(0.01)
        lazy_hosted = host.connections[lazy.number]
        lazy._send(b"x" * 50_000)  # it reads nothing: most of it stays unsent
        unsent = lazy.transport.underlying_transport.get_write_buffer_size()
        assert unsent > 0
        sent = lazy_hosted.sent
        lazy._room(sent)
        async with asyncio.timeout(10):
            while lazy_hosted.confirmed != sent:
                await asyncio.sleep(0.01)
        assert lazy_hosted.ahead_limit == max(window, 3 * window - unsent)
        writer.close()


async def test_room_items_that_name_nothing_or_too_much_change_nothing(tmp_path: Path) -> None:
    """An edge's room for a connection the engine does not host is ignored; one
    that says more was sent than the engine sent counts only what it sent (the
    replay's accounting never runs ahead of its frames)."""
    async with linked(tmp_path) as (app, edge):
        op, v, chat = await open_chat(app, edge)
        assert app.link is not None
        (host,) = app.link.hosts
        (hosted,) = host.connections.values()
        host.handle(link_pb2.EdgeItem(connection=10**9, room=2**63))
        host.handle(link_pb2.EdgeItem(connection=hosted.number, room=2**63))
        assert 0 < hosted.confirmed == hosted.sent
        # The connection goes on as before.
        v.send({"type": "msg", "cid": "m2", "text": "still here?"})
        assert (await v.recv("ack"))["seq"] > 1
        assert not host.cut


async def test_a_visitor_that_does_not_read_is_cut_by_its_edge(tmp_path: Path) -> None:
    """Past the whole send bound the edge resets the visitor's socket (live
    messages are not held back, only replays); the others go on."""
    async with linked(tmp_path, send_buffer_limit=64 * 1024) as (app, edge):
        op, v, chat = await open_chat(app, edge)
        reader, writer, lazy = await lazy_visitor(app, edge)
        writer.write(masked_text_frame(orjson.dumps({"type": "msg", "cid": "1", "text": "hi"})))
        await writer.drain()
        lazy_chat = ""
        while not lazy_chat or lazy_chat == chat:
            lazy_chat = (await op.recv("assigned")).conversation_id
        big = "x" * 3900
        for i in range(200):
            op.say(lazy_chat, f"o{i}", big)
        for _ in range(200):
            await op.recv("ack", timeout=30)
        async with asyncio.timeout(10):
            while lazy in edge.connections:
                await asyncio.sleep(0.01)
        writer.close()
        assert edge.cuts == 1  # in its metrics (parley_visitor_cuts_total)
        # The visitor that reads goes on.
        v.send({"type": "msg", "cid": "m2", "text": "still here?"})
        assert (await v.recv("ack"))["seq"] > 1


async def test_an_edge_that_does_not_read_is_cut_and_resumes(tmp_path: Path) -> None:
    async with linked(tmp_path) as (app, edge):
        op, v, chat = await open_chat(app, edge)
        assert app.link is not None
        (host,) = app.link.hosts
        host.max_pending = 3  # this stream's bound: the next one keeps the default
        # Five messages read at once: their acks and echoes pass the bound in
        # one turn, before the stream's writer runs.
        frames = [b'{"type":"msg","cid":"b%d","text":"burst %d"}' % (i, i) for i in range(5)]
        assert v.transport is not None
        v.transport.underlying_transport.write(text_frames(frames))
        assert (await v.recv("service"))["state"] == "reconnecting"
        assert (await v.recv("service", timeout=10))["state"] == "connected"
        assert host.cut and edge.link.attachments == 2
        assert host._out == []  # what the cut stream held is let go, never sent
        # Whatever was refused while cut goes again; each is stored once.
        # (An ack of a first try may still be on its way: acks are counted by
        # cid, in whatever order they come.)
        unacked = {f"b{i}" for i in range(5)} - {f["cid"] for f in v.frames() if f["type"] == "ack"}
        for i in range(5):
            if f"b{i}" in unacked:
                v.send({"type": "msg", "cid": f"b{i}", "text": f"burst {i}"})
        while unacked:
            unacked.discard((await v.recv("ack"))["cid"])
        reply = await op.api.conversations.ListMessages(
            control_pb2.ListMessagesRequest(conversation_id=chat, page_size=50),
            metadata=op.metadata,
        )
        visitor = common_pb2.AuthorKind.Value("AUTHOR_KIND_VISITOR")
        texts = [m.text for m in reply.messages if m.author_kind == visitor]
        assert texts == ["hello"] + [f"burst {i}" for i in range(5)]
        await v.close()
        await op.close()


def engine_config(data: Path, grpc_port: int = 0) -> ServeConfig:
    return ServeConfig(
        data_dir=data,
        grpc_port=grpc_port,
        demo=True,
        websockets=False,
        edge_link=True,
        link_secret=SECRET,
        password_hasher=CHEAP_HASHER,
    )


SECRET = "a link secret for the restore test"


async def test_a_resume_across_a_restore_is_told_epoch_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(link_client, "RETRY_MAX", 0.4)  # the edge tries again soon
    app = Parley(engine_config(tmp_path / "data"))
    await app.start()
    edge = LinkedEdge(EdgeConfig(port=0), f"127.0.0.1:{app.grpc_port}", SECRET)
    restored: Parley | None = None
    stopped = False
    try:
        await edge.attach()
        await edge.start(reuse_port=False)
        op, v, chat = await open_chat(app, edge)
        old_epoch = v.welcome["epoch"]
        for i in range(2):
            v.send({"type": "msg", "cid": f"m{i + 2}", "text": f"more {i}"})
            await v.recv("ack")
        assert app.admin is not None
        admin = await Operator(app).login(app.admin["email"], app.admin["password"])
        request = control_pb2.CreateBackupRequest(path=str(tmp_path / "backup"))
        made = await admin.api.server.CreateBackup(request, metadata=admin.metadata)
        assert made.epoch != old_epoch
        await admin.close()
        await op.close()
        port = app.grpc_port
        stopped = True
        await app.stop()
        assert (await v.recv("service"))["state"] == "reconnecting"

        # The backup restored behind the same address: the edge attaches to it
        # and resumes the visitor with the seqs and epoch it was welcomed with.
        restore(tmp_path / "backup", tmp_path / "restored")
        restored = Parley(engine_config(tmp_path / "restored", port))
        await restored.start()
        assert (await v.recv("service", timeout=15))["state"] == "connected"
        welcome = await v.recv("welcome")
        assert welcome["epoch"] == made.epoch and welcome["epoch_changed"] is True
        frames = v.frames()
        since = frames[frames.index({"type": "service", "state": "connected"}) + 1 :]
        assert since[0] == {"type": "epoch_changed", "epoch": made.epoch}  # before the replay
        replay = [f for f in since if f["type"] == "msg"]
        seqs = [f["seq"] for f in replay]
        assert seqs == list(range(1, len(seqs) + 1)) and seqs[-1] == welcome["last_seq"]
        assert [f["text"] for f in replay if f["from"] == "visitor"] == [
            "hello", "more 0", "more 1",
        ]  # fmt: skip
        await v.close()
    finally:
        await edge.close()
        if restored is not None:
            await restored.stop()
        if not stopped:
            await app.stop()
