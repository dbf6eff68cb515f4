"""Overload at twice capacity: nothing acknowledged is lost, memory stays bounded,
and latency comes back once the load drops.

    python -m loadtest.bench_overload [--mode both|one|split] [--rate N]
                                      [--seconds 20] [--recover-seconds 30]
                                      [--window-seconds 1] [--smoke]

Phases, against ``parley serve`` and then ``parley engine`` plus one edge (the
server side on core 0, this load generator on core 1):

1. saturation (skipped with ``--rate``): each visitor keeps a window of messages
   in flight; the acks per second are the capacity;
2. baseline: half the capacity, paced, for ``--baseline-seconds``; its p99 from
   send to ack is "normal";
3. overload: twice the capacity, paced whatever comes back, for ``--seconds``;
   every message must end acknowledged or refused (``overloaded`` is retryable;
   from an edge it carries ``retry_after_ms``). The resident memory of every
   server process is sampled each second;
4. recovery: half the capacity again for ``--recover-seconds``; the time from
   the drop to the first of three windows in a row (by send time, of
   ``--window-seconds``, 1 s) whose p99 is at most twice the baseline's;
5. every message answered (or the wait given up after 60 s), then every
   conversation read back with ``ListMessages``: each acknowledged message must
   be there at the seq its ack named.

The offered rate is what the generator managed to send; on a shared two-core
machine it may fall short of twice the capacity, and the table says so.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import math
import os
import shutil
import tempfile
import time
from pathlib import Path

import uvloop

from loadtest import fleet
from loadtest.chatload import Chat, Outcomes, ms, percentile
from loadtest.machine import describe, free_ports, pin, table

NORMAL_FACTOR = 2.0  # a window's p99 within twice the baseline's is "normal"
STEADY = 3  # windows in a row


class Sampler:
    """The fleet's anonymous RSS (the heap: LMDB's mapped pages left out, see
    ``fleet.rss_kib``), once a second, in the background."""

    def __init__(self, srv: fleet.Fleet, every: float = 1.0) -> None:
        self.srv = srv
        self.every = every
        self.samples: list[tuple[float, int]] = []
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            self.samples.append((time.perf_counter(), self.srv.total_anon_kib()))
            await asyncio.sleep(self.every)

    def between(self, a: float, b: float) -> list[int]:
        return [kib for t, kib in self.samples if a <= t <= b]

    def stop(self) -> None:
        self.task.cancel()


def windows(lat: list[tuple[float, float]], start: float, end: float, width: float) -> list[float]:
    """p99 of each ``width``-second window of messages sent in [start, end)."""
    n = max(1, math.ceil((end - start) / width))
    buckets: list[list[float]] = [[] for _ in range(n)]
    for sent, took in lat:
        if start <= sent < end:
            buckets[min(n - 1, int((sent - start) / width))].append(took)
    return [percentile(b, 0.99) for b in buckets]


async def measure(mode: str, args: argparse.Namespace) -> list[str]:
    data = Path(tempfile.mkdtemp(prefix="parley-overload-"))
    edges = 1 if mode == "split" else 0
    base = args.port + (10 if edges else 0)
    srv = await fleet.start(
        data,
        *fleet.UNLIMITED,
        "--visitor-messages-per-hour", "0",
        "--site-quota-mb", "0",
        base=base,
        edges=edges,
        cpu=0,
    )  # fmt: skip
    out = Outcomes()
    chat = Chat(srv, out)
    sampler: Sampler | None = None
    try:
        await chat.open(args.visitors, args.operators)
        capacity = args.rate or await chat.saturate(args.window, args.sat_seconds, args.warmup)
        sampler = Sampler(srv)
        load_avg = fleet.loadavg()
        # Baseline at half the capacity.
        await chat.offer(capacity / 2, args.warmup)
        out.take_latencies()
        t0 = time.perf_counter()
        await chat.offer(capacity / 2, args.baseline_seconds)
        base_lat = [took for _, took in out.take_latencies()]
        base_p99 = percentile(base_lat, 0.99)
        rss_base = [*sampler.between(t0, time.perf_counter()), srv.total_anon_kib()]
        # Twice the capacity, whatever comes back.
        t1 = time.perf_counter()
        sent_before = out.sent
        offered = await chat.offer(2 * capacity, args.seconds)
        t2 = time.perf_counter()
        sent_over = out.sent - sent_before
        over_lat = out.take_latencies()
        # Back to half: how long until latency is normal again.
        await chat.offer(capacity / 2, args.recover_seconds)
        t3 = time.perf_counter()
        answered = await chat.drain(60)
        rss_over = [*sampler.between(t1, t3), srv.total_anon_kib()]
        sampler.stop()
        rec_lat = out.take_latencies()
        width = args.window_seconds
        p99s = windows(rec_lat, t2, t3, width)
        normal = max(NORMAL_FACTOR * base_p99, 0.001)
        # A window with no message measured (nan) is not counted as normal.
        recovered = next(
            (
                i
                for i in range(len(p99s) - STEADY + 1)
                if all(p <= normal for p in p99s[i : i + STEADY])
            ),
            None,
        )
        checked, missing = await chat.transcript_check()
        # The fate of the messages sent during the overload, whenever it came.
        over_acked = [took for sent, took in over_lat + rec_lat if t1 <= sent < t2]
        over_refused = sum(1 for sent in out.refused_at if t1 <= sent < t2)
        refused = sum(out.refused.values())
        print(
            f"{mode}: capacity {capacity:,.0f}/s; offered {offered:,.0f}/s "
            f"for {args.seconds:.0f} s; "
            f"refusals by code {dict(out.refused)}; errors naming no message "
            f"{dict(out.other_errors)}; load operators' streams cut (each resumed): "
            f"{out.operator_cuts}; p99 per {width:g} s after the drop: "
            + " ".join(ms(p) for p in p99s)
        )
        name = "one process" if not edges else "engine + 1 edge"
        return [
            name,
            f"{capacity:,.0f}/s",
            f"{offered:,.0f}/s ({offered / capacity:.1f}x)",
            f"{sent_over:,}",
            f"{len(over_acked):,}",
            f"{over_refused:,}",
            ms(percentile(over_acked, 0.99)),
            f"{out.refused['overloaded']:,} ({out.retryable:,} retryable, {out.hinted:,} hinted)",
            f"{refused - out.refused['overloaded']:,}",
            f"{len(out.pending):,}" + ("" if answered else " (gave up)"),
            f"{checked:,} / {missing:,}",
            f"{max(rss_base) / 1024:.0f} MiB",
            f"{min(rss_over) / 1024:.0f}-{max(rss_over) / 1024:.0f} MiB",
            ms(base_p99),
            (
                f"{recovered * width:g} s ({sum(p > normal for p in p99s[recovered:]) * width:g} "
                f"of {(len(p99s) - recovered) * width:g} s above after)"
                if recovered is not None
                else f"over {args.recover_seconds:.0f} s"
            ),
            load_avg,
        ]
    finally:
        if sampler is not None:
            sampler.stop()
        await chat.close()
        await srv.stop()
        shutil.rmtree(data, ignore_errors=True)


async def run(args: argparse.Namespace) -> None:
    rows = []
    if args.mode in ("both", "one"):
        rows.append(await measure("one", args))
    if args.mode in ("both", "split"):
        rows.append(await measure("split", args))
    print(
        f"Overload at twice capacity; the server side on core 0, the load generator on core 1. "
        f"{args.visitors} visitors, {args.operators} operators. Machine: {describe()}"
    )
    headers = [
        "mode",
        "capacity",
        "offered",
        "sent in overload",
        "of which acked",
        "of which refused",
        "their p99 to ack",
        "refused overloaded (all)",
        "refused otherwise",
        "unanswered",
        "acked checked / missing",
        "anon RSS at half load",
        "anon RSS overload+recovery",
        "baseline p99",
        "back to normal (p99)",
        "load avg",
    ]
    print(table(rows, headers))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=("both", "one", "split"), default="both")
    parser.add_argument("--rate", type=float, default=0.0, help="capacity (0: measure it)")
    parser.add_argument("--visitors", type=int, default=200)
    parser.add_argument("--operators", type=int, default=4)
    parser.add_argument("--window", type=int, default=8)
    parser.add_argument("--sat-seconds", type=float, default=10.0)
    parser.add_argument("--baseline-seconds", type=float, default=10.0)
    parser.add_argument("--seconds", type=float, default=20.0, help="of overload")
    parser.add_argument("--recover-seconds", type=float, default=30.0)
    parser.add_argument(
        "--window-seconds", type=float, default=1.0, help="of each p99 window in the recovery"
    )
    parser.add_argument("--port", type=int, default=22300, help="first of the ports used")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="a tiny run: the suite runs it to show the benchmark works (numbers mean nothing)",
    )
    args = parser.parse_args()
    args.warmup = 1.0
    if args.smoke:
        args.visitors, args.operators, args.window = 4, 1, 2
        args.sat_seconds, args.baseline_seconds, args.seconds = 0.25, 0.25, 0.5
        args.recover_seconds, args.window_seconds = 0.45, 0.15  # three windows
        args.warmup, args.port = 0.1, free_ports(11)
    if min(args.visitors, args.operators, args.window) < 1 or args.rate < 0:
        parser.error("counts must be positive")
    durations = (args.sat_seconds, args.baseline_seconds, args.seconds, args.recover_seconds)
    if min(*durations, args.window_seconds) <= 0:
        parser.error("durations must be positive")
    if args.recover_seconds < STEADY * args.window_seconds:
        parser.error(f"--recover-seconds: at least {STEADY} windows of --window-seconds")
    pin(1)
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    uvloop.run(run(args))


if __name__ == "__main__":
    main()
