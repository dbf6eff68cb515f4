"""The history index as the server sees it: a process it starts and watches,
and read-only connections for the queries.

Writing the index (SQLite, FTS5) is work the chat need not wait for, and in the
server's process it shared the interpreter's lock with the chat. So the index
is written by a process of its own (``engine/records/indexer.py``); the server:

- tells it, from the store's writer thread right after each commit, which
  conversations the commit touched (``wire.py``: a few bytes a conversation,
  sent without waiting; a full socket sends ``lost`` later, and the index
  catches up from the store);
- starts it, and starts it again when it dies, after a pause that doubles from
  half a second to half a minute (back to the start once a run has lasted a
  minute); until the new one has caught up, ``failure`` says why (the health
  is then degraded with that reason, and the lag in commits grows);
- stops it with the server: the end of its socket; it applies what it was told
  and exits (killed after 30 s);
- answers queries on a thread of its own, with a read-only connection to the
  index (WAL: it reads the last transaction committed, never waits for one).

The index's high-water mark comes back on the same socket after every
transaction; ``wait_until`` waits for it (tests, and a rebuild's caller).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, TypeVar

from engine.persistence.lmdb_store import LmdbStore
from engine.persistence.schema import CONVERSATION_JOURNAL, CONVERSATIONS, Op
from engine.records import wire
from engine.records.index import JOURNAL_TAIL, Writer, index_path, open_index

log = logging.getLogger("parley.history")

T = TypeVar("T")
FIRST_PAUSE = 0.5  # before starting the index's process again
LAST_PAUSE = 30.0
SETTLED_SECONDS = 60.0  # a run this long puts the pause back to the first
STOP_SECONDS = 30.0  # for the process to apply what it holds and exit
SEND_BUFFER = 4 << 20  # asked for; the system may give less
_RECORDS, _JOURNAL = CONVERSATIONS.name, CONVERSATION_JOURNAL.records
_ROOT = str(Path(__file__).resolve().parents[2])  # the folder holding ``engine``


def connect_readonly(path: Path) -> sqlite3.Connection:
    # Autocommit: a query's writes to its temporary tables (a search's probe,
    # a report's spans) must not open a transaction that outlives it, which
    # would hold the index's snapshot of that moment for every later query.
    conn = sqlite3.connect(
        f"file:{path}?mode=ro", uri=True, check_same_thread=False, isolation_level=None
    )
    conn.execute("PRAGMA busy_timeout=5000")
    return conn


def exit_reason(code: int) -> str:
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = str(-code)
        return f"the history index's process was killed by {name}"
    return f"the history index's process exited with code {code}"


def touched(batches: list[list[Op]]) -> dict[bytes, None]:
    """The conversations whose record or journal these writes touch."""
    ids: dict[bytes, None] = {}
    for ops in batches:
        for db, key, _value in ops:
            if db == _JOURNAL:
                ids[key[:-JOURNAL_TAIL]] = None  # <conversation> 0x00 <seq, 8 bytes>
            elif db == _RECORDS:
                ids[key] = None
    return ids


class HistoryIndex:
    """The index beside a store: its process, its notices, its reads."""

    def __init__(
        self,
        data_dir: Path,
        store: LmdbStore,
        *,
        first_pause: float = FIRST_PAUSE,
        send_buffer: int = SEND_BUFFER,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.first_pause = first_pause
        self.send_buffer = send_buffer
        self.path = index_path(data_dir)
        self.store = store
        # Made (or made again, when unreadable) here, before the process and the
        # readers open it; the process is its only writer from then on.
        conn = open_index(self.path)
        self._mark = Writer(conn).mark()
        conn.close()
        self._changed = threading.Condition()
        self._send = threading.Lock()  # the socket, between the writer thread and a restart
        self._sock: socket.socket | None = None
        self._lost = False
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.failure = ""  # why the process is not running, until a new one caught up
        self.starts = 0  # processes started
        self.overflows = 0  # notices the socket could not take
        self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parley-history-read")
        self._read_conn: sqlite3.Connection | None = None

    # -- reads -------------------------------------------------------------------------

    async def read(self, query: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``query`` on the read-only connection, off the loop."""
        return await asyncio.get_running_loop().run_in_executor(self._reader, self._query, query)

    def _query(self, query: Callable[[sqlite3.Connection], T]) -> T:
        if self._read_conn is None:
            self._read_conn = connect_readonly(self.path)
        try:
            return query(self._read_conn)
        finally:
            if self._read_conn.in_transaction:  # a query's own BEGIN: never kept
                self._read_conn.rollback()

    @property
    def mark(self) -> int:
        """The last commit of the store the index holds."""
        return self._mark

    def wait_until(self, number: int, timeout: float = 30.0) -> bool:
        """Block until the index holds commit ``number`` (worker threads, tests)."""
        with self._changed:
            return self._changed.wait_for(lambda: self._mark >= number, timeout)

    def wait_current(self, timeout: float = 30.0) -> bool:
        """Block until the index holds every commit the store had at the call."""
        return self.wait_until(self.store.due_number, timeout)

    # -- following the store -----------------------------------------------------------

    def follow_commit(self, number: int, batches: list[list[Op]]) -> None:
        """The store's follower (writer thread): tell the process which
        conversations the commit touched; never waits."""
        ids = touched(batches)
        with self._send:
            sock = self._sock
            if sock is None:
                return  # no process: the next one catches up at its start
            try:
                if self._lost:
                    sock.send(wire.LOST, socket.MSG_DONTWAIT)
                    self._lost = False
                for packet in wire.notices(number, ids):
                    sock.send(packet, socket.MSG_DONTWAIT)
            except OSError:  # full (or the process just died): it catches up
                self._lost = True
                self.overflows += 1

    def start(self) -> None:
        """Follow the store, and start (and watch) the index's process."""
        self._stopping.clear()
        self.store.follow(self.follow_commit)
        self._thread = threading.Thread(target=self._watch, name="parley-history", daemon=True)
        self._thread.start()

    def stop(self, apply: bool = True) -> None:
        """Stop following; with ``apply`` the process applies what it was told
        and exits, else it is killed (as a crash would leave it)."""
        self.store.unfollow(self.follow_commit)
        self._stopping.set()
        with self._send:
            sock, process = self._sock, self.process
        if sock is not None and process is not None:
            if apply:
                sock.shutdown(socket.SHUT_WR)  # its end of file: apply, then exit
            else:
                process.kill()
        if self._thread is not None:
            self._thread.join(STOP_SECONDS)
            if self._thread.is_alive():
                log.error("the history index's process did not stop: killing it")
                self.kill()
                self._thread.join()
            self._thread = None
        self._reader.submit(self._close_reader).result()
        self._reader.shutdown(wait=True)

    def _close_reader(self) -> None:
        if self._read_conn is not None:
            self._read_conn.close()
            self._read_conn = None

    def kill(self) -> None:
        """Tests: kill -9 the process (it is started again)."""
        if self.process is not None:
            self.process.kill()

    # -- the process ------------------------------------------------------------------

    def _spawn(self, theirs: socket.socket) -> subprocess.Popen[bytes]:
        # The same code as the server's, wherever it was imported from.
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, (_ROOT, env.get("PYTHONPATH"))))
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "engine.records.indexer",
                "--data",
                str(self.data_dir),
                "--fd",
                str(theirs.fileno()),
            ],
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
        )

    @staticmethod
    def _relay_log(stream: IO[bytes]) -> None:
        """The process's log lines (``LEVEL message``) logged here, so they take
        the server's log format (``--log-format json`` included); a line with
        no level (a traceback's) is an error's."""
        with stream:
            for raw in stream:
                line = raw.decode("utf-8", "replace").rstrip("\n")
                level_name, _, message = line.partition(" ")
                level = logging.getLevelName(level_name)
                if isinstance(level, int) and message:
                    log.log(level, "%s", message)
                elif line:
                    log.error("history index process: %s", line)

    def _watch(self) -> None:
        pause = self.first_pause
        while not self._stopping.is_set():
            started = time.monotonic()
            # The socket first: the commits from now on wait in it for the
            # process, which may then skip its catch-up when its mark is the
            # store's (nothing before the socket is missing).
            sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.send_buffer)
            with self._send:
                self._sock, self._lost = sock, False
            try:
                process = self._spawn(theirs)
            except OSError as error:
                theirs.close()
                with self._send:
                    self._sock = None
                sock.close()
                self._failed(f"the history index's process could not start: {error}")
                log.error("%s", self.failure)
            else:
                theirs.close()  # the process's now: its exit is our end of file
                assert process.stderr is not None
                threading.Thread(
                    target=self._relay_log, args=(process.stderr,), daemon=True
                ).start()
                with self._send:
                    self.process = process
                if self._stopping.is_set():  # a stop came while it started
                    sock.shutdown(socket.SHUT_WR)
                self.starts += 1
                self._listen(sock)  # until the process's end of the socket closes
                code = process.wait()
                with self._send:
                    self._sock = None
                sock.close()
                if self._stopping.is_set():
                    if code != 0:
                        log.warning("%s while stopping", exit_reason(code))
                    return
                self._failed(exit_reason(code))
                log.error("%s: starting it again in %.1f s", self.failure, pause)
            if time.monotonic() - started > SETTLED_SECONDS:
                pause = self.first_pause
            if self._stopping.wait(pause):
                return
            pause = min(pause * 2, LAST_PAUSE)

    def _failed(self, reason: str) -> None:
        with self._changed:
            self.failure = reason
            self._changed.notify_all()

    def _listen(self, sock: socket.socket) -> None:
        while True:
            try:
                packet = sock.recv(wire.PACKET)
            except OSError:
                return
            if not packet:
                return  # the process closed its end: it has exited
            kind, number, _ids = wire.parse(packet)
            if kind == wire.APPLIED:
                with self._changed:
                    self._mark = max(self._mark, number)
                    self.failure = ""  # a process runs and holds the store
                    self._changed.notify_all()
                # Notices were lost and no commit since could say so: the
                # process has read its socket empty before it applied, so now
                # there is room (else it says so again after its next turn).
                with self._send, contextlib.suppress(OSError):
                    if self._lost and self._sock is sock:
                        sock.send(wire.LOST, socket.MSG_DONTWAIT)
                        self._lost = False
