"""The history index on a real LMDB store and a real SQLite file: lists and
sorts against a brute-force oracle over random chats (the index process's work
done in the test's thread), and the index's own process: the rebuild equal to
the live index, catching up after a kill -9 of the process, of the server (the
index's process then exits by itself) and after a stop between commit and
indexing, a missing or stale file, lost notices, an erasure that no later
notice brings back, and the health while the process is down."""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.health import DEGRADED, Load, judge
from engine.persistence.codec import journal_key
from engine.persistence.lmdb_store import LmdbStore
from engine.persistence.schema import CONVERSATION_JOURNAL, CONVERSATIONS, Op
from engine.records import queries
from engine.records.index import (
    PIECE,
    Writer,
    apply_touched,
    connect,
    index_path,
    open_index,
    rebuild,
    remove_files,
)
from engine.records.queries import (
    BREAK,
    SLOT_BITS,
    Filters,
    hit_key,
    list_key,
    list_rows,
    match_expression,
    search,
)
from engine.records.reports import report_of
from engine.records.service import HistoryIndex, touched

SITES = ("sa", "sb")
DEPTS = ("d1", "d2", "d3")
OPS = ("o1", "o2", "o3")
WORDS = ("refund", "parcel", "invoice", "hello", "broken", "thanks")


@dataclass
class Chat:
    id: str
    site: str
    dept: str
    visitor: str
    status: str
    created_ms: int
    rating: int
    operators: list[str]
    ended: str  # closed_by kind or a system reason
    texts: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, author, text)

    def doc(self) -> dict[str, Any]:
        closed = self.status == "closed"
        system = self.ended in ("abandoned", "no_operator")
        return {
            "info": [self.id, self.site, self.dept, self.visitor, f"V {self.visitor}"],
            "status": self.status,
            "operators": [[o, o.upper()] for o in self.operators],
            "created_ms": self.created_ms,
            "rating": self.rating,
            "closed_reason": self.ended if closed and system else "",
            "closed_by": (f"{self.ended}:x" if not system else "system:") if closed else "",
            "closed_ms": self.created_ms + 1000 if closed else 0,
            "missed": closed and system,
        }

    def ops(self) -> list[Op]:
        ops: list[Op] = [CONVERSATIONS.put(self.id, self.doc())]  # type: ignore[arg-type]
        for seq, (kind, author, text) in enumerate(self.texts, 1):
            record = {"s": seq, "k": kind, "a": author, "n": "", "t": text, "c": "", "ts": seq}
            ops.append(("journal", journal_key(self.id, seq), orjson.dumps(record)))
        return ops


@st.composite
def chats(draw: st.DrawFn) -> list[Chat]:
    n = draw(st.integers(1, 12))
    out = []
    for i in range(n):
        status = draw(st.sampled_from(("queued", "active", "closed", "closed")))
        ops = draw(st.lists(st.sampled_from(OPS), max_size=2, unique=True))
        texts = [
            (kind, draw(st.sampled_from(OPS)) if kind != "visitor" else "", " ".join(words))
            for kind, words in draw(
                st.lists(
                    st.tuples(
                        st.sampled_from(("visitor", "operator", "system")),
                        st.lists(st.sampled_from(WORDS), min_size=1, max_size=3),
                    ),
                    max_size=4,
                )
            )
        ]
        out.append(
            Chat(
                id=f"{draw(st.sampled_from(SITES))}-c{i:03d}",
                site="",
                dept=draw(st.sampled_from(DEPTS)),
                visitor=draw(st.sampled_from(("v1", "v2", "v3"))),
                status=status,
                created_ms=draw(st.integers(1, 20)) * 1000,  # ties on purpose
                rating=draw(st.integers(0, 5)) if status == "closed" else 0,
                operators=ops,
                ended=draw(st.sampled_from(("visitor", "operator", "abandoned", "no_operator"))),
                texts=texts,
            )
        )
    for c in out:
        c.site = c.id.partition("-")[0]
    return out


@st.composite
def filters(draw: st.DrawFn) -> Filters:
    lo = draw(st.integers(0, 12)) * 1000
    return Filters(
        sites=tuple(draw(st.lists(st.sampled_from(SITES), min_size=1, unique=True))),
        scope=draw(st.sampled_from(("all", "department", "own"))),
        me=draw(st.sampled_from(OPS)),
        my_departments=tuple(draw(st.lists(st.sampled_from(DEPTS), unique=True))),
        department_id=draw(st.sampled_from(("", *DEPTS))),
        operator_id=draw(st.sampled_from(("", *OPS))),
        visitor_id=draw(st.sampled_from(("", "v1"))),
        statuses=tuple(draw(st.lists(st.sampled_from(("active", "closed")), unique=True))),
        ended=tuple(draw(st.lists(st.sampled_from(("visitor", "missed")), unique=True))),
        ratings=tuple(draw(st.lists(st.integers(0, 5), max_size=2, unique=True))),
        from_ms=lo,
        to_ms=draw(st.sampled_from((0, lo + 8000))),
    )


def participants(c: Chat) -> set[str]:
    return set(c.operators) | {a for k, a, _t in c.texts if k == "operator"}


def oracle(all_chats: list[Chat], f: Filters) -> list[Chat]:
    def keep(c: Chat) -> bool:
        mine = f.me in participants(c)
        sight = f.scope == "all" or mine or (f.scope == "department" and c.dept in f.my_departments)
        ended = c.ended if c.status == "closed" else ""
        missed = c.status == "closed" and c.ended in ("abandoned", "no_operator")
        return (
            c.site in f.sites
            and sight
            and (not f.department_id or c.dept == f.department_id)
            and (not f.operator_id or f.operator_id in participants(c))
            and (not f.visitor_id or c.visitor == f.visitor_id)
            and (not f.statuses or c.status in f.statuses)
            and (not f.ended or ended in f.ended or ("missed" in f.ended and missed))
            and (not f.ratings or c.rating in f.ratings)
            and c.created_ms >= f.from_ms
            and (not f.to_ms or c.created_ms < f.to_ms)
        )

    return [c for c in all_chats if keep(c)]


def sort_key(order: str, c: Chat) -> tuple[Any, ...]:
    name = c.operators[-1].upper() if c.operators else ""
    if order == "rating":
        return (-c.rating, -c.created_ms, _desc(c.id))
    if order == "operator":
        return (name, -c.created_ms, _desc(c.id))
    return (-c.created_ms, _desc(c.id))


def _desc(text: str) -> tuple[int, ...]:
    return tuple(-ord(ch) for ch in text) + (0,)


def write(store: LmdbStore, all_chats: list[Chat], split: bool = False) -> None:
    """A commit per chat, records before messages in it; or ``split``: a
    commit per message, the chats' messages interleaved (a passage each, in
    no order of time), every other chat's record after its messages (its
    passages move to its start time's rowids when the record comes)."""
    if not split:
        for c in all_chats:
            store.write_now(c.ops())
        return
    late = all_chats[::2]
    ops = {c.id: c.ops() for c in all_chats}
    for c in all_chats:
        if c not in late:
            store.write_now(ops[c.id][:1])
    for i in range(1, 1 + max(len(c.texts) for c in all_chats)):
        for c in all_chats:
            if i < len(ops[c.id]):
                store.write_now([ops[c.id][i]])
    for c in late:
        store.write_now(ops[c.id][:1])


def paged(conn: sqlite3.Connection, f: Filters, order: str, size: int) -> list[str]:
    got: list[str] = []
    after = None
    while True:
        rows = list_rows(conn, f, order, after, size + 1)
        got += [r.id for r in rows[:size]]
        if len(rows) <= size:
            return got
        after = list_key(order, rows[size - 1])


def search_paged(conn: sqlite3.Connection, f: Filters, expression: str, size: int) -> list[Any]:
    """Every hit, a page of ``size`` at a time (pages may end inside a passage)."""
    got: list[Any] = []
    after = None
    while True:
        hits = search(conn, f, expression, after, size)
        got += [(h.conversation.id, h.seq) for h in hits]
        if len(hits) < size:
            return got
        after = hit_key(hits[-1])


class Inline:
    """The index process's work in the test's thread: each commit's notice
    (the server's ``touched``) applied at once from a read-only view of the
    store (``apply_touched``), as the process does a moment later (it reads
    through an ``LmdbReader``; LMDB allows one opening of an environment a
    process, so here the store reads itself)."""

    def __init__(self, tmp: Path, store: LmdbStore) -> None:
        self.store = store
        self.conn = open_index(index_path(tmp))
        self.writer = Writer(self.conn)
        store.follow(self.follow)

    def follow(self, number: int, batches: list[list[Op]]) -> None:
        self.tell([c.decode() for c in touched(batches)])

    def tell(self, convs: list[str]) -> None:
        self.conn.execute("BEGIN")
        apply_touched(self.store, self.writer, convs)
        self.conn.execute("COMMIT")
        self.writer.scrub()

    def close(self) -> None:
        self.store.unfollow(self.follow)
        self.conn.close()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=chats(),
    fs=st.lists(filters(), min_size=1, max_size=4),
    size=st.integers(1, 4),
    split=st.booleans(),
    few=st.sampled_from((0, 1, queries.FEW)),
)
def test_lists_match_a_brute_force_oracle(
    data: list[Chat], fs: list[Filters], size: int, split: bool, few: int
) -> None:
    """``few``: below it a list reads a narrow source and sorts it (0: every
    list walks the index of its order)."""
    kept, queries.FEW = queries.FEW, few
    with contextlib.ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        stack.callback(setattr, queries, "FEW", kept)
        store = LmdbStore(Path(tmp))
        index = Inline(Path(tmp), store)
        try:
            write(store, data, split)
            conn = connect(index_path(Path(tmp)))
            for f in fs:
                for order in ("time", "rating", "operator"):
                    want = [c.id for c in sorted(oracle(data, f), key=lambda c: sort_key(order, c))]
                    assert paged(conn, f, order, size) == want, (order, f)
                word = WORDS[len(data) % len(WORDS)]
                hits = search(conn, f, match_expression(word), None, 1000)
                want_hits = sorted(
                    (
                        (c.id, seq)
                        for c in oracle(data, f)
                        for seq, (kind, _a, text) in enumerate(c.texts, 1)
                        if kind != "system" and word in text.split()
                    ),
                    key=lambda h: (sort_key("time", next(c for c in data if c.id == h[0])), h[1]),
                )
                assert [(h.conversation.id, h.seq) for h in hits] == want_hits
                assert search_paged(conn, f, match_expression(word), size) == want_hits
            # Every passage lies in its chat's start time's rowids.
            for rowid, created in conn.execute(
                "SELECT m.rowid, c.created_ms FROM message_text m"
                " JOIN conversations c ON c.id = m.conv"
            ):
                assert rowid >> SLOT_BITS == created
            conn.close()
        finally:
            index.close()
            store.close()


def dump(path: Path) -> dict[str, Any]:
    """What the index holds, without its bookkeeping (commit numbers)."""
    conn = connect(path)
    try:
        cols = "id, site, dept, visitor, visitor_name, status, operators, operator_name,"
        cols += " created_ms, closed_ms, ended, closed_by, missed, rating, comment,"
        cols += " message_count, last_seq, doc_hash"
        return {
            "rows": conn.execute(f"SELECT {cols} FROM conversations ORDER BY id").fetchall(),
            "who": conn.execute("SELECT * FROM participants ORDER BY 1, 2, 3").fetchall(),
            "text": sorted(  # a row per message (the index keeps a few a row)
                (conv, int(seq), text)
                for conv, seqs, texts in conn.execute("SELECT conv, seqs, text FROM message_text")
                for seq, text in zip(seqs.split(" "), texts.split(BREAK), strict=True)
            ),
        }
    finally:
        conn.close()


def some_chats(n: int, start: int = 0) -> list[Chat]:
    return [
        Chat(
            id=f"sa-c{i:04d}",
            site="sa",
            dept=DEPTS[i % 3],
            visitor=f"v{i % 5}",
            status="closed" if i % 2 else "active",
            created_ms=1000 + i,
            rating=i % 6 if i % 2 else 0,
            operators=[OPS[i % 3]],
            ended="operator",
            texts=[("visitor", "", f"hello {WORDS[i % 6]}"), ("operator", OPS[i % 3], "thanks")],
        )
        for i in range(start, start + n)
    ]


def fresh(tmp: Path, **options: Any) -> tuple[LmdbStore, HistoryIndex]:
    store = LmdbStore(tmp)
    index = HistoryIndex(tmp, store, **options)
    index.start()
    return store, index


def rebuilt(tmp: Path, store: LmdbStore) -> dict[str, Any]:
    other = tmp / "copy"
    shutil.rmtree(other, ignore_errors=True)
    other.mkdir()
    shutil.copytree(tmp / "history", other / "history")
    rebuild(other, store)
    return dump(index_path(other))


def count(path: Path) -> int:
    conn = connect(path)
    try:
        return int(conn.execute("SELECT count(*) FROM conversations").fetchone()[0])
    finally:
        conn.close()


def test_the_servers_reads_see_each_new_commit_after_a_search_and_a_report(
    tmp_path: Path,
) -> None:
    store, index = fresh(tmp_path)
    try:
        write(store, some_chats(3))
        assert index.wait_current()
        every = Filters(sites=("sa",))

        async def reads() -> tuple[int, int]:
            hits = await index.read(lambda c: search(c, every, match_expression("hello"), None, 9))
            await index.read(
                lambda c: report_of(
                    c, "sa", "UTC", "", "", date(1970, 1, 1), date(1970, 1, 1), False
                )
            )
            write(store, some_chats(2, start=3))
            assert index.wait_current()
            rows = await index.read(lambda c: list_rows(c, every, "time", None, 9))
            return len(hits), len(rows)

        assert asyncio.run(reads()) == (3, 5)
    finally:
        index.stop()
        store.close()


def test_the_rebuild_equals_the_live_index(tmp_path: Path) -> None:
    store, index = fresh(tmp_path)
    chats_ = some_chats(60)
    write(store, chats_)
    for c in chats_[:10]:  # records rewritten later (closed, rated)
        c.status, c.rating = "closed", 4
        store.write_now([CONVERSATIONS.put(c.id, c.doc())])  # type: ignore[arg-type]
    assert index.wait_current()
    index.stop()
    live = dump(index.path)
    assert len(live["rows"]) == 60 and len(live["text"]) == 120
    assert rebuilt(tmp_path, store) == live
    assert index.starts == 1 and index.failure == ""
    store.close()


def test_a_killed_process_is_started_again_and_catches_up(tmp_path: Path) -> None:
    store, index = fresh(tmp_path)
    write(store, some_chats(5))
    assert index.wait_current()
    index.kill()  # kill -9; the chat goes on writing meanwhile
    write(store, some_chats(20, start=5))
    assert index.wait_current()  # a new process caught up from the store
    assert index.starts == 2 and index.failure == ""
    index.stop()
    assert count(index.path) == 25
    assert dump(index.path) == rebuilt(tmp_path, store)
    store.close()


def test_while_the_process_is_down_the_health_says_why(tmp_path: Path) -> None:
    store, index = fresh(tmp_path, first_pause=3600.0)  # not started again in this test
    write(store, some_chats(3))
    assert index.wait_current()
    index.kill()
    with index._changed:
        assert index._changed.wait_for(lambda: index.failure, 30)
    assert "killed by SIGKILL" in index.failure
    write(store, some_chats(2, start=3))  # told to no one: the lag grows
    lag = store.commit_number - index.mark
    assert lag == 2
    health, reason = judge(Load(index_lag=lag, index_failure=index.failure))
    assert health == DEGRADED and "history index" in reason
    assert judge(Load(index_lag=lag))[0] != DEGRADED  # the lag alone is small
    index.stop()  # during the pause: at once
    store.close()


def test_catches_up_after_a_stop_between_commit_and_indexing(tmp_path: Path) -> None:
    store, index = fresh(tmp_path)
    write(store, some_chats(5))
    assert index.wait_current()
    index.stop(apply=False)  # killed, as a crash would leave it
    write(store, some_chats(20, start=5))  # committed, never told to an index
    assert count(index.path) == 5
    again = HistoryIndex(tmp_path, store)
    assert again.mark < store.commit_number
    again.start()
    assert again.wait_current()
    again.stop()
    assert dump(again.path) == rebuilt(tmp_path, store)
    store.close()


def test_a_missing_or_stale_file_is_caught_up(tmp_path: Path) -> None:
    store, index = fresh(tmp_path)
    write(store, some_chats(10))
    assert index.wait_current()
    index.stop()
    stale = tmp_path / "stale.sqlite"
    shutil.copy(index.path, stale)  # the index as it was (checkpointed at close)
    index = HistoryIndex(tmp_path, store)
    index.start()
    write(store, some_chats(10, start=10))
    assert index.wait_current()
    index.stop()
    want = dump(index.path)
    shutil.copy(stale, index.path)  # behind: an older copy of the file
    index = HistoryIndex(tmp_path, store)
    index.start()
    assert index.wait_current()
    index.stop()
    assert dump(index.path) == want
    remove_files(index.path)  # gone
    index.path.parent.joinpath("index.sqlite").write_bytes(b"not a database at all" * 100)
    index = HistoryIndex(tmp_path, store)  # unreadable: made again, then caught up
    index.start()
    assert index.wait_current()
    index.stop()
    assert dump(index.path) == want
    for name in os.listdir(index.path.parent):  # the process's files too (-wal, -shm)
        assert oct((index.path.parent / name).stat().st_mode & 0o777) == "0o600", name
    assert oct(index.path.parent.stat().st_mode & 0o777) == "0o700"
    store.close()


def test_lost_notices_fall_back_to_catching_up(tmp_path: Path) -> None:
    store, index = fresh(tmp_path, send_buffer=1)  # the system's least
    write(store, some_chats(1, start=3000))
    assert index.wait_current()  # the process runs, and has caught up
    assert index.process is not None
    os.kill(index.process.pid, signal.SIGSTOP)  # it reads nothing: the socket fills
    try:
        chats_ = some_chats(2000)
        for i in range(0, 2000, 200):  # commits of 200 conversations: big notices
            store.write_now([op for c in chats_[i : i + 200] for op in c.ops()])
        assert index.overflows >= 1  # the store never waited
    finally:
        os.kill(index.process.pid, signal.SIGCONT)
    # No commit follows to say "lost": the server says it once the process,
    # running again, has emptied its socket and told its mark.
    assert index.wait_current()
    index.stop()
    assert count(index.path) == 2001
    assert dump(index.path) == rebuilt(tmp_path, store)
    store.close()


def test_an_erased_chat_leaves_the_index_and_no_later_notice_brings_it_back(
    tmp_path: Path,
) -> None:
    store = LmdbStore(tmp_path)
    index = Inline(tmp_path, store)
    chats_ = some_chats(3)
    write(store, chats_)
    gone = chats_[1]
    ops: list[Op] = [(CONVERSATIONS.name, gone.id.encode(), None)]
    ops += [(CONVERSATION_JOURNAL.records, journal_key(gone.id, s), None) for s in (1, 2)]
    store.write_now(ops)
    index.tell([gone.id, chats_[0].id])  # a late notice of an older commit
    index.close()
    live = dump(index_path(tmp_path))
    assert [r[0] for r in live["rows"]] == [chats_[0].id, chats_[2].id]
    assert all(conv != gone.id for conv, _s, _t in live["text"])
    assert rebuilt(tmp_path, store) == live
    store.close()


def test_a_rebuild_tells_its_progress_piece_by_piece(tmp_path: Path) -> None:
    store = LmdbStore(tmp_path)
    write(store, some_chats(PIECE + 20))
    told: list[int] = []
    assert rebuild(tmp_path, store, told.append) == PIECE + 20
    assert told == [PIECE, PIECE + 20]  # after each piece read, the count so far
    store.close()


SERVER = """
import sys
from pathlib import Path
from engine.persistence.lmdb_store import LmdbStore
from engine.records.service import HistoryIndex
from tests.engine.test_history_index import some_chats, write
data = Path(sys.argv[1])
store = LmdbStore(data)
index = HistoryIndex(data, store)
index.start()
write(store, some_chats(5))
assert index.wait_current()
print(index.process.pid, flush=True)
write(store, some_chats(20, start=5))  # told: applied, or not, when the kill comes
print("written", flush=True)
sys.stdin.read()
"""


def test_a_killed_server_takes_its_index_process_along_and_nothing_is_lost(
    tmp_path: Path,
) -> None:
    root = Path(__file__).resolve().parents[2]
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(tmp_path)],
        cwd=root,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    indexer = int(server.stdout.readline())
    assert server.stdout.readline() == "written\n"
    watch = os.pidfd_open(indexer)
    try:
        server.kill()  # kill -9 of the server's process
        server.wait()
        # The index's process sees its socket's end and exits by itself.
        assert select.select([watch], [], [], 30)[0] == [watch]
    finally:
        os.close(watch)
        server.stdout.close()
        assert server.stdin is not None
        server.stdin.close()
    store, index = fresh(tmp_path)  # the next start catches up
    assert index.wait_current()
    index.stop()
    assert count(index.path) == 25
    assert dump(index.path) == rebuilt(tmp_path, store)
    store.close()
