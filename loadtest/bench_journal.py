"""Journal benchmark: what a long conversation costs to activate and to replay.

    python -m loadtest.bench_journal [--messages 100000] [--small 10] [--smoke]

Two conversations are written straight into a fresh store in the journal's own
format (the records the Conversation actor writes): one of ``--messages``
messages, one of ``--small``. Reported, on one core:

- activation: from the first message to a passivated conversation to its reply
  (recovery included: the record, the journal's last key and the records of
  its window of recent client ids), the median of
  several activations; "memory kept" is what the live actor holds afterwards
  (tracemalloc, in a separate activation). Beside it, in the same run, the
  version 1 recovery this replaced: a scan of the whole journal keeping every
  client id in memory (timed alone: no actor, no ask; its memory is the ids);
- a resend of the conversation's last client id after activation (answered
  from the window rebuilt from the tail: the original seq, nothing stored);
- replay: an operator sink subscribing from seq 0 gets every message (each
  encoded to a JSON frame, as the edge would), until the subscribe's reply.
  "loop held" is how long the event loop was not free at a time (a task waking
  on every loop turn measures it): the 99th percentile and the longest (which
  is mostly a garbage collection landing in a page). Beside it, version 1: the
  whole replay in one actor turn.

``--smoke`` runs tiny sizes (a test runs it so that the benchmark cannot rot).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import shutil
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import orjson
import uvloop

from engine.app import Engine
from engine.chat import journal as journal_module
from engine.chat.events import MessageEvent
from engine.chat.journal import MESSAGES
from engine.chat.messages import ConversationInfo, GetConversation, Post, Subscribe
from engine.persistence.codec import decode, journal_prefix
from engine.persistence.schema import CONVERSATION_JOURNAL, CONVERSATIONS, Op, stream_records
from loadtest.machine import describe, pin, table

VISITOR = "vbench000000001"


async def write_conversation(engine: Engine, conv_id: str, n: int) -> None:
    """A conversation of ``n`` visitor messages, each with its client id."""
    info = ConversationInfo(conv_id, "sbench", "dbench", VISITOR, "Bob")
    await engine.store.write_async(
        [
            CONVERSATIONS.put(
                conv_id,
                {
                    "info": info.to_list(),
                    "status": "active",
                    "operators": [["obench", "Ana"]],
                    "created_ms": 1,
                },
            )
        ]
    )
    batch = 10_000
    prefix = journal_prefix(conv_id)
    for start in range(1, n + 1, batch):
        ops: list[Op] = []
        for seq in range(start, min(n, start + batch - 1) + 1):
            cid = f"cid-{seq:08d}"
            text = f"message number {seq}, about the order that has not arrived yet"
            event = MessageEvent(conv_id, seq, "visitor", VISITOR, "Bob", text, cid, seq)
            CONVERSATION_JOURNAL.append(ops, prefix, seq, MESSAGES.encode(event))
        await engine.store.write_async(ops)


def v1_recovery(engine: Engine, conv_id: str) -> dict[str, int]:
    """Version 1's activation: the whole journal scanned, every client id kept."""
    cids: dict[str, int] = {}
    for key, value in engine.store.scan("journal", journal_prefix(conv_id)):
        for delivered, record in stream_records(key, value):  # a row, or a block of them
            cid = decode(record)["c"]
            if cid:
                cids[cid] = delivered
    return cids


async def activation(engine: Engine, conv_id: str, repeats: int) -> tuple[float, int]:
    """(median activation seconds, bytes kept) of the Conversation actor."""
    ref = engine.system.ref("conversation", conv_id)
    times = []
    for _ in range(repeats):
        engine.system.passivate("conversation", conv_id)
        assert not engine.system.is_active("conversation", conv_id)
        t0 = time.perf_counter()
        await ref.ask(GetConversation())
        times.append(time.perf_counter() - t0)
    engine.system.passivate("conversation", conv_id)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    await ref.ask(GetConversation())
    gc.collect()
    kept = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    return statistics.median(times), kept


def v1_activation(engine: Engine, conv_id: str, repeats: int) -> tuple[float, int]:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        v1_recovery(engine, conv_id)
        times.append(time.perf_counter() - t0)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    kept_cids = v1_recovery(engine, conv_id)
    gc.collect()
    kept = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    del kept_cids
    return statistics.median(times), kept


async def resend(engine: Engine, conv_id: str, last: int) -> tuple[int, float]:
    """The last message resent after a fresh activation: (seq, seconds)."""
    ref = engine.system.ref("conversation", conv_id)
    engine.system.passivate("conversation", conv_id)
    await ref.ask(GetConversation())
    t0 = time.perf_counter()
    seq = await ref.ask(Post("visitor", VISITOR, "Bob", f"cid-{last:08d}", "again"))
    return seq, time.perf_counter() - t0


class FrameSink:
    """Encodes each message as the websocket edge would, and counts."""

    def __init__(self) -> None:
        self.count = 0
        self.last = 0
        self.bytes = 0

    def push(self, event: Any) -> None:
        if type(event) is MessageEvent:
            assert event.seq == self.last + 1, (event.seq, self.last)
            self.last = event.seq
            self.count += 1
            frame = {
                "type": "msg",
                "conversation": event.conversation_id,
                "seq": event.seq,
                "from": event.author_kind,
                "name": event.author_name,
                "text": event.text,
                "cid": event.client_msg_id,
                "ts": event.sent_at_ms,
            }
            self.bytes += len(orjson.dumps(frame))


class LoopWatch:
    """How long the loop was held at a time: a task waking on every loop turn
    records the time between its wake-ups."""

    def __init__(self) -> None:
        self.gaps: list[float] = []
        self._stop = False
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        last = time.perf_counter()
        while not self._stop:
            await asyncio.sleep(0)
            now = time.perf_counter()
            self.gaps.append(now - last)
            last = now

    def start(self) -> LoopWatch:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    async def stop(self) -> tuple[float, float]:
        """(p99, longest) time the loop was held."""
        self._stop = True
        assert self._task is not None
        await self._task
        gaps = sorted(self.gaps)
        return gaps[int(len(gaps) * 0.99)], gaps[-1]


async def replay(engine: Engine, conv_id: str, n: int) -> tuple[float, tuple[float, float], int]:
    """(seconds, (p99, longest) loop hold, messages) of a subscribe from seq 0."""
    ref = engine.system.ref("conversation", conv_id)
    await ref.ask(GetConversation())  # active already: the replay alone is measured
    sink = FrameSink()
    watch = LoopWatch().start()
    await asyncio.sleep(0)
    t0 = time.perf_counter()
    await ref.ask(Subscribe(sink, 0, "operator"), timeout=600)
    elapsed = time.perf_counter() - t0
    hold = await watch.stop()
    assert sink.count == n, (sink.count, n)
    return elapsed, hold, sink.count


async def v1_replay(engine: Engine, conv_id: str, n: int) -> tuple[float, tuple[float, float], int]:
    """Version 1: the whole replay inside one turn."""
    sink = FrameSink()
    done = asyncio.get_running_loop().create_future()

    def one_turn() -> None:
        for event in MESSAGES.read(engine.store, conv_id, 0, n):
            sink.push(event)
        done.set_result(None)

    watch = LoopWatch().start()
    await asyncio.sleep(0)
    t0 = time.perf_counter()
    asyncio.get_running_loop().call_soon(one_turn)
    await done
    elapsed = time.perf_counter() - t0
    hold = await watch.stop()
    assert sink.count == n
    return elapsed, hold, sink.count


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms" if seconds < 1 else f"{seconds:.2f} s"


def kib(n: int) -> str:
    return f"{n / 1024:,.1f} KiB" if n < 1 << 20 else f"{n / (1 << 20):,.1f} MiB"


async def run(messages: int, small: int, repeats: int) -> str:
    data = Path(tempfile.mkdtemp(prefix="parley-journal-"))
    engine = Engine(data, map_size=1 << 33)
    try:
        big_id, small_id = "sbench-big", "sbench-small"
        t0 = time.perf_counter()
        await write_conversation(engine, big_id, messages)
        await write_conversation(engine, small_id, small)
        written = time.perf_counter() - t0
        rows = []
        for conv_id, n in ((small_id, small), (big_id, messages)):
            seconds, kept = await activation(engine, conv_id, repeats)
            rows.append([f"{n:,} messages", "this (last key)", ms(seconds), kib(kept)])
        for conv_id, n in ((small_id, small), (big_id, messages)):
            seconds, kept = v1_activation(engine, conv_id, repeats)
            rows.append([f"{n:,} messages", "v1 (full scan)", ms(seconds), kib(kept)])
        seq, resend_s = await resend(engine, big_id, messages)
        assert seq == messages, seq
        out = [
            f"Journal, one core. Machine: {describe()}",
            f"{messages:,} + {small:,} messages written in {written:.1f} s; "
            f"activation: median of {repeats}",
            table(rows, ["conversation", "recovery", "activation", "memory kept"]),
            f"Resend of the last client id after activation: seq {seq:,}, "
            f"{resend_s * 1e6:.0f} us (from the window, ask included)",
            "",
        ]
        page = journal_module.REPLAY_PAGE
        seconds, hold, count = await replay(engine, big_id, messages)
        v1_seconds, v1_hold, _ = await v1_replay(engine, big_id, messages)
        out.append(
            table(
                [
                    [
                        f"this (pages of {page})",
                        f"{count:,}",
                        ms(seconds),
                        f"{ms(hold[0])} / {ms(hold[1])}",
                        f"{count / seconds:,.0f}/s",
                    ],
                    [
                        "v1 (one turn)",
                        f"{count:,}",
                        ms(v1_seconds),
                        f"{ms(v1_hold[0])} / {ms(v1_hold[1])}",
                        f"{count / v1_seconds:,.0f}/s",
                    ],
                ],
                ["replay from seq 0", "messages", "time", "loop held p99 / longest", "rate"],
            )
        )
        return "\n".join(out)
    finally:
        await engine.close()
        shutil.rmtree(data, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, for the test suite")
    args = parser.parse_args()
    if args.smoke:
        args.messages, args.small, args.repeats = 450, 10, 1
    pin(0)
    print(uvloop.run(run(args.messages, args.small, args.repeats)))


if __name__ == "__main__":
    main()
