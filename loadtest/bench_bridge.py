"""The operators' web bridge: what relaying the session stream over a websocket
adds, beside a direct gRPC session client in the same run.

    python -m loadtest.bench_bridge [--rate 1000] [--seconds 5] [--consoles 100] [--smoke]

The server runs on core 0 (taskset), this load generator on core 1. The demo
operator is logged in three times: a writer session posts messages into a chat
at RATE a second (each carries its send time), and every other session of the
operator gets each one as an event: a direct gRPC session and a console over
the bridge, side by side; latency is the writer's send to the receipt. Then:
binary protobuf against JSON for a 100-event batch (this process), and
CONSOLES consoles at once on the one edge: connect and hello, the server's RSS,
and one message's fan-out to all of them.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import grpc
import orjson
import uvloop
from google.protobuf import json_format
from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from edge.bridge import protocol
from edge.visitor.frames import client_hello, client_msg
from loadtest import server as parley_server
from loadtest.bench_e2e import rss_kib
from loadtest.machine import describe, pin, table
from parley.v1 import (
    bridge_pb2,
    common_pb2,
    control_pb2,
    control_pb2_grpc,
    operator_pb2,
    operator_pb2_grpc,
)

PREFIX = "t="  # a posted message's text starts with its send time (ns)


def _stamp(events: Any, arrived: int, out: list[float], since: int = 0) -> None:
    """Latencies (ms) of the stamped messages sent after ``since`` (ns): a
    replay of older ones at a hello is not a latency."""
    for event in events:
        if event.WhichOneof("event") == "message" and event.message.text.startswith(PREFIX):
            sent = int(event.message.text[2:].split(" ", 1)[0])
            if sent >= since:
                out.append((arrived - sent) / 1e6)


class Console(WSListener):
    """A console over the bridge: hello, then message latencies."""

    def __init__(self) -> None:
        self.ready = asyncio.get_running_loop().create_future()
        self.latencies: list[float] = []
        self.got = 0
        self.since = 0  # count messages sent from this time (ns)
        self.last_seq = 0  # the highest message seq seen

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is not WSMsgType.BINARY:
            return
        arrived = time.perf_counter_ns()
        doc = bridge_pb2.BridgeFrame.FromString(frame.get_payload_as_bytes())
        kind = doc.WhichOneof("frame")
        if kind == "events":
            before = len(self.latencies)
            for event in doc.events.events:
                if event.WhichOneof("event") == "message":
                    self.last_seq = max(self.last_seq, event.message.seq)
            _stamp(doc.events.events, arrived, self.latencies, self.since)
            self.got += len(self.latencies) - before
        elif kind == "ready" and not self.ready.done():
            self.ready.set_result(None)
        elif kind == "closed" and not self.ready.done():
            self.ready.set_exception(RuntimeError(str(doc.closed)))


async def open_console(
    url: str, token: str, resume: dict[str, int] | None = None
) -> tuple[WSTransport, Console]:
    transport, console = await ws_connect(Console, url)
    console.since = time.perf_counter_ns()  # a replay of older messages is no latency
    transport.send(WSMsgType.BINARY, protocol.hello_frame(token, resume))
    await console.ready
    return transport, console


async def direct_session(
    channel: grpc.aio.Channel, token: str, out: list[float]
) -> tuple[Any, asyncio.Task[None]]:
    """A direct gRPC session client; message latencies go to ``out``."""
    stub = operator_pb2_grpc.OperatorSessionStub(channel)
    outbox: asyncio.Queue[Any] = asyncio.Queue()
    hello = operator_pb2.OperatorCommand(hello=operator_pb2.OperatorHello())
    outbox.put_nowait(operator_pb2.OperatorCommandBatch(commands=[hello]))

    async def commands() -> Any:
        while (item := await outbox.get()) is not None:
            yield item

    call = stub.Connect(commands(), metadata=[("authorization", f"Bearer {token}")])
    ready = asyncio.get_running_loop().create_future()

    async def read() -> None:
        async for batch in call:
            arrived = time.perf_counter_ns()
            if not ready.done() and any(e.WhichOneof("event") == "ready" for e in batch.events):
                ready.set_result(None)
            _stamp(batch.events, arrived, out)

    task = asyncio.create_task(read())
    await ready
    return (call, outbox), task


class VisitorClient(WSListener):
    def __init__(self) -> None:
        self.frames: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is WSMsgType.TEXT:
            self.frames.put_nowait(orjson.loads(frame.get_payload_as_bytes()))

    async def recv(self, kind: str) -> dict[str, Any]:
        while True:
            frame = await self.frames.get()
            if frame["type"] == kind:
                return frame


async def quiet(counts: Any, *goal: int) -> None:
    """Wait until ``counts()`` reaches ``goal``, or stops moving for a second."""
    last, still = counts(), 0.0
    while still < 1.0 and tuple(last) < goal:
        await asyncio.sleep(0.05)
        now = counts()
        still = still + 0.05 if now == last else 0.0
        last = now


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


_cids = itertools.count(1)  # client message ids, unique across the run


async def post(outbox: asyncio.Queue[Any], chat: str, rate: float, seconds: float) -> int:
    """Post messages into ``chat`` at ``rate`` a second, in 10 ms ticks."""
    tick, sent = 0.01, 0
    start = time.perf_counter()
    while (now := time.perf_counter()) - start < seconds:
        due = int((now - start) * rate) - sent
        commands = []
        for _ in range(max(0, due)):
            sent += 1
            text = f"{PREFIX}{time.perf_counter_ns()} message {sent}"
            send = operator_pb2.OperatorSend(
                conversation_id=chat, client_msg_id=f"b{next(_cids)}", text=text
            )
            commands.append(operator_pb2.OperatorCommand(send=send))
        if commands:
            outbox.put_nowait(operator_pb2.OperatorCommandBatch(commands=commands))
        await asyncio.sleep(tick)
    return sent


def encoding_rows(repeat: int) -> list[list[str]]:
    """Binary protobuf against JSON for one 100-event batch."""
    batch = operator_pb2.OperatorEventBatch()
    for i in range(100):
        msg = common_pb2.ChatMessage(
            conversation_id="sabcdefghi-c0123456789",
            seq=1000 + i,
            author_kind=common_pb2.AUTHOR_KIND_VISITOR
            if i % 2
            else common_pb2.AUTHOR_KIND_OPERATOR,
            author_name="Visitor 42",
            text="Hello, I have a question about my order number 12345, thanks!",
            client_msg_id=f"cid-{i}",
            sent_at_ms=1_780_000_000_000 + i,
        )
        batch.events.add(message=msg)
    data = batch.SerializeToString()
    framed = protocol.events_frame(data)

    def timed(fn: Any) -> float:
        start = time.perf_counter()
        for _ in range(repeat):
            fn()
        return (time.perf_counter() - start) / repeat * 1e6

    as_json = json_format.MessageToJson(batch).encode()
    via_dict = orjson.dumps(json_format.MessageToDict(batch))

    def parse_dict() -> None:
        json_format.ParseDict(orjson.loads(via_dict), operator_pb2.OperatorEventBatch())

    return [
        [
            "binary protobuf (the bridge)",
            f"{timed(batch.SerializeToString):.1f}",
            f"{timed(lambda: operator_pb2.OperatorEventBatch.FromString(data)):.1f}",
            f"{len(framed):,}",
        ],
        [
            "bridge relay (tag + length, no decoding)",
            f"{timed(lambda: protocol.events_frame(data)):.1f}",
            "-",
            f"{len(framed):,}",
        ],
        [
            "JSON (json_format.MessageToJson)",
            f"{timed(lambda: json_format.MessageToJson(batch)):.1f}",
            f"{timed(lambda: json_format.Parse(as_json, operator_pb2.OperatorEventBatch())):.1f}",
            f"{len(as_json):,}",
        ],
        [
            "JSON (MessageToDict + orjson)",
            f"{timed(lambda: orjson.dumps(json_format.MessageToDict(batch))):.1f}",
            f"{timed(parse_dict):.1f}",
            f"{len(via_dict):,}",
        ],
    ]


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="parley-bench-bridge-") as tmp:
        srv = await parley_server.start(
            Path(tmp) / "data", cpu=0, required=(*parley_server.REQUIRED, "demo_email")
        )
        try:
            await run(srv, args)
        finally:
            await srv.stop()


async def run(srv: parley_server.Server, args: argparse.Namespace) -> None:
    info = srv.info
    channel = grpc.aio.insecure_channel(info["grpc"])
    auth = control_pb2_grpc.AuthStub(channel)

    async def login() -> str:
        req = control_pb2.LoginRequest(email=info["demo_email"], password=info["demo_password"])
        return (await auth.Login(req)).token

    token = await login()
    console_url = f"ws://{info['ws']}/v1/console"
    direct: list[float] = []
    (direct_call, _), direct_task = await direct_session(channel, token, direct)
    bridge_transport, bridged = await open_console(console_url, token)
    writer_lat: list[float] = []
    (writer_call, writer_box), writer_task = await direct_session(channel, token, writer_lat)

    visitor_transport, visitor = await ws_connect(VisitorClient, srv.visitor_url())
    visitor_transport.send(WSMsgType.TEXT, client_hello())
    await visitor.recv("welcome")
    visitor_transport.send(WSMsgType.TEXT, client_msg("v1", "Hello"))
    chat = (await visitor.recv("ack"))["conversation"]

    await post(writer_box, chat, args.rate, 0.5)  # warm up
    await asyncio.sleep(0.5)
    direct.clear()
    bridged.latencies.clear()
    sent = await post(writer_box, chat, args.rate, args.seconds)
    await quiet(lambda: (len(direct), len(bridged.latencies)), sent, sent)
    rows = []
    for name, lat in (
        ("direct gRPC session", direct),
        ("console over the bridge", bridged.latencies),
    ):
        rows.append(
            [
                name,
                f"{sent / args.seconds:,.0f}/s",
                f"{len(lat):,}",
                f"{pct(lat, 0.5):.2f}",
                f"{pct(lat, 0.99):.2f}",
            ]
        )
    added50 = pct(bridged.latencies, 0.5) - pct(direct, 0.5)
    added99 = pct(bridged.latencies, 0.99) - pct(direct, 0.99)
    print(f"Web bridge, server on core 0, load generator on core 1. Machine: {describe()}")
    print()
    print(
        "Relay latency: a message posted by the operator's writer session, to its other"
        f" sessions ({args.seconds:g} s):"
    )
    print(table(rows, ["client", "posted", "received", "p50 ms", "p99 ms"]))
    print(f"Added by the bridge: p50 {added50:+.2f} ms, p99 {added99:+.2f} ms")
    print()

    print("Encoding one OperatorEventBatch of 100 chat messages (this process, µs each):")
    print(
        table(
            encoding_rows(200 if args.smoke else 2000),
            ["encoding", "encode µs", "decode µs", "bytes"],
        )
    )
    print()

    # Many consoles on one edge.
    rss_before = rss_kib(srv.pid)
    start = time.perf_counter()
    # Each resumes from the last seq: what the chat held is not replayed to it.
    held = {chat: bridged.last_seq}
    consoles = await asyncio.gather(
        *(open_console(console_url, token, held) for _ in range(args.consoles))
    )
    opened = time.perf_counter() - start
    rss_after = rss_kib(srv.pid)
    fan = 20

    # The goal is what was posted: the ticks of post() may fall short of FAN,
    # and a goal never reached costs quiet()'s second of stillness.
    fanned = await post(writer_box, chat, fan / 0.2, 0.2)
    await quiet(lambda: (min(c.got for _, c in consoles),), fanned)
    lat = [x for _, c in consoles for x in c.latencies]
    delivered = sum(c.got for _, c in consoles)
    print(
        f"{args.consoles} consoles at once on the one edge (each a session of the demo operator):"
    )
    print(
        table(
            [
                [
                    f"{args.consoles}",
                    f"{opened:.2f}",
                    f"{(rss_after - rss_before) / max(1, args.consoles):,.0f}",
                    f"{delivered:,}",
                    f"{pct(lat, 0.5):.1f}",
                    f"{pct(lat, 0.99):.1f}",
                ]
            ],
            [
                "consoles",
                "connect+hello s",
                "server KiB each",
                f"events delivered (of {fanned * args.consoles:,})",
                "p50 ms",
                "p99 ms",
            ],
        )
    )
    for transport, _ in consoles:
        transport.disconnect()
    bridge_transport.disconnect()
    visitor_transport.disconnect()
    for call in (direct_call, writer_call):
        call.cancel()
    for task in (direct_task, writer_task):
        task.cancel()
    await channel.close()


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--consoles", type=int, default=100)
    parser.add_argument("--smoke", action="store_true", help="a tiny run for the test suite")
    args = parser.parse_args(argv)
    if args.smoke:
        args.rate, args.seconds, args.consoles = 200.0, 1.0, 10
    return args


if __name__ == "__main__":
    arguments = parse(sys.argv[1:])
    pin(1)
    uvloop.run(main(arguments))
