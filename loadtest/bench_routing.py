"""Assignment benchmark: 10,000 visitors arriving at once on 500 operators, under
churn, through the engine (sessions, actors, LMDB group commit), on one core.

    python -m loadtest.bench_routing [--visitors 10000] [--operators 500] [--limit 4]
                                     [--smoke]

Churn: each chat is closed by its operator after a random 0-40 ms, freeing the
slot; every 50 ms a few operators go away and a few come back. The run ends when
every visitor has been assigned. Reported:

- assignments/s: visitors assigned divided by the time from the first message
  to the last assignment (every assignment writes the "joined" notice and the
  conversation record, and every close writes its notice, before anyone is told);
- wait: from the visitor's first message to its operator's assignment event
  (mostly time in the queue behind 10,000 others);
- free -> next chat: from an operator's close to its next assignment while
  visitors wait (how fast freed capacity is reused: the queue's reaction);
- beside it, in the same run, the bare policy: the same arrivals served by a
  plain list and ``choose_operator`` in a loop (no actors, no storage), the floor
  any engine pays for the rule itself.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections import deque
from pathlib import Path
from typing import Any

import uvloop

from engine.app import Engine
from engine.chat.auth import Principal
from engine.chat.events import Assigned
from engine.chat.hashing import PASSWORD_HASHER
from engine.chat.policies import Candidate, choose_operator
from engine.chat.sessions import OperatorSession, VisitorSession
from loadtest.machine import describe, pin, table


class Quiet:
    def push(self, event: Any) -> None:
        pass


class Desk:
    """An operator's session that closes each chat after a short random hold."""

    def __init__(self, run: Run, op: Any) -> None:
        self.run = run
        principal = Principal(op.id, op.account_id, op.role, b"")
        self.session = OperatorSession(run.engine, principal, self)
        self.freed_at = 0.0

    def push(self, event: Any) -> None:
        if type(event) is not Assigned:
            return
        run = self.run
        now = time.perf_counter()
        sent = run.sent_at.pop(event.visitor_id, None)
        if sent is None:
            return
        run.waits.append(now - sent)
        if self.freed_at:
            run.reuse.append(now - self.freed_at)
            self.freed_at = 0.0
        run.assigned += 1
        run.last = now
        if run.assigned == run.total:
            run.done.set()
        conv = event.conversation_id
        run.timers.append(run.loop.call_later(run.rng.uniform(0.0, 0.04), self._close, conv))

    def _close(self, conv: str) -> None:
        self.freed_at = time.perf_counter()
        self.session.close_conversation(conv)


class Run:
    def __init__(self, engine: Engine, total: int) -> None:
        self.engine = engine
        self.total = total
        self.loop = asyncio.get_running_loop()
        self.rng = random.Random(11)
        self.sent_at: dict[str, float] = {}
        self.waits: list[float] = []
        self.reuse: list[float] = []
        self.assigned = 0
        self.last = 0.0
        self.done = asyncio.Event()
        self.timers: list[asyncio.TimerHandle] = []


async def engine_run(visitors: int, operators: int, limit: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine(Path(tmp), map_size=4 << 30)
        engine.start()
        d = engine.directory
        account = await d.create_account("bench")
        site = await d.create_site(account.id, "web", [])
        dept = await d.create_department(account.id, site.id, "Support")
        run = Run(engine, visitors)
        hashed = PASSWORD_HASHER.hash("bench password")
        desks = []
        for i in range(operators):
            op = await d.add_operator(
                account.id,
                email=f"op{i}@bench.test",
                password="",
                display_name=f"Op {i}",
                department_ids=[dept.id],
                max_chats=limit,
                password_hash=hashed,
            )
            desk = Desk(run, op)
            await desk.session.hello({})
            desks.append(desk)
        sessions = [VisitorSession(engine, site, Quiet()) for _ in range(visitors)]
        for start in range(0, visitors, 1000):
            chunk = sessions[start : start + 1000]
            await asyncio.gather(*(s.hello(department_id=dept.id) for s in chunk))

        stop = asyncio.Event()

        async def churn() -> None:
            rng = random.Random(5)
            away: list[Desk] = []
            while not stop.is_set():
                await asyncio.sleep(0.05)
                for desk in away:
                    desk.session.set_status("online")
                away = rng.sample(desks, k=max(1, operators // 100))
                for desk in away:
                    desk.session.set_status("away")

        churner = asyncio.create_task(churn())
        begin = time.perf_counter()
        for i, s in enumerate(sessions):
            run.sent_at[s.visitor_id] = time.perf_counter()
            s.send(f"c{i}", "hello")
        await asyncio.wait_for(run.done.wait(), timeout=600)
        elapsed = run.last - begin
        stop.set()
        await churner
        for timer in run.timers:
            timer.cancel()
        await engine.settle()
        await engine.close()
    return {
        "rate": visitors / elapsed,
        "seconds": elapsed,
        "wait_p50": _pct(run.waits, 50),
        "wait_p99": _pct(run.waits, 99),
        "reuse_p50": _pct(run.reuse, 50),
        "reuse_p99": _pct(run.reuse, 99),
    }


def policy_run(visitors: int, operators: int, limit: int) -> float:
    """The rule alone: FIFO list, candidates in a dict, choose_operator per chat,
    each assignment followed at once by a close (no holds, no storage)."""
    rng = random.Random(11)
    ops = {f"o{i}": Candidate(f"o{i}", 0, limit, float(i)) for i in range(operators)}
    waiting = deque(range(visitors))
    open_chats: deque[str] = deque()
    start = time.perf_counter()
    served = 0
    while waiting:
        chosen = choose_operator(ops.values())
        if chosen is None:
            op_id = open_chats.popleft()  # a chat closes
            c = ops[op_id]
            ops[op_id] = Candidate(op_id, c.load - 1, c.max_chats, rng.random())
            continue
        waiting.popleft()
        ops[chosen.operator_id] = Candidate(
            chosen.operator_id, chosen.load + 1, chosen.max_chats, chosen.idle_since
        )
        open_chats.append(chosen.operator_id)
        served += 1
    return served / (time.perf_counter() - start)


def _pct(values: list[float], p: int) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100)[p - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--visitors", type=int, default=10_000)
    parser.add_argument("--operators", type=int, default=500)
    parser.add_argument("--limit", type=int, default=4)
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="a tiny run: the suite runs it to show the benchmark works (numbers mean nothing)",
    )
    args = parser.parse_args()
    if args.smoke:
        args.visitors, args.operators, args.limit = 200, 10, 2
    if args.visitors < 1 or args.operators < 1 or args.limit < 1:
        parser.error("visitors, operators and limit must be at least 1")
    pin(0)
    result = uvloop.run(engine_run(args.visitors, args.operators, args.limit))
    bare = policy_run(args.visitors, args.operators, args.limit)
    print(f"Machine: {describe()}; one core (pinned to core 0)")
    print(
        f"{args.visitors} visitors arriving at once, {args.operators} operators of limit "
        f"{args.limit}, chats held 0-40 ms, 1% of operators away in turn every 50 ms"
    )
    ms = 1000.0
    print(
        table(
            [
                [
                    "Parley engine",
                    f"{result['rate']:,.0f}",
                    f"{result['seconds']:.2f}",
                    f"{result['wait_p50'] * ms:.0f} / {result['wait_p99'] * ms:.0f}",
                    f"{result['reuse_p50'] * ms:.1f} / {result['reuse_p99'] * ms:.1f}",
                ],
                ["bare policy loop", f"{bare:,.0f}", "-", "-", "-"],
            ],
            [
                "run",
                "assignments/s",
                "seconds",
                "wait p50 / p99 ms",
                "free -> next chat p50 / p99 ms",
            ],
        )
    )


if __name__ == "__main__":
    main()
