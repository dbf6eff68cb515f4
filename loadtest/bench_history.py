"""The history index: how fast it follows the store, rebuilds, searches, lists and reports.

Builds N messages in M conversations (by default 1,000,000 in 100,000, spread
over a year) straight into the store, in the engine's own records (a
conversation record and its journal, in commits of a few hundred writes, as
the group commit makes them), with the index's process following the commits
as the server runs it; then rebuilds the index from LMDB, and times text
searches, filtered lists and a year's report on it. Run: python -m
loadtest.bench_history [--messages N --conversations M] (--smoke or --small: a
quick run for the test suite). ``--data DIR`` keeps the store and the index in
DIR and reuses them in the next run with the same DIR (the build and the
rebuild skipped, their rows left out; the index rebuilt when it is of another
version, or with ``--reindex``), to try queries on one built index. The
chat's throughput with the index on and off is bench_e2e's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import sqlite3
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

import orjson

from engine.persistence.codec import journal_key
from engine.persistence.lmdb_store import LmdbStore
from engine.persistence.schema import CONVERSATIONS, Op
from engine.persistence.schema import SITES as SITES_DB
from engine.records.index import INDEX_VERSION, connect, index_path, rebuild, remove_files
from engine.records.queries import Filters, list_rows, match_expression, search
from engine.records.reports import report_of
from engine.records.service import HistoryIndex
from loadtest.machine import describe

SITES = ("sbench0001", "sbench0002")
DEPTS = tuple(f"d{i}" for i in range(6))
OPERATORS = tuple(f"o{i}" for i in range(40))
YEAR = 2026
YEAR_START_MS = 1_767_225_600_000  # 2026-01-01T00:00Z
YEAR_MS = 365 * 86_400_000


def vocabulary(rng: random.Random, size: int = 3000) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(rng.choice(letters) for _ in range(rng.randint(3, 9))) for _ in range(size)]


def conversation_ops(
    i: int, per: int, step_ms: int, words: list[str], rng: random.Random
) -> list[Op]:
    conv = f"{SITES[i % 2]}-c{i:012d}"
    op = OPERATORS[i % len(OPERATORS)]
    created = YEAR_START_MS + i * step_ms
    doc = {
        "info": [conv, SITES[i % 2], DEPTS[i // 2 % len(DEPTS)], f"v{i % 5000}", f"Visitor {i}"],
        "status": "closed",
        "operators": [[op, op.upper()]],
        "created_ms": created,
        "closed_ms": created + 600_000,
        "closed_by": f"operator:{op}",
        "rating": i % 6,
        "assigned_ms": created + rng.randint(1_000, 60_000),
        "first_response_ms": created + rng.randint(5_000, 120_000),
    }
    ops: list[Op] = [CONVERSATIONS.put(conv, doc)]  # type: ignore[arg-type]
    for seq in range(1, per + 1):
        kind = "visitor" if seq % 2 else "operator"
        text = " ".join(rng.choices(words, k=rng.randint(4, 14)))
        record = {"s": seq, "k": kind, "a": "" if seq % 2 else op, "n": "", "t": text, "c": ""}
        record["ts"] = 0
        ops.append(("journal", journal_key(conv, seq), orjson.dumps(record)))
    return ops


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


ZONE = "Europe/Paris"  # the sites' timezone, in which the reports are read


def sites_ops() -> list[Op]:
    """The sites' records (the index keeps their reports' days in their zone)."""
    return [SITES_DB.put(s, {"id": s, "timezone": ZONE}) for s in SITES]


async def build(store: LmdbStore, messages: int, conversations: int, words: list[str]) -> None:
    await store.write_async(sites_ops())
    rng = random.Random(7)
    per = max(1, messages // conversations)
    step_ms = YEAR_MS // conversations
    pending: list[asyncio.Future[None]] = []
    for i in range(conversations):
        pending.append(
            asyncio.ensure_future(store.write_async(conversation_ops(i, per, step_ms, words, rng)))
        )
        if len(pending) >= 64:  # about the writes of one group commit in flight
            await asyncio.gather(*pending)
            pending = []
    await asyncio.gather(*pending)
    # The last writes are logged, to be put in place by a checkpoint on this
    # loop's timer; the loop ends here, so put them in place now (the index's
    # follower is told at checkpoints: without it, it waits forever).
    await store.checkpoint()


def built(data: Path, messages: int, conversations: int) -> bool:
    """Whether ``data`` holds this size's store, written by an earlier run."""
    marker = data / "bench_history.json"
    return marker.exists() and orjson.loads(marker.read_bytes()) == [messages, conversations]


def index_current(data: Path) -> bool:
    path = index_path(data)
    if not path.exists():
        return False
    conn = connect(path)
    try:
        row = conn.execute("SELECT v FROM meta WHERE k = 'version'").fetchone()
    except sqlite3.DatabaseError:
        return False
    finally:
        conn.close()
    return row is not None and row[0] == INDEX_VERSION


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--smoke", "--small", action="store_true", dest="smoke")
    parser.add_argument("--data", type=Path, help="keep the store and index here, and reuse them")
    parser.add_argument("--reindex", action="store_true", help="with --data: rebuild the index")
    args = parser.parse_args()
    if args.smoke:
        args.messages, args.conversations, args.queries = 4_000, 400, 30
    with contextlib.ExitStack() as stack:
        if args.data is None:
            data = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        else:
            data = args.data
            data.mkdir(parents=True, exist_ok=True)
        run(args, data)


def run(args: argparse.Namespace, data: Path) -> None:
    words = vocabulary(random.Random(1))
    store = LmdbStore(data, map_size=4 << 30)
    timings: dict[str, float] = {}
    try:
        if not built(data, args.messages, args.conversations):
            remove_files(index_path(data))
            index = HistoryIndex(data, store)
            index.start()
            began = time.perf_counter()
            asyncio.run(build(store, args.messages, args.conversations, words))
            timings["written"] = time.perf_counter() - began
            assert index.wait_current(timeout=3600)
            timings["followed"] = time.perf_counter() - began
            index.stop()
            (data / "bench_history.json").write_bytes(
                orjson.dumps([args.messages, args.conversations])
            )
            args.reindex = True
        if SITES_DB.get(store, SITES[0]) is None:  # a store of an earlier version of this
            store.write_now(sites_ops())
            args.reindex = True
        if args.reindex or not index_current(data):
            began = time.perf_counter()
            rebuild(data, store)
            timings["rebuilt"] = time.perf_counter() - began
        size = sum(p.stat().st_size for p in (data / "history").iterdir()) >> 20
        measured = measure(connect(index_path(data)), words, args.queries)
    finally:
        store.close()
    report(args, size, timings, measured)


def measure(conn: sqlite3.Connection, words: list[str], queries: int) -> dict[str, list[float]]:
    """Each kind of query ``queries`` times on one connection (seconds each)."""
    rng = random.Random(3)
    every = Filters(sites=SITES)
    measured: dict[str, list[float]] = {k: [] for k in ("search", "filtered", "list", "report")}
    for _ in range(queries):
        word = rng.choice(words)
        t0 = time.perf_counter()
        search(conn, every, match_expression(word), None, 51)
        measured["search"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        two = f"{rng.choice(words)} {rng.choice(words)}"
        narrow = Filters(sites=SITES, department_id=rng.choice(DEPTS), ratings=(4, 5))
        search(conn, narrow, match_expression(two), None, 51)
        measured["filtered"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        f = Filters(
            sites=SITES,
            scope="department",
            me=rng.choice(OPERATORS),
            my_departments=DEPTS[:2],
            statuses=("closed",),
            ratings=(rng.randint(0, 5),),
        )
        list_rows(conn, f, rng.choice(("time", "rating", "operator")), None, 51)
        measured["list"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()  # a year by day, the site's or a department's
        dept = rng.choice(("", *DEPTS))
        first, last = date(YEAR, 1, 1), date(YEAR, 12, 31)
        year = report_of(conn, SITES[0], ZONE, dept, "", first, last, False)
        measured["report"].append(time.perf_counter() - t0)
        assert year.total.chats > 0
    conn.close()
    return measured


def report(
    args: argparse.Namespace, size: int, timings: dict[str, float], m: dict[str, list[float]]
) -> None:
    n = args.messages
    ms = 1000.0
    print(f"History index. Machine: {describe()}")
    print(f"{n:,} messages in {args.conversations:,} conversations; index file {size} MiB")
    if "written" in timings:
        print(
            f"(writing them to LMDB alone took {timings['written']:.1f} s with the index following)"
        )
    print()
    print("| measure | value |")
    print("|---|---|")
    if "followed" in timings:
        rate = n / timings["followed"]
        print(f"| index following the store (write to indexed) | {rate:,.0f} msg/s |")
    if "rebuilt" in timings:
        print(f"| rebuild from LMDB | {n / timings['rebuilt']:,.0f} msg/s |")
    names = {
        "search": "search, one word",
        "filtered": "search, two words + department + rating",
        "list": "filtered list (scope, status, rating, a sort)",
        "report": "a year's report by day (a site, or a department)",
    }
    for key, name in names.items():
        values = m[key]
        print(
            f"| {name}, p50 / p99 | {statistics.median(values) * ms:.2f} / "
            f"{pct(values, 0.99) * ms:.2f} ms |"
        )


if __name__ == "__main__":
    main()
