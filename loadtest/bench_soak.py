"""Soak: half the capacity for a long time, chats opening and closing all along;
memory, latency and the store's size per message, sampled every minute.

    python -m loadtest.bench_soak [--minutes 60] [--rate N] [--mode one|split]
                                  [--chat-length 20] [--smoke]

The server (``parley serve``, or ``parley engine`` with one edge) runs on core 0
and this load generator on core 1. Unless ``--rate`` gives the capacity, a first
phase finds it (each visitor keeping a window of messages in flight, closing its
chat after ``--chat-length`` messages as in the soak: the capacity of this
churn, not of chats kept open); then the visitors send, paced, half of it,
round robin, each closing its chat after ``--chat-length`` messages so that its
next message opens another. Each minute:
the resident memory of every server process summed (``/proc``), p50 and p99
from send to ack of the minute's messages, the chats opened, and the bytes the
data directory takes on disk (allocated blocks, every file: LMDB and the
history index) over the messages acknowledged so far. The last line compares
the tenth minute (or the first, in a shorter run) with the last.
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import tempfile
import time
from pathlib import Path

import uvloop

from loadtest import fleet
from loadtest.chatload import Chat, Outcomes, ms, percentile
from loadtest.machine import describe, free_ports, pin, table


def disk_bytes(root: Path) -> int:
    """Bytes allocated on disk to every file under ``root`` (a sparse LMDB map
    counts only for the pages written)."""
    total = 0
    for path in root.rglob("*"):
        try:
            st = path.stat()
        except OSError:
            continue
        if path.is_file():
            total += st.st_blocks * 512
    return total


async def run(args: argparse.Namespace) -> None:
    data = Path(tempfile.mkdtemp(prefix="parley-soak-"))
    edges = 1 if args.mode == "split" else 0
    srv = await fleet.start(
        data,
        *fleet.UNLIMITED,
        "--visitor-messages-per-hour", "0",
        "--site-quota-mb", "0",
        base=args.port,
        edges=edges,
        cpu=0,
    )  # fmt: skip
    out = Outcomes(keep_acked=False)
    chat = Chat(srv, out)
    rows: list[list[str]] = []
    # anonymous RSS in KiB, p50, p99, bytes per message
    series: list[tuple[int, float, float, float]] = []
    try:
        await chat.open(args.visitors, args.operators)
        # The capacity with the chats opening and closing as they will in the
        # soak: a chat's opening and closing cost about as much as its 20
        # messages, so half of the capacity with chats kept open is the limit.
        for v in chat.visitors:
            v.chat_length = args.chat_length
        capacity = args.rate or await chat.saturate(args.window, args.sat_seconds, 1.0)
        rate = capacity / 2
        began = time.perf_counter()
        load_start = fleet.loadavg()
        out.take_latencies()
        for minute in range(1, args.minutes + 1):
            acks, chats, refused = out.acks, out.chats, sum(out.refused.values())
            offered = await chat.offer(rate, args.period)
            lat = [took for _, took in out.take_latencies()]
            rss, anon = srv.total_rss_kib(), srv.total_anon_kib()
            store = disk_bytes(data)
            per_message = store / max(out.acks, 1)
            p50, p99 = percentile(lat, 0.5), percentile(lat, 0.99)
            series.append((anon, p50, p99, per_message))
            rows.append(
                [
                    f"{minute}",
                    f"{offered:,.0f}/s",
                    f"{(out.acks - acks) / args.period:,.0f}/s",
                    f"{sum(out.refused.values()) - refused:,}",
                    f"{out.chats - chats:,}",
                    f"{rss / 1024:.0f} MiB",
                    f"{anon / 1024:.0f} MiB",
                    ms(p50),
                    ms(p99),
                    f"{store / 2**20:.0f} MiB",
                    f"{per_message:,.0f} B",
                    fleet.loadavg().split(" / ")[0],
                ]
            )
            print("minute " + ", ".join(rows[-1]), flush=True)  # progress; the table at the end
        ran = time.perf_counter() - began
        answered = await chat.drain(60)
        print(
            f"Soak at half the capacity ({capacity:,.0f}/s "
            f"{'given by --rate' if args.rate else 'measured with the same churn'}, "
            f"{rate:,.0f}/s offered), "
            f"{args.visitors} visitors closing their chat every {args.chat_length} messages, "
            f"{args.operators} operators; {'one process' if not edges else 'engine + 1 edge'}; "
            f"ran {ran / 60:.1f} minutes of {args.period:g} s each; the server side on core 0, "
            f"the load generator on core 1; load average at the start {load_start}, at the end "
            f"{fleet.loadavg()}. Machine: {describe()}"
        )
        print(
            f"messages acknowledged: {out.acks:,}; refused: {dict(out.refused)}; errors naming no "
            f"message: {dict(out.other_errors)}; unanswered at the end: {len(out.pending)}; "
            f"load operators' streams cut by the server (each came back and resumed): "
            f"{out.operator_cuts}" + ("" if answered else " (gave up waiting)")
        )
        headers = [
            "minute",
            "offered",
            "acked",
            "refused",
            "chats opened",
            "RSS (all)",
            "of which anonymous",
            "p50",
            "p99",
            "store",
            "store per message",
            "load avg",
        ]
        print(table(rows, headers))
        first = min(10, len(series)) - 1
        (r0, _, q0, s0), (r1, _, q1, s1) = series[first], series[-1]
        print(
            f"from minute {first + 1} to minute {len(series)}: anonymous RSS {r0 / 1024:.0f} -> "
            f"{r1 / 1024:.0f} MiB ({100 * (r1 - r0) / r0:+.1f}%), p99 {ms(q0)} -> {ms(q1)}, "
            f"store per message {s0:,.0f} -> {s1:,.0f} B ({100 * (s1 - s0) / s0:+.1f}%)"
        )
    finally:
        await chat.close()
        await srv.stop()
        shutil.rmtree(data, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=int, default=60)
    parser.add_argument("--mode", choices=("one", "split"), default="one")
    parser.add_argument("--rate", type=float, default=0.0, help="capacity (0: measure it)")
    # Enough visitors that each sends a few messages a second: a visitor waits
    # for its chat's acks before it closes, so with few visitors and slow acks
    # the closing would hold the rate down.
    parser.add_argument("--visitors", type=int, default=1000)
    parser.add_argument("--operators", type=int, default=4)
    parser.add_argument("--chat-length", type=int, default=20, help="messages per chat")
    parser.add_argument("--window", type=int, default=8)
    parser.add_argument("--sat-seconds", type=float, default=10.0)
    parser.add_argument("--port", type=int, default=22400, help="first of the ports used")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="a tiny run: the suite runs it to show the benchmark works (numbers mean nothing)",
    )
    args = parser.parse_args()
    args.period = 60.0
    if args.smoke:
        args.minutes, args.visitors, args.operators, args.chat_length = 3, 4, 1, 3
        args.window, args.sat_seconds, args.period = 2, 0.3, 0.3
        args.port = free_ports(11)
    if min(args.minutes, args.visitors, args.operators, args.chat_length, args.window) < 1:
        parser.error("counts must be positive")
    if args.rate < 0 or args.sat_seconds <= 0:
        parser.error("--rate and --sat-seconds: positive")
    pin(1)
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    uvloop.run(run(args))


if __name__ == "__main__":
    main()
