"""The LMDB store: one environment, named databases, one group-commit writer.

This is the only module that imports ``lmdb``. What each database holds, and
who writes it, is ``engine/persistence/schema.py``.

Writes go through :meth:`LmdbStore.write`: a list of puts and deletes and a
callback. Writes queued while the previous transaction commits are gathered into
the next one: one write transaction and one synced commit for all of them, done
on a dedicated writer thread (LMDB releases the GIL while it syncs, so the loop
keeps serving). Callbacks run on the loop after the commit, in submission order;
only then may a message be acknowledged. There is never a ``sync=False``.

The map grows as the disk allows. A batch that finds the map full
(``MapFullError``; the transaction is aborted, nothing of it is visible) is
retried after the map grows by a step (``grow_step``, less when the disk has
less room): the disk's free space, less ``disk_reserve`` and less the part of the
map not yet backed by the data file, is the room, and ``max_map_size`` a cap.
The map is resized on the loop thread between two commits: LMDB allows it only
with no transaction open in the process, and the loop's reads are synchronous
(none is open while a callback runs), the writer thread is idle, and a read from
another thread (``count``) holds the resize lock. When there is no room, the
whole batch fails with :class:`StoreFull` to every caller in it, as a failing
disk fails it with :class:`StoreError`; the store keeps serving reads and later,
smaller writes. :meth:`LmdbStore.space` says how much is left.

The streams' writes (conversation journals, direct messages: ``schema.LOGGED``)
are logged first. A commit puts its stream writes in the ``log`` database as a
few pieces under the commit's number, appended at the end of the tree, so it
dirties a few pages however many conversations it carries, instead of one leaf
page of each (which made the synced commit most of the writer's time). Reads in
this process see them at once: the writer keeps them in memory (``_staged``)
until they are in place, and every read merges them. A *checkpoint* puts every
logged write in place, each stream's run of new records as one block
(``schema.pack_block``: one write per conversation, not one per message), and
empties the log, in one commit: when the batch holds no stream write (a batch
of settings, a chat's close), ``CHECKPOINT_SECONDS`` after the first logged
commit, once ``CHECKPOINT_WRITES`` wait, and on close. An opening puts what the
log holds in place before anything reads (a kill -9 leaves the log, never half
of it: each commit is synced and whole). The commit number (``meta`` ``commit``)
and the followers move at checkpoints: what they are told is in place, for
readers in other processes too.

Every batch is metered: the bytes of conversation messages and tickets each
site writes (``schema.USAGE``) are added to the site's total, held in memory
and written in the same commit, so the count survives a crash exactly as the
writes it counts; a failed batch takes its bytes back.

Every checkpoint is numbered: the store keeps the count in ``meta``
(``commit``), written in the commit it counts, and hands the batches it put in
place, with its number, to its followers (``follow``) on the writer thread,
right after the commit and before the callbacks. A follower must not block (the history index
puts the batch on a bounded queue of its own): the chat never waits for it. The
number lets a follower that fell behind, or was not running, know it and catch
up from the store.

Deleted data does not leave the data file by itself: LMDB puts the pages a
delete frees on its free list, their bytes untouched, until a later write
reuses them. After an erasure or a retention sweep the store is marked
(:meth:`LmdbStore.compact_at_next_start`), and the next opening rewrites the file
with its live pages only, before anything reads or writes (with a fresh lock
file): the deleted data is out of every read at once, and out of the file from
the next start on. A live swap of the file under the writer and the readers was
tried and could lose writes made after it; it is not done.

A second process opening the same data directory is refused with
:class:`DataDirLocked` (an exclusive ``flock`` on ``parley.lock``). The data
directory is the owner's alone (directories 0700, files 0600, whatever the
umask; looser modes tightened at open): see ``engine/persistence/private.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import fcntl
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import lmdb

from engine.errors import ParleyError, Unavailable
from engine.meters import BATCH_BOUNDS, LATENCY_BOUNDS, Histogram
from engine.persistence.codec import SEP, decode, encode
from engine.persistence.private import FILE_MODE, make_private, private_dir, write_private
from engine.persistence.schema import (
    COMMIT_KEY,
    DATABASES,
    LOG,
    LOGGED,
    META,
    SNAPSHOTS,
    USAGE,
    Op,
    block_first,
    log_ops,
    log_pieces,
    packed,
)

COMPACT_MARK = "compact-pending"  # the data file is rewritten at the next opening
Done = Callable[[BaseException | None], None]
# A follower of the commits: (the commit's number, its writes, one list per
# writer), called on the writer thread after the commit.
Follower = Callable[[int, list[list[Op]]], None]

log = logging.getLogger("parley.store")

# The streams' log is moved to its places at the first commit with no stream
# write in it, or this long after the first logged commit, or once it holds this
# many writes (what it holds is also in memory, for the reads).
CHECKPOINT_SECONDS = 0.2
CHECKPOINT_WRITES = 20_000
# A staged stream write, by database, by stream (its key less the seq): the
# value, or None for a delete.
Staged = dict[str, dict[bytes, dict[bytes, bytes | None]]]
_ABSENT = object()

GROW_STEP = 1 << 30  # the map grows by this much at a time, at most
DISK_RESERVE = 256 << 20  # free disk the store leaves to everything else
MIN_GROWTH = 1 << 20  # less room than this is no room


def _above(prefix: bytes) -> bytes | None:
    """The least key greater than every key starting with ``prefix`` (None when
    there is none: the prefix is all 0xff)."""
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        return None
    return stripped[:-1] + bytes([stripped[-1] + 1])


def _last_under(txn: lmdb.Transaction, prefix: bytes) -> tuple[bytes, bytes] | None:
    """The greatest key starting with ``prefix`` in ``txn``'s database, with its
    value: one cursor positioning, whatever the number of keys under it."""
    cursor = txn.cursor()
    key = _last_key(cursor, prefix)
    return (key, bytes(cursor.value())) if key is not None else None


def _last_key(cursor: lmdb.Cursor, prefix: bytes) -> bytes | None:
    """The greatest key starting with ``prefix``, the cursor left on it."""
    above = _above(prefix)
    if above is not None and cursor.set_range(above):
        if not cursor.prev():
            return None
    elif not cursor.last():
        return None
    key = bytes(cursor.key())
    return key if key.startswith(prefix) else None


def _ignore(error: BaseException | None) -> None:
    return None


class StoreFull(Unavailable):
    """The LMDB map is full: the write was not stored."""

    def __init__(self, message: str = "the store is full; the write was not stored") -> None:
        super().__init__("store_full", message)


class StoreError(Unavailable):
    """The disk refused a write (I/O error, no space)."""

    def __init__(self, message: str) -> None:
        super().__init__("store_failed", message)


@dataclass(frozen=True, slots=True)
class StoreSpace:
    """How much the store holds and may still take, in bytes."""

    used: int  # pages in use in the map
    map_size: int  # the map's present size
    disk_free: int  # free space on the data directory's disk
    left: int  # what can still be stored: the map's free part and what it may grow by


class DataDirLocked(ParleyError):
    """Another process holds the data directory."""


class NotADataDir(DataDirLocked):
    """The directory holds files but no Parley data: it is left alone (its modes
    untouched), never taken over."""


# What a data directory may hold before Parley has written in it, and what
# marks one as Parley's.
_OURS = ("lmdb", "parley.lock")


def check_data_dir(path: Path) -> None:
    """Refuse a directory that holds anything but a Parley data directory would."""
    try:
        names = [entry.name for entry in os.scandir(path)]
    except FileNotFoundError:
        return
    except NotADirectoryError:
        raise NotADataDir(f"{path} is a file, not a data directory") from None
    if names and not any(name in _OURS for name in names):
        shown = ", ".join(sorted(names)[:3]) + (", ..." if len(names) > 3 else "")
        raise NotADataDir(
            f"{path} is not a Parley data directory (it holds {shown}): "
            "give a new or empty directory, or an existing Parley one"
        )


def _lock_data_dir(path: Path) -> int:
    lock_path = path / "parley.lock"
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        raise DataDirLocked(
            f"data directory {path} is in use by another Parley process (pid {holder}); "
            "stop that process or choose another --data directory"
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    return fd


# Writes to add to the next write_async made in this context (a create's request
# record, engine/chat/requests.py): given that write's ops, returns them with its
# own, then stands down. A contextvar, so the creating code names no such thing.
JOIN: contextvars.ContextVar[Callable[[list[Op]], list[Op]] | None] = contextvars.ContextVar(
    "parley_join_write", default=None
)


class LmdbStore:
    """Named databases in one LMDB environment with a group-commit writer."""

    def __init__(
        self,
        path: Path | str,
        *,
        map_size: int = 1 << 30,
        max_map_size: int | None = None,
        grow_step: int = GROW_STEP,
        disk_reserve: int = DISK_RESERVE,
    ) -> None:
        if max_map_size is not None and max_map_size < map_size:
            raise ValueError("max_map_size must be at least map_size")
        if grow_step < MIN_GROWTH:
            raise ValueError(f"grow_step must be at least {MIN_GROWTH} bytes")
        self.max_map_size = max_map_size
        self.grow_step = grow_step
        self.disk_reserve = disk_reserve
        self._resize_lock = threading.Lock()
        self.path = Path(path)
        check_data_dir(self.path)
        self.compactions = 0  # of the data file, at opening (compact_at_next_start)
        self.compaction_pending = False
        private_dir(self.path)
        self._lock_fd: int | None = _lock_data_dir(self.path)
        try:
            # LMDB would make its directory with the file mode (no search bit).
            private_dir(self.path / "lmdb")
            self._open_env(map_size)
            if (self.path / COMPACT_MARK).exists():
                self._compact_now()
            make_private(self.path)  # the files LMDB just made, and any older ones
        except BaseException:
            if hasattr(self, "env"):
                self.env.close()
            os.close(self._lock_fd)
            self._lock_fd = None
            raise
        self._dbs = {name: self.env.open_db(name.encode()) for name in DATABASES}
        # The streams' log (see the module's notes). The writer thread alone
        # changes these; the loop reads ``_staged`` (replaced whole, never
        # emptied in place, by a checkpoint).
        self._staged: Staged = {}
        self._unapplied: list[list[Op]] = []  # logged writes not yet in place
        self._unapplied_writes = 0
        self._unfollowed: list[list[Op]] = []  # logged commits' writes, for the followers
        self._logged = False  # the last batch committed was logged, not checkpointed
        self._checkpoint_due = False
        self._checkpoint_timer: asyncio.TimerHandle | None = None
        self._log_number = 0  # the last logged commit's (the log is empty at opening)
        self.checkpoints = 0
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parley-writer")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: list[tuple[list[Op], Done]] = []
        self._busy = False
        self._flush_scheduled = False
        self.commits = 0
        self.writes = 0
        self.last_commit_ms = 0  # wall time of the last commit that landed (0: none yet)
        self.grown = 0  # times the map grew
        # A batch's commit, from its hand-off to the writer to its landing on the
        # loop (a retry in a grown map included), and its writes (engine/meters.py).
        self.commit_seconds = Histogram(LATENCY_BOUNDS)
        self.batch_writes = Histogram(BATCH_BOUNDS)
        self._batch_started = 0.0
        self._said_full = False
        # Per site: bytes of messages and tickets, committed and in flight.
        self._usage: dict[str, int] = {}
        self._metered: dict[str, int] = {}  # the batch in flight's share of it
        stored = self.get(META.name, COMMIT_KEY)
        self.commit_number = int(decode(stored)) if stored is not None else 0
        self._followers: list[Follower] = []
        try:
            self._recover_log()
        except BaseException:
            self.env.close()
            os.close(self._lock_fd)
            self._lock_fd = None
            raise
        self.load_usage()

    # -- writing -----------------------------------------------------------------

    def write(self, ops: list[Op], done: Done) -> None:
        """Queue ``ops`` for the next group commit; ``done(error)`` runs after it."""
        self._pending.append((ops, done))
        if not self._busy and not self._flush_scheduled:
            self._flush_scheduled = True
            if self._loop is None:
                self._loop = asyncio.get_running_loop()
            # Let every write made in this loop iteration join the same commit.
            self._loop.call_soon(self._flush)

    def settle(self, done: Callable[[], None]) -> None:
        """Call ``done`` once every write queued before this call has committed or
        failed: an empty write queued behind them (batches commit in order, and
        their callbacks run in order)."""
        self.write([], lambda _error: done())

    async def write_async(self, ops: list[Op]) -> None:
        """Write ``ops`` and wait for the commit; raises StoreFull or StoreError.
        Inside :func:`joining` the first such write carries its extra writes."""
        join = JOIN.get()
        if join is not None and ops:
            ops = join(ops)
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def done(error: BaseException | None) -> None:
            if fut.done():
                return
            if error is None:
                fut.set_result(None)
            else:
                fut.set_exception(error)

        self.write(ops, done)
        await fut

    def _flush(self) -> None:
        self._flush_scheduled = False
        if self._busy or not self._pending:
            return
        batch, self._pending = self._pending, []
        self._busy = True
        self._batch_started = time.perf_counter()
        self._meter(batch)
        self._run(batch)

    def _run(self, batch: list[tuple[list[Op], Done]]) -> None:
        assert self._loop is not None
        fut = self._loop.run_in_executor(self._executor, self._commit, batch)
        fut.add_done_callback(lambda f: self._committed(batch, f))

    def _meter(self, batch: list[tuple[list[Op], Done]]) -> None:
        """Count what each site writes in ``batch`` and add the new totals to it."""
        metered: dict[str, int] = {}
        for ops, _done in batch:
            USAGE.measure(ops, metered)
        self._metered = metered
        if metered:
            usage = self._usage
            for site, size in metered.items():
                usage[site] = usage.get(site, 0) + size
            batch.append(([USAGE.put(site, usage[site]) for site in metered], _ignore))

    def write_now(self, ops: list[Op]) -> None:
        """Commit ``ops`` on the calling thread, synced: for startup work (schema
        upgrades) before the loop serves, never while the writer is in use."""
        batch: list[tuple[list[Op], Done]] = [(ops, _ignore)]
        self._meter(batch)
        error = self._commit_now(batch)
        if error is not None:
            self._unmeter()
            raise error

    def _commit_now(self, batch: list[tuple[list[Op], Done]]) -> BaseException | None:
        """A checkpoint on the calling thread, the map grown as it needs."""
        error = self._commit(batch, checkpoint=True)
        while isinstance(error, StoreFull) and self._grow():
            error = self._commit(batch, checkpoint=True)
        return error

    def follow(self, follower: Follower) -> None:
        """Hand every committed batch to ``follower`` from now on (see above)."""
        self._followers.append(follower)

    def unfollow(self, follower: Follower) -> None:
        if follower in self._followers:
            self._followers.remove(follower)

    def _commit(
        self, batch: list[tuple[list[Op], Done]], checkpoint: bool = False
    ) -> BaseException | None:
        """Runs on the writer thread: one transaction, one sync, for the batch.
        The batch's stream writes are logged, unless this commit is a checkpoint
        (asked for, due, or a batch with no stream writes), which puts them and
        every logged one in place."""
        dbs = self._dbs
        logged: list[Op] = []
        checkpoint = checkpoint or self._checkpoint_due
        checkpoint = checkpoint or self._unapplied_writes >= CHECKPOINT_WRITES
        try:
            with self.env.begin(write=True) as txn:
                put, delete = txn.put, txn.delete
                for ops, _done in batch:
                    for op in ops:
                        db, key, value = op
                        if db in LOGGED:
                            logged.append(op)  # logged, or put in place below
                        elif value is None:
                            delete(key, db=dbs[db])
                        else:
                            put(key, value, db=dbs[db])
                if logged and not checkpoint:
                    log_db = dbs[LOG]
                    number = self._log_number = self._log_number + 1
                    for key, piece in log_pieces(number, logged):
                        put(key, piece, db=log_db, append=True)
                else:
                    # A checkpoint (a batch with no stream writes is one too):
                    # the logged writes, then the batch's, in place.
                    checkpoint = True
                    self._place(txn, logged)
                    txn.put(COMMIT_KEY, encode(self.commit_number + 1), db=dbs[META.name])
        except lmdb.MapFullError:
            return StoreFull()
        except lmdb.Error as error:
            return StoreError(f"the store could not write: {error}")
        written = [ops for ops, _done in batch]
        if not checkpoint:
            self._logged = True
            self._stage(logged)
            self._unapplied.append(logged)
            self._unapplied_writes += len(logged)
            self._unfollowed += written
            return None
        self._logged = False
        if self._unapplied:
            self._unapplied, self._unapplied_writes = [], 0
            self._staged = {}  # in place now: readers that took the old one read it whole
            self.checkpoints += 1
        written = self._unfollowed + written
        self._unfollowed = []
        number = self.commit_number = self.commit_number + 1
        for follower in self._followers:
            try:
                follower(number, written)
            except Exception:  # the commit stands: a follower catches up from the store
                log.exception("a follower of commit %d failed", number)
        return None

    def _place(self, txn: lmdb.Transaction, latest: list[Op]) -> None:
        """Put the logged writes and then ``latest`` (a checkpoint's own stream
        writes) in place, each stream's run of new records as one block, and
        empty the log (writer thread, in a checkpoint's transaction)."""
        if not self._unapplied and not latest:
            return
        dbs = self._dbs
        ops = [op for ops in self._unapplied for op in ops]
        ops += latest

        put, delete = txn.put, txn.delete
        cursors = {db: txn.cursor(db=dbs[db]) for db in LOGGED}

        def greatest(db: str, stream: bytes) -> bytes | None:
            return _last_key(cursors[db], stream)

        for db, key, value in packed(ops, greatest):
            if value is None:
                delete(key, db=dbs[db])
            else:
                put(key, value, db=dbs[db])
        if self._unapplied:
            txn.drop(dbs[LOG], delete=False)

    def _stage(self, ops: list[Op]) -> None:
        """Make logged writes visible to the reads until they are in place
        (writer thread, after their commit)."""
        staged = self._staged
        for db, key, value in ops:
            streams = staged.get(db)
            if streams is None:
                streams = staged[db] = {}
            stream = key[:-8]
            entries = streams.get(stream)
            if entries is None:
                entries = streams[stream] = {}
            entries[key] = value

    def _recover_log(self) -> None:
        """At opening: put what the log holds in place (the writes of commits a
        stop or a crash left logged), in one synced commit."""
        with self.env.begin(db=self._dbs[LOG]) as txn:
            data = b"".join(bytes(piece) for _key, piece in txn.cursor())
        if not data:
            return
        ops = log_ops(data)
        self._unapplied, self._unapplied_writes = [ops], len(ops)
        error = self._commit_now([])
        if error is not None:
            raise error
        log.info("%d stream writes put in place from the log", len(ops))

    def _committed(
        self, batch: list[tuple[list[Op], Done]], fut: asyncio.Future[BaseException | None]
    ) -> None:
        error = fut.exception() if not fut.cancelled() else StoreError("write cancelled")
        if error is None:
            result = fut.result()
            error = result if isinstance(result, BaseException) else None
        if isinstance(error, StoreFull) and self._grow():
            self._run(batch)  # the same batch again, in the larger map
            return
        self._busy = False
        if error is None:
            self._logged_or_placed()
            self.commits += 1
            self.last_commit_ms = int(time.time() * 1000)
            writes = len(batch) - bool(self._metered)  # not the usage totals
            self.writes += writes
            self.commit_seconds.observe(time.perf_counter() - self._batch_started)
            self.batch_writes.observe(writes)
        else:
            self._unmeter()
        for _ops, done in batch:
            done(error)
        if self._pending and not self._flush_scheduled:
            self._flush()

    def _logged_or_placed(self) -> None:
        """After a commit (loop thread): a logged one has a checkpoint come by
        CHECKPOINT_SECONDS at the latest; a checkpoint cancels it."""
        if self._logged:
            if self._checkpoint_timer is None:
                assert self._loop is not None
                self._checkpoint_timer = self._loop.call_later(
                    CHECKPOINT_SECONDS, self._checkpoint_soon
                )
            return
        self._checkpoint_due = False
        if self._checkpoint_timer is not None:
            self._checkpoint_timer.cancel()
            self._checkpoint_timer = None

    def _checkpoint_soon(self) -> None:
        self._checkpoint_timer = None
        self._checkpoint_due = True
        self.write([], _ignore)  # the next commit is the checkpoint, with no other write

    async def checkpoint(self) -> None:
        """Put every logged write in place now, and wait for it."""
        self._checkpoint_due = True
        await self.write_async([])

    @property
    def due_number(self) -> int:
        """The number the commits landed so far will be followed under: the
        last commit's, or the next checkpoint's while some are logged."""
        return self.commit_number + (1 if self._unapplied or self._unfollowed else 0)

    def _unmeter(self) -> None:
        """A batch failed: its bytes were not stored."""
        usage = self._usage
        for site, size in self._metered.items():
            usage[site] -= size
        self._metered = {}

    # -- compaction ------------------------------------------------------------------

    def _open_env(self, map_size: int) -> None:
        self.env = lmdb.open(
            str(self.path / "lmdb"),
            mode=FILE_MODE,
            map_size=map_size,
            max_dbs=len(DATABASES) + 4,
            subdir=True,
            sync=True,
            metasync=True,
        )

    def compact_at_next_start(self) -> None:
        """Have the data file rewritten with its live pages only when the store
        next opens, so that what was deleted is gone from the disk's file too
        (erasure, retention). Not while serving: rewriting the file under live
        readers and writers is no risk worth taking; the deleted data is out of
        every read at once, and out of the file at the next start."""
        write_private(self.path / COMPACT_MARK, b"")
        self.compaction_pending = True

    def _compact_now(self) -> None:
        """At opening, before anything reads or writes: copy the live pages to a
        new file, put it in the old one's place (with a fresh lock file), reopen."""
        map_size = self.env.info()["map_size"]
        copy = self.path / "lmdb-compact"
        shutil.rmtree(copy, ignore_errors=True)
        private_dir(copy)
        self.env.copy(str(copy), compact=True)
        self.env.close()
        os.chmod(copy / "data.mdb", FILE_MODE)  # LMDB made it with the umask's mode
        os.replace(copy / "data.mdb", self.path / "lmdb" / "data.mdb")
        with contextlib.suppress(FileNotFoundError):  # it describes the old file
            os.unlink(self.path / "lmdb" / "lock.mdb")
        shutil.rmtree(copy, ignore_errors=True)
        self._open_env(map_size)
        os.unlink(self.path / COMPACT_MARK)
        self.compactions += 1
        log.info("the data file was compacted: deleted data is gone from the disk")

    def copy_to(self, target: Path) -> int:
        """Write a compacting copy of the store to ``target/data.mdb`` (an
        existing, empty directory), as one read transaction sees it, and return
        the number of the last commit in it (from the same transaction, so the
        two agree). Safe from a worker thread: the map is not resized while the
        copy reads (it holds the resize lock; writes go on, and only a batch that
        needs the map grown waits for the copy's end). Raises OSError when the copy
        fails (a full disk included); the partial file is the caller's to remove."""
        with self._resize_lock:
            txn = self.env.begin()
            try:
                stored = txn.get(COMMIT_KEY, db=self._dbs[META.name])
                number = int(decode(bytes(stored))) if stored is not None else 0
                self.env.copy(str(target), compact=True, txn=txn)
            except lmdb.Error as error:
                raise OSError(f"the store could not be copied: {error}") from None
            finally:
                txn.abort()
        os.chmod(target / "data.mdb", FILE_MODE)  # LMDB made it with the umask's mode
        return number

    # -- room ------------------------------------------------------------------------

    def _room(self, map_size: int) -> int:
        """How much the map may still grow: the disk's free space, less the
        reserve, less the part of the map the data file does not hold yet (it
        will need the disk too), within ``max_map_size``."""
        disk_free = shutil.disk_usage(self.path).free
        try:
            in_file = os.stat(self.path / "lmdb" / "data.mdb").st_size
        except FileNotFoundError:
            in_file = 0
        room = disk_free - self.disk_reserve - max(0, map_size - in_file)
        if self.max_map_size is not None:
            room = min(room, self.max_map_size - map_size)
        return max(0, room)

    def _grow(self) -> bool:
        """Grow the map by a step if there is room (loop thread, between commits)."""
        size = self.env.info()["map_size"]
        room = self._room(size)
        if room < MIN_GROWTH:
            if not self._said_full:  # once, not once per refused batch of a flood
                self._said_full = True
                capped = self.max_map_size is not None and size >= self.max_map_size
                log.error(
                    "the store is full: the map is %d MiB and %s; writes are refused "
                    "with store_full",
                    size >> 20,
                    "may grow no further (max_map_size)"
                    if capped
                    else f"the disk has no room to grow it (keeping {self.disk_reserve >> 20} "
                    "MiB free)",
                )
            return False
        new_size = size + min(self.grow_step, room)
        with self._resize_lock:
            self.env.set_mapsize(new_size)
        self.grown += 1
        self._said_full = False
        log.info("store map grown from %d to %d MiB", size >> 20, new_size >> 20)
        return True

    def space(self) -> StoreSpace:
        """How much the store holds and how much more it can take (loop thread)."""
        info = self.env.info()
        map_size = info["map_size"]
        used = (info["last_pgno"] + 1) * self.env.stat()["psize"]
        return StoreSpace(
            used=used,
            map_size=map_size,
            disk_free=shutil.disk_usage(self.path).free,
            left=max(0, map_size - used) + self._room(map_size),
        )

    def load_usage(self) -> None:
        """Read the sites' stored totals (at open, and after a schema upgrade
        that counted them), while no write is in flight."""
        self._usage = dict(USAGE.all(self))

    def site_bytes(self, site_id: str) -> int:
        """The bytes of messages and tickets ``site_id`` has stored (and has in
        flight): what its storage quota is checked against."""
        return self._usage.get(site_id, 0)

    @property
    def queued(self) -> int:
        """Writes waiting for the next commit (the one committing aside)."""
        return len(self._pending)

    @property
    def busy(self) -> bool:
        """A write is queued or committing."""
        return self._busy or bool(self._pending) or self._flush_scheduled

    async def drain(self) -> None:
        """Wait until every queued write has committed."""
        if self._busy or self._pending or self._flush_scheduled:
            await self.write_async([])  # commits after everything queued before it

    # -- reading -----------------------------------------------------------------
    #
    # A stream's logged writes not yet in place are read from ``_staged``, taken
    # before the read transaction begins: a checkpoint landing in between is
    # then seen in one or the other (or both: the same values), never neither.

    def _staged_rows(
        self, db: str, prefix: bytes, start: bytes | None
    ) -> list[tuple[bytes, bytes | None]]:
        """The staged writes of ``db`` under ``prefix`` from ``start`` on, in
        key order."""
        streams = self._staged.get(db)
        if not streams:
            return []
        entries = streams.get(prefix)
        if entries is not None:  # one whole stream: the common case
            groups = [entries]
        elif prefix and prefix.find(SEP) == len(prefix) - 1:
            # One whole stream's prefix (its id, then SEP) with nothing staged:
            # no other stream's rows fall under it, as no logged stream's id
            # holds SEP. (Looked up without going over every staged stream: a
            # new chat's activation asks this while hundreds are staged.)
            return []
        else:
            groups = [
                e for s, e in list(streams.items()) if s.startswith(prefix) or prefix.startswith(s)
            ]
        rows = [
            (key, value)
            for group in groups
            for key, value in list(group.items())
            if key.startswith(prefix) and (start is None or key >= start)
        ]
        rows.sort(key=lambda row: row[0])
        return rows

    def get(self, db: str, key: bytes) -> bytes | None:
        if db in LOGGED and (streams := self._staged.get(db)):
            value = streams.get(key[:-8], {}).get(key, _ABSENT)
            if value is not _ABSENT:
                return value  # type: ignore[return-value]
        with self.env.begin(db=self._dbs[db]) as txn:
            value = txn.get(key)
            return bytes(value) if value is not None else None

    def get_many(self, db: str, keys: list[bytes]) -> list[bytes | None]:
        """The values of ``keys`` (None where absent), read in one transaction."""
        streams = self._staged.get(db) if db in LOGGED else None
        with self.env.begin(db=self._dbs[db]) as txn:
            get = txn.get
            out = [bytes(v) if (v := get(key)) is not None else None for key in keys]
        if streams:
            for i, key in enumerate(keys):
                value = streams.get(key[:-8], {}).get(key, _ABSENT)
                if value is not _ABSENT:
                    out[i] = cast("bytes | None", value)
        return out

    def scan(
        self, db: str, prefix: bytes = b"", start: bytes | None = None, limit: int | None = None
    ) -> Iterator[tuple[bytes, bytes]]:
        """Yield (key, value) with keys starting with ``prefix``, from ``start`` on."""
        staged = self._staged_rows(db, prefix, start) if db in LOGGED else []
        if staged:
            deletes = sum(value is None for _key, value in staged)
            stored = self._scan(db, prefix, start, None if limit is None else limit + deletes)
            merged: dict[bytes, bytes | None] = dict(stored)
            # A block read here is a checkpoint that landed after the staged
            # writes were taken: it holds their run of records, so it wins over
            # them (a delete is never in a run: it stands).
            covered = [
                (key[:-8] + first.to_bytes(8, "big"), key)
                for key, value in stored
                if (first := block_first(value)) is not None and key >= staged[0][0]
            ]
            if covered:
                staged = [
                    row
                    for row in staged
                    if row[1] is None or not any(low <= row[0] <= high for low, high in covered)
                ]
            merged.update(staged)
            rows: list[tuple[bytes, bytes]] = [
                (k, v) for k, v in sorted(merged.items()) if v is not None
            ]
            return iter(rows[:limit] if limit is not None else rows)
        return iter(self._scan(db, prefix, start, limit))

    def _scan(
        self, db: str, prefix: bytes, start: bytes | None, limit: int | None
    ) -> list[tuple[bytes, bytes]]:
        out: list[tuple[bytes, bytes]] = []
        with self.env.begin(db=self._dbs[db]) as txn:
            cursor = txn.cursor()
            if not cursor.set_range(start if start is not None else prefix):
                return out
            for key, value in cursor:
                if not key.startswith(prefix):
                    break
                out.append((bytes(key), bytes(value)))
                if limit is not None and len(out) >= limit:
                    break
        return out

    def count(self, db: str, prefix: bytes) -> int:
        """How many keys start with ``prefix`` (keys only: values are not copied).
        Safe from a worker thread: it holds the resize lock."""
        staged = self._staged_rows(db, prefix, None) if db in LOGGED else []
        n = 0
        with self._resize_lock, self.env.begin(db=self._dbs[db]) as txn:
            for key, value in staged:  # what the staged writes add or take away
                there = txn.get(key) is not None
                n += (value is not None) - there
            cursor = txn.cursor()
            if not cursor.set_range(prefix):
                return n
            for key in cursor.iternext(keys=True, values=False):
                if not key.startswith(prefix):
                    break
                n += 1
        return n

    def last(self, db: str, prefix: bytes) -> tuple[bytes, bytes] | None:
        """The greatest key starting with ``prefix`` (non-empty), or None: one
        cursor positioning, whatever the number of keys under the prefix (and
        a step back for each staged delete at the end)."""
        staged = self._staged_rows(db, prefix, None) if db in LOGGED else []
        with self.env.begin(db=self._dbs[db]) as txn:
            if not staged:
                return _last_under(txn, prefix)
            deleted = {key for key, value in staged if value is None}
            stored = _last_under(txn, prefix)
            if stored is not None and stored[0] in deleted:
                cursor = txn.cursor()
                cursor.set_key(stored[0])
                stored = None
                while cursor.prev():
                    key = bytes(cursor.key())
                    if not key.startswith(prefix):
                        break
                    if key not in deleted:
                        stored = (key, bytes(cursor.value()))
                        break
        live = [(key, value) for key, value in staged if value is not None]
        if live and (stored is None or live[-1][0] >= stored[0]):
            return live[-1]
        return stored

    @property
    def reading(self) -> threading.Lock:
        """Hold this while reading from a thread other than the loop's (the map
        is resized only under it)."""
        return self._resize_lock

    # -- snapshots (the runtime's SnapshotStore) ------------------------------------

    def load_snapshot(self, kind: str, key: str) -> bytes | None:
        return SNAPSHOTS.get(self, kind, key)

    def save_snapshot(self, kind: str, key: str, data: bytes, done: Done) -> None:
        self.write([SNAPSHOTS.put(kind, key, data)], done)

    # -- lifecycle -----------------------------------------------------------------

    def stats(self) -> dict[str, int]:
        info = self.env.info()
        return {
            "commits": self.commits,
            "checkpoints": self.checkpoints,
            "writes": self.writes,
            "map_size": info["map_size"],
            "last_pgno": info["last_pgno"],
            "used_bytes": (info["last_pgno"] + 1) * self.env.stat()["psize"],
        }

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        if self._checkpoint_timer is not None:
            self._checkpoint_timer.cancel()
            self._checkpoint_timer = None
        if self._unapplied:  # so that the next opening has nothing to put in place
            error = self._commit_now([])
            if error is not None:
                log.warning("the log stays for the next opening: %s", error)
        self.env.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None


class LmdbReader:
    """The store read from another process (the history index's,
    ``engine/records/indexer.py``): the same environment opened read-only. LMDB
    lets readers in other processes see every commit as it lands, without a
    lock between them and the writer (a reader's slot in ``lock.mdb``). It never
    writes, and does not take the data directory's lock (the server holds it).

    A reader that dies holding a read transaction (kill -9) leaves its slot
    taken, which keeps the writer from reusing the pages that transaction saw;
    opening clears the slots of dead processes (``reader_check``). When the
    server grows the map, the next transaction here takes the new size."""

    def __init__(self, path: Path | str, databases: tuple[str, ...]) -> None:
        self.path = Path(path)
        self.env = lmdb.open(
            str(self.path / "lmdb"),
            readonly=True,
            lock=True,
            max_dbs=len(DATABASES) + 4,
            subdir=True,
            create=False,
        )
        self.env.reader_check()
        self._dbs = {name: self.env.open_db(name.encode(), create=False) for name in databases}
        self._lock = threading.Lock()

    def _begin(self, db: str) -> lmdb.Transaction:
        try:
            return self.env.begin(db=self._dbs[db])
        except lmdb.MapResizedError:  # the server grew the map: take its size
            self.env.set_mapsize(0)
            return self.env.begin(db=self._dbs[db])

    def get(self, db: str, key: bytes) -> bytes | None:
        with self._begin(db) as txn:
            value = txn.get(key)
            return bytes(value) if value is not None else None

    def get_many(self, db: str, keys: list[bytes]) -> list[bytes | None]:
        """The values of ``keys`` (None where absent), read in one transaction."""
        with self._begin(db) as txn:
            get = txn.get
            return [bytes(v) if (v := get(key)) is not None else None for key in keys]

    def scan(
        self, db: str, prefix: bytes = b"", start: bytes | None = None, limit: int | None = None
    ) -> Iterator[tuple[bytes, bytes]]:
        """Yield (key, value) with keys starting with ``prefix``, from ``start`` on."""
        out: list[tuple[bytes, bytes]] = []
        with self._begin(db) as txn:
            cursor = txn.cursor()
            if not cursor.set_range(start if start is not None else prefix):
                return iter(out)
            for key, value in cursor:
                found = bytes(key)
                if not found.startswith(prefix):
                    break
                out.append((found, bytes(value)))
                if limit is not None and len(out) >= limit:
                    break
        return iter(out)

    def last(self, db: str, prefix: bytes) -> tuple[bytes, bytes] | None:
        """The greatest key starting with ``prefix`` (non-empty), or None."""
        with self._begin(db) as txn:
            return _last_under(txn, prefix)

    @property
    def reading(self) -> threading.Lock:
        """As the store's (nothing resizes the map here: a lock for the same code)."""
        return self._lock

    def close(self) -> None:
        self.env.close()
