"""Logins cannot starve the chat: chat latency with and without a login flood,
side by side in one run.

    python -m loadtest.bench_logins [--visitors 20] [--rate 200] [--flooders 32]
                                    [--seconds 10] [--smoke]

A real ``parley serve`` (argon2id at the library's defaults, about 170 ms of CPU
a hash) with one operator online; visitors on websockets send messages at a
steady total rate, and the latency from a visitor's send to the operator's
receipt is measured twice:

1. quiet: no logins;
2. flood: ``flooders`` clients, in a process of their own, log in as fast as
   the server answers, each with a right password. Right passwords are the
   worst case: no throttle stops them (a failed login counts against its email
   and its address, a right one does not), so this is the cost of a flood from
   many addresses, each under its limits, which loopback cannot show otherwise.
   A ``busy`` refusal (the hash gate full) is retried after 0.1 s, as it asks;
3. the same flood retrying at once: what the refusals themselves cost.

The server may use every core; the load generator runs beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
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
from google.protobuf.field_mask_pb2 import FieldMask
from picows import WSMsgType, ws_connect

from edge.visitor.frames import client_hello
from loadtest import server as parley_server
from loadtest.bench_e2e import Load, OperatorClient, VisitorClient, ms, percentile
from loadtest.machine import describe, table
from parley.v1 import control_pb2, control_pb2_grpc, operator_pb2_grpc


class Flood:
    """Counters of the login flood."""

    def __init__(self) -> None:
        self.running = False
        self.ok = 0
        self.busy = 0
        self.other = 0


async def flooder(auth: Any, email: str, password: str, flood: Flood, pause: float) -> None:
    request = control_pb2.LoginRequest(email=email, password=password)
    while flood.running:
        try:
            await auth.Login(request)
            flood.ok += 1
        except grpc.aio.AioRpcError as error:
            if (error.details() or "").startswith("busy:"):
                flood.busy += 1
                if pause:
                    await asyncio.sleep(pause)
            else:
                flood.other += 1


async def flood_process(args: argparse.Namespace) -> None:
    """The flood, in a process of its own (its load must not delay the
    measuring process's reading). Each line read is a phase: its pause after a
    busy refusal; the clients log in for ``seconds``, then the counts are
    printed as a line of JSON. Ends at the end of its input."""
    reader = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    channels = [grpc.aio.insecure_channel(args.flood) for _ in range(args.flooders)]
    for ch in channels:
        await ch.channel_ready()
    print("ready", flush=True)
    while line := await reader.readline():
        flood = Flood()
        flood.running = True
        pause = float(line)
        tasks = [
            asyncio.create_task(
                flooder(control_pb2_grpc.AuthStub(ch), args.email, args.password, flood, pause)
            )
            for ch in channels
        ]
        await asyncio.sleep(args.seconds)
        flood.running = False
        await asyncio.gather(*tasks)  # each ends after its call in flight
        counts = {"ok": flood.ok, "busy": flood.busy, "other": flood.other}
        print(orjson.dumps(counts).decode(), flush=True)
    for ch in channels:
        await ch.close()


class FloodProcess:
    """The measuring side of the flood's process."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    @classmethod
    async def start(
        cls, address: str, email: str, password: str, args: argparse.Namespace
    ) -> FloodProcess:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "loadtest.bench_logins",
            "--flood",
            address,
            "--email",
            email,
            "--password",
            password,
            "--flooders",
            str(args.flooders),
            "--seconds",
            str(args.seconds * 1.1),  # the phase's warm-up and measurement
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        flood = cls(proc)
        assert (await flood._line()) == "ready"
        return flood

    async def _line(self) -> str:
        assert self.proc.stdout is not None
        async with asyncio.timeout(120):
            line = await self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the flood's process ended")
        return line.decode().strip()

    def begin(self, pause: float) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{pause}\n".encode())

    async def counts(self) -> dict[str, int]:
        counts: dict[str, int] = orjson.loads(await self._line())
        return counts

    async def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        await self.proc.wait()


async def steady(clients: list[VisitorClient], load: Load, rate: float, seconds: float) -> float:
    """Send ``rate`` messages a second, spread over the visitors, for ``seconds``
    (after a warm-up of a tenth); the rate of acks while measuring."""
    warmup = seconds / 10
    owed, turn = 0.0, 0
    last = start = time.perf_counter()
    measure_from, end = start + warmup, start + warmup + seconds
    load.acks, load.latencies, load.measuring = 0, [], False
    while (now := time.perf_counter()) < end:
        if not load.measuring and now >= measure_from:
            load.measuring, load.acks, start = True, 0, now
        owed += (now - last) * rate
        last = now
        while owed >= 1.0:
            clients[turn % len(clients)].send_one()
            turn += 1
            owed -= 1.0
        await asyncio.sleep(0.001)
    load.measuring = False
    return load.acks / max(1e-9, time.perf_counter() - start)


async def run(args: argparse.Namespace) -> list[list[str]]:
    data = Path(tempfile.mkdtemp(prefix="parley-bench-logins-"))
    srv = await parley_server.start(
        data,
        "--max-visitors-per-ip",
        "1000000",
        "--visitor-ip-rate",
        "100000000",
        "--visitor-rate",
        "1000000",
        "--visitor-burst",
        "1000000",
        required=(*parley_server.REQUIRED, "owner_password", "demo_password"),
    )
    info = srv.info
    channel = grpc.aio.insecure_channel(info["grpc"])
    tasks: list[asyncio.Task[None]] = []
    rows = []
    try:
        flood_starting = asyncio.create_task(
            FloodProcess.start(info["grpc"], info["owner_email"], info["owner_password"], args)
        )
        auth = control_pb2_grpc.AuthStub(channel)
        owner = await auth.Login(
            control_pb2.LoginRequest(email=info["owner_email"], password=info["owner_password"])
        )
        login = await auth.Login(
            control_pb2.LoginRequest(email=info["demo_email"], password=info["demo_password"])
        )
        await control_pb2_grpc.OperatorsStub(channel).UpdateOperator(
            control_pb2.UpdateOperatorRequest(
                operator=control_pb2.Operator(id=login.operator.id, max_chats=args.visitors),
                update_mask=FieldMask(paths=["max_chats"]),
            ),
            metadata=[("authorization", f"Bearer {owner.token}")],
        )
        load = Load()
        stub = operator_pb2_grpc.OperatorSessionStub(channel)
        operator = OperatorClient(stub, login.token, load, 0)
        tasks.append(asyncio.create_task(operator.run()))
        await operator.ready.wait()
        clients: list[VisitorClient] = []
        for i in range(args.visitors):
            _, client = await ws_connect(lambda i=i: VisitorClient(load, i), srv.visitor_url())
            client.transport.send(WSMsgType.TEXT, client_hello(name=f"visitor {i}"))
            await client.welcomed
            clients.append(client)
            client.send_one()
        async with asyncio.timeout(60):
            while load.first_acks < args.visitors or load.assigned < args.visitors:
                await asyncio.sleep(0.01)

        phases: list[tuple[str, float | None]] = [
            ("no logins", None),
            (f"{args.flooders} clients logging in, retry after 0.1 s when busy", 0.1),
            (f"{args.flooders} clients logging in, retry at once", 0.0),
        ]
        flood = await flood_starting
        for name, pause in phases:
            if pause is not None:
                flood.begin(pause)
            rate = await steady(clients, load, args.rate, args.seconds)
            latencies = load.latencies
            counts = await flood.counts() if pause is not None else {"ok": 0, "busy": 0}
            await asyncio.sleep(0.2)  # in-flight messages land
            load.sent_at.clear()
            took = args.seconds * 1.1
            rows.append(
                [
                    name,
                    f"{rate:,.0f}/s",
                    ms(statistics.median(latencies or [0])),
                    ms(percentile(latencies, 0.99)),
                    f"{counts['ok'] / took:,.1f}/s" if pause is not None else "-",
                    f"{counts['busy'] / took:,.0f}/s" if pause is not None else "-",
                ]
            )
        await flood.stop()
        args.errors = load.errors
        for client in clients:
            assert client.transport is not None
            client.transport.disconnect()
        return rows
    finally:
        for task in tasks:
            task.cancel()
        await channel.close()
        await srv.stop()
        shutil.rmtree(data, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--visitors", type=int, default=20)
    parser.add_argument("--rate", type=float, default=200.0, help="messages a second, in all")
    parser.add_argument("--flooders", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--flood", help=argparse.SUPPRESS)  # the flood's own process
    parser.add_argument("--email", help=argparse.SUPPRESS)
    parser.add_argument("--password", help=argparse.SUPPRESS)
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="a tiny run: the suite runs it to show the benchmark works (numbers mean nothing)",
    )
    args = parser.parse_args()
    if args.smoke:
        args.visitors, args.rate, args.flooders, args.seconds = 2, 100.0, 4, 0.3
    if args.visitors < 1 or args.rate <= 0 or args.flooders < 1 or args.seconds <= 0:
        parser.error("counts must be positive")
    if args.flood:
        uvloop.run(flood_process(args))
        return
    gc.freeze()
    rows = uvloop.run(run(args))
    print(f"Chat latency with and without a login flood. Machine: {describe()}")
    print(
        f"{args.visitors} visitors sending {args.rate:,.0f} messages/s in all to one operator, "
        f"{args.seconds:g} s per phase; logins with argon2id at the library's defaults; "
        f"chat errors seen: {args.errors}"
    )
    print(
        table(
            rows,
            [
                "phase",
                "messages/s",
                "p50 send->operator",
                "p99 send->operator",
                "logins/s",
                "busy refusals",
            ],
        )
    )


if __name__ == "__main__":
    main()
