"""The LMDB store on a real environment in a temporary directory."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from engine.persistence import DataDirLocked, LmdbStore, StoreFull
from engine.persistence.codec import journal_key, journal_prefix, seq_of


async def test_writes_in_one_loop_iteration_share_one_commit(tmp_path: Path) -> None:
    store = LmdbStore(tmp_path)
    try:
        done: list[int] = []
        for i in range(500):
            store.write(
                [("journal", journal_key("c1", i + 1), b"x" * 200)],
                lambda err, i=i: done.append(i) if err is None else None,
            )
        assert done == []  # nothing acknowledged before the commit
        await store.drain()
        assert done == list(range(500))  # callbacks in submission order
        assert store.commits == 1
        keys = [seq_of(k) for k, _ in store.scan("journal", journal_prefix("c1"))]
        assert keys == list(range(1, 501))
    finally:
        store.close()


async def test_writes_queued_during_a_commit_go_in_the_next(tmp_path: Path) -> None:
    store = LmdbStore(tmp_path)
    try:
        for round_ in range(5):
            for i in range(100):
                store.write([("meta", f"{round_}-{i}".encode(), b"v")], lambda e: None)
            await asyncio.sleep(0)
        await store.drain()
        assert 1 < store.commits <= 5
        assert len(list(store.scan("meta"))) == 500
    finally:
        store.close()


async def test_map_full_is_an_error_to_the_writer_and_the_store_goes_on(tmp_path: Path) -> None:
    store = LmdbStore(tmp_path, map_size=256 * 1024)
    try:
        with pytest.raises(StoreFull) as info:
            await store.write_async(
                [("journal", journal_key("c", i), b"y" * 4000) for i in range(200)]
            )
        assert info.value.code == "store_full" and info.value.retryable
        assert list(store.scan("journal")) == []  # nothing half-written
        await store.write_async([("meta", b"small", b"ok")])
        assert store.get("meta", b"small") == b"ok"
    finally:
        store.close()


def test_second_process_on_the_same_directory_is_refused(tmp_path: Path) -> None:
    store = LmdbStore(tmp_path)
    try:
        code = (
            "import sys\n"
            "from engine.persistence import LmdbStore, DataDirLocked\n"
            "try:\n"
            f"    LmdbStore({str(tmp_path)!r})\n"
            "except DataDirLocked as e:\n"
            "    print(e); sys.exit(3)\n"
        )
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert proc.returncode == 3, proc.stderr
        assert "in use by another Parley process" in proc.stdout
    finally:
        store.close()
    # Released on close: it opens again.
    LmdbStore(tmp_path).close()


def test_same_process_second_open_is_refused_too(tmp_path: Path) -> None:
    store = LmdbStore(tmp_path)
    try:
        with pytest.raises(DataDirLocked):
            LmdbStore(tmp_path)
    finally:
        store.close()


async def test_last_and_range_scan(tmp_path: Path) -> None:
    store = LmdbStore(tmp_path)
    try:
        ops = [("journal", journal_key(c, s), b"v") for c in ("a", "b") for s in range(1, 300)]
        await store.write_async(ops)
        last = store.last("journal", journal_prefix("a"))
        assert last is not None and seq_of(last[0]) == 299
        assert store.last("journal", journal_prefix("zz")) is None
        tail = [
            seq_of(k)
            for k, _ in store.scan("journal", journal_prefix("b"), start=journal_key("b", 297))
        ]
        assert tail == [297, 298, 299]
    finally:
        store.close()
