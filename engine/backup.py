"""Backups of a running store, restores, and the epoch of the data.

A backup is a directory on the server's machine, private like the data
directory (0700, files 0600)::

    manifest.json            {"format": "parley-backup", "parley_version",
                             "schema_version", "commit", "epoch", "created_ms",
                             "sha256", "size", "files"}
    data.mdb                 LMDB's compacting copy of the store
    owner-credentials.json   the data directory's credentials files, those present
    ...

The copy is made inside the server, which holds the data directory's lock: one
read transaction sees a consistent store (every acknowledged message is in it)
while the chat goes on writing. The history index is not copied: it is derived
from the store and rebuilt at the first start on the restored data.

Epochs: the store names its data with an epoch id in ``meta`` (``epoch``), made
at the first start. A restore puts the backup's own epoch id there, new for each
backup, so the restored data is a new epoch: a client that saw seqs of another
epoch cannot trust them (a seq may name another message now, or none), and is
given its conversation again from the start (README, "Backups").

Refusals of a backup are :class:`~engine.errors.Refused` (the gRPC call's
codes); a restore runs offline, from the CLI, and refuses with
:class:`RestoreRefused`, whose ``kind`` says whether the backup or the data
directory is at fault.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson

from engine.chat import ids
from engine.errors import FailedPrecondition, InvalidArgument, ParleyError, Unavailable
from engine.persistence.lmdb_store import LmdbStore
from engine.persistence.private import FILE_MODE, private_dir, write_private
from engine.persistence.schema import META, SCHEMA_VERSION, Reader

FORMAT = "parley-backup"
MANIFEST = "manifest.json"
DATA_FILE = "data.mdb"
EPOCH_KEY = "epoch"
# The data directory's files a backup keeps beside the store (runner.py writes them).
CREDENTIAL_FILES = ("owner-credentials.json", "admin-credentials.json", "demo-credentials.json")
ROOM_MARGIN = 1.1  # a backup needs the store's used pages and a tenth more free
_CHUNK = 1 << 20


def new_epoch() -> str:
    return "e" + ids.random_id(15)


def epoch_of(store: Reader) -> str:
    """The store's epoch id ("" before the first start made one)."""
    stored = META.get(store, EPOCH_KEY)
    return stored if isinstance(stored, str) else ""


def epoch_changed(server_epoch: str, client_epoch: str) -> bool:
    """Whether a client's seqs, seen in ``client_epoch``, are of other data than
    the server's: then it is given its conversations from the start. A client
    that names no epoch (an older one, or a first hello) is taken at its word."""
    return bool(client_epoch) and client_epoch != server_epoch


def ensure_epoch(store: LmdbStore) -> str:
    """The store's epoch id, made now if it has none (at opening, before serving)."""
    epoch = epoch_of(store)
    if not epoch:
        epoch = new_epoch()
        store.write_now([META.put(EPOCH_KEY, epoch)])
    return epoch


@dataclass(frozen=True, slots=True)
class Manifest:
    """What a backup says of itself."""

    parley_version: str
    schema_version: int
    commit: int  # the store's last commit in the copy
    epoch: str  # the epoch a restore of it begins
    created_ms: int
    sha256: str  # of data.mdb
    size: int  # of data.mdb, bytes
    files: tuple[str, ...]  # the credentials files copied beside it

    def to_json(self) -> bytes:
        doc = {"format": FORMAT, **asdict(self), "files": list(self.files)}
        return orjson.dumps(doc, option=orjson.OPT_INDENT_2)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def check_target(target: Path, need: int) -> None:
    """Refuse a backup directory that is relative, not empty, not writable, or
    on a disk without ``need`` bytes free (with a margin)."""
    if not target.is_absolute():
        raise InvalidArgument(
            "backup_path_relative",
            f"the backup directory must be an absolute path on the server's machine: {target}",
            field="path",
        )
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise FailedPrecondition(
            "backup_dir_not_empty",
            f"{target} exists and is not an empty directory: choose a new one",
            field="path",
        )
    parent = target if target.exists() else target.parent
    while not parent.exists():
        parent = parent.parent
    if not os.access(parent, os.W_OK | os.X_OK):
        raise FailedPrecondition(
            "backup_not_writable", f"the server cannot write to {parent}", field="path"
        )
    free = shutil.disk_usage(parent).free
    if free < need * ROOM_MARGIN:
        raise Unavailable(
            "backup_disk_full",
            f"{parent}'s disk has {free >> 20} MiB free; the backup needs about "
            f"{int(need * ROOM_MARGIN) >> 20} MiB",
            field="path",
        )


def write_backup(store: LmdbStore, target: Path, version: str) -> Manifest:
    """Copy ``store`` into ``target`` (checked by :func:`check_target`) with its
    manifest and credentials files; a worker thread's work. A failure leaves no
    partial backup behind."""
    made = not target.exists()
    try:
        private_dir(target)
        os.chmod(target, 0o700)
        commit = store.copy_to(target)
        files = []
        for name in CREDENTIAL_FILES:
            source = store.path / name
            if source.is_file():
                write_private(target / name, source.read_bytes())
                files.append(name)
        data = target / DATA_FILE
        manifest = Manifest(
            parley_version=version,
            schema_version=SCHEMA_VERSION,
            commit=commit,
            epoch=new_epoch(),
            created_ms=int(time.time() * 1000),
            sha256=_sha256(data),
            size=data.stat().st_size,
            files=tuple(files),
        )
        write_private(target / MANIFEST, manifest.to_json())
        return manifest
    except OSError as error:
        _remove(target, made)
        full = error.errno == errno.ENOSPC or "No space left" in str(error)
        if full:
            raise Unavailable(
                "backup_disk_full", f"the disk filled while the backup was written: {error}"
            ) from None
        raise FailedPrecondition(
            "backup_not_writable", f"the backup could not be written: {error}", field="path"
        ) from None


def _remove(target: Path, made: bool) -> None:
    """Take a failed backup's files away (the directory too, if it was made here)."""
    if made:
        shutil.rmtree(target, ignore_errors=True)
        return
    for child in target.iterdir() if target.exists() else ():
        with contextlib.suppress(OSError):
            shutil.rmtree(child) if child.is_dir() else child.unlink()


# -- restore (offline) ---------------------------------------------------------------


class RestoreRefused(ParleyError):
    """A restore refused: ``kind`` is "backup" (not one, corrupt, newer) or
    "data" (the data directory is in use or holds data)."""

    def __init__(self, kind: str, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.kind, self.code, self.message = kind, code, message


def read_manifest(backup: Path) -> Manifest:
    """The backup's manifest, its data file checked against it."""
    try:
        doc: Any = orjson.loads((backup / MANIFEST).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        doc = None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise RestoreRefused(
            "backup", "not_a_backup", f"{backup} is not a Parley backup (no Parley manifest)"
        )
    try:
        manifest = Manifest(
            parley_version=str(doc["parley_version"]),
            schema_version=int(doc["schema_version"]),
            commit=int(doc["commit"]),
            epoch=str(doc["epoch"]),
            created_ms=int(doc["created_ms"]),
            sha256=str(doc["sha256"]),
            size=int(doc["size"]),
            files=tuple(str(name) for name in doc["files"]),
        )
    except (KeyError, TypeError, ValueError):
        raise RestoreRefused(
            "backup", "backup_corrupt", f"{backup}/{MANIFEST} lacks a field or has a wrong one"
        ) from None
    if manifest.schema_version > SCHEMA_VERSION:
        raise RestoreRefused(
            "backup",
            "backup_newer_schema",
            f"the backup has schema version {manifest.schema_version}; this Parley knows up "
            f"to {SCHEMA_VERSION}: restore it with Parley {manifest.parley_version} or newer",
        )
    if not manifest.epoch or any(name not in CREDENTIAL_FILES for name in manifest.files):
        raise RestoreRefused("backup", "backup_corrupt", f"{backup}/{MANIFEST} is not valid")
    data = backup / DATA_FILE
    if not data.is_file() or _sha256(data) != manifest.sha256:
        raise RestoreRefused(
            "backup",
            "backup_corrupt",
            f"{data} does not match its manifest's sha256: the backup is damaged",
        )
    return manifest


def _hold_lock(data: Path) -> int | None:
    """Take the data directory's lock, refusing one a server holds."""
    lock = data / "parley.lock"
    if not lock.exists():
        return None
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise RestoreRefused(
            "data",
            "data_dir_in_use",
            f"a Parley server is running on {data}: stop it before restoring",
        ) from None
    return fd


def restore(backup: Path, data: Path, force: bool = False) -> tuple[Manifest, Path | None]:
    """Put ``backup`` in place as the data directory ``data`` and begin its
    epoch. ``data`` must be absent or empty; with ``force`` a data directory
    that holds data is moved aside (returned) first. The server must be
    stopped: its lock is checked."""
    manifest = read_manifest(backup)
    aside: Path | None = None
    fd = _hold_lock(data) if data.is_dir() else None
    try:
        if data.exists() and not data.is_dir():
            raise RestoreRefused("data", "data_dir_not_empty", f"{data} is not a directory")
        held = [p for p in data.iterdir() if p.name != "parley.lock"] if data.exists() else []
        if held:
            if not force:
                raise RestoreRefused(
                    "data",
                    "data_dir_not_empty",
                    f"{data} holds data: restore into a new directory, or pass --force "
                    "to move the present data aside",
                )
            stamp = time.strftime("%Y%m%d-%H%M%S")
            aside = data.with_name(f"{data.name}.before-restore-{stamp}")
            os.rename(data, aside)
    finally:
        if fd is not None:
            os.close(fd)
    private_dir(data / "lmdb")
    os.chmod(data, 0o700)
    target = data / "lmdb" / DATA_FILE
    shutil.copyfile(backup / DATA_FILE, target)
    os.chmod(target, FILE_MODE)
    for name in manifest.files:
        write_private(data / name, (backup / name).read_bytes())
    store = LmdbStore(data)
    try:
        store.write_now([META.put(EPOCH_KEY, manifest.epoch)])
    finally:
        store.close()
    return manifest, aside
