"""End-to-end benchmark: visitors on websockets send messages that operators
receive on gRPC session streams; every message is stored (synced LMDB commit)
before its ack; then operators answer, and visitors receive the answers on
their websockets (the direction every answer takes). Beside it, in the same
run, a bare picows echo server and ejabberd (the Erlang chat server, storing
nothing; loadtest/ejabberd_peer.py) on the same core with the same load pattern.

    python -m loadtest.bench_e2e [--visitors 200] [--operators 4] [--window 8]
                                 [--seconds 10] [--ports FIRST] [--smoke]

ejabberd is Debian's package (``apt-get install -y ejabberd``); without it the
table says so and leaves its rows out.

The Parley phases run twice: as served (the history index following the store),
then with ``--no-history``, so the index's cost on the chat path is in the table.

The server runs on core 0 (taskset), this load generator on core 1. Phases:
1. echo: the bare echo server, each connection keeping WINDOW frames in flight;
2. saturation: each visitor keeps WINDOW messages in flight (a new one on each
   ack); durable acks per second, and latency from the visitor's send to the
   operator's receipt;
3. half rate: a steady total rate of half the saturation rate, latency again;
4. and 5. the same from the operators to the visitors: each chat keeps WINDOW
   of its operator's messages in flight on the operator's stream;
6. ejabberd: connection i sends to connection i + n/2 (a delivery lets its
   sender send the next), saturated then at half that rate.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import orjson
import uvloop
from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from edge.visitor.frames import client_hello, client_msg
from loadtest import ejabberd_peer, split_mode
from loadtest import server as parley_server
from loadtest.machine import describe, pin, table
from loadtest.split_mode import cpu_seconds
from parley.v1 import control_pb2, control_pb2_grpc, operator_pb2, operator_pb2_grpc

TEXT = "Hello, I have a question about my order number 12345, thanks!"
INDEX_CORE: int | None = None  # --index-core: where the history index's process runs
PORTS = 0  # --ports: the first of the ports the servers listen on (0: any free ones)


def port(offset: int) -> int:
    """The port of one server: echo 0, Parley's websockets 1 and gRPC 2, ejabberd 3."""
    return PORTS + offset if PORTS else 0


def children(pid: int) -> list[int]:
    """A process's children, whichever of its threads started them."""
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return found


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


# -- echo baseline ------------------------------------------------------------------


class EchoClient(WSListener):  # type: ignore[misc]
    def __init__(self, stats: dict[str, Any]) -> None:
        self.stats = stats
        self.transport: WSTransport | None = None

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is not WSMsgType.TEXT:
            return
        payload = frame.get_payload_as_bytes()
        orjson.loads(payload)  # the same parsing work a chat client does
        stats = self.stats
        stats["echoed"].set()
        if stats["measuring"]:
            stats["count"] += 1
        if stats["running"]:
            transport.send(WSMsgType.TEXT, payload)


async def echo_phase(conns: int, window: int, seconds: float, warmup: float = 1.0) -> float:
    srv = await parley_server.start(
        Path("."),
        cpu=0,
        command=[sys.executable, "-m", "loadtest.echo_server", str(port(0))],
        required=("ws",),
    )
    try:
        url = srv.info.get("ws")
        assert url
        stats: dict[str, Any] = {
            "count": 0,
            "measuring": False,
            "running": True,
            "echoed": asyncio.Event(),
        }
        clients = []
        for _ in range(conns):
            transport, client = await ws_connect(lambda: EchoClient(stats), f"ws://{url}/")
            clients.append(transport)
        frame = client_msg("0-0", TEXT)
        for transport in clients:
            for _ in range(window):
                transport.send(WSMsgType.TEXT, frame)
        # The warm-up counts from the first echo: a busy machine may be slow
        # to start the server's loop, and a window with no echo measures nothing.
        await asyncio.wait_for(stats["echoed"].wait(), 60)
        await asyncio.sleep(warmup)
        stats["measuring"] = True
        start = time.perf_counter()
        await asyncio.sleep(seconds)
        # Stretched until an echo is counted (a tiny window on a busy machine
        # may hold none); the rate still divides by the whole time measured.
        deadline = time.perf_counter() + 30
        while not stats["count"] and time.perf_counter() < deadline:
            await asyncio.sleep(0.005)
        stats["measuring"] = False
        rate = stats["count"] / (time.perf_counter() - start)
        stats["running"] = False
        for transport in clients:
            transport.disconnect()
        return rate
    finally:
        await srv.stop()


# -- Parley ----------------------------------------------------------------------------


async def _until_measured(load: Load, limit: float = 30.0) -> None:
    """Stretch a measurement window until it holds an ack and a delivery (a tiny
    window on a busy machine may otherwise hold none); the rate still divides
    by the whole time measured."""
    deadline = time.perf_counter() + limit
    while not (load.acks and load.latencies) and time.perf_counter() < deadline:
        await asyncio.sleep(0.005)


class Load:
    """Shared counters of one Parley run."""

    def __init__(self) -> None:
        self.sent_at: dict[str, float] = {}
        self.latencies: list[float] = []
        self.acks = 0
        self.all_acks = 0  # measured or not (CPU per message over a whole phase)
        self.inflight = 0  # sent, not yet acknowledged (either direction)
        self.direction = "in"  # whose acks count and call for the next send
        self.errors = 0
        self.measuring = False
        self.saturate = False
        self.assigned = 0
        self.first_acks = 0
        # (time, commits, history index lag in commits) while measuring, by phase
        self.lag: dict[str, list[tuple[float, int, int]]] = {"sat": [], "half": []}
        self.phase = "sat"


async def sample_lag(channel: grpc.aio.Channel, md: list[tuple[str, str]], load: Load) -> None:
    """The server's status four times a second while a phase is measured: how
    far the history index is behind the store (in commits, and in seconds at
    the phase's commit rate)."""
    stub = control_pb2_grpc.ServerStub(channel)
    while True:
        s = await stub.GetStatus(control_pb2.GetStatusRequest(), metadata=md)
        if load.measuring and load.direction == "in":
            load.lag[load.phase].append((time.perf_counter(), s.commits, s.history_index_lag))
        await asyncio.sleep(0.25)


def lag_seconds(samples: list[tuple[float, int, int]]) -> tuple[float, float]:
    """(median, max) of the index's lag in seconds: commits behind over the
    phase's commits per second."""
    if len(samples) < 2 or samples[-1][1] == samples[0][1]:
        return float("nan"), float("nan")
    rate = (samples[-1][1] - samples[0][1]) / (samples[-1][0] - samples[0][0])
    lags = [lag / rate for _t, _c, lag in samples]
    return statistics.median(lags), max(lags)


class VisitorClient(WSListener):  # type: ignore[misc]
    def __init__(self, load: Load, index: int) -> None:
        self.load = load
        self.index = index
        self.n = 0
        self.transport: WSTransport | None = None
        self.welcomed = asyncio.get_running_loop().create_future()

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport

    def send_one(self) -> None:
        cid = f"{self.index}-{self.n}"
        self.n += 1
        self.load.sent_at[cid] = time.perf_counter()
        self.load.inflight += 1
        assert self.transport is not None
        self.transport.send(WSMsgType.TEXT, client_msg(cid, TEXT))

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is not WSMsgType.TEXT:
            return
        doc = orjson.loads(frame.get_payload_as_bytes())
        kind = doc["type"]
        load = self.load
        if kind == "ack":
            load.inflight -= 1
            if doc["cid"].endswith("-0"):
                load.first_acks += 1
            if load.direction == "in":
                load.all_acks += 1
                if load.measuring:
                    load.acks += 1
                if load.saturate:
                    self.send_one()
        elif kind == "msg":
            if doc["from"] == "operator":  # operator->visitor: sent to receipt
                sent = load.sent_at.pop(doc["cid"], None)
                if sent is not None and load.measuring:
                    load.latencies.append(time.perf_counter() - sent)
        elif kind == "welcome":
            if not self.welcomed.done():
                self.welcomed.set_result(doc)
        elif kind == "error":
            load.errors += 1
            if doc.get("cid"):
                load.inflight -= 1  # a refusal answers its send too


class OperatorClient:
    """One operator's session stream. Its chats (from the assigned events) are
    where the operator->visitor phases send; the sends a batch of events calls
    for (a new one on each ack) leave as one command batch."""

    def __init__(self, stub: Any, token: str, load: Load, index: int) -> None:
        self.load = load
        self.index = index
        self.n = 0
        self.chats: list[str] = []
        self.ready = asyncio.Event()
        self.outbox: asyncio.Queue[operator_pb2.OperatorCommandBatch | None] = asyncio.Queue()
        self.pending: list[operator_pb2.OperatorCommand] = []
        self.call = stub.Connect(self.commands(), metadata=[("authorization", f"Bearer {token}")])

    async def commands(self) -> Any:
        yield operator_pb2.OperatorCommandBatch(
            commands=[operator_pb2.OperatorCommand(hello=operator_pb2.OperatorHello())]
        )
        while (batch := await self.outbox.get()) is not None:
            yield batch

    def send_one(self, conversation_id: str) -> None:
        cid = f"o{self.index}-{self.n}"
        self.n += 1
        self.load.sent_at[cid] = time.perf_counter()
        self.load.inflight += 1
        self.pending.append(
            operator_pb2.OperatorCommand(
                send=operator_pb2.OperatorSend(
                    conversation_id=conversation_id, client_msg_id=cid, text=TEXT
                )
            )
        )

    def flush(self) -> None:
        if self.pending:
            self.outbox.put_nowait(operator_pb2.OperatorCommandBatch(commands=self.pending))
            self.pending = []

    async def run(self) -> None:
        load = self.load
        try:
            async for batch in self.call:
                now = time.perf_counter()
                for event in batch.events:
                    which = event.WhichOneof("event")
                    if which == "message":
                        m = event.message
                        if m.author_kind == 1:  # visitor->operator: sent to receipt
                            sent = load.sent_at.pop(m.client_msg_id, None)
                            if sent is not None and load.measuring:
                                load.latencies.append(now - sent)
                    elif which == "ack":
                        load.inflight -= 1
                        if load.direction == "out":
                            load.all_acks += 1
                            if load.measuring:
                                load.acks += 1
                            if load.saturate:
                                self.send_one(event.ack.conversation_id)
                    elif which == "assigned":
                        load.assigned += 1
                        self.chats.append(event.assigned.conversation_id)
                    elif which == "ready":
                        self.ready.set()
                    elif which == "error":
                        load.errors += 1
                        if event.error.client_msg_id:
                            load.inflight -= 1  # a refusal answers its send too
                self.flush()
        except (grpc.aio.AioRpcError, asyncio.CancelledError):
            pass


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def parley_phases(
    visitors: int,
    operators: int,
    window: int,
    seconds: float,
    warmup: float = 1.0,
    history: bool = True,
    direction: str = "both",
    server_start: Any = None,
) -> dict[str, Any]:
    data = Path(tempfile.mkdtemp(prefix="parley-bench-"))
    # ``server_start``: another way to run the server (split mode: loadtest/split_mode.py).
    srv = await (server_start or parley_server.start)(
        data,
        "--history" if history else "--no-history",
        "--max-visitors-per-ip",
        "1000000",
        "--visitor-ip-rate",
        "100000000",
        "--visitor-rate",
        "1000000",
        "--visitor-burst",
        "1000000",
        "--visitor-messages-per-hour",
        "0",
        "--site-quota-mb",
        "0",
        *(("--http-port", str(port(1)), "--grpc-port", str(port(2))) if PORTS else ()),
        cpu=0,
        required=(*parley_server.REQUIRED, "owner_password"),
    )
    info = srv.info
    channel = grpc.aio.insecure_channel(info["grpc"])
    tasks: list[asyncio.Task[None]] = []
    ops: list[OperatorClient] = []
    try:
        auth = control_pb2_grpc.AuthStub(channel)
        operators_api = control_pb2_grpc.OperatorsStub(channel)
        owner = await auth.Login(
            control_pb2.LoginRequest(email=info["owner_email"], password=info["owner_password"])
        )
        md = [("authorization", f"Bearer {owner.token}")]
        per_op = math.ceil(visitors / operators)
        load = Load()
        stub = operator_pb2_grpc.OperatorSessionStub(channel)
        for i in range(operators):
            email = f"bench{i}@parley.local"
            await operators_api.CreateOperator(
                control_pb2.CreateOperatorRequest(
                    operator=control_pb2.Operator(
                        email=email, display_name=f"Bench {i}", department_ids=[info["department"]]
                    ),
                    password="bench-password",
                    max_chats=per_op,
                ),
                metadata=md,
            )
            login = await auth.Login(
                control_pb2.LoginRequest(email=email, password="bench-password")
            )
            op = OperatorClient(stub, login.token, load, i)
            ops.append(op)
            tasks.append(asyncio.create_task(op.run()))
            await op.ready.wait()

        clients: list[VisitorClient] = []
        url = srv.visitor_url()
        for i in range(visitors):
            _, client = await ws_connect(lambda i=i: VisitorClient(load, i), url)
            client.transport.send(WSMsgType.TEXT, client_hello(name=f"visitor {i}"))
            await client.welcomed
            clients.append(client)
        for client in clients:
            client.send_one()
        async with asyncio.timeout(60):
            while load.assigned < visitors or load.first_acks < visitors:
                await asyncio.sleep(0.05)

        result: dict[str, Any] = {}
        pids = dict(getattr(srv, "pids", {"server": srv.pid}))  # split mode: engine and edge
        for who, pid in list(pids.items()):  # the history index's process, a child
            for kid in children(pid):
                pids[f"{who}'s history index"] = kid
                if INDEX_CORE is not None:
                    os.sched_setaffinity(kid, {INDEX_CORE})
        tasks.append(asyncio.create_task(sample_lag(channel, md, load)))
        if direction in ("both", "in"):
            # Visitor->operator: each visitor is one sender.
            result["in"] = await measure(
                load,
                [client.send_one for client in clients],
                lambda: None,
                window,
                seconds,
                warmup,
                pids,
            )
        if direction in ("both", "out"):
            # Operator->visitor: each chat is one sender, through its operator's
            # stream (a tick's sends to one stream leave as one command batch).
            # The visitors' last messages are acknowledged first, so neither
            # direction's load spills into the other's measurement.
            async with asyncio.timeout(120):
                while load.inflight > 0:
                    await asyncio.sleep(0.05)
            load.direction = "out"
            senders = [
                (lambda op=op, chat=chat: op.send_one(chat)) for op in ops for chat in op.chats
            ]

            def flush() -> None:
                for op in ops:
                    op.flush()

            result["out"] = await measure(load, senders, flush, window, seconds, warmup, pids)
        result["errors"] = load.errors
        result["lag"] = load.lag
        result["rss_kib"] = rss_kib(srv.pid)
        for client in clients:
            assert client.transport is not None
            client.transport.disconnect()
        # The visitor->operator figures at the top as well, where the split
        # mode's table (loadtest/split_mode.py) reads them.
        result.update(result.get("in", {}))
        return result
    finally:
        for op in ops:
            op.outbox.put_nowait(None)
        for task in tasks:
            task.cancel()
        await channel.close()
        await srv.stop()
        shutil.rmtree(data, ignore_errors=True)  # the run leaves nothing behind


async def measure(
    load: Load,
    senders: list[Callable[[], None]],
    flush: Callable[[], None],
    window: int,
    seconds: float,
    warmup: float,
    pids: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Saturation (each sender keeps ``window`` messages in flight, a new one on
    each ack), then a steady total rate of half the saturated rate; the rates
    of durable acks and the latencies from send to the other side's receipt,
    and the CPU time of the server's processes (``pids``, by role) while
    saturated, which a shared machine disturbs less than a rate."""
    load.saturate = True
    load.phase = "sat"
    for send in senders:
        for _ in range(window):
            send()
    flush()
    await asyncio.sleep(warmup)
    load.acks, load.latencies = 0, []
    load.measuring = True
    start = time.perf_counter()
    pids = pids or {}
    cpu_before = {who: cpu_seconds(pid) for who, pid in pids.items()}
    generator_before = time.process_time()  # this process, every thread of it
    await asyncio.sleep(seconds)
    await _until_measured(load)
    load.measuring = False
    cpu = {who: cpu_seconds(pid) - cpu_before[who] for who, pid in pids.items()}
    generator_cpu = time.process_time() - generator_before
    sat_acks = load.acks
    sat_cpu = sum(cpu.values()) / max(1, sat_acks)
    sat_rate = load.acks / (time.perf_counter() - start)
    sat_lat = load.latencies
    load.saturate = False
    await asyncio.sleep(warmup)  # let in-flight messages land
    load.sent_at.clear()

    # Half rate, paced by a 1 ms ticker.
    load.phase = "half"
    target = sat_rate / 2
    load.acks, load.latencies = 0, []
    owed = 0.0
    turn = 0
    tick = 0.001
    end = time.perf_counter() + seconds + warmup
    measure_from = time.perf_counter() + warmup
    last = time.perf_counter()
    # Past the window only while nothing has been measured yet (a tiny
    # window on a busy machine), so every rate stands on something seen.
    while (now := time.perf_counter()) < end or (
        not (load.acks and load.latencies) and now < end + 30
    ):
        if not load.measuring and now >= measure_from:
            load.measuring = True
            load.acks = 0
            start = now
        owed += (now - last) * target
        last = now
        while owed >= 1.0:
            senders[turn % len(senders)]()
            turn += 1
            owed -= 1.0
        flush()
        await asyncio.sleep(tick)
    load.measuring = False
    half_rate = load.acks / (time.perf_counter() - start)
    half_lat = load.latencies
    await asyncio.sleep(warmup)  # let in-flight messages land
    load.sent_at.clear()
    return {
        "sat_rate": sat_rate,
        "sat_lat": sat_lat,
        "sat_cpu": sat_cpu,
        "sat_acks": sat_acks,
        "cpu": cpu,
        "generator_cpu": generator_cpu,  # not in sat_cpu: the server's alone
        "half_rate": half_rate,
        "half_lat": half_lat,
    }


def ms(x: float) -> str:
    return f"{x * 1000:.1f} ms"


def latency_cells(lat: list[float]) -> list[str]:
    return [
        ms(statistics.median(lat or [0])),
        ms(percentile(lat, 0.99)),
        ms(percentile(lat, 0.999)),
    ]


def of_echo(rate: float, echo: float) -> str:
    return f"{100 * rate / echo:.1f}%" if echo else "-"


def phase_rows(name: str, phase: dict[str, Any], echo: float) -> list[list[str]]:
    return [
        [
            f"{name}, saturated",
            f"{phase['sat_rate']:,.0f}/s",
            of_echo(phase["sat_rate"], echo),
            f"{phase['sat_cpu'] * 1e6:.1f} us" if phase["sat_cpu"] else "-",
            *latency_cells(phase["sat_lat"]),
        ],
        [
            f"{name}, half the saturated rate",
            f"{phase['half_rate']:,.0f}/s",
            of_echo(phase["half_rate"], echo),
            "-",
            *latency_cells(phase["half_lat"]),
        ],
    ]


async def run(args: argparse.Namespace) -> None:
    if args.split:
        await split_mode.run(args)
        return
    echo = await echo_phase(args.visitors, args.window, args.seconds, args.warmup)
    p = await parley_phases(args.visitors, args.operators, args.window, args.seconds, args.warmup)
    # The same load with the history index off: what following the store costs.
    off = await parley_phases(
        args.visitors,
        args.operators,
        args.window,
        args.seconds,
        args.warmup,
        history=False,
        direction="in",
    )
    # The peer: ejabberd on the same core with the same shape of load (None
    # when it is not installed: the column is left out, the rest stands).
    ejabberd = await ejabberd_peer.phases(
        args.visitors, args.window, args.seconds, args.warmup, port(3), measure
    )
    print(f"End to end, server on core 0, load generator on core 1. Machine: {describe()}")
    print(
        f"{args.visitors} visitors, {args.operators} operators, {args.window} in flight per "
        f"sender, {args.seconds:.0f} s per phase; errors seen: {p['errors'] + off['errors']}; "
        f"server RSS at the end: {p['rss_kib'] / 1024:.0f} MiB"
    )
    rows = [
        ["bare picows echo (no storage)", f"{echo:,.0f}/s", "100%", "-", "-", "-", "-"],
        *phase_rows("parley visitor->operator (durable acks)", p["in"], echo),
        *phase_rows("parley operator->visitor (durable acks)", p["out"], echo),
        phase_rows("parley visitor->operator, history index off", off["in"], echo)[0],
    ]
    if ejabberd is not None:
        rows += phase_rows("ejabberd 1 scheduler (stores nothing)", ejabberd, echo)
    else:
        print(f"ejabberd not installed: its rows are left out ({ejabberd_peer.INSTALL})")
    print(table(rows, ["run", "messages/s", "of echo", "server CPU/msg", "p50", "p99", "p99.9"]))
    print("Latency: from the send to the other side's receipt of the message.")
    for phase, name in (("sat", "saturated"), ("half", "half rate")):
        samples = p["lag"][phase]
        mid, top = lag_seconds(samples)
        print(
            f"history index lag, visitor->operator {name}: median {mid:.2f} s, max {top:.2f} s "
            f"({max((lag for _t, _c, lag in samples), default=0)} commits at most, "
            f"{len(samples)} samples)"
        )
    for run, name in ((p, "index on"), (off, "index off")):
        for direction in ("in", "out"):
            if direction not in run:
                continue
            acks = max(run[direction]["sat_acks"], 1)
            cpu = " + ".join(
                f"{who} {1e6 * sec / acks:.1f} us" for who, sec in run[direction]["cpu"].items()
            )
            generator = 1e6 * run[direction]["generator_cpu"] / acks
            print(
                f"CPU a message, saturated {direction}, {name}: {cpu}; "
                f"load generator {generator:.1f} us"
            )
    if ejabberd is not None:
        best = max(p["in"]["sat_rate"], p["out"]["sat_rate"])
        worst = min(p["in"]["sat_rate"], p["out"]["sat_rate"])
        print(
            f"Parley saturated, durable, against ejabberd saturated storing nothing: "
            f"{worst / ejabberd['sat_rate']:.2f}x to {best / ejabberd['sat_rate']:.2f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--visitors", type=int, default=200)
    parser.add_argument("--operators", type=int, default=4)
    parser.add_argument("--window", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--ports",
        type=int,
        default=0,
        help="listen on this port and the three after it (echo, Parley http and gRPC, "
        "ejabberd); 0: any free ports",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="a tiny run: the suite runs it to show the benchmark works (numbers mean nothing)",
    )
    parser.add_argument(
        "--split",
        action="store_true",
        help="split mode (parley engine + one parley edge) beside one process, instead",
    )
    parser.add_argument(
        "--index-core",
        type=int,
        default=None,
        help="run the history index's process on this core (e.g. 1, the load's) rather than "
        "beside the server on core 0, as on a machine with a core to spare for it",
    )
    args = parser.parse_args()
    global PORTS, INDEX_CORE
    PORTS = args.ports
    INDEX_CORE = args.index_core
    args.warmup = 1.0  # seconds before each measurement, and to let messages land
    if args.smoke:
        args.visitors, args.operators, args.window, args.seconds = 4, 1, 2, 0.05
        args.warmup = 0.05
    if args.visitors < 1 or args.operators < 1 or args.window < 1 or args.seconds <= 0:
        parser.error("counts must be positive")
    pin(1)
    # The generator's own collector pauses would show up as server latency.
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    uvloop.run(run(args))


if __name__ == "__main__":
    main()
