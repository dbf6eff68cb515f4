"""A visitor resuming a long chat: how fast the replay reaches it.

    python -m loadtest.bench_resume [--messages 2000] [--size 3900] [--bounds 64,1024]
                                    [--mode both|one|split] [--runs 3] [--port 22500]
                                    [--smoke]

For each mode and visitor send bound (``--visitor-send-buffer-kib``): a
visitor opens a chat, an operator answers it ``--messages`` times with
``--size`` characters each, and the visitor leaves; then a visitor comes back
with its token from seq 0, ``--runs`` times, each timed from its hello to its
welcome (which comes after the last message replayed). The replay goes at the
reader's pace: it stops where half the send bound is unsent and goes on when
the socket has drained to a quarter. Side by side, in the same run: the bare
picows echo server writing the same number of frames of the same size at once,
to the same client (what the socket and the client take, with nothing stored
or paced). The server side runs on core 0, this client on core 1.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import grpc
import orjson
import uvloop
from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from edge.visitor.frames import client_hello, client_msg
from loadtest import fleet
from loadtest import server as parley_server
from loadtest.chatload import new_operator
from loadtest.machine import describe, free_ports, pin, table
from parley.v1 import operator_pb2, operator_pb2_grpc


class Reader(WSListener):  # type: ignore[misc]
    """A visitor that reads everything it is sent as it comes: counts the
    message frames and their bytes, and resolves ``done`` on the frame that
    ends what it waits for (a welcome, or the last of a burst)."""

    def __init__(self, burst: int = 0) -> None:
        self.burst = burst
        self.messages = 0
        self.bytes = 0
        self.docs: list[dict[str, Any]] = []  # frames other than messages
        self.done: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.welcomes = 0

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is not WSMsgType.TEXT:
            return
        payload = frame.get_payload_as_bytes()
        self.bytes += len(payload)
        if self.burst:
            self.messages += 1
            if self.messages == self.burst and not self.done.done():
                self.done.set_result({})
            return
        if payload.startswith(b'{"type":"msg"'):
            self.messages += 1
            return
        doc = orjson.loads(payload)
        self.docs.append(doc)
        if doc["type"] == "welcome" and not self.done.done():
            self.done.set_result(doc)

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if not self.done.done():
            self.done.set_exception(ConnectionError("the server closed the connection"))


async def operator(srv: fleet.Fleet) -> tuple[Any, asyncio.Queue[Any], asyncio.Queue[Any]]:
    """An operator of the demo department, online: its stream's call, the queue
    of command batches it sends and the queue of events it gets."""
    channel = grpc.aio.insecure_channel(srv.info["grpc"])
    token = await new_operator(channel, srv.info, "resume@parley.local", "resume-password", 5)
    commands: asyncio.Queue[Any] = asyncio.Queue()
    events: asyncio.Queue[Any] = asyncio.Queue()

    async def send() -> Any:
        while (batch := await commands.get()) is not None:
            yield operator_pb2.OperatorCommandBatch(commands=batch)

    call = operator_pb2_grpc.OperatorSessionStub(channel).Connect(
        send(), metadata=[("authorization", f"Bearer {token}")]
    )

    async def read() -> None:
        async for batch in call:
            for event in batch.events:
                events.put_nowait(event)

    asyncio.get_running_loop().create_task(read())
    hello = operator_pb2.OperatorCommand(hello=operator_pb2.OperatorHello())
    commands.put_nowait([hello])
    await first(events, "ready")
    return call, commands, events


async def first(events: asyncio.Queue[Any], kind: str) -> Any:
    """The next event of ``kind`` (those before it dropped)."""
    async with asyncio.timeout(60):
        while True:
            event = await events.get()
            if event.WhichOneof("event") == kind:
                return getattr(event, kind)


async def long_chat(srv: fleet.Fleet, messages: int, size: int) -> str:
    """A chat answered ``messages`` times, its visitor gone: the visitor's token."""
    _call, commands, events = await operator(srv)
    first_visitor = Reader()
    transport, _ = await ws_connect(lambda: first_visitor, srv.visitor_url())
    transport.send(WSMsgType.TEXT, client_hello(name="resuming visitor"))
    welcome = await first_visitor.done
    transport.send(WSMsgType.TEXT, client_msg("q1", "please tell me everything"))
    chat = (await first(events, "assigned")).conversation_id
    text = "x" * size
    sent = 0
    while sent < messages:
        batch = [
            operator_pb2.OperatorCommand(
                send=operator_pb2.OperatorSend(
                    conversation_id=chat, client_msg_id=f"a{i}", text=text
                )
            )
            for i in range(sent, min(messages, sent + 100))
        ]
        commands.put_nowait(batch)
        for _ in batch:
            ack = await first(events, "ack")
            assert ack.seq > 0
        sent += len(batch)
    transport.disconnect()
    commands.put_nowait(None)
    return str(welcome["token"])


async def resume(url: str, token: str, expected: int) -> tuple[float, int]:
    """Seconds from the hello to the welcome, and the bytes of the messages."""
    reader = Reader()
    transport, _ = await ws_connect(lambda: reader, url)
    hello = orjson.dumps({"type": "hello", "v": 1, "token": token, "last_seq": 0})
    started = time.perf_counter()
    transport.send(WSMsgType.TEXT, hello)
    async with asyncio.timeout(300):
        await reader.done
    took = time.perf_counter() - started
    transport.disconnect()
    if reader.messages != expected:
        raise RuntimeError(f"replayed {reader.messages} messages, not {expected}")
    return took, reader.bytes


async def burst(url: str, count: int, size: int) -> float:
    reader = Reader(burst=count)
    transport, _ = await ws_connect(lambda: reader, url)
    started = time.perf_counter()
    transport.send(WSMsgType.TEXT, f"burst {count} {size}".encode())
    async with asyncio.timeout(300):
        await reader.done
    took = time.perf_counter() - started
    transport.disconnect()
    return took


def row(what: str, seconds: list[float], count: int, size: int) -> list[str]:
    took = statistics.median(seconds)
    return [
        what,
        f"{took * 1000:,.1f} ms",
        f"{count / took:,.0f}/s",
        f"{count * size / took / 1e6:,.1f} MB/s",
        " / ".join(f"{s * 1000:,.1f}" for s in seconds),
    ]


async def run(args: argparse.Namespace) -> list[list[str]]:
    rows: list[list[str]] = []
    modes = ["one", "split"] if args.mode == "both" else [args.mode]
    expected = args.messages + 2  # the operator's joining notice and the visitor's question
    frame_size = 0
    for mode in modes:
        for kib in args.bounds:
            data = Path(tempfile.mkdtemp(prefix="parley-resume-"))
            srv = await fleet.start(
                data,
                "--visitor-send-buffer-kib", str(kib),
                "--visitor-messages-per-hour", "0",
                base=args.port + (10 if mode == "split" else 0),
                edges=1 if mode == "split" else 0,
                cpu=0,
            )  # fmt: skip
            try:
                token = await long_chat(srv, args.messages, args.size)
                seconds = []
                for _ in range(args.runs):
                    took, size = await resume(srv.visitor_url(), token, expected)
                    seconds.append(took)
                frame_size = size // expected
                name = "parley serve" if mode == "one" else "parley engine + 1 edge"
                rows.append(row(f"{name}, {kib:,} KiB bound", seconds, expected, frame_size))
            finally:
                await srv.stop()
                shutil.rmtree(data, ignore_errors=True)
    echo = await parley_server.start(
        Path("."),
        cpu=0,
        command=[sys.executable, "-m", "loadtest.echo_server", str(args.port + 20)],
        required=("ws",),
    )
    try:
        url = f"ws://{echo.info['ws']}/"
        seconds = [await burst(url, expected, frame_size) for _ in range(args.runs)]
        rows.insert(0, row("bare picows echo, all written at once", seconds, expected, frame_size))
    finally:
        await echo.stop()
    args.frame_size = frame_size
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--size", type=int, default=3900, help="characters a message")
    parser.add_argument(
        "--bounds", default="64,1024", help="visitor send bounds to run, in KiB, comma-separated"
    )
    parser.add_argument("--mode", choices=("both", "one", "split"), default="both")
    parser.add_argument("--runs", type=int, default=3, help="resumes timed per row (the median)")
    parser.add_argument("--port", type=int, default=22500, help="first of the ports used")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="a tiny run: the suite runs it to show the benchmark works (numbers mean nothing)",
    )
    args = parser.parse_args()
    try:
        args.bounds = [int(x) for x in args.bounds.split(",")]
    except ValueError:
        parser.error("--bounds: KiB, comma-separated")
    if args.smoke:
        args.messages, args.size, args.runs, args.bounds = 60, 3900, 1, [64]
        args.port = free_ports(20)
    if args.messages < 1 or args.size < 1 or args.runs < 1 or min(args.bounds) < 64:
        parser.error("counts must be positive and bounds at least 64 KiB")
    pin(1)
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    rows = uvloop.run(run(args))
    print(f"A visitor resuming a long chat. Machine: {describe()}")
    print(
        f"{args.messages:,} answers of {args.size:,} characters ({args.frame_size:,} bytes a "
        f"frame), replayed from seq 0 to a visitor that reads as they come; median of "
        f"{args.runs}, hello to welcome; server on core 0, client on core 1"
    )
    print(table(rows, ["replay", "time", "messages/s", "bytes/s", "each run, ms"]))


if __name__ == "__main__":
    main()
