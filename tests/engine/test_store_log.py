"""The streams' log: a commit's stream writes go to the log in a few pieces,
reads see them at once, a checkpoint puts them in place, and an opening after a
kill -9 puts what the log held in place before anything reads."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

from engine.persistence import LmdbStore
from engine.persistence.codec import journal_key, journal_prefix, seq_of
from engine.persistence.schema import (
    BLOCK_RECORDS,
    CONVERSATION_JOURNAL,
    LOG,
    Op,
    block_first,
    block_records,
    log_ops,
    log_pieces,
    pack_block,
    stream_records,
)

ROOT = Path(__file__).resolve().parents[2]


def _seqs(rows: object) -> list[int]:
    """The seqs of the records the rows hold."""
    return [seq for key, value in rows for seq, _r in stream_records(key, value)]  # type: ignore[attr-defined]


def _records(stream: str, seqs: tuple[int, ...]) -> list[Op]:
    return [("journal", journal_key(stream, n), b'{"s":%d}' % n) for n in seqs]


def _in_the_file(path: Path) -> tuple[int, int]:
    """(journal records, log records) as another process reading the file sees
    them (the history index's view)."""
    code = (
        "import sys; from engine.persistence.lmdb_store import LmdbReader; "
        "r = LmdbReader(sys.argv[1], ('journal', 'log')); "
        "print(sum(1 for _ in r.scan('journal')), sum(1 for _ in r.scan('log')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    journal, log = map(int, out.stdout.split())
    return journal, log


def test_a_log_record_reads_back_the_writes_it_holds() -> None:
    ops: list[Op] = [
        ("journal", journal_key("c1", 1), b"a" * 5000),  # longer than a piece
        ("internal", journal_key("p", 7), b""),
        ("journal", journal_key("c2", 3), None),
    ]
    pieces = log_pieces(9, ops)
    assert len(pieces) == 3 and all(len(piece) <= 1900 for _key, piece in pieces)
    assert [key for key, _piece in pieces] == sorted(key for key, _piece in pieces)
    assert log_ops(b"".join(piece for _key, piece in pieces)) == ops


async def test_logged_writes_are_read_at_once_and_placed_by_a_checkpoint(tmp_path: Path) -> None:
    store = LmdbStore(tmp_path)
    try:
        await store.write_async([("journal", journal_key("c1", i), b"m%d" % i) for i in (1, 2, 3)])
        number = store.commit_number
        assert store.due_number == number + 1  # followed at the next checkpoint
        # This process reads them at once ...
        assert _seqs(store.scan("journal", journal_prefix("c1"))) == [1, 2, 3]
        assert store.last("journal", journal_prefix("c1")) == (journal_key("c1", 3), b"m3")
        assert store.get("journal", journal_key("c1", 2)) == b"m2"
        assert store.get_many("journal", [journal_key("c1", 1), journal_key("c1", 9)]) == [
            b"m1",
            None,
        ]
        assert store.count("journal", b"c1") == 3
        # ... while in the file they are still in the log, not in place.
        assert _in_the_file(tmp_path) == (0, 1)
        await store.checkpoint()
        assert store.commit_number == number + 1 and store.checkpoints == 1
        assert _in_the_file(tmp_path) == (1, 0)  # the run of three is one block
        assert _seqs(store.scan("journal", journal_prefix("c1"))) == [1, 2, 3]
    finally:
        store.close()


async def test_logged_deletes_hide_what_is_in_place(tmp_path: Path) -> None:
    """A stream's rows are deleted as a scan gives them (an erasure): staged
    deletes hide the rows in place, record alone or block, at once."""
    store = LmdbStore(tmp_path)
    prefix = journal_prefix("c")
    try:
        await store.write_async(_records("c", (1,)))
        await store.checkpoint()  # 1 alone
        await store.write_async(_records("c", (2, 3, 4, 5)))
        await store.checkpoint()  # 2..5 in one block under 5
        await store.write_async(_records("c", (6,)))  # staged
        keys = [key for key, _value in store.scan("journal", prefix)]
        assert [seq_of(key) for key in keys] == [1, 5, 6]
        await store.write_async([("journal", keys[2], None)])
        assert store.last("journal", prefix) == (keys[1], store.get("journal", keys[1]))
        await store.write_async([("journal", keys[1], None)])
        # The last in place (the block) is deleted: the row before it.
        assert store.last("journal", prefix) == (keys[0], b'{"s":1}')
        assert _seqs(store.scan("journal", prefix)) == [1]
        assert _seqs(store.scan("journal", prefix, limit=1)) == [1]
        assert store.count("journal", prefix) == 1
        assert CONVERSATION_JOURNAL.read(store, "c", 0, 10) == [b'{"s":1}']
        await store.write_async(_records("c", (1,)))  # a rewrite, staged, reads as such
        await store.write_async([("journal", keys[0], None)])
        assert store.last("journal", prefix) is None and store.count("journal", prefix) == 0
        assert list(store.scan("journal", prefix)) == []
        await store.checkpoint()
        assert list(store.scan("journal", prefix)) == [] and store.checkpoints == 3
    finally:
        store.close()


async def test_followers_get_logged_commits_at_the_checkpoint(tmp_path: Path) -> None:
    """Stream writes are followed once they are in place (a follower may read
    the file from another process); a commit with no stream write is itself a
    checkpoint, and by CHECKPOINT_SECONDS one comes anyway."""
    store = LmdbStore(tmp_path)
    seen: list[tuple[int, list[list[Op]]]] = []
    loop = asyncio.get_running_loop()
    placed = asyncio.Event()

    def follow(number: int, batches: list[list[Op]]) -> None:
        seen.append((number, batches))
        loop.call_soon_threadsafe(placed.set)

    store.follow(follow)
    try:
        first = store.commit_number
        await store.write_async([("journal", journal_key("c", 1), b"a")])
        await store.write_async([("journal", journal_key("c", 2), b"b")])
        assert seen == []
        await store.write_async([("meta", b"k", b"v")])  # no stream write: a checkpoint
        assert [number for number, _b in seen] == [first + 1]
        written = [op for ops in seen[0][1] for op in ops if op[0] == "journal"]
        assert [op[1] for op in written] == [journal_key("c", 1), journal_key("c", 2)]
        placed.clear()
        await store.write_async([("journal", journal_key("c", 3), b"c")])
        await placed.wait()  # the timer's checkpoint
        assert [number for number, _b in seen] == [first + 1, first + 2]
        assert store.checkpoints == 2
    finally:
        store.close()


_WRITER = textwrap.dedent(
    """
    import asyncio, sys
    from engine.persistence import lmdb_store
    from engine.persistence.codec import journal_key
    lmdb_store.CHECKPOINT_SECONDS = 3600.0  # never, before the kill

    async def main():
        store = lmdb_store.LmdbStore(sys.argv[1])
        await store.write_async([("meta", b"k", b"v")])
        for n in range(1, 201):
            await store.write_async(
                [("journal", journal_key("c%d" % (n % 7), n), b"x" * (n * 13))]
            )
        print(store.commit_number, store.checkpoints, flush=True)
        await asyncio.sleep(3600)

    asyncio.run(main())
    """
)


def test_an_opening_after_a_kill_puts_the_log_in_place(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        number, checkpoints = map(int, proc.stdout.readline().split())
        assert checkpoints == 0  # every message acked is in the log alone
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    journal, logged = _in_the_file(tmp_path)
    assert journal == 0 and logged > 0
    store = LmdbStore(tmp_path)
    try:
        assert store.commit_number == number + 1
        assert sum(1 for _row in store.scan(LOG)) == 0
        for c in range(7):
            seqs = _seqs(store.scan("journal", journal_prefix(f"c{c}")))
            assert seqs == [n for n in range(1, 201) if n % 7 == c]
        assert CONVERSATION_JOURNAL.read(store, "c3", 198, 1) == [b"x" * (199 * 13)]
    finally:
        store.close()


async def test_streams_read_the_same_across_blocks_and_records(tmp_path: Path) -> None:
    """Records alone, blocks and staged writes read back as one stream: from
    the middle of a block, with a limit, counted."""
    store = LmdbStore(tmp_path)
    table = CONVERSATION_JOURNAL
    try:
        await store.write_async([("journal", journal_key("s-1", 1), b'{"s":1}')])
        await store.checkpoint()  # a run of one: a record alone
        await store.write_async(
            [("journal", journal_key("s-1", n), b'{"s":%d}' % n) for n in (2, 3)]
        )
        await store.write_async(
            [("journal", journal_key("s-1", n), b'{"s":%d}' % n) for n in (4, 5)]
        )
        await store.checkpoint()  # 2..5: one block
        await store.write_async([("journal", journal_key("s-1", 6), b'{"s":6}')])  # staged
        rows = list(store.scan("journal", journal_prefix("s-1")))
        assert [seq for key, value in rows for seq, _r in stream_records(key, value)] == list(
            range(1, 7)
        )
        assert len(rows) == 3  # the record alone, the block, the staged one
        expected = [b'{"s":%d}' % n for n in range(1, 7)]
        for after in range(0, 7):
            assert table.read(store, "s-1", after, 100) == expected[after:]
            assert table.read(store, "s-1", after, 2) == expected[after : after + 2]
        assert table.count(store, "s-") == 6
        assert table.last_seq(store, "s-1") == 6
    finally:
        store.close()


def test_a_block_reads_back_its_records() -> None:
    records = [(7, b'{"a":1}'), (8, b""), (9, b"x" * 70_000)]
    block = pack_block(records)
    assert stream_records(journal_key("c", 9), block) == records
    assert stream_records(journal_key("c", 3), b'{"s":3}') == [(3, b'{"s":3}')]


def test_a_read_from_a_block_takes_what_is_after_and_at_most_the_limit() -> None:
    block = pack_block([(seq, b"r%d" % seq) for seq in range(1, 11)])
    assert block_records(block, 3, 4) == [b"r4", b"r5", b"r6", b"r7"]
    assert block_records(block, 8, 100) == [b"r9", b"r10"]
    assert block_records(block, 10, 5) == [] and block_records(block, 0, 0) == []
    assert block_records(pack_block([(5, b"")]), 4, 1) == [b""]  # an empty record is one


async def test_a_long_run_is_put_in_place_as_blocks_of_a_page(tmp_path: Path) -> None:
    """A run longer than a block (a chat written at once) is put in place as
    blocks of at most BLOCK_RECORDS, each under its last record's key, the
    last one short (one record alone as it is): a page of its replay walks one
    or two blocks, not the whole run. Every read gives each record once."""
    store = LmdbStore(tmp_path)
    n = 2 * BLOCK_RECORDS + 1
    try:
        await store.write_async(_records("c", tuple(range(1, n + 1))))
        await store.checkpoint()
        rows = list(store._scan("journal", journal_prefix("c"), None, None))
        assert [seq_of(key) for key, _value in rows] == [BLOCK_RECORDS, 2 * BLOCK_RECORDS, n]
        assert [block_first(value) for _key, value in rows] == [1, BLOCK_RECORDS + 1, None]
        assert _seqs(rows) == list(range(1, n + 1))
        got = CONVERSATION_JOURNAL.read(store, "c", BLOCK_RECORDS - 3, 7)
        assert got == [b'{"s":%d}' % s for s in range(BLOCK_RECORDS - 2, BLOCK_RECORDS + 5)]
    finally:
        store.close()


class RowsCounted:
    """A store whose scans count the rows they return (each one a copy of a
    record or of a whole block)."""

    def __init__(self, store: LmdbStore) -> None:
        self.store = store
        self.rows = self.scans = 0

    def scan(
        self, db: str, prefix: bytes = b"", start: bytes | None = None, limit: int | None = None
    ) -> Iterator[tuple[bytes, bytes]]:
        rows = list(self.store.scan(db, prefix, start, limit))
        self.rows += len(rows)
        self.scans += 1
        return iter(rows)


async def test_a_page_read_copies_the_blocks_it_takes_from_not_the_rest(tmp_path: Path) -> None:
    """A chat of ten blocks: a page of a block's size read from any seq copies
    the one or two blocks it takes its records from (it copied as many rows as
    the page had records, every block to the end, before), and reads of
    records alone (not yet in blocks) take as many rows as records."""
    store = LmdbStore(tmp_path)
    n = 10 * BLOCK_RECORDS
    page = BLOCK_RECORDS
    try:
        await store.write_async(_records("c", tuple(range(1, n + 1))))
        await store.checkpoint()
        counted = RowsCounted(store)
        for after, blocks in ((0, 1), (BLOCK_RECORDS // 2, 2), (n - 10, 1), (n, 0)):
            counted.rows = 0
            got = CONVERSATION_JOURNAL.read(counted, "c", after, page)  # type: ignore[arg-type]
            assert got == [b'{"s":%d}' % s for s in range(after + 1, min(n, after + page) + 1)]
            assert counted.rows == blocks, (after, counted.rows)
        # Written after the checkpoint: records alone, one row each.
        await store.write_async(_records("c", tuple(range(n + 1, n + 31))))
        counted.rows = counted.scans = 0
        got = CONVERSATION_JOURNAL.read(counted, "c", n - 5, 20)  # type: ignore[arg-type]
        assert got == [b'{"s":%d}' % s for s in range(n - 4, n + 16)]
        assert counted.rows == 1 + 15, counted.rows  # the last block, then the records
        assert counted.scans <= 3, counted.scans  # not one scan a record
    finally:
        store.close()


async def test_a_read_across_a_checkpoint_takes_each_record_once(tmp_path: Path) -> None:
    """A read scans more than once; a checkpoint landing between two scans puts
    the records the first read as written alone into a block the second finds:
    those are not taken again."""
    store = LmdbStore(tmp_path)

    class CheckpointAfterFirstScan(RowsCounted):
        def scan(
            self,
            db: str,
            prefix: bytes = b"",
            start: bytes | None = None,
            limit: int | None = None,
        ) -> Iterator[tuple[bytes, bytes]]:
            rows = super().scan(db, prefix, start, limit)
            if self.scans == 1:
                assert store._commit_now([]) is None  # in place now, as blocks
            return rows

    try:
        await store.write_async(_records("c", tuple(range(1, 301))))  # logged, read alone
        reader = CheckpointAfterFirstScan(store)
        got = CONVERSATION_JOURNAL.read(reader, "c", 0, 250)  # type: ignore[arg-type]
        assert got == [b'{"s":%d}' % s for s in range(1, 251)]
        assert reader.scans >= 2
    finally:
        store.close()


async def test_reads_stay_whole_while_checkpoints_land(tmp_path: Path) -> None:
    """The writer thread puts the log in place while the loop reads: every read
    of a stream gives each record once, in order, none missing."""
    store = LmdbStore(tmp_path)
    table = CONVERSATION_JOURNAL
    streams = [f"r-{i}" for i in range(8)]
    last = dict.fromkeys(streams, 0)
    seen = dict.fromkeys(streams, 0)
    try:
        for round_ in range(90):
            ops: list[Op] = []
            for stream in streams:
                for _ in range(3):
                    last[stream] += 1
                    ops.append(("journal", journal_key(stream, last[stream]), b"%d" % last[stream]))
            store.write(ops, lambda _error: None)
            if round_ % 3 == 0:
                waiting = asyncio.ensure_future(store.checkpoint())
            for _ in range(12):  # read while the commit and the checkpoint go on
                for stream in streams:
                    got = table.read(store, stream, 0, 10_000)
                    want = [b"%d" % n for n in range(1, len(got) + 1)]
                    # Whole and in order, and never less than a read before.
                    assert got == want and len(got) >= seen[stream]
                    seen[stream] = len(got)
                await asyncio.sleep(0)
            await waiting
        await store.drain()
        await store.checkpoint()
        for stream in streams:
            assert table.read(store, stream, 0, 10_000) == [
                b"%d" % n for n in range(1, last[stream] + 1)
            ]
        # Checkpoints did land among the reads. Not one per request: a
        # checkpoint counts when it puts logged writes in place, and on a busy
        # machine the one due by time may have placed them just before.
        assert store.checkpoints >= 15
    finally:
        store.close()


async def test_a_failing_follower_fails_no_write(tmp_path: Path) -> None:
    """A follower that raises is logged; the commit it follows stands and its
    writers are answered as stored."""
    store = LmdbStore(tmp_path)

    def broken(_number: int, _batches: list[list[Op]]) -> None:
        raise RuntimeError("the follower broke")

    store.follow(broken)
    try:
        await store.write_async([("meta", b"k", b"v")])  # raises if the write failed
        assert store.get("meta", b"k") == b"v" and store.commit_number >= 1
    finally:
        store.close()
