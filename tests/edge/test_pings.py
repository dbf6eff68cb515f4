"""Websocket pings: every connection answers them itself (picows' own answer is
off), and a visitor's spend its rate buckets like any other frame."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from edge.console_login import LOGIN_PATH
from edge.files import UPLOAD_PATH
from edge.ping import CONTROL_BURST
from edge.server import CONSOLE_PATH
from edge.visitor.codes import CLOSE_RATE
from edge.visitor.protocol import MAX_RATE_STRIKES
from tests.edge.test_link import linked
from tests.integration.helpers import running


class Frames(WSListener):  # type: ignore[misc]
    """A client keeping every frame it is sent: (kind, payload or close code)."""

    def __init__(self) -> None:
        self.frames: asyncio.Queue[tuple[WSMsgType, Any]] = asyncio.Queue()

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is WSMsgType.CLOSE:
            self.frames.put_nowait((frame.msg_type, frame.get_close_code()))
        else:
            self.frames.put_nowait((frame.msg_type, frame.get_payload_as_bytes()))

    async def next(self) -> tuple[WSMsgType, Any]:
        async with asyncio.timeout(5):
            return await self.frames.get()


async def pinged(url: str, port: int) -> bytes:
    """A ping sent on a new websocket at ``url``: the payload of its pong."""
    origin = f"http://127.0.0.1:{port}"
    transport, client = await ws_connect(Frames, url, extra_headers={"Origin": origin})
    try:
        transport.send_ping(b"are you there?")
        kind, payload = await client.next()
        assert kind is WSMsgType.PONG, (url, kind, payload)
        return bytes(payload)
    finally:
        transport.disconnect()


async def test_every_websocket_answers_a_ping(tmp_path: Path) -> None:
    """Visitors, consoles, console logins and uploads, in one process and on
    an edge: each answers a ping with its payload."""
    paths = [CONSOLE_PATH, LOGIN_PATH, UPLOAD_PATH]
    async with running(tmp_path / "one") as app:
        assert app.demo is not None
        port = app.http_port
        urls = [f"ws://127.0.0.1:{port}/v1/visitor?site={app.demo['site']}"]
        urls += [f"ws://127.0.0.1:{port}{path}" for path in paths]
        for url in urls:
            assert await pinged(url, port) == b"are you there?"
    async with linked(tmp_path / "split") as (app, edge):
        assert app.demo is not None
        urls = [f"ws://127.0.0.1:{edge.port}/v1/visitor?site={app.demo['site']}"]
        urls += [f"ws://127.0.0.1:{edge.port}{path}" for path in paths]
        for url in urls:
            assert await pinged(url, edge.port) == b"are you there?"


async def flooded(url: str, burst: int) -> None:
    """Pings past a visitor's burst are refused ``rate_limited`` like any frame,
    and enough refusals close the connection 4429."""
    transport, client = await ws_connect(Frames, url)
    try:
        for i in range(burst):
            transport.send_ping(b"%d" % i)
        for i in range(burst):
            assert await client.next() == (WSMsgType.PONG, b"%d" % i)
        for _ in range(MAX_RATE_STRIKES):
            transport.send_ping(b"more")
        await refused_then_closed(client)  # no pong among them
    finally:
        transport.disconnect()


async def refused_then_closed(client: Frames) -> None:
    """Each of MAX_RATE_STRIKES frames refused ``rate_limited``, then the close."""
    for _ in range(MAX_RATE_STRIKES):
        kind, payload = await client.next()
        assert kind is WSMsgType.TEXT, (kind, payload)
        assert orjson.loads(payload)["code"] == "rate_limited"
    assert await client.next() == (WSMsgType.CLOSE, CLOSE_RATE)


async def in_both_modes(
    tmp_path: Path, burst: int, check: Callable[[str, int], Awaitable[None]]
) -> dict[str, int]:
    """``check(visitor url, burst)`` on a server whose visitors have that burst
    (and a tenth of a frame a second), in one process and through an edge;
    what the edge refused itself, by code."""
    limits = {"visitor_rate": 0.1, "visitor_burst": burst}
    async with running(tmp_path / "one", **limits) as app:
        assert app.demo is not None
        await check(f"ws://127.0.0.1:{app.http_port}/v1/visitor?site={app.demo['site']}", burst)
    async with linked(tmp_path / "split", **limits) as (app, edge):
        assert app.demo is not None
        await check(f"ws://127.0.0.1:{edge.port}/v1/visitor?site={app.demo['site']}", burst)
        return dict(edge.refusals)


async def test_a_visitors_pings_spend_its_rate(tmp_path: Path) -> None:
    await in_both_modes(tmp_path, 3, flooded)


async def spent(url: str, burst: int) -> None:
    """Pongs nobody asked for, fragments' heads (refused ``fragmented``) and
    their continuations spend a visitor's rate like any frame: past the burst
    they are refused ``rate_limited``, and enough refusals close it 4429."""
    transport, client = await ws_connect(Frames, url)
    try:
        transport.send(WSMsgType.TEXT, b'{"type":', fin=False)
        kind, payload = await client.next()
        assert kind is WSMsgType.TEXT and orjson.loads(payload)["code"] == "fragmented"
        for _ in range(burst - 2):
            transport.send(WSMsgType.CONTINUATION, b'"ping"', fin=False)
        transport.send(WSMsgType.PONG, b"unasked")  # the burst is spent now
        for _ in range(MAX_RATE_STRIKES):
            transport.send(WSMsgType.PONG, b"unasked")
        await refused_then_closed(client)
    finally:
        transport.disconnect()


async def test_pongs_and_fragments_spend_a_visitors_rate(tmp_path: Path) -> None:
    refused = await in_both_modes(tmp_path, 4, spent)
    assert refused["fragmented"] == 1
    assert refused["rate_limited"] == MAX_RATE_STRIKES


async def pings_closed(url: str, port: int, burst: int) -> int:
    """A burst and one more of pings at once on a new websocket at ``url``,
    then one more whenever all were answered (the bucket refills as it goes):
    the connection is closed 4429; the pongs it sent first. (No ping is left
    unread when it closes: a socket closed with unread data is reset, and its
    close frame may be lost.)"""
    origin = f"http://127.0.0.1:{port}"
    transport, client = await ws_connect(Frames, url, extra_headers={"Origin": origin})
    try:
        sent = burst + 1
        for i in range(sent):
            transport.send_ping(b"%d" % i)
        pongs = 0
        while (frame := await client.next())[0] is not WSMsgType.CLOSE:
            kind, _payload = frame
            assert kind in (WSMsgType.PONG, WSMsgType.BINARY), frame  # BINARY: BridgeClosed
            if kind is WSMsgType.PONG:
                pongs += 1
                if pongs == sent:  # a token came back meanwhile: one more
                    transport.send_ping(b"more")
                    sent += 1
        assert frame[1] == CLOSE_RATE, (url, frame)
        return pongs
    finally:
        transport.disconnect()


async def test_consoles_logins_and_uploads_close_a_flood_of_pings(tmp_path: Path) -> None:
    """Connections with no visitor's buckets meter their control frames too: a
    console spends its bridge's bucket (a burst of 200), a login and an upload
    a bucket of their own (CONTROL_BURST), in one process and on an edge."""
    bursts = {CONSOLE_PATH: 200, LOGIN_PATH: int(CONTROL_BURST), UPLOAD_PATH: int(CONTROL_BURST)}
    async with running(tmp_path / "one") as app:
        for path, burst in bursts.items():
            url = f"ws://127.0.0.1:{app.http_port}{path}"
            assert burst <= await pings_closed(url, app.http_port, burst) < 2 * burst
    async with linked(tmp_path / "split") as (app, edge):
        for path in (LOGIN_PATH, UPLOAD_PATH):
            url = f"ws://127.0.0.1:{edge.port}{path}"
            burst = int(CONTROL_BURST)
            assert burst <= await pings_closed(url, edge.port, burst) < 2 * burst
