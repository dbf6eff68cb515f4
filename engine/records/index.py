"""The history index: conversations and their message text in SQLite, derived from LMDB.

LMDB stays the one source of truth; this index can always be thrown away and
rebuilt from it (``parley history reindex``, or at start when the file is
missing or unreadable). It lives in ``<data>/history/index.sqlite`` (WAL mode;
the folder is private like the rest of the data directory) and holds a row per
conversation (``engine/records/rows.py``), who took part in each, and an FTS5
table of the searched messages' text.

It follows the store off the chat path. The store's writer hands every
committed batch, with the commit's number, to :meth:`HistoryIndex.follow_commit`
(on the writer thread): it keeps the writes of conversation records and of the
journal and puts them on a bounded queue, never waiting. A worker thread applies
what the queue holds, many commits to one SQLite transaction, and records the
last commit applied (the high-water mark) in that transaction. The commits of
a transaction are applied as one (``Writer.batches``): each chat's newest
record, a chat's journal records decoded in one call, one statement of each
kind for all chats, and the searched text in passages, a row of up to 32 of a
chat's messages (FTS5 pays mostly per row; a search finds the passages, then
the messages in them). While the chat is busy the worker gathers commits
longer, spreading those costs over more messages. When the queue
is full the batch is dropped and the index marks itself behind: from then on it
drops every batch until the worker catches up from LMDB, which it also does at
start when its mark is not the store's.

Catching up compares, a piece at a time, each stored record with the row
(by a digest) and each conversation's last journal seq with the row's, and
applies what differs. Applying is idempotent: a record is taken only if its
commit is newer than the row's, a message only if its seq follows the row's
last (one that leaves a gap sends the index back to catching up). So a batch
seen twice, or one the catch-up has already read, changes nothing.

A conversation record deleted from LMDB (an erasure, a retention sweep) takes
its row, its participants and its text out of the index, whether the delete
arrives with a commit or is found by a catch-up (a row with neither record nor
journal in LMDB). Deleted text must leave the file too: the connection clears
what it frees (``secure_delete``), the search table is then rewritten whole
(FTS5's ``optimize``: a deleted row's words stay in older segments until a
merge) and the write-ahead log is emptied (``wal_checkpoint(TRUNCATE)``).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import orjson

from engine.persistence.codec import SEP, journal_key, journal_prefix, seq_of
from engine.persistence.lmdb_store import LmdbStore
from engine.persistence.private import FILE_MODE, make_private, private_dir
from engine.persistence.schema import (
    COMMIT_KEY,
    CONVERSATION_JOURNAL,
    CONVERSATIONS,
    META,
    ConversationDoc,
    Op,
)
from engine.records import rollups
from engine.records.queries import BREAK
from engine.records.rows import doc_participants, facts_of, row_of

log = logging.getLogger("parley.history")

INDEX_VERSION = 2  # 2: reports' rollups (engine/records/rollups.py), text in passages
QUEUE_SIZE = 10_000  # commits waiting for the worker; past it, catch up from LMDB
PIECE = 500  # records read from LMDB at a time while catching up
_STOP: tuple[int, list[Op]] = (-1, [])

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS conversations(
    id TEXT PRIMARY KEY,
    site TEXT NOT NULL, dept TEXT NOT NULL, visitor TEXT NOT NULL,
    visitor_name TEXT NOT NULL, status TEXT NOT NULL, operators TEXT NOT NULL,
    operator_name TEXT NOT NULL, created_ms INTEGER NOT NULL, closed_ms INTEGER NOT NULL,
    ended TEXT NOT NULL, closed_by TEXT NOT NULL, missed INTEGER NOT NULL,
    rating INTEGER NOT NULL, comment TEXT NOT NULL,
    first_response_ms INTEGER NOT NULL DEFAULT 0, assigned_ms INTEGER NOT NULL DEFAULT 0,
    message_count INTEGER NOT NULL DEFAULT 0, last_seq INTEGER NOT NULL DEFAULT 0,
    doc_commit INTEGER NOT NULL DEFAULT 0, doc_hash BLOB
);
CREATE INDEX IF NOT EXISTS conv_time ON conversations(created_ms, id);
CREATE INDEX IF NOT EXISTS conv_site_time ON conversations(site, created_ms, id);
CREATE INDEX IF NOT EXISTS conv_rating ON conversations(rating, created_ms, id);
CREATE INDEX IF NOT EXISTS conv_operator ON conversations(operator_name, created_ms, id);
CREATE INDEX IF NOT EXISTS conv_visitor ON conversations(visitor);
CREATE TABLE IF NOT EXISTS participants(
    operator TEXT NOT NULL, conv TEXT NOT NULL, src INTEGER NOT NULL,
    PRIMARY KEY(operator, conv, src)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS participants_conv ON participants(conv);
CREATE VIRTUAL TABLE IF NOT EXISTS message_text USING fts5(
    text, conv UNINDEXED, seq UNINDEXED, last UNINDEXED, seqs UNINDEXED,
    tokenize = 'unicode61 remove_diacritics 2'
);
"""
_FROM_RECORD, _FROM_JOURNAL = 0, 1  # participants: named by the record, or wrote


def index_path(data_dir: Path) -> Path:
    return Path(data_dir) / "history" / "index.sqlite"


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")  # derived data: a lost tail is caught up
    conn.execute("PRAGMA secure_delete=ON")  # erased text leaves the file's pages
    conn.execute("PRAGMA busy_timeout=5000")
    return conn


def _digest(raw: bytes) -> bytes:
    return hashlib.blake2b(raw, digest_size=8).digest()


class Writer:
    """The index's writes, on one connection (the worker's, or a rebuild's)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.gap = False  # a message left a gap: the index must catch up
        self.erased = False  # rows were deleted: scrub the file after the commit
        # (operator, conversation) pairs whose participants' row is written: a
        # busy chat's next messages need none (such rows go only with the
        # whole index, and this set with them).
        self.writers: set[tuple[str, str]] = set()

    def mark(self) -> int:
        row = self.conn.execute("SELECT v FROM meta WHERE k = 'commit'").fetchone()
        return int(row[0]) if row else 0

    def set_mark(self, number: int) -> None:
        self.conn.execute(
            "INSERT INTO meta(k, v) VALUES('commit', ?) ON CONFLICT(k) DO UPDATE SET v = ?",
            (number, number),
        )

    def doc(self, conv: str, raw: bytes, commit: int) -> None:
        """Apply a record written by ``commit`` unless the row is as new."""
        c = self.conn
        have = c.execute(
            "SELECT doc_commit, doc_hash, site, dept, status, operators, created_ms, closed_ms,"
            " ended, missed, rating, first_response_ms, assigned_ms FROM conversations"
            " WHERE id = ?",
            (conv,),
        ).fetchone()
        digest = _digest(raw)
        if have is not None and (have[0] >= commit or have[1] == digest):
            if have[0] < commit:
                c.execute("UPDATE conversations SET doc_commit = ? WHERE id = ?", (commit, conv))
            return
        doc: ConversationDoc = orjson.loads(raw)
        r = row_of(conv, doc)
        values = (
            r.site_id,
            r.department_id,
            r.visitor_id,
            r.visitor_name,
            r.status,
            orjson.dumps(r.operators).decode(),
            r.operator_name,
            r.created_ms,
            r.closed_ms,
            r.ended,
            r.closed_by,
            int(r.missed),
            r.rating,
            r.comment,
            doc.get("first_response_ms", 0),
            doc.get("assigned_ms", 0),
            commit,
            digest,
        )
        if have is None:
            c.execute(
                "INSERT INTO conversations(site, dept, visitor, visitor_name, status, operators,"
                " operator_name, created_ms, closed_ms, ended, closed_by, missed, rating,"
                " comment, first_response_ms, assigned_ms, doc_commit, doc_hash, id)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (*values, conv),
            )
        else:
            c.execute(
                "UPDATE conversations SET site=?, dept=?, visitor=?, visitor_name=?, status=?,"
                " operators=?, operator_name=?, created_ms=?, closed_ms=?, ended=?, closed_by=?,"
                " missed=?, rating=?, comment=?, first_response_ms=?, assigned_ms=?,"
                " doc_commit=?, doc_hash=? WHERE id = ?",
                (*values, conv),
            )
        old = None
        if have is not None:
            old = rollups.outcome_of(
                have[2],
                have[3],
                have[4],
                (i for i, _n in orjson.loads(have[5])),
                have[6],
                have[7],
                have[8],
                bool(have[9]),
                have[10],
                have[11],
                have[12],
            )
        new = rollups.outcome_of(
            r.site_id,
            r.department_id,
            r.status,
            (i for i, _n in r.operators),
            r.created_ms,
            r.closed_ms,
            r.ended,
            r.missed,
            r.rating,
            doc.get("first_response_ms", 0),
            doc.get("assigned_ms", 0),
        )
        rollups.change(c, old, new)
        c.execute("DELETE FROM participants WHERE conv = ? AND src = ?", (conv, _FROM_RECORD))
        c.executemany(
            "INSERT OR IGNORE INTO participants(operator, conv, src) VALUES (?, ?, ?)",
            [(op, conv, _FROM_RECORD) for op in doc_participants(doc)],
        )

    def drop(self, conv: str) -> None:
        """Forget a conversation whose record was deleted from the store."""
        c = self.conn
        c.execute("DELETE FROM conversations WHERE id = ?", (conv,))
        c.execute("DELETE FROM participants WHERE conv = ?", (conv,))
        c.execute("DELETE FROM message_text WHERE conv = ?", (conv,))
        self.erased = True

    def scrub(self) -> None:
        """After a committed drop: the search table rewritten without the
        deleted words, the log emptied into the file (outside a transaction)."""
        if not self.erased:
            return
        self.erased = False
        self.conn.execute("INSERT INTO message_text(message_text) VALUES('optimize')")
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def last_seq(self, conv: str) -> int:
        row = self.conn.execute("SELECT last_seq FROM conversations WHERE id = ?", (conv,))
        found = row.fetchone()
        return int(found[0]) if found else 0

    def messages(self, conv: str, records: list[dict[str, Any]]) -> None:
        """Apply journal records of one conversation, in seq order."""
        self.journals({conv: records})

    def journals(self, journal: dict[str, list[dict[str, Any]]]) -> None:
        """Apply journal records of many conversations (each in seq order):
        one statement of each kind for them all, and their searched texts in
        passages (``passages``), not a row per message."""
        c = self.conn
        convs = list(journal)
        have: dict[str, int] = {}
        for i in range(0, len(convs), 500):
            part = convs[i : i + 500]
            have.update(
                c.execute(
                    "SELECT id, last_seq FROM conversations"
                    f" WHERE id IN ({','.join('?' * len(part))})",
                    part,
                ).fetchall()
            )
        missing = [conv for conv in convs if conv not in have]
        if missing:  # messages before the record: a row to hold them until it comes
            c.executemany(
                "INSERT INTO conversations(id, site, dept, visitor, visitor_name, status,"
                " operators, operator_name, created_ms, closed_ms, ended, closed_by, missed,"
                " rating, comment) VALUES (?, ?, '', '', '', 'new', '[]', '', 0, 0, '', '', 0,"
                " 0, '')",
                [(conv, conv.partition("-")[0]) for conv in missing],
            )
        texts: list[tuple[str, str, int, int, str]] = []
        authors: list[tuple[str, str, int]] = []
        counts: list[tuple[int, int, str]] = []
        for conv, records in journal.items():
            last = have.get(conv, 0)
            if records[0]["s"] <= last:
                records = [r for r in records if r["s"] > last]
                if not records:
                    continue
            if records[0]["s"] != last + 1:
                self.gap = True  # a batch was missed: the catch-up will fill it in order
                continue
            facts = facts_of(records)
            if facts.texts:
                texts += passages(conv, facts.texts)
            if facts.authors:
                for op in facts.authors:
                    if (op, conv) not in self.writers:
                        authors.append((op, conv, _FROM_JOURNAL))
            counts.append((facts.counted, records[-1]["s"], conv))
        rows(c, "INSERT INTO message_text(text, conv, seq, last, seqs) VALUES {}", texts)
        rows(c, "INSERT OR IGNORE INTO participants(operator, conv, src) VALUES {}", authors)
        if len(self.writers) > WRITERS_KEPT:
            self.writers.clear()
        self.writers.update((op, conv) for op, conv, _src in authors)
        rows(
            c,
            "UPDATE conversations SET message_count = message_count + v.column1,"
            " last_seq = v.column2 FROM (VALUES {}) AS v WHERE conversations.id = v.column3",
            counts,
        )

    def batch(self, commit: int, ops: Iterable[Op]) -> None:
        """Apply one commit's writes: records first, then messages."""
        self.batches([(commit, ops)])

    def batches(self, items: Iterable[tuple[int, Iterable[Op]]]) -> None:
        """Apply many commits' writes as one: each conversation's newest record
        (as applying them in turn would leave it), then all their messages."""
        docs: dict[str, tuple[bytes, int]] = {}
        raw: dict[bytes, list[bytes]] = {}
        records_db = CONVERSATIONS.name
        for commit, ops in items:
            for db, key, value in ops:
                if value is None:
                    if db == records_db:  # a chat erased or past its retention
                        conv_id = key.decode()
                        docs.pop(conv_id, None)
                        raw.pop(key, None)
                        self.drop(conv_id)
                    continue
                if db == records_db:
                    docs[key.decode()] = (value, commit)
                    continue
                conv = key[:-JOURNAL_TAIL]  # <conversation id> 0x00 <seq, 8 bytes>
                found = raw.get(conv)
                if found is None:
                    raw[conv] = [value]
                else:
                    found.append(value)
        for conv_id, (doc, commit) in docs.items():
            self.doc(conv_id, doc, commit)
        journal: dict[str, list[dict[str, Any]]] = {}
        for conv, values in raw.items():
            # One decode of a chat's records as a JSON array, not one a record.
            records: list[dict[str, Any]] = orjson.loads(b"[" + b",".join(values) + b"]")
            if records[-1]["s"] - records[0]["s"] != len(records) - 1:
                records.sort(key=_seq)  # commits came out of order (or a seq twice)
            journal[conv.decode()] = records
        self.journals(journal)


PARAMETERS = 30_000  # of one statement (SQLite's limit is 32,766)


def rows(conn: sqlite3.Connection, sql: str, values: Sequence[tuple[Any, ...]]) -> None:
    """Run ``sql`` with its ``{}`` as the tuples' VALUES, as many a statement as
    fit. Why not ``executemany``: it steps once a row, and each step lets go of
    the GIL and takes it back, a switch with the event loop's thread each time
    it waits for it; a statement of many rows is one step."""
    if not values:
        return
    width = len(values[0])
    one = "(" + ",".join("?" * width) + ")"
    per = max(1, PARAMETERS // width)
    for i in range(0, len(values), per):
        part = values[i : i + per]
        conn.execute(sql.format(",".join([one] * len(part))), [v for row in part for v in row])


def _seq(record: dict[str, Any]) -> int:
    return int(record["s"])


JOURNAL_TAIL = len(SEP) + 8
WRITERS_KEPT = 100_000
PASSAGE = 32  # messages at most in one row of the text index


def passages(conv: str, texts: list[tuple[int, str]]) -> list[tuple[str, str, int, int, str]]:
    """A conversation's searched texts as rows of the text index: (text, conv,
    first seq, last seq, the seqs), up to PASSAGE messages a row. Rows, not
    messages, are what FTS5 pays for most (a row's doclist entries, its
    content and size records), so a busy chat's messages applied together
    cost a row; a search finds the passages, then the messages in them
    (``engine/records/queries.py``)."""
    rows = []
    for i in range(0, len(texts), PASSAGE):
        part = texts[i : i + PASSAGE]
        rows.append(
            (
                BREAK.join(t.replace(BREAK, " ") for _s, t in part),
                conv,
                part[0][0],
                part[-1][0],
                " ".join(str(s) for s, _t in part),
            )
        )
    return rows


_FOLLOWED = (CONVERSATIONS.name, CONVERSATION_JOURNAL.records)
COALESCE_SECONDS = 0.05
# While the chat is busy (the last transaction held this many writes) the worker
# gathers longer: what the index pays per conversation and per transaction
# (a row's update, the text index's flush) is then spread over more messages.
BUSY_WRITES = 1000
BUSY_COALESCE_SECONDS = 0.25
T = TypeVar("T")


class HistoryIndex:
    """The index beside a store: follows its commits, catches up, answers reads."""

    def __init__(self, data_dir: Path, store: LmdbStore, queue_size: int = QUEUE_SIZE) -> None:
        self.path = index_path(data_dir)
        self.store = store
        self._queue: queue.Queue[tuple[int, list[Op]]] = queue.Queue(maxsize=queue_size)
        self._behind = True  # until the worker has compared its mark with the store's
        self._changed = threading.Condition()
        self._mark = 0
        self._released = threading.Event()  # tests: cleared, the worker applies nothing
        self._released.set()
        self._thread: threading.Thread | None = None
        self.overflows = 0  # times the queue was full
        self.catch_ups = 0
        self.applied = 0  # commits applied from the queue
        self._busy = False  # the last transaction was a busy chat's
        # Reads run on a thread of their own with their own connection (WAL:
        # they see the last transaction the worker committed, and never wait).
        self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parley-history-read")
        self._read_conn: sqlite3.Connection | None = None
        self._open()

    async def read(self, query: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``query`` on the read connection, off the loop."""
        return await asyncio.get_running_loop().run_in_executor(self._reader, self._query, query)

    def _query(self, query: Callable[[sqlite3.Connection], T]) -> T:
        if self._read_conn is None:
            self._read_conn = connect(self.path)
        return query(self._read_conn)

    # -- the file -----------------------------------------------------------------

    def _open(self) -> None:
        private_dir(self.path.parent)
        try:
            self._conn = self._create()
        except sqlite3.DatabaseError as error:  # not an index, or a damaged one
            log.warning("history index %s unreadable (%s): rebuilding it", self.path, error)
            self.remove_files(self.path)
            self._conn = self._create()
        make_private(self.path.parent)
        self._writer = Writer(self._conn)
        self._mark = self._writer.mark()

    def _create(self) -> sqlite3.Connection:
        if not self.path.exists():
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, FILE_MODE))
        conn = connect(self.path)
        try:
            conn.executescript(_SCHEMA + rollups.ROLLUP_SCHEMA)
            version = conn.execute("SELECT v FROM meta WHERE k = 'version'").fetchone()
            if version is None:
                conn.execute("INSERT INTO meta(k, v) VALUES('version', ?)", (INDEX_VERSION,))
            elif version[0] != INDEX_VERSION:
                raise sqlite3.DatabaseError(f"index version {version[0]}")
        except BaseException:
            conn.close()
            raise
        return conn

    @staticmethod
    def remove_files(path: Path) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

    @property
    def mark(self) -> int:
        """The last commit of the store the index holds."""
        return self._mark

    # -- following the store ---------------------------------------------------------

    def follow_commit(self, number: int, batches: list[list[Op]]) -> None:
        """The store's follower (writer thread): queue the commit's history
        writes; never waits. A full queue sends the index to catch up."""
        if self._behind:
            return
        ops = [op for ops in batches for op in ops if op[0] in _FOLLOWED]
        try:
            self._queue.put_nowait((number, ops))
        except queue.Full:
            self.overflows += 1
            self._behind = True

    def start(self) -> None:
        """Follow the store and start the worker (it catches up first)."""
        self.store.follow(self.follow_commit)
        self._thread = threading.Thread(target=self._run, name="parley-history", daemon=True)
        self._thread.start()

    def stop(self, apply: bool = True) -> None:
        """Stop following; with ``apply`` the worker applies what it holds first
        (after the store's last commit), else it stops at once (as a crash would)."""
        self.store.unfollow(self.follow_commit)
        if self._thread is not None:
            if not apply:
                self._behind = True  # the worker drops what it holds
            self._queue.put(_STOP)
            self._released.set()
            self._thread.join()
            self._thread = None
        self._reader.submit(self._close_reader).result()
        self._reader.shutdown(wait=True)
        self._conn.close()

    def _close_reader(self) -> None:
        if self._read_conn is not None:
            self._read_conn.close()
            self._read_conn = None

    def hold(self, on: bool) -> None:
        """Tests: keep the worker from applying anything (commits wait in the queue)."""
        if on:
            self._released.clear()
        else:
            self._released.set()

    def wait_until(self, number: int, timeout: float = 30.0) -> bool:
        """Block until the index holds commit ``number`` (worker threads, tests)."""
        with self._changed:
            return self._changed.wait_for(
                lambda: self._mark >= number and not self._behind, timeout
            )

    def wait_current(self, timeout: float = 30.0) -> bool:
        """Block until the index holds every commit the store had at the call."""
        return self.wait_until(self.store.commit_number, timeout)

    def _run(self) -> None:
        while True:
            if self._behind:
                self._catch_up_now()
            number, ops = self._queue.get()
            # Let a busy store's commits gather: one index transaction for many
            # (the index lags by this much at most while the chat is busy).
            if number > 0 and not self._queue.qsize():
                time.sleep(BUSY_COALESCE_SECONDS if self._busy else COALESCE_SECONDS)
            items = [(number, ops)]
            while len(items) < 4096:
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._released.wait()  # tests hold the worker here
            stop = _STOP in items
            if self._behind:
                if stop:
                    return
                continue  # dropped: the catch-up reads them from LMDB
            applied = [item for item in items if item[0] > 0]
            self._busy = sum(len(ops) for _number, ops in applied) >= BUSY_WRITES
            self._apply(applied)
            if stop:
                return

    def _apply(self, items: list[tuple[int, list[Op]]]) -> None:
        if not items:
            return
        w = self._writer
        w.conn.execute("BEGIN")
        w.batches(items)
        top = max(number for number, _ops in items)
        w.set_mark(max(top, self._mark))
        w.conn.execute("COMMIT")
        w.scrub()
        self.applied += len(items)
        with self._changed:
            self._mark = max(top, self._mark)
            if w.gap:
                w.gap = False
                self._behind = True
            self._changed.notify_all()

    def _catch_up_now(self) -> None:
        self._behind = False  # commits from now on are queued (and may be read twice)
        while True:
            try:
                if self._queue.get_nowait() == _STOP:
                    self._queue.put(_STOP)
                    return
            except queue.Empty:
                break
        if self._mark > self.store.commit_number:
            log.warning("history index ahead of the store (another store?): rebuilding it")
            self._writer.writers.clear()
            self._writer.conn.executescript(
                "DELETE FROM conversations; DELETE FROM participants; DELETE FROM message_text;"
                " DELETE FROM report_counts; DELETE FROM report_hist;"
            )
            self._mark = 0
        self.catch_ups += 1
        top = catch_up(self.store, self._writer)
        with self._changed:
            self._mark = max(self._mark, top)
            if self._writer.gap:
                self._writer.gap = False
                self._behind = True
            self._changed.notify_all()


def _commit_number(store: LmdbStore) -> int:
    raw = store.get(META.name, COMMIT_KEY)
    return int(orjson.loads(raw)) if raw is not None else 0


def catch_up(store: LmdbStore, w: Writer, progress: Callable[[int], None] | None = None) -> int:
    """Bring the index up to the store from any state (a new file: a rebuild).
    Returns the commit every record and message up to is now held; ``progress``
    is told how many conversations were read so far, after each piece."""
    seen = 0
    with store.reading:
        top = _commit_number(store)
    start: bytes | None = None
    while True:
        with store.reading:
            number = _commit_number(store)
            docs = list(store.scan(CONVERSATIONS.name, start=start, limit=PIECE))
            tails = {
                key.decode(): seq_of(last[0])
                for key, _raw in docs
                if (last := store.last(CONVERSATION_JOURNAL.records, key + SEP)) is not None
            }
        w.conn.execute("BEGIN")
        _drop_missing(store, w, docs, start, last=len(docs) < PIECE)
        for key, raw in docs:
            w.doc(key.decode(), raw, number)
        for conv, tail in tails.items():
            have = w.last_seq(conv)
            while have < tail:
                with store.reading:
                    rows = list(
                        store.scan(
                            CONVERSATION_JOURNAL.records,
                            journal_prefix(conv),
                            start=journal_key(conv, have + 1),
                            limit=PIECE * 4,
                        )
                    )
                if not rows:
                    break
                w.messages(conv, [orjson.loads(value) for _key, value in rows])
                have = w.last_seq(conv)
        w.conn.execute("COMMIT")
        seen += len(docs)
        if progress is not None:
            progress(seen)
        if len(docs) < PIECE:
            break
        start = docs[-1][0] + b"\x00"
    w.conn.execute("BEGIN")
    w.set_mark(max(top, w.mark()))
    w.conn.execute("COMMIT")
    w.scrub()
    return top


def _drop_missing(
    store: LmdbStore, w: Writer, docs: list[tuple[bytes, bytes]], start: bytes | None, last: bool
) -> None:
    """Drop the rows of this piece's range of ids whose conversation the store
    no longer has (erased while the index was not following)."""
    low = start.decode() if start is not None else ""
    if last:
        rows = w.conn.execute("SELECT id FROM conversations WHERE id >= ?", (low,))
    else:
        high = docs[-1][0].decode()
        rows = w.conn.execute("SELECT id FROM conversations WHERE id >= ? AND id <= ?", (low, high))
    present = {key.decode() for key, _raw in docs}
    for (conv,) in rows.fetchall():
        if conv in present:
            continue
        with store.reading:
            held = store.last(CONVERSATION_JOURNAL.records, conv.encode() + SEP)
        if held is None:
            w.drop(conv)


def rebuild(data_dir: Path, store: LmdbStore, progress: Callable[[int], None] | None = None) -> int:
    """Throw the index away and build it again from the store (the store must
    not be written meanwhile: ``parley history reindex`` runs with the server
    stopped). Returns the number of conversations indexed."""
    path = index_path(data_dir)
    HistoryIndex.remove_files(path)
    index = HistoryIndex(data_dir, store)
    try:
        catch_up(store, index._writer, progress)
        count = index._conn.execute("SELECT count(*) FROM conversations").fetchone()[0]
    finally:
        index.stop()
    return int(count)
