"""The LMDB store on a real environment in a temporary directory."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.persistence import DataDirLocked, LmdbStore, StoreFull
from engine.persistence.codec import journal_key, journal_prefix, seq_of
from engine.persistence.schema import CONVERSATION_JOURNAL


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
        assert len([k for k, _v in store.scan("meta") if b"-" in k]) == 500  # and the commit count
    finally:
        store.close()


async def test_map_full_is_an_error_to_the_writer_and_the_store_goes_on(tmp_path: Path) -> None:
    """With no room to grow (here a cap on the map), a batch that does not fit
    fails whole with store_full, and smaller writes go on."""
    store = LmdbStore(tmp_path, map_size=256 * 1024, max_map_size=256 * 1024)
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


async def test_a_full_map_grows_and_the_batch_goes_through(tmp_path: Path) -> None:
    """A batch larger than the map: the map grows by steps (the disk has room)
    and the same batch is committed, whole, with its callbacks run once."""
    store = LmdbStore(tmp_path, map_size=256 * 1024, grow_step=1 << 20)
    try:
        before = store.space()
        done: list[BaseException | None] = []
        store.write(
            [("journal", journal_key("c", i), b"y" * 4000) for i in range(600)], done.append
        )
        await store.drain()
        assert done == [None]
        assert store.grown >= 2 and store.commits == 1  # one commit, after the growth
        assert CONVERSATION_JOURNAL.count(store, "c") == 600
        after = store.space()
        assert after.map_size > before.map_size >= 256 * 1024
        assert after.used > 600 * 4000 and after.left > 0
    finally:
        store.close()
    # The grown map is kept: reopened with the old size, everything reads back.
    again = LmdbStore(tmp_path, map_size=256 * 1024)
    try:
        assert CONVERSATION_JOURNAL.count(again, "c") == 600
    finally:
        again.close()


async def test_no_room_on_the_disk_is_store_full(tmp_path: Path) -> None:
    """The disk itself is the limit: a reserve larger than the disk leaves no
    room, so the map does not grow, the batch fails whole, and the space says
    nothing is left beyond the map."""
    import shutil

    disk = shutil.disk_usage(tmp_path).total
    store = LmdbStore(tmp_path, map_size=256 * 1024, disk_reserve=disk)
    try:
        with pytest.raises(StoreFull):
            await store.write_async(
                [("journal", journal_key("c", i), b"y" * 4000) for i in range(200)]
            )
        assert store.grown == 0 and list(store.scan("journal")) == []
        space = store.space()
        assert space.left == space.map_size - space.used
        await store.write_async([("meta", b"small", b"ok")])
    finally:
        store.close()


async def test_each_sites_messages_and_tickets_are_metered(tmp_path: Path) -> None:
    """Bytes of journal records and tickets count to the site their key names,
    in the commit that writes them; other databases count nothing; a failed
    batch takes its bytes back; the totals survive a reopen."""
    from engine.persistence.schema import TICKETS

    store = LmdbStore(tmp_path, map_size=256 * 1024, max_map_size=256 * 1024)
    try:
        key = journal_key("s1-c1", 1)
        await store.write_async([("journal", key, b"x" * 100), ("meta", b"m", b"y" * 500)])
        ticket = TICKETS.put("s1", "t1", {"text": "call me"})
        await store.write_async([ticket, ("journal", journal_key("s2-c9", 1), b"z" * 10)])
        s1 = len(key) + 100 + len(ticket[1]) + len(ticket[2] or b"")
        assert store.site_bytes("s1") == s1
        assert store.site_bytes("s2") == len(journal_key("s2-c9", 1)) + 10
        with pytest.raises(StoreFull):
            await store.write_async(
                [("journal", journal_key("s1-c1", i), b"y" * 4000) for i in range(2, 200)]
            )
        assert store.site_bytes("s1") == s1  # nothing stored, nothing counted
        assert store.site_bytes("s3") == 0
    finally:
        store.close()
    again = LmdbStore(tmp_path)
    try:
        assert again.site_bytes("s1") == s1
    finally:
        again.close()


async def test_a_store_from_before_the_meter_is_counted_once_at_upgrade(tmp_path: Path) -> None:
    """Version 2 data has messages and tickets but no usage totals: the upgrade
    counts them once, and the store opened on them reads the totals."""
    from engine.persistence.schema import META, SCHEMA_VERSION, TICKETS, USAGE, upgrade

    store = LmdbStore(tmp_path)
    ops = [("journal", journal_key(f"s{n}-c1", seq), b"m" * 50) for n in (1, 2) for seq in (1, 2)]
    ops.append(TICKETS.put("s1", "t1", {"text": "call me"}))
    await store.write_async([*ops, META.put("schema", 2)])
    expected = store.site_bytes("s1"), store.site_bytes("s2")
    with store.env.begin(write=True) as txn:  # as a version 2 store has it: nothing
        txn.drop(store._dbs[USAGE.name], delete=False)
    store.close()

    store = LmdbStore(tmp_path)
    try:
        assert store.site_bytes("s1") == 0  # not counted yet
        upgrade(store, store.write_now)
        store.load_usage()
        assert (store.site_bytes("s1"), store.site_bytes("s2")) == expected
        assert expected[0] > expected[1] > 0
        assert META.get(store, "schema") == SCHEMA_VERSION
    finally:
        store.close()


def test_a_directory_that_is_not_parleys_is_left_alone(tmp_path: Path) -> None:
    from engine.persistence.lmdb_store import NotADataDir

    foreign = tmp_path / "home"
    foreign.mkdir(mode=0o755)
    (foreign / "notes.txt").write_text("mine")
    os.chmod(foreign / "notes.txt", 0o644)
    with pytest.raises(NotADataDir) as refused:
        LmdbStore(foreign)
    assert "is not a Parley data directory (it holds notes.txt)" in str(refused.value)
    assert sorted(p.name for p in foreign.iterdir()) == ["notes.txt"]  # nothing written
    assert (foreign.stat().st_mode & 0o777, (foreign / "notes.txt").stat().st_mode & 0o777) == (
        0o755,
        0o644,
    )
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(NotADataDir):
        LmdbStore(a_file)
    LmdbStore(tmp_path / "new").close()  # a new directory, and then an existing one
    LmdbStore(tmp_path / "new").close()
