"""The hash gate: two hashes at once, a short queue, then ``busy`` at once."""

from __future__ import annotations

import asyncio
import threading

import pytest

from engine.chat.hashing import GATE, HASH_QUEUE, HASH_WORKERS, HashGate
from engine.errors import Unavailable


async def test_past_the_queue_a_hash_is_refused_busy_and_retryable() -> None:
    gate = HashGate(workers=2, queue=3)
    release = threading.Event()
    running = threading.Semaphore(0)
    at_once = 0
    peak = 0
    lock = threading.Lock()

    def work() -> int:
        nonlocal at_once, peak
        with lock:
            at_once += 1
            peak = max(peak, at_once)
        running.release()
        release.wait(5)
        with lock:
            at_once -= 1
        return 1

    tasks = [asyncio.ensure_future(gate.run(work)) for _ in range(5)]
    await asyncio.sleep(0)
    with pytest.raises(Unavailable) as info:
        await gate.run(work)
    assert info.value.code == "busy" and info.value.retryable
    assert "retry" in info.value.message
    for _ in range(2):  # both workers are inside a hash before any is let go
        assert await asyncio.to_thread(running.acquire, True, 5)
    release.set()
    assert await asyncio.gather(*tasks) == [1] * 5
    assert peak == 2  # two at a time, the rest waited
    assert gate.taken == 0
    assert await gate.run(lambda: 2) == 2  # open again


def test_the_process_gate_runs_two_with_a_short_queue() -> None:
    assert (GATE.workers, GATE.limit) == (HASH_WORKERS, HASH_WORKERS + HASH_QUEUE)
    assert HASH_WORKERS <= 2 and HASH_QUEUE <= 16
