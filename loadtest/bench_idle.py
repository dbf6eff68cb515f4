"""Idle visitors: how much server memory one connected visitor costs, in one
process and in split mode (an engine and several edges sharing a port).

    python -m loadtest.bench_idle [--visitors 100000] [--one-visitors 19000]
                                  [--edges 8] [--mode both|one|split] [--smoke]

Each visitor opens a websocket, sends hello and gets its welcome (a new
identity, stored), then stays idle, answering the server's websocket pings (an
idle connection is pinged after 120 s). Memory is every server process's
resident set (RSS, from ``/proc``) summed, before the visitors and after; the
difference over the count is the cost of one visitor: the socket, picows
buffers, the session, the visitor actor and the LMDB pages its identity touched.
At the end every visitor sends a ``ping`` frame and must get its ``pong``
through the whole path (edge, link, engine session), so the count is of live
visitors, not of sockets.

The load comes from several worker processes (this module run with
``--worker``), each under the per-process limit on open files, each spreading
its connections over source addresses 127.0.0.2 and up so that no source
address runs out of ports. The server side runs on core 0, the workers on core 1.
One process can hold only as many visitors as its limit on open files allows
(the hard limit, which a process may not raise), so the one-process run is
capped at ``--one-visitors``; split mode spreads the sockets over the edges.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import orjson
import uvloop
from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from edge.visitor.frames import client_hello
from loadtest import fleet
from loadtest.machine import describe, free_ports, pin, table

PING = orjson.dumps({"type": "ping"})


def raise_fd_limit(n: int) -> int:
    """Raise this process's limit on open files towards ``n`` (as far as the hard
    limit allows); the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(n, soft), max(n, hard)))
    except (ValueError, PermissionError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# -- the worker: one process of the load generator ----------------------------------


class Idle(WSListener):  # type: ignore[misc]
    def __init__(self) -> None:
        loop = asyncio.get_running_loop()
        self.welcomed = loop.create_future()
        self.ponged = loop.create_future()
        self.dropped = False

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.dropped = True

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is not WSMsgType.TEXT:
            return
        doc = orjson.loads(frame.get_payload_as_bytes())
        kind = doc["type"]
        if kind == "welcome" and not self.welcomed.done():
            self.welcomed.set_result(None)
        elif kind == "pong" and not self.ponged.done():
            self.ponged.set_result(None)
        elif kind == "error" and not self.welcomed.done():
            self.welcomed.set_exception(RuntimeError(f"refused: {doc}"))


async def worker(url: str, count: int, sources: list[str], concurrency: int) -> None:
    """Connect ``count`` idle visitors when told ``go`` on stdin, report, answer
    ``ping`` with the number of pongs, and disconnect on ``quit``."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    clients: list[tuple[WSTransport, Idle]] = []
    failures: list[str] = []
    print("ready", flush=True)
    assert (await reader.readline()).strip() == b"go"
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with sem:
            try:
                transport, listener = await ws_connect(
                    Idle,
                    url,
                    local_addr=(sources[i % len(sources)], 0),
                    read_buffer_init_size=2048,
                    websocket_handshake_timeout=60,
                )
                transport.send(WSMsgType.TEXT, client_hello())
                await asyncio.wait_for(listener.welcomed, 120)
                clients.append((transport, listener))
            except Exception as e:  # counted and reported, the run goes on
                failures.append(f"{type(e).__name__}: {e}")

    start = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(count)))
    took = time.perf_counter() - start
    first = failures[0] if failures else ""
    print(f"connected {len(clients)} {took:.3f} {len(failures)} {first!r}", flush=True)
    while line := (await reader.readline()).strip():
        if line == b"ping":
            for transport, _ in clients:
                transport.send(WSMsgType.TEXT, PING)
            futures = [listener.ponged for _, listener in clients]
            # A connection the server dropped never answers: wait a bounded time.
            await asyncio.wait(futures, timeout=60)
            alive = sum(1 for f in futures if f.done())
            dropped = sum(1 for _, listener in clients if listener.dropped)
            print(f"pong {alive} {dropped}", flush=True)
        elif line == b"quit":
            break
    for transport, _ in clients:
        transport.disconnect()


# -- the conductor ------------------------------------------------------------------


class Workers:
    """The load generator's processes and their line protocol."""

    def __init__(self, procs: list[asyncio.subprocess.Process]) -> None:
        self.procs = procs

    @classmethod
    async def spawn(
        cls, url: str, visitors: int, per_worker: int, sources: list[str], concurrency: int
    ) -> Workers:
        n = max(1, math.ceil(visitors / per_worker))
        procs = []
        for i in range(n):
            count = visitors // n + (1 if i < visitors % n else 0)
            # Each worker its own slice of the source addresses.
            mine = sources[i::n] or sources
            argv = [
                sys.executable, "-m", "loadtest.bench_idle", "--worker",
                "--url", url, "--count", str(count), "--sources", ",".join(mine),
                "--concurrency", str(max(1, concurrency // n)),
            ]  # fmt: skip
            procs.append(
                await asyncio.create_subprocess_exec(
                    *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
                )
            )
        workers = cls(procs)
        await workers.read_all("ready")
        return workers

    async def read_all(self, word: str) -> list[list[str]]:
        out = []
        for proc in self.procs:
            assert proc.stdout is not None
            line = (await proc.stdout.readline()).decode().split(" ", 4)
            if line[0].strip() != word:
                raise RuntimeError(f"worker said {line!r}, expected {word!r}")
            out.append([part.strip() for part in line[1:]])
        return out

    def tell(self, word: str) -> None:
        for proc in self.procs:
            assert proc.stdin is not None
            proc.stdin.write(word.encode() + b"\n")

    async def stop(self) -> None:
        for proc in self.procs:
            if proc.returncode is None and proc.stdin is not None:
                with contextlib.suppress(Exception):
                    proc.stdin.write(b"quit\n")
        for proc in self.procs:
            try:
                async with asyncio.timeout(30):
                    await proc.wait()
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def measure(
    mode: str, visitors: int, edges: int, base: int, args: argparse.Namespace
) -> list[str]:
    """One run; its table row."""
    data = Path(tempfile.mkdtemp(prefix="parley-idle-"))
    srv = await fleet.start(data, *fleet.UNLIMITED, base=base, edges=edges, cpu=0)
    workers: Workers | None = None
    warm: Workers | None = None
    try:
        url = srv.visitor_url()
        # Warm up: the first connections load code paths and buffers once.
        warm = await Workers.spawn(url, args.warm, args.warm, args.sources[:1], 10)
        warm.tell("go")
        await warm.read_all("connected")
        workers = await Workers.spawn(
            url, visitors, args.per_worker, args.sources, args.concurrency
        )
        await asyncio.sleep(args.settle)
        before_each = srv.rss_kib()
        before = sum(before_each.values())
        load_before = fleet.loadavg()
        start = time.perf_counter()
        workers.tell("go")
        reports = await workers.read_all("connected")
        elapsed = time.perf_counter() - start
        connected = sum(int(r[0]) for r in reports)
        failed = sum(int(r[2]) for r in reports)
        await asyncio.sleep(2 * args.settle)
        after_each = srv.rss_kib()
        after = sum(after_each.values())
        workers.tell("ping")
        pongs = await workers.read_all("pong")
        alive = sum(int(r[0]) for r in pongs)
        dropped = sum(int(r[1]) for r in pongs)
        if dropped:
            print(f"{mode}: {dropped} visitors were disconnected by the server while idle")
        if failed:
            first = next(r[3] for r in reports if int(r[2]))
            print(f"{mode}: {failed} visitors failed to connect; first: {first}")
        per = (after - before) / max(connected, 1)
        # Where it goes: the engine's share, and the edges' together.
        grown = {k: (after_each[k] - before_each[k]) / max(connected, 1) for k in after_each}
        edges_share = sum(v for k, v in grown.items() if k.startswith("edge"))
        split = (
            f"engine {grown['engine']:.1f} + edges {edges_share:.1f}"
            if "engine" in grown
            else f"server {grown['server']:.1f}"
        )
        name = "one process" if edges == 0 else f"engine + {edges} edges"
        return [
            name,
            f"{connected:,}",
            f"{elapsed:.1f} s ({connected / elapsed:,.0f}/s)",
            f"{before / 1024:.0f} MiB",
            f"{after / 1024:.0f} MiB",
            f"{per:.1f} KiB",
            split,
            f"{alive:,}",
            load_before,
        ]
    finally:
        if workers is not None:
            await workers.stop()
        if warm is not None:
            await warm.stop()
        await srv.stop()
        shutil.rmtree(data, ignore_errors=True)


async def run(args: argparse.Namespace) -> None:
    rows = []
    if args.mode in ("both", "one"):
        rows.append(await measure("one", args.one_visitors, 0, args.port, args))
        print("one process: " + ", ".join(rows[-1]), flush=True)  # progress
    if args.mode in ("both", "split"):
        rows.append(await measure("split", args.visitors, args.edges, args.port + 10, args))
    print(
        f"Idle visitors; the server side on core 0, the load generator's processes on core 1 "
        f"(open files per process: {resource.getrlimit(resource.RLIMIT_NOFILE)[1]:,}). "
        f"Machine: {describe()}"
    )
    headers = [
        "mode",
        "visitors (hello done)",
        "time to connect all",
        "RSS before (all)",
        "RSS after (all)",
        "per visitor",
        "of which (KiB)",
        "answered ping at the end",
        "load avg before",
    ]
    print(table(rows, headers))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--visitors", type=int, default=100_000, help="in split mode")
    parser.add_argument(
        "--one-visitors",
        type=int,
        default=19_000,
        help="in one process (its limit on open files caps it)",
    )
    parser.add_argument("--edges", type=int, default=8)
    parser.add_argument("--mode", choices=("both", "one", "split"), default="both")
    parser.add_argument("--port", type=int, default=22100, help="first of the ports used")
    parser.add_argument("--per-worker", type=int, default=17_000, help="visitors per worker")
    # 200: with 400 at once on two busy cores, a few hellos waited past the
    # server's 10 s hello deadline while the connections poured in.
    parser.add_argument("--concurrency", type=int, default=200, help="connects under way")
    parser.add_argument("--source-addresses", type=int, default=39, help="127.0.0.2 and up")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="a tiny run: the suite runs it to show the benchmark works (numbers mean nothing)",
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--sources", help=argparse.SUPPRESS)
    args = parser.parse_args()
    pin(1)
    if args.worker:
        raise_fd_limit(args.count + 100)
        uvloop.run(worker(args.url, args.count, args.sources.split(","), args.concurrency))
        return
    if min(args.visitors, args.one_visitors, args.edges, args.concurrency, args.per_worker) < 1:
        parser.error("counts must be positive")
    if not 1 <= args.source_addresses <= 253:
        parser.error("--source-addresses: 1 to 253")
    args.warm, args.settle = 50, 2.0
    if args.smoke:
        args.visitors, args.one_visitors, args.edges, args.per_worker = 30, 20, 2, 16
        args.concurrency, args.warm, args.settle = 10, 5, 0.1
        args.port = free_ports(11)
    args.sources = [f"127.0.0.{2 + i}" for i in range(args.source_addresses)]
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    uvloop.run(run(args))


if __name__ == "__main__":
    main()
