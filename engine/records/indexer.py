"""The history index's process: it writes the index, so the chat's process does not.

``python -m engine.records.indexer --data DIR --fd N`` is started by the server
(``engine/records/service.py``), which hands it one end of a socket pair. It
opens the store read-only (``LmdbReader``: LMDB lets a reader in another
process see each commit as it lands) and the index's SQLite file, the only
writer of it, and runs two threads:

- the listener takes the server's notices off the socket (``wire.py``): the
  conversations each commit touched, gathered in a set until applied, and the
  number of the last commit told in full; or ``lost``, when the server could
  not hand a notice over;
- the applier, a moment after a notice (longer while the chat is busy, so a
  chat's messages land as one passage), applies the gathered conversations in
  one SQLite transaction (``index.apply_touched``: each read from the store as
  it is now), records the commit number as its high-water mark in the same
  transaction, and tells the server that mark.

It catches up from the store (``index.catch_up``: every record and journal
compared with the rows) at start, unless its mark is the store's last commit
(the server opens the socket before it starts the process, so every later
commit is told), and after ``lost``. Every applying reads the
store as it is, so a notice seen twice, or one older than what the catch-up
read, changes nothing; and an erased conversation, gone from the store, leaves
the index whatever the order of the notices.

The socket's end of file means the server stops it, or is gone: it applies
what it holds and exits. It runs at a lower CPU priority than the server (the
chat first; the index catches up when the chat leaves it room), creates its
files private (umask 077), holds ``indexer.lock`` while it lives (one writer
at a time, whatever is left of a killed server), and ignores Ctrl-C (a
terminal sends it to the whole group; the server stops it in order).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import logging
import os
import signal
import socket
import sqlite3
import threading
import time
from pathlib import Path

from engine.persistence.lmdb_store import LmdbReader
from engine.persistence.schema import CONVERSATION_JOURNAL, CONVERSATIONS, META, SITES
from engine.records import wire
from engine.records.index import (
    Writer,
    apply_touched,
    catch_up,
    clear,
    index_path,
    open_index,
    store_commit,
)

log = logging.getLogger("parley.history")

NICE = 10  # below the server's priority: the chat first
COALESCE_SECONDS = 0.05
# While the chat is busy (the last transaction held this many messages) the
# applier gathers longer: what the index pays per conversation and per
# transaction (a row's update, a passage of text) is spread over more messages.
BUSY_MESSAGES = 1000
BUSY_COALESCE_SECONDS = 0.25


class Indexer:
    """The index's writer, fed by the server's notices."""

    def __init__(self, data_dir: Path, sock: socket.socket) -> None:
        # The sites for their timezones (the reports' day rollups).
        followed = (CONVERSATIONS.name, CONVERSATION_JOURNAL.records, META.name, SITES.name)
        self.store = LmdbReader(data_dir, followed)
        self.conn: sqlite3.Connection = open_index(index_path(data_dir))
        self.writer = Writer(self.conn)
        self.mark = self.writer.mark()
        self.sock = sock
        self._changed = threading.Condition()
        self._touched: dict[str, None] = {}  # told, not yet applied (a set, in order)
        self._told = 0  # the last commit whose notice came in full
        self._lost = True  # catch up first
        self._closed = False  # the server closed its end
        self._busy = False

    def run(self) -> None:
        listener = threading.Thread(target=self._listen, name="parley-history-listen", daemon=True)
        listener.start()
        try:
            while self._turn():
                pass
        finally:
            self.conn.close()
            self.store.close()

    def _ready(self) -> bool:
        return bool(self._touched) or self._lost or self._closed or self._told > self.mark

    def _turn(self) -> bool:
        """One catch-up or one transaction; False when the server has gone."""
        with self._changed:
            self._changed.wait_for(self._ready)
            lost, closed = self._lost, self._closed
            self._lost = False
        if lost:
            self._catch_up()
            return True
        if not closed:  # let the commits of the next moments join this transaction
            time.sleep(BUSY_COALESCE_SECONDS if self._busy else COALESCE_SECONDS)
        with self._changed:
            touched, self._touched = self._touched, {}
            told, closed = self._told, self._closed
        self._apply(touched, told)
        return not (closed and not self._touched)

    def _apply(self, touched: dict[str, None], told: int) -> None:
        w = self.writer
        w.conn.execute("BEGIN")
        messages = apply_touched(self.store, w, touched)
        top = max(told, self.mark)
        w.set_mark(top)
        w.conn.execute("COMMIT")
        w.scrub()
        self._busy = messages >= BUSY_MESSAGES
        self.mark = top
        if w.gap:  # cannot happen reading the store whole; would be a bug: catch up
            w.gap = False
            self._lost = True
        self._tell(top)

    def _catch_up(self) -> None:
        with self.store.reading:
            stored = store_commit(self.store)
        if self.mark == stored:  # every commit is held (the later ones are told)
            self._tell(self.mark)
            return
        if self.mark > stored:
            log.warning("history index ahead of the store (another store?): rebuilding it")
            clear(self.writer)
            self.mark = 0
        started = time.monotonic()
        top = catch_up(self.store, self.writer)
        self.mark = max(self.mark, top)
        log.info("history index caught up to commit %d in %.1f s", top, time.monotonic() - started)
        self._tell(self.mark)

    def _tell(self, mark: int) -> None:
        with contextlib.suppress(OSError):  # the server is gone; the end of file stops us
            self.sock.send(wire.applied(mark))

    def _listen(self) -> None:
        while True:
            try:
                packet = self.sock.recv(wire.PACKET)
            except OSError:
                packet = b""
            with self._changed:
                if not packet:
                    self._closed = True
                    self._changed.notify()
                    return
                kind, number, ids = wire.parse(packet)
                if kind == wire.LOST:
                    self._lost = True
                else:
                    self._touched.update(dict.fromkeys(ids))
                    if kind == wire.COMMIT:
                        self._told = max(self._told, number)
                self._changed.notify()


def main() -> None:
    parser = argparse.ArgumentParser(description="the history index's writer (run by the server)")
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--fd", type=int, required=True, help="the server's socket")
    args = parser.parse_args()
    os.umask(0o077)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(OSError):  # not allowed here: the server's priority
        os.nice(NICE)
    # The server relays these lines into its own log, in its format.
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    sock = socket.socket(fileno=args.fd)
    # One writer at a time: the process of a server killed a moment ago may
    # still be applying what it was told; this one waits for it to exit, then
    # catches up, so nothing it read before an erasure lands after the drop.
    index_path(args.data).parent.mkdir(mode=0o700, exist_ok=True)
    lock = os.open(index_path(args.data).parent / "indexer.lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(lock, fcntl.LOCK_EX)
    Indexer(args.data, sock).run()


if __name__ == "__main__":
    main()
