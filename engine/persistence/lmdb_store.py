"""The LMDB store: one environment, named databases, one group-commit writer.

This is the only module that imports ``lmdb``. What each database holds, and
who writes it, is ``engine/persistence/schema.py``.

Writes go through :meth:`LmdbStore.write`: a list of puts and deletes and a
callback. Writes queued while the previous transaction commits are gathered into
the next one: one write transaction and one synced commit for all of them, done
on a dedicated writer thread (LMDB releases the GIL while it syncs, so the loop
keeps serving). Callbacks run on the loop after the commit, in submission order;
only then may a message be acknowledged. There is never a ``sync=False``.

A full map (``MapFullError``) or a failing disk fails the whole batch with
:class:`StoreFull` / :class:`StoreError` to every caller in it; nothing in a
failed batch is visible afterwards (the transaction is aborted), and the store
keeps serving reads and later, smaller writes.

A second process opening the same data directory is refused with
:class:`DataDirLocked` (an exclusive ``flock`` on ``parley.lock``). The data
directory is the owner's alone (directories 0700, files 0600, whatever the
umask; looser modes tightened at open): see ``engine/persistence/private.py``.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import lmdb

from engine.errors import ParleyError, Unavailable
from engine.persistence.private import FILE_MODE, make_private, private_dir
from engine.persistence.schema import DATABASES, SNAPSHOTS, Op

Done = Callable[[BaseException | None], None]


def _above(prefix: bytes) -> bytes | None:
    """The least key greater than every key starting with ``prefix`` (None when
    there is none: the prefix is all 0xff)."""
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        return None
    return stripped[:-1] + bytes([stripped[-1] + 1])


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


class DataDirLocked(ParleyError):
    """Another process holds the data directory."""


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


class LmdbStore:
    """Named databases in one LMDB environment with a group-commit writer."""

    def __init__(self, path: Path | str, *, map_size: int = 1 << 30) -> None:
        self.path = Path(path)
        private_dir(self.path)
        self._lock_fd: int | None = _lock_data_dir(self.path)
        try:
            # LMDB would make its directory with the file mode (no search bit).
            private_dir(self.path / "lmdb")
            self.env = lmdb.open(
                str(self.path / "lmdb"),
                mode=FILE_MODE,
                map_size=map_size,
                max_dbs=len(DATABASES) + 4,
                subdir=True,
                sync=True,
                metasync=True,
            )
            make_private(self.path)  # the files LMDB just made, and any older ones
        except BaseException:
            if hasattr(self, "env"):
                self.env.close()
            os.close(self._lock_fd)
            self._lock_fd = None
            raise
        self._dbs = {name: self.env.open_db(name.encode()) for name in DATABASES}
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parley-writer")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: list[tuple[list[Op], Done]] = []
        self._busy = False
        self._flush_scheduled = False
        self.commits = 0
        self.writes = 0

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

    async def write_async(self, ops: list[Op]) -> None:
        """Write ``ops`` and wait for the commit; raises StoreFull or StoreError."""
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
        assert self._loop is not None
        fut = self._loop.run_in_executor(self._executor, self._commit, batch)
        fut.add_done_callback(lambda f: self._committed(batch, f))

    def write_now(self, ops: list[Op]) -> None:
        """Commit ``ops`` on the calling thread, synced: for startup work (schema
        upgrades) before the loop serves, never while the writer is in use."""
        error = self._commit([(ops, _ignore)])
        if error is not None:
            raise error

    def _commit(self, batch: list[tuple[list[Op], Done]]) -> BaseException | None:
        """Runs on the writer thread: one transaction, one sync, for the batch."""
        dbs = self._dbs
        try:
            with self.env.begin(write=True) as txn:
                for ops, _done in batch:
                    for db, key, value in ops:
                        if value is None:
                            txn.delete(key, db=dbs[db])
                        else:
                            txn.put(key, value, db=dbs[db])
        except lmdb.MapFullError:
            return StoreFull()
        except lmdb.Error as error:
            return StoreError(f"the store could not write: {error}")
        return None

    def _committed(
        self, batch: list[tuple[list[Op], Done]], fut: asyncio.Future[BaseException | None]
    ) -> None:
        self._busy = False
        error = fut.exception() if not fut.cancelled() else StoreError("write cancelled")
        if error is None:
            result = fut.result()
            error = result if isinstance(result, BaseException) else None
        if error is None:
            self.commits += 1
            self.writes += len(batch)
        for _ops, done in batch:
            done(error)
        if self._pending and not self._flush_scheduled:
            self._flush()

    @property
    def busy(self) -> bool:
        """A write is queued or committing."""
        return self._busy or bool(self._pending) or self._flush_scheduled

    async def drain(self) -> None:
        """Wait until every queued write has committed."""
        if self._busy or self._pending or self._flush_scheduled:
            await self.write_async([])  # commits after everything queued before it

    # -- reading -----------------------------------------------------------------

    def get(self, db: str, key: bytes) -> bytes | None:
        with self.env.begin(db=self._dbs[db]) as txn:
            value = txn.get(key)
            return bytes(value) if value is not None else None

    def get_many(self, db: str, keys: list[bytes]) -> list[bytes | None]:
        """The values of ``keys`` (None where absent), read in one transaction."""
        with self.env.begin(db=self._dbs[db]) as txn:
            get = txn.get
            return [bytes(v) if (v := get(key)) is not None else None for key in keys]

    def scan(
        self, db: str, prefix: bytes = b"", start: bytes | None = None, limit: int | None = None
    ) -> Iterator[tuple[bytes, bytes]]:
        """Yield (key, value) with keys starting with ``prefix``, from ``start`` on."""
        out: list[tuple[bytes, bytes]] = []
        with self.env.begin(db=self._dbs[db]) as txn:
            cursor = txn.cursor()
            if not cursor.set_range(start if start is not None else prefix):
                return iter(out)
            for key, value in cursor:
                if not key.startswith(prefix):
                    break
                out.append((bytes(key), bytes(value)))
                if limit is not None and len(out) >= limit:
                    break
        return iter(out)

    def count(self, db: str, prefix: bytes) -> int:
        """How many keys start with ``prefix`` (keys only: values are not copied)."""
        n = 0
        with self.env.begin(db=self._dbs[db]) as txn:
            cursor = txn.cursor()
            if not cursor.set_range(prefix):
                return 0
            for key in cursor.iternext(keys=True, values=False):
                if not key.startswith(prefix):
                    break
                n += 1
        return n

    def last(self, db: str, prefix: bytes) -> tuple[bytes, bytes] | None:
        """The greatest key starting with ``prefix`` (non-empty), or None: one
        cursor positioning, whatever the number of keys under the prefix."""
        with self.env.begin(db=self._dbs[db]) as txn:
            cursor = txn.cursor()
            above = _above(prefix)
            if above is not None and cursor.set_range(above):
                if not cursor.prev():
                    return None
            elif not cursor.last():
                return None
            key = bytes(cursor.key())
            if key.startswith(prefix):
                return key, bytes(cursor.value())
            return None

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
            "writes": self.writes,
            "map_size": info["map_size"],
            "last_pgno": info["last_pgno"],
            "used_bytes": (info["last_pgno"] + 1) * self.env.stat()["psize"],
        }

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self.env.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
