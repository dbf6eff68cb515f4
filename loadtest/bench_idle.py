"""Idle visitors: how much server memory one connected visitor costs.

    python -m loadtest.bench_idle [--visitors 20000] [--smoke]

Starts ``parley serve`` on core 0, opens N visitor websockets from core 1, each
sending hello and getting its welcome (a new identity, stored), then measures
the server's resident memory (RSS) before and after. Everything a connected
visitor costs counts: the socket, picows buffers, the session, the visitor actor
and the LMDB pages its identity touched.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import resource
import tempfile
import time
from pathlib import Path

import orjson
import uvloop
from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from edge.visitor.frames import client_hello
from loadtest import server as parley_server
from loadtest.bench_e2e import rss_kib
from loadtest.machine import describe, pin, table


class Idle(WSListener):  # type: ignore[misc]
    def __init__(self) -> None:
        self.welcomed = asyncio.get_running_loop().create_future()

    def on_ws_connected(self, transport: WSTransport) -> None:
        transport.send(WSMsgType.TEXT, client_hello())

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is WSMsgType.TEXT and not self.welcomed.done():
            doc = orjson.loads(frame.get_payload_as_bytes())
            if doc["type"] == "welcome":
                self.welcomed.set_result(None)
            else:
                self.welcomed.set_exception(RuntimeError(f"refused: {doc}"))


def raise_fd_limit(n: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(n, soft), max(n, hard)))
    except (ValueError, PermissionError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def run(visitors: int, concurrency: int, warm: int = 50, settle: float = 1.0) -> None:
    data = Path(tempfile.mkdtemp(prefix="parley-idle-"))
    srv = await parley_server.start(
        data, "--max-visitors-per-ip", "1000000", "--visitor-ip-rate", "100000000", cpu=0
    )
    transports: list[WSTransport] = []
    try:
        url = srv.visitor_url()
        # Warm up: the first connections load code paths and buffers once.
        for _ in range(warm):
            transport, listener = await ws_connect(Idle, url)
            await listener.welcomed
            transports.append(transport)
        await asyncio.sleep(settle)
        before = rss_kib(srv.pid)
        start = time.perf_counter()
        sem = asyncio.Semaphore(concurrency)

        async def one() -> None:
            async with sem:
                transport, listener = await ws_connect(Idle, url)
                await listener.welcomed
                transports.append(transport)

        await asyncio.gather(*(one() for _ in range(visitors)))
        elapsed = time.perf_counter() - start
        gc.collect()
        await asyncio.sleep(2 * settle)
        after = rss_kib(srv.pid)
        per = (after - before) / visitors
        print(f"Idle visitors, server on core 0. Machine: {describe()}")
        print(
            table(
                [
                    [
                        f"{visitors:,}",
                        f"{visitors / elapsed:,.0f}/s",
                        f"{before / 1024:.0f} MiB",
                        f"{after / 1024:.0f} MiB",
                        f"{per:.1f} KiB",
                    ]
                ],
                [
                    "visitors (hello done)",
                    "connect+hello rate",
                    "RSS before",
                    "RSS after",
                    "per visitor",
                ],
            )
        )
    finally:
        for transport in transports:
            transport.disconnect()
        await srv.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    # 19,000 by default: this machine's hard limit on open files is 20,000 per
    # process, and neither side may raise it.
    parser.add_argument("--visitors", type=int, default=19_000)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="a tiny run: the suite runs it to show the benchmark works (numbers mean nothing)",
    )
    args = parser.parse_args()
    if args.visitors < 1 or args.concurrency < 1:
        parser.error("counts must be positive")
    warm, settle = 50, 1.0
    if args.smoke:
        args.visitors, args.concurrency, warm, settle = 20, 10, 5, 0.05
    pin(1)
    raise_fd_limit(args.visitors + 1000)
    uvloop.run(run(args.visitors, args.concurrency, warm, settle))


if __name__ == "__main__":
    main()
