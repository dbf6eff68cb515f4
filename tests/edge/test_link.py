"""The edge link in one test process: a real engine (``Parley`` with the
EdgeLink service and no websocket listener of its own), a real
:class:`~edge.link.listener.LinkedEdge` attached over real gRPC, visitors on
real websockets. The kill -9 cases run as processes in
tests/integration/test_split_mode.py."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from control.runner import Parley, ServeConfig
from edge.config import EdgeConfig
from edge.link import secret as link_secret
from edge.link.client import LinkRefused
from edge.link.listener import LinkedEdge
from parley.v1 import common_pb2, control_pb2
from tests.conftest import CHEAP_HASHER
from tests.integration.helpers import Visitor, on_duty, settled


@asynccontextmanager
async def linked(tmp_path: Path) -> AsyncIterator[tuple[Parley, LinkedEdge]]:
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
    edge = LinkedEdge(EdgeConfig(port=0), f"127.0.0.1:{app.grpc_port}", secret)
    try:
        await edge.attach()
        await edge.start(reuse_port=False)
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
