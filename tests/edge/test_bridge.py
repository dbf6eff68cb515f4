"""The operators' web bridge against a real server: a picows console speaking
BridgeFrames on /v1/console, real visitors on their websocket, real gRPC
clients beside it."""

from __future__ import annotations

import asyncio
import errno
import socket
from pathlib import Path
from typing import Any

import grpc
import pytest
from picows import WSError

from control.runner import Parley
from edge.bridge import protocol
from edge.bridge.origin import console_origin_allowed
from engine.runtime import FakeClock
from parley.v1 import bridge_pb2, control_pb2, operator_pb2
from tests.edge.console import CallFailed, Console
from tests.integration.helpers import (
    Operator,
    Visitor,
    demo_operator,
    owner,
    running,
    settled,
    visitor_url,
)


async def test_a_good_token_opens_the_session_and_unary_calls_go_through(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        assert app.demo is not None
        op = await demo_operator(app)
        console = await Console(app).connect()
        await console.hello(op.token)
        assert console.ready is not None
        assert console.ready.session.operator_id == app.demo["operator"]
        assert console.ready.max_frame_bytes == protocol.MAX_FRAME
        assert (await console.event("ready")).operator_id == app.demo["operator"]

        sites = await console.call(
            "/parley.v1.Sites/ListSites",
            control_pb2.ListSitesRequest(),
            control_pb2.ListSitesResponse,
        )
        assert [s.id for s in sites.sites] == [app.demo["site"]]

        # An operator may not create sites: the server refuses, the bridge relays
        # its status and ErrorInfo.
        with pytest.raises(CallFailed) as refused:
            await console.call(
                "/parley.v1.Sites/CreateSite",
                control_pb2.CreateSiteRequest(site=control_pb2.Site(name="Mine")),
                control_pb2.Site,
            )
        error = refused.value.error
        assert error.code == grpc.StatusCode.PERMISSION_DENIED.value[0]
        assert error.reason == "PERMISSION_DENIED" and error.domain == "parley"
        assert error.message.startswith("permission_denied: ")
        await console.close()


async def test_a_field_at_fault_is_named(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        boss = await owner(app)
        console = await (await Console(app).connect()).hello(boss.token)
        with pytest.raises(CallFailed) as refused:
            await console.call(
                "/parley.v1.Sites/ListSites",
                control_pb2.ListSitesRequest(page_size=5000),
                control_pb2.ListSitesResponse,
            )
        error = refused.value.error
        assert error.reason == "INVALID_PAGE_SIZE", error
        assert error.field == "page_size" and error.metadata["field"] == "page_size"
        await console.close()


@pytest.mark.parametrize(
    "method",
    [
        "/parley.v1.Nothing/Here",
        "/parley.v1.Sites/Nope",
        "/parley.v1.Auth/Login",  # takes no token: not through the bridge
        "/parley.v1.OperatorSession/Connect",  # a stream
        "/parley.v1.VisitorChannel/Connect",
        "/grpc.health.v1.Health/Check",
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        "parley.v1.Sites/ListSites",
        "",
    ],
)
async def test_a_method_the_bridge_does_not_carry_is_refused(tmp_path: Path, method: str) -> None:
    async with running(tmp_path) as app:
        op = await demo_operator(app)
        console = await (await Console(app).connect()).hello(op.token)
        with pytest.raises(CallFailed) as refused:
            await console.call(
                method, control_pb2.ListSitesRequest(), control_pb2.ListSitesResponse
            )
        error = refused.value.error
        assert (error.reason, error.domain) == ("UNKNOWN_METHOD", "parley.bridge")
        assert error.code == grpc.StatusCode.UNIMPLEMENTED.value[0]
        await console.ping()  # the connection goes on
        await console.close()


async def operator_message(visitor: Visitor) -> dict[str, Any]:
    """The next message an operator wrote (notices skipped)."""
    while True:
        frame = await visitor.recv("msg")
        if frame["from"] == "operator":
            return frame


async def test_chats_flow_both_ways_and_a_resume_gets_what_was_missed(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        op = await demo_operator(app)
        console = await (await Console(app).connect()).hello(op.token)
        visitor = await Visitor(visitor_url(app)).connect()
        await visitor.hello()
        visitor.send({"type": "msg", "cid": "v1", "text": "Hello there"})
        ack = await visitor.recv("ack")
        chat = ack["conversation"]

        assigned = await console.event("assigned")
        assert assigned.conversation_id == chat
        message = await console.event("message")
        assert (message.conversation_id, message.text, message.seq) == (chat, "Hello there", 1)

        console.say(chat, "o1", "How can I help?")
        mine = await console.event("ack")
        answer = await operator_message(visitor)
        assert answer["text"] == "How can I help?" and answer["seq"] == mine.seq
        held = mine.seq
        await console.close()

        # Missed while away: the visitor writes on; the console comes back
        # naming the last seq it holds.
        for i in range(3):
            visitor.send({"type": "msg", "cid": f"away{i}", "text": f"away {i}"})
            await visitor.recv("ack")
        back = await (await Console(app).connect()).hello(op.token, resume={chat: held})
        await settled(app, back)
        seqs = [
            e.message.seq
            for e in back.seen
            if e.WhichOneof("event") == "message" and e.message.conversation_id == chat
        ]
        assert seqs == [held + 1, held + 2, held + 3]
        back.say(chat, "o2", "Back again")
        await back.event("ack")
        assert (await operator_message(visitor))["text"] == "Back again"
        await back.close()
        await visitor.close()


async def test_a_logout_elsewhere_ends_the_session_with_a_clear_close(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        op = await demo_operator(app)
        console = await (await Console(app).connect()).hello(op.token)
        await console.round_trip()
        await op.api.auth.Logout(control_pb2.LogoutRequest(), metadata=op.metadata)
        closed, code = await console.wait_closed()
        assert closed is not None and (closed.reason, closed.code) == ("bad_token", 4401)
        assert code == 4401


async def test_revoked_sessions_end_the_console(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        assert app.demo is not None
        op = await demo_operator(app)
        boss = await owner(app)
        console = await (await Console(app).connect()).hello(op.token)
        await console.round_trip()
        await boss.api.operators.RevokeSessions(
            control_pb2.RevokeSessionsRequest(operator_id=app.demo["operator"]),
            metadata=boss.metadata,
        )
        closed, code = await console.wait_closed()
        assert closed is not None and closed.reason == "bad_token" and code == 4401


@pytest.mark.parametrize(
    ("token", "reason"), [("", "unauthenticated"), ("not-a-token", "bad_token")]
)
async def test_a_missing_or_bad_token_is_closed_4401(
    tmp_path: Path, token: str, reason: str
) -> None:
    async with running(tmp_path) as app:
        console = await Console(app).connect()
        console.send_raw(protocol.hello_frame(token))
        closed, code = await console.wait_closed()
        assert closed is not None and closed.reason == reason
        assert code == 4401


async def test_origins_are_checked_before_the_upgrade(tmp_path: Path) -> None:
    async with running(tmp_path, console_origins=("https://console.example",)) as app:
        port = app.http_port
        for origin in (
            "https://evil.example",
            f"http://127.0.0.1:{port}.evil.org",
            f"http://127.0.0.1:{port + 1}",
            f"ftp://127.0.0.1:{port}",
            "null",
            "https://console.example:444",
        ):
            with pytest.raises(WSError) as info:
                await Console(app).connect(origin=origin)
            assert "403" in str(info.value), origin
        for origin in (f"http://127.0.0.1:{port}", "https://console.example", None):
            op = await demo_operator(app)
            console = await (await Console(app).connect(origin=origin)).hello(op.token)
            await console.close()


def test_the_own_origin_is_the_host_the_browser_asked() -> None:
    assert console_origin_allowed("http://chat.example:8080", "chat.example:8080", ())
    assert console_origin_allowed("https://chat.example", "chat.example", ())
    assert not console_origin_allowed("https://chat.example", "other.example", ())
    assert not console_origin_allowed("https://chat.example.evil", "chat.example", ())
    assert not console_origin_allowed("https://chat.example", None, ())
    assert console_origin_allowed("https://ops.example", "x", ("https://ops.example",))


BAD_FRAMES = [
    ("text", b'{"type": "hello"}', False, "text_frame", 4400),
    ("garbage", b"\xff\xff\xff\xff", True, "bad_frame", 4400),
    ("empty", b"", True, "unknown_frame", 4400),
    (
        "a server frame",
        bridge_pb2.BridgeFrame(pong=bridge_pb2.BridgePong(id=1)).SerializeToString(),
        True,
        "unknown_frame",
        4400,
    ),
    ("commands first", protocol.commands_frame([]), True, "no_hello", 4400),
    (
        "a call first",
        protocol.call_frame(1, "/parley.v1.Sites/ListSites", b""),
        True,
        "no_hello",
        4400,
    ),
    ("a ping first", protocol.ping_frame(1), True, "no_hello", 4400),
    ("too large", protocol.ping_frame(1) + b"\x00" * 5000, True, "too_large", 1009),
]


@pytest.mark.parametrize(
    ("payload", "binary", "reason", "code"),
    [case[1:] for case in BAD_FRAMES],
    ids=[case[0] for case in BAD_FRAMES],
)
async def test_a_bad_frame_closes_with_its_reason(
    tmp_path: Path, payload: bytes, binary: bool, reason: str, code: int
) -> None:
    async with running(tmp_path, console_frame_limit=4096) as app:
        console = await Console(app).connect()
        console.send_raw(payload, binary=binary)
        closed, close_code = await console.wait_closed()
        assert closed is not None and (closed.reason, closed.code) == (reason, code)
        assert close_code == code


async def test_a_second_hello_is_refused(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        op = await demo_operator(app)
        console = await (await Console(app).connect()).hello(op.token)
        console.send_raw(protocol.hello_frame(op.token))
        closed, code = await console.wait_closed()
        assert closed is not None and closed.reason == "already_hello" and code == 4400


async def test_a_frame_over_the_hard_limit_is_closed_1009(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        console = await Console(app).connect()
        console.send_raw(b"\x00" * (app.config.edge.hard_frame_limit + 1))
        _, code = await console.wait_closed()
        assert code == 1009


async def test_a_flood_is_cut(tmp_path: Path) -> None:
    async with running(tmp_path, console_rate=1.0, console_burst=20.0) as app:
        op = await demo_operator(app)
        console = await (await Console(app).connect()).hello(op.token)
        # Answered or refused, every frame spends (in one write: read at once).
        console.send_together(
            [
                protocol.ping_frame(i) if i % 2 else protocol.call_frame(i, "/nothing", b"")
                for i in range(40)
            ]
        )
        closed, code = await console.wait_closed()
        assert closed is not None and closed.reason == "rate_limited" and code == 4429


async def test_a_console_without_hello_in_time_is_closed(tmp_path: Path) -> None:
    clock = FakeClock()
    async with running(tmp_path, clock=clock, hello_timeout=10.0) as app:
        console = await Console(app).connect()
        waiting = await Console(app).connect()
        op = await demo_operator(app)
        await waiting.hello(op.token)  # the server has seen both connections
        clock.advance(10.1)
        closed, code = await console.wait_closed()
        assert closed is not None and closed.reason == "hello_timeout" and code == 4408
        await waiting.ping()  # a hello in time called its deadline off
        await waiting.close()


async def test_too_many_calls_at_once_are_refused(tmp_path: Path) -> None:
    async with running(tmp_path, console_calls=2) as app:
        op = await demo_operator(app)
        console = await (await Console(app).connect()).hello(op.token)
        request = control_pb2.ListSitesRequest().SerializeToString()
        calls = [console.expect_call(i) for i in (101, 102, 103)]
        console.send_together(
            [protocol.call_frame(i, "/parley.v1.Sites/ListSites", request) for i in (101, 102, 103)]
        )
        answers = [await call for call in calls]
        kinds = [a.WhichOneof("frame") for a in answers]
        assert kinds[:2] == ["reply", "reply"]
        assert kinds[2] == "error" and answers[2].error.reason == "TOO_MANY_CALLS"
        await console.close()


async def test_batches_waiting_behind_a_write_are_joined(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        op = await demo_operator(app)
        console = await (await Console(app).connect()).hello(op.token)
        markers = [f"sjoin-{i:04d}" for i in range(50)]
        for marker in markers:  # one frame each, written while others wait
            action = operator_pb2.ChatAction(conversation_id=marker, join=operator_pb2.JoinChat())
            console.send_commands(operator_pb2.OperatorCommand(action=action))
        answered = []
        while len(answered) < len(markers):
            answered.append((await console.event("error")).conversation_id)
        assert answered == markers  # each handled once, in order
        await console.close()


class Writer:
    """A second session of the console's operator writing long messages into a
    chat (a post reaches its author's other sessions)."""

    def __init__(self, op: Operator, chat: str) -> None:
        self.op, self.chat, self.sent = op, chat, 0

    async def write(self, count: int) -> None:
        for _ in range(count):
            self.sent += 1
            self.op.say(self.chat, f"o{self.sent}", "x" * 4000)
        for _ in range(count):
            await self.op.recv("ack")

    async def until_paused(self, app: Parley) -> None:
        """Write until the bridge stops reading the console's stream: the
        console's socket and its buffer on the bridge are full."""
        (bridged,) = app.edge.consoles  # type: ignore[union-attr]
        async with asyncio.timeout(20):
            while bridged.writable.is_set():
                await self.write(20)


async def stalled_console(app: Parley) -> tuple[Console, Visitor, Writer, str]:
    """A console in a chat that has stopped reading, its bridge paused."""
    op = await demo_operator(app)
    console = await (await Console(app).connect()).hello(op.token)
    visitor = await Visitor(visitor_url(app)).connect()
    await visitor.hello()
    visitor.send({"type": "msg", "cid": "v1", "text": "Hello there"})
    chat = (await visitor.recv("ack"))["conversation"]
    await console.event("message")
    assert console.transport is not None
    console.transport.underlying_transport.pause_reading()
    await op.open()
    writer = Writer(op, chat)
    await writer.until_paused(app)
    return console, visitor, writer, chat


def message_seqs(console: Console, chat: str) -> list[int]:
    return [
        e.message.seq
        for e in console.seen
        if e.WhichOneof("event") == "message" and e.message.conversation_id == chat
    ]


async def resumes_gap_free(app: Parley, console: Console, writer: Writer, chat: str) -> None:
    """A new console resuming from the last seq the old one got gets the rest,
    each once."""
    held = max(message_seqs(console, chat))
    last = writer.sent + 2  # the visitor's first message and the join notice
    back = await (await Console(app).connect()).hello(writer.op.token, resume={chat: held})
    await settled(app, back)
    assert message_seqs(back, chat) == list(range(held + 1, last + 1))
    await back.close()


async def test_a_console_that_stops_reading_is_cut_and_resumes(tmp_path: Path) -> None:
    clock = FakeClock()
    async with running(tmp_path, clock=clock, console_send_buffer=16 * 1024) as app:
        console, visitor, writer, chat = await stalled_console(app)
        (bridged,) = app.edge.consoles
        assert bridged.transport is not None
        server_side = bridged.transport
        clock.advance(app.config.edge.console_stall_seconds + 1)
        async with asyncio.timeout(5):
            await server_side.wait_disconnected()
        # Cut with a reset, no close frame (it would queue behind the rest).
        assert console.transport is not None
        sock = console.transport.underlying_transport.get_extra_info("socket")
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == errno.ECONNRESET
        assert console.closed is None
        await console.close()
        await resumes_gap_free(app, console, writer, chat)
        await visitor.close()


async def test_a_console_too_slow_for_the_stream_is_closed_and_resumes(tmp_path: Path) -> None:
    async with running(tmp_path, stream_backlog=100, console_send_buffer=16 * 1024) as app:
        console, visitor, writer, chat = await stalled_console(app)
        for _ in range(10):  # past the stream's backlog while the bridge waits
            await writer.write(20)  # (in steps: the writer's own stream has that backlog too)
        assert console.transport is not None
        console.transport.underlying_transport.resume_reading()
        closed, code = await console.wait_closed(timeout=20)
        assert closed is not None and closed.reason == "too_slow" and code == 4503
        # (Resuming is as after a cut, above; this stream's backlog is too
        # small for the replay of what it dropped.)
        await visitor.close()
