"""Actor runtime benchmark: Parley's runtime beside a task-plus-asyncio.Queue per
actor design and pykka (threads), in the same run, on one core.

    python -m loadtest.bench_actors [--quick | --smoke]

Ping-pong: two actors bounce a message N times. Fan-in: 10,000 actors each send K
messages to one actor (pykka: 100 actors, since each is a thread). Memory: bytes
per idle activated actor (tracemalloc).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import threading
import time
import tracemalloc
from typing import Any

import uvloop

from engine.runtime import Actor, ActorSystem, Context
from engine.runtime.system import Props
from loadtest.machine import describe, pin, table

# -- Parley runtime ----------------------------------------------------------------


class Pinger(Actor):
    def __init__(self, key: str, snapshot: bytes | None) -> None:
        self.peer: Any = None
        self.done: asyncio.Future[None] | None = None

    def receive(self, message: Any, ctx: Context) -> Any:
        if type(message) is int:
            if message == 0:
                assert self.done is not None
                self.done.set_result(None)
                return None
            self.peer.tell(message - 1)
            return None
        self.peer, self.done, n = message
        self.peer.tell(n)
        return None


class Ponger(Actor):
    def __init__(self, key: str, snapshot: bytes | None) -> None:
        self.peer: Any = None

    def receive(self, message: Any, ctx: Context) -> Any:
        if type(message) is int:
            self.peer.tell(message)
            return None
        self.peer = message
        return None


class Sink(Actor):
    def __init__(self, key: str, snapshot: bytes | None) -> None:
        self.count = 0
        self.expected = 0
        self.done: asyncio.Future[None] | None = None

    def receive(self, message: Any, ctx: Context) -> Any:
        if message is None:
            self.count += 1
            if self.count == self.expected:
                assert self.done is not None
                self.done.set_result(None)
            return None
        self.expected, self.done = message
        return None


class Sender(Actor):
    def __init__(self, key: str, snapshot: bytes | None) -> None:
        pass

    def receive(self, message: Any, ctx: Context) -> Any:
        sink, k = message
        for _ in range(k):
            sink.tell(None)
        return None


class Idle(Actor):
    def __init__(self, key: str, snapshot: bytes | None) -> None:
        pass

    def receive(self, message: Any, ctx: Context) -> Any:
        return None


def parley_system() -> ActorSystem:
    system = ActorSystem()
    for kind, cls in (
        ("ping", Pinger),
        ("pong", Ponger),
        ("sink", Sink),
        ("send", Sender),
        ("idle", Idle),
    ):
        system.register(kind, Props(cls, capacity=10_000_000))
    return system


async def parley_pingpong(n: int) -> float:
    system = parley_system()
    ping, pong = system.ref("ping", "a"), system.ref("pong", "b")
    pong.tell(ping)
    done = asyncio.get_running_loop().create_future()
    start = time.perf_counter()
    ping.tell((pong, done, n))
    await done
    return 2 * n / (time.perf_counter() - start)


async def parley_fanin(actors: int, k: int) -> float:
    system = parley_system()
    sink = system.ref("sink", "s")
    done = asyncio.get_running_loop().create_future()
    sink.tell((actors * k, done))
    senders = [system.ref("send", str(i)) for i in range(actors)]
    for s in senders:  # activate first: creation is not what we time
        s._live_cell()
    start = time.perf_counter()
    for s in senders:
        s.tell((sink, k))
    await done
    return actors * k / (time.perf_counter() - start)


async def parley_idle_bytes(count: int) -> float:
    system = parley_system()
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for i in range(count):
        system.ref("idle", str(i)).tell(None)
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return (after - before) / count


# -- task plus asyncio.Queue per actor -------------------------------------------------


class QueueActor:
    def __init__(self, handler: Any) -> None:
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.handler = handler
        self.task = asyncio.get_running_loop().create_task(self.run())

    async def run(self) -> None:
        get = self.queue.get
        handler = self.handler
        while True:
            handler(await get())

    def tell(self, message: Any) -> None:
        self.queue.put_nowait(message)


async def queue_pingpong(n: int) -> float:
    done = asyncio.get_running_loop().create_future()
    box: dict[str, QueueActor] = {}

    def on_ping(m: int) -> None:
        if m == 0:
            done.set_result(None)
        else:
            box["pong"].tell(m - 1)

    box["ping"] = QueueActor(on_ping)
    box["pong"] = QueueActor(lambda m: box["ping"].tell(m))
    start = time.perf_counter()
    box["pong"].tell(n)
    await done
    elapsed = time.perf_counter() - start
    for a in box.values():
        a.task.cancel()
    return 2 * n / elapsed


async def queue_fanin(actors: int, k: int) -> float:
    done = asyncio.get_running_loop().create_future()
    total = actors * k
    count = [0]

    def on_sink(_m: Any) -> None:
        count[0] += 1
        if count[0] == total:
            done.set_result(None)

    sink = QueueActor(on_sink)

    def on_send(n: int) -> None:
        for _ in range(n):
            sink.tell(None)

    senders = [QueueActor(on_send) for _ in range(actors)]
    await asyncio.sleep(0)
    start = time.perf_counter()
    for s in senders:
        s.tell(k)
    await done
    elapsed = time.perf_counter() - start
    for a in [sink, *senders]:
        a.task.cancel()
    return total / elapsed


async def queue_idle_bytes(count: int) -> float:
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    actors = [QueueActor(lambda m: None) for _ in range(count)]
    await asyncio.sleep(0)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    for a in actors:
        a.task.cancel()
    await asyncio.sleep(0)
    return (after - before) / count


# -- pykka ----------------------------------------------------------------------------


def pykka_pingpong(n: int) -> float:
    import pykka

    done = threading.Event()

    class Ping(pykka.ThreadingActor):  # type: ignore[misc]
        peer: Any = None

        def on_receive(self, message: Any) -> None:
            if isinstance(message, dict):
                self.peer = message["peer"]
                self.peer.tell(message["n"])
            elif message == 0:
                done.set()
            else:
                self.peer.tell(message - 1)

    class Pong(pykka.ThreadingActor):  # type: ignore[misc]
        peer: Any = None

        def on_receive(self, message: Any) -> None:
            if isinstance(message, dict):
                self.peer = message["peer"]
            else:
                self.peer.tell(message)

    ping, pong = Ping.start(), Pong.start()
    pong.tell({"peer": ping})
    start = time.perf_counter()
    ping.tell({"peer": pong, "n": n})
    done.wait()
    elapsed = time.perf_counter() - start
    pykka.ActorRegistry.stop_all()
    return 2 * n / elapsed


def pykka_fanin(actors: int, k: int) -> float:
    import pykka

    done = threading.Event()
    total = actors * k

    class SinkA(pykka.ThreadingActor):  # type: ignore[misc]
        count = 0

        def on_receive(self, message: Any) -> None:
            self.count += 1
            if self.count == total:
                done.set()

    class SendA(pykka.ThreadingActor):  # type: ignore[misc]
        def on_receive(self, message: Any) -> None:
            for _ in range(message["k"]):
                message["sink"].tell(None)

    sink = SinkA.start()
    senders = [SendA.start() for _ in range(actors)]
    start = time.perf_counter()
    for s in senders:
        s.tell({"sink": sink, "k": k})
    done.wait()
    elapsed = time.perf_counter() - start
    pykka.ActorRegistry.stop_all()
    return total / elapsed


# -- the table ------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the counts")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="a tiny run: the suite runs it to show the benchmark works (numbers mean nothing)",
    )
    args = parser.parse_args()
    scale = 1000 if args.smoke else 10 if args.quick else 1
    n, actors, k = 1_000_000 // scale, 10_000 // max(1, scale // 10), max(1, 100 // scale)
    pin(0)

    async def run_async() -> dict[str, float]:
        out = {}
        out["parley_pp"] = max([await parley_pingpong(n) for _ in range(3)])
        out["queue_pp"] = max([await queue_pingpong(n) for _ in range(3)])
        out["parley_fan"] = max([await parley_fanin(actors, k) for _ in range(3)])
        out["queue_fan"] = max([await queue_fanin(actors, k) for _ in range(3)])
        out["parley_mem"] = await parley_idle_bytes(100_000 // scale)
        out["queue_mem"] = await queue_idle_bytes(100_000 // scale)
        return out

    r = uvloop.run(run_async())
    pk_pp = pykka_pingpong(max(20 if args.smoke else 20_000, n // 20))
    pk_actors = 100 // max(1, scale // 100)
    pk_fan = pykka_fanin(pk_actors, max(1, 200 // scale))

    def rate(x: float) -> str:
        return f"{x / 1e6:.2f}M/s" if x >= 1e6 else f"{x / 1e3:.0f}k/s"

    rows = [
        [
            "ping-pong (2 actors)",
            rate(r["parley_pp"]),
            rate(r["queue_pp"]),
            rate(pk_pp),
            f"{r['parley_pp'] / r['queue_pp']:.1f}x",
            f"{r['parley_pp'] / pk_pp:.0f}x",
        ],
        [
            f"fan-in ({actors:,} to 1; pykka {pk_actors})",
            rate(r["parley_fan"]),
            rate(r["queue_fan"]),
            rate(pk_fan),
            f"{r['parley_fan'] / r['queue_fan']:.1f}x",
            f"{r['parley_fan'] / pk_fan:.0f}x",
        ],
        [
            "bytes per idle actor",
            f"{r['parley_mem']:.0f} B",
            f"{r['queue_mem']:.0f} B",
            "-",
            "-",
            "-",
        ],
    ]
    print(f"Actor runtime, one core, uvloop. Machine: {describe()}")
    print(table(rows, ["benchmark", "parley", "task+Queue", "pykka", "vs task+Queue", "vs pykka"]))


if __name__ == "__main__":
    main()
