"""The history index: conversations and their message text in SQLite, derived from LMDB.

LMDB stays the one source of truth; this index can always be thrown away and
rebuilt from it (``parley history reindex``, or at start when the file is
missing or unreadable). It lives in ``<data>/history/index.sqlite`` (WAL mode;
the folder is private like the rest of the data directory) and holds a row per
conversation (``engine/records/rows.py``), who took part in each, and an FTS5
table of the searched messages' text.

It follows the store off the chat path, from a process of its own
(``engine/records/indexer.py``, started and watched by the server's
``engine/records/service.py``): the server tells it, for each commit, which
conversations the commit touched, and it reads them from LMDB read-only
(:func:`apply_touched`: each one's record as stored now, its journal records
after the row's last seq), many commits to one SQLite transaction, recording
the last commit applied (the high-water mark) in that transaction. A
transaction's messages are written together (``Writer.journals``): a chat's
journal records decoded in one call, one statement of each kind for all chats,
and the searched text in passages, a row of up to 32 of a chat's messages
(FTS5 pays mostly per row; a search finds the passages, then the messages in
them). A passage's rowid follows its chat's start time (``queries.text_rowid``:
the start ms in the high bits, a slot in the low ones), so a search reads the
newest passages first straight from FTS5 and stops after a page, instead of
collecting every match and sorting; a chat whose start time changes (its
messages came before its record) has its passages moved with it. When
notices were lost (the process was down, or could not keep up), it catches up
from LMDB, as it does at every start.

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

import hashlib
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import orjson

from engine.persistence.codec import SEP, journal_key, journal_prefix, seq_of
from engine.persistence.private import FILE_MODE, make_private, private_dir
from engine.persistence.schema import (
    COMMIT_KEY,
    CONVERSATION_JOURNAL,
    CONVERSATIONS,
    META,
    SITES,
    ConversationDoc,
    stream_records,
)
from engine.records import rollups
from engine.records.queries import BREAK, SLOT_BITS, text_rowid
from engine.records.rows import doc_participants, facts_of, row_of

log = logging.getLogger("parley.history")

INDEX_VERSION = 3  # 2: rollups, text in passages; 3: rowids by time, list indexes, days
PIECE = 500  # records read from LMDB at a time while catching up

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
-- One index per order a list offers, a site first (a list asks each site apart
-- and merges, engine/records/queries.py), each in that order's direction, so a
-- page is read in order and stops at its end; the filters' columns ride along,
-- so rows that fail them are skipped without reading the table.
CREATE INDEX IF NOT EXISTS conv_site_time
    ON conversations(site, created_ms, id, dept, status, rating, missed, ended);
CREATE INDEX IF NOT EXISTS conv_site_rating
    ON conversations(site, rating, created_ms, id, dept, status, missed, ended);
CREATE INDEX IF NOT EXISTS conv_site_operator ON conversations(
    site, operator_name, created_ms DESC, id DESC, dept, status, rating, missed, ended);
CREATE INDEX IF NOT EXISTS conv_site_dept ON conversations(site, dept, created_ms);
CREATE INDEX IF NOT EXISTS conv_site_status ON conversations(site, status, created_ms);
CREATE INDEX IF NOT EXISTS conv_visitor ON conversations(visitor, site, created_ms);
CREATE TABLE IF NOT EXISTS participants(
    operator TEXT NOT NULL, conv TEXT NOT NULL, src INTEGER NOT NULL,
    PRIMARY KEY(operator, conv, src)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS participants_conv ON participants(conv);
CREATE TABLE IF NOT EXISTS text_slots(created_ms INTEGER PRIMARY KEY, next INTEGER NOT NULL);
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
        # A site's timezone, for its day rollups: read from the store by
        # apply_touched and catch_up (zones_from), once a call per site.
        self.site_zone: Callable[[str], str] = lambda _site: "UTC"
        self._zones: dict[str, ZoneInfo] = {}

    def zones_from(self, store: Source) -> None:
        """Read sites' timezones from ``store`` (afresh: a zone may have changed)."""
        self.site_zone = lambda site: site_zone(store, site)
        self._zones.clear()

    def zone(self, site: str) -> ZoneInfo:
        """The site's timezone, its day rollups kept in it (added up again
        from its quarters when it changed)."""
        zone = self._zones.get(site)
        if zone is None:
            name = self.site_zone(site)
            rollups.keep_days_in(self.conn, site, name)
            zone = self._zones[site] = rollups.zone_info(name)
        return zone

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
        if old != new:
            if old is not None:
                rollups.apply(c, old, -1, self.zone(old.site))
            if new is not None:
                rollups.apply(c, new, 1, self.zone(new.site))
        if have is not None and have[6] != r.created_ms:
            self.move_text(conv, have[6], r.created_ms)
        c.execute("DELETE FROM participants WHERE conv = ? AND src = ?", (conv, _FROM_RECORD))
        c.executemany(
            "INSERT OR IGNORE INTO participants(operator, conv, src) VALUES (?, ?, ?)",
            [(op, conv, _FROM_RECORD) for op in doc_participants(doc)],
        )

    def drop(self, conv: str) -> None:
        """Forget a conversation whose record was deleted from the store."""
        c = self.conn
        row = c.execute("SELECT created_ms FROM conversations WHERE id = ?", (conv,)).fetchone()
        if row is not None:  # its passages lie in its start time's rowids
            lo = text_rowid(row[0], 0)
            c.execute(
                "DELETE FROM message_text WHERE rowid >= ? AND rowid < ? AND conv = ?",
                (lo, lo + (1 << SLOT_BITS), conv),
            )
        c.execute("DELETE FROM conversations WHERE id = ?", (conv,))
        c.execute("DELETE FROM participants WHERE conv = ?", (conv,))
        self.erased = True

    def slot(self, created_ms: int) -> int:
        """The next free rowid among the passages of chats started at
        ``created_ms`` (kept in a plain table: a query of the text table
        between its inserts would make FTS5 write out what it holds)."""
        row = self.conn.execute(
            "SELECT next FROM text_slots WHERE created_ms = ?", (created_ms,)
        ).fetchone()
        return int(row[0]) if row is not None else text_rowid(created_ms, 0)

    def take_slots(self, slots: dict[int, int]) -> None:
        """Record the next free rowid of these start times."""
        rows(
            self.conn,
            "INSERT INTO text_slots(created_ms, next) VALUES {}"
            " ON CONFLICT(created_ms) DO UPDATE SET next = excluded.next",
            list(slots.items()),
        )

    def move_text(self, conv: str, was_ms: int, now_ms: int) -> None:
        """A chat's start time changed: its passages take rowids of the new one,
        in the same order."""
        c = self.conn
        lo = text_rowid(was_ms, 0)
        moved = c.execute(
            "SELECT rowid, text, conv, seq, last, seqs FROM message_text"
            " WHERE rowid >= ? AND rowid < ? AND conv = ? ORDER BY rowid",
            (lo, lo + (1 << SLOT_BITS), conv),
        ).fetchall()
        if not moved:
            return
        c.executemany("DELETE FROM message_text WHERE rowid = ?", [(m[0],) for m in moved])
        first = self.slot(now_ms)
        check_slots(now_ms, first + len(moved))
        self.take_slots({now_ms: first + len(moved)})
        rows(
            c,
            "INSERT INTO message_text(rowid, text, conv, seq, last, seqs) VALUES {}",
            [(first + i, *m[1:]) for i, m in enumerate(moved)],
        )

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
        started: dict[str, int] = {}
        for i in range(0, len(convs), 500):
            part = convs[i : i + 500]
            for conv, last, created in c.execute(
                "SELECT id, last_seq, created_ms FROM conversations"
                f" WHERE id IN ({','.join('?' * len(part))})",
                part,
            ):
                have[conv] = last
                started[conv] = created
        missing = [conv for conv in convs if conv not in have]
        if missing:  # messages before the record: a row to hold them until it comes
            c.executemany(
                "INSERT INTO conversations(id, site, dept, visitor, visitor_name, status,"
                " operators, operator_name, created_ms, closed_ms, ended, closed_by, missed,"
                " rating, comment) VALUES (?, ?, '', '', '', 'new', '[]', '', 0, 0, '', '', 0,"
                " 0, '')",
                [(conv, conv.partition("-")[0]) for conv in missing],
            )
        texts: list[tuple[int, str, str, int, int, str]] = []
        slots: dict[int, int] = {}  # start ms -> the next free rowid of its passages
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
                created = started.get(conv, 0)
                slot = slots[created] if created in slots else self.slot(created)
                for passage in passages(conv, facts.texts):
                    texts.append((slot, *passage))
                    slot += 1
                check_slots(created, slot)
                slots[created] = slot
            if facts.authors:
                for op in facts.authors:
                    if (op, conv) not in self.writers:
                        authors.append((op, conv, _FROM_JOURNAL))
            counts.append((facts.counted, records[-1]["s"], conv))
        self.take_slots(slots)
        texts.sort()  # rowids ascending: FTS5 writes out what it holds at a step back
        rows(c, "INSERT INTO message_text(rowid, text, conv, seq, last, seqs) VALUES {}", texts)
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


def check_slots(created_ms: int, end: int) -> None:
    """Refuse to let passages spill into the rowids of the next start time."""
    if end > text_rowid(created_ms + 1, 0):
        raise RuntimeError(f"more than {1 << SLOT_BITS} passages of chats started at {created_ms}")


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


class Source(Protocol):
    """What the index reads of the store: the server's own (``LmdbStore``, for a
    rebuild with the server stopped) or a read-only view of it from the index's
    process (``LmdbReader``)."""

    def get(self, db: str, key: bytes) -> bytes | None: ...

    def get_many(self, db: str, keys: list[bytes]) -> list[bytes | None]: ...

    def scan(
        self, db: str, prefix: bytes = b"", start: bytes | None = None, limit: int | None = None
    ) -> Iterator[tuple[bytes, bytes]]: ...

    def last(self, db: str, prefix: bytes) -> tuple[bytes, bytes] | None: ...

    @property
    def reading(self) -> threading.Lock: ...


def remove_files(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def open_index(path: Path) -> sqlite3.Connection:
    """The index's file, made (private) when missing, made again when it is not
    an index of this version or is damaged: a connection that writes it."""
    private_dir(path.parent)
    try:
        conn = _create(path)
    except sqlite3.DatabaseError as error:  # not an index, or a damaged one
        log.warning("history index %s unreadable (%s): rebuilding it", path, error)
        remove_files(path)
        conn = _create(path)
    make_private(path.parent)
    return conn


def _create(path: Path) -> sqlite3.Connection:
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE))
    conn = connect(path)
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


def clear(w: Writer) -> None:
    """Empty the index (it is ahead of the store: another store's, or a restore's)."""
    w.writers.clear()
    w.conn.executescript(
        "DELETE FROM conversations; DELETE FROM participants; DELETE FROM message_text;"
        " DELETE FROM text_slots;"
        + "".join(f" DELETE FROM {table};" for table in rollups.ROLLUP_TABLES)
    )
    w._zones.clear()
    w.set_mark(0)


def apply_touched(store: Source, w: Writer, convs: Iterable[str]) -> int:
    """Bring these conversations' rows up to the store, in the caller's
    transaction: each one's record as the store holds it now, the journal
    records after the row's last seq, and the rows of one the store no longer
    has (erased, or past its retention) dropped. Reading the store as it is,
    not the commits' writes, makes this idempotent and order-free: a
    conversation told twice, or told after a newer commit, changes nothing more,
    and an erased one cannot come back. Returns the journal records read."""
    ids = list(convs)
    w.zones_from(store)
    with store.reading:
        number = store_commit(store)
        raws = store.get_many(CONVERSATIONS.name, [c.encode() for c in ids])
    have: dict[str, int] = {}
    for i in range(0, len(ids), 500):
        part = ids[i : i + 500]
        have.update(
            w.conn.execute(
                f"SELECT id, last_seq FROM conversations WHERE id IN ({','.join('?' * len(part))})",
                part,
            ).fetchall()
        )
    journal: dict[str, list[dict[str, Any]]] = {}
    read = 0
    for conv, raw in zip(ids, raws, strict=True):
        after = have.get(conv, 0)
        with store.reading:
            rows = list(
                store.scan(
                    CONVERSATION_JOURNAL.records,
                    journal_prefix(conv),
                    start=journal_key(conv, after + 1),
                )
            )
            gone = (
                raw is None
                and not rows
                and (
                    conv not in have
                    or store.last(CONVERSATION_JOURNAL.records, journal_prefix(conv)) is None
                )
            )
        if gone:
            if conv in have:
                w.drop(conv)
            continue
        if raw is not None:
            w.doc(conv, raw, number)
        records = [r for k, v in rows for seq, r in stream_records(k, v) if seq > after]
        if records:
            journal[conv] = orjson.loads(b"[" + b",".join(records) + b"]")
            read += len(records)
    w.journals(journal)
    return read


def site_zone(store: Source, site: str) -> str:
    """A site's timezone as the store holds it (UTC for a site it lacks)."""
    with store.reading:
        raw = store.get(SITES.name, site.encode())
    zone = orjson.loads(raw).get("timezone", "") if raw is not None else ""
    return str(zone) if zone else "UTC"


def store_commit(store: Source) -> int:
    """The number of the store's last commit."""
    raw = store.get(META.name, COMMIT_KEY)
    return int(orjson.loads(raw)) if raw is not None else 0


def catch_up(store: Source, w: Writer, progress: Callable[[int], None] | None = None) -> int:
    """Bring the index up to the store from any state (a new file: a rebuild).
    Returns the commit every record and message up to is now held; ``progress``
    is told how many conversations were read so far, after each piece."""
    seen = 0
    with store.reading:
        top = store_commit(store)
    start: bytes | None = None
    while True:
        with store.reading:
            number = store_commit(store)
            docs = list(store.scan(CONVERSATIONS.name, start=start, limit=PIECE))
            tails = {
                key.decode(): seq_of(last[0])
                for key, _raw in docs
                if (last := store.last(CONVERSATION_JOURNAL.records, key + SEP)) is not None
            }
        w.zones_from(store)
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
                w.messages(
                    conv,
                    [
                        orjson.loads(record)
                        for key, value in rows
                        for seq, record in stream_records(key, value)
                        if seq > have
                    ],
                )
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
    store: Source, w: Writer, docs: list[tuple[bytes, bytes]], start: bytes | None, last: bool
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


def rebuild(data_dir: Path, store: Source, progress: Callable[[int], None] | None = None) -> int:
    """Throw the index away and build it again from the store (the store must
    not be written meanwhile: ``parley history reindex`` runs with the server
    stopped). Returns the number of conversations indexed."""
    path = index_path(data_dir)
    remove_files(path)
    conn = open_index(path)
    try:
        catch_up(store, Writer(conn), progress)
        count = conn.execute("SELECT count(*) FROM conversations").fetchone()[0]
    finally:
        conn.close()
    return int(count)
