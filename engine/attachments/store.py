"""Attached files on disk, outside the journal, named by their content.

A file lives at ``<data dir>/files/<site id>/<sha[:2]>/<sha[2:]>`` (SHA-256,
hex), so a site's files are one folder (its quota is a sum over it) and the
same content sent twice within a site is stored once. Folders are 0700 and
files 0600: the server's user alone reads them.

Durability: an upload is written to a temporary file in ``files/tmp``; when it
is whole, the file is fsynced, renamed to its name and its folder fsynced, and
only then is its message written to the journal (the reference, in
``files`` of the schema, goes in that message's commit). So an acknowledged
attachment has its bytes on disk. A crash between the rename and the commit
leaves a file no row names: :meth:`FileStore.collect` removes those (and
temporary files) once they are older than a grace period, and never while its
message is being written (:attr:`FileStore.pending`). The edge serves a file
only through a reference, so an unreferenced one is never served.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import tempfile
import time
from pathlib import Path

from engine.persistence.private import private_dir
from engine.persistence.schema import FILE_REFS, Reader

log = logging.getLogger("parley.attachments")

DIGEST = re.compile(r"^[0-9a-f]{64}$")
SITE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
GRACE_SECONDS = 3600.0  # an unreferenced file or a temporary one lives this long


class TempFile:
    """One upload being written: its bytes hashed as they come."""

    __slots__ = ("path", "fd", "hasher", "size")

    def __init__(self, folder: Path) -> None:
        fd, name = tempfile.mkstemp(dir=folder, prefix="up-")  # mode 0600
        self.fd = fd
        self.path = Path(name)
        self.hasher = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view) :]
        self.hasher.update(data)
        self.size += len(data)

    def discard(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


class FileStore:
    """The files of every site under ``root`` (``<data dir>/files``)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        private_dir(root)
        self.tmp = root / "tmp"
        private_dir(self.tmp)
        self._usage: dict[str, int] = {}  # site -> bytes on disk, counted on first use
        self.pending: dict[tuple[str, str], int] = {}  # (site, digest) -> writes in flight

    def path(self, site_id: str, digest: str) -> Path:
        if not SITE.match(site_id) or not DIGEST.match(digest):
            raise ValueError("not a site id or a SHA-256")
        return self.root / site_id / digest[:2] / digest[2:]

    def temp(self) -> TempFile:
        return TempFile(self.tmp)

    def usage(self, site_id: str) -> int:
        """Bytes the site's files take (a walk of its folder the first time)."""
        used = self._usage.get(site_id)
        if used is None:
            used = 0
            folder = self.root / site_id
            if SITE.match(site_id) and folder.is_dir():
                used = sum(p.stat().st_size for p in folder.glob("??/*") if p.is_file())
            self._usage[site_id] = used
        return used

    def commit(self, site_id: str, temp: TempFile) -> str:
        """Make the temporary file durable under its digest (blocking: run it
        off the loop); returns the digest."""
        digest = temp.hasher.hexdigest()
        target = self.path(site_id, digest)
        self.usage(site_id)  # counted before the file joins the folder
        os.fsync(temp.fd)
        os.close(temp.fd)
        temp.fd = -1
        for folder in (self.root / site_id, target.parent):
            private_dir(folder)
        if target.exists():  # the same content is stored already
            temp.path.unlink()
            return digest
        os.replace(temp.path, target)
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        self._usage[site_id] += temp.size
        return digest

    def read(self, site_id: str, digest: str) -> bytes:
        return self.path(site_id, digest).read_bytes()

    def remove_unreferenced(self, store: Reader, site_id: str, digests: set[str]) -> int:
        """Remove those of ``digests`` that no conversation references any more
        (after an erasure or retention removed their messages)."""
        removed = 0
        for digest in digests:
            if (site_id, digest) in self.pending or FILE_REFS.referenced(store, site_id, digest):
                continue
            removed += self._remove(site_id, digest)
        return removed

    def _remove(self, site_id: str, digest: str) -> int:
        path = self.path(site_id, digest)
        try:
            size = path.stat().st_size
            path.unlink()
        except FileNotFoundError:
            return 0
        if site_id in self._usage:
            self._usage[site_id] = max(0, self._usage[site_id] - size)
        return 1

    def collect(self, store: Reader, grace: float = GRACE_SECONDS) -> int:
        """The sweep: remove temporary files and unreferenced files older than
        ``grace`` seconds (by their modification time). Returns how many went."""
        before = time.time() - grace
        removed = 0
        for path in self.tmp.iterdir():
            if path.stat().st_mtime < before:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                    removed += 1
        for site in self.root.iterdir():
            if site == self.tmp or not site.is_dir() or not SITE.match(site.name):
                continue
            for path in site.glob("??/*"):
                digest = path.parent.name + path.name
                if not DIGEST.match(digest) or path.stat().st_mtime >= before:
                    continue
                key = (site.name, digest)
                if key not in self.pending and not FILE_REFS.referenced(store, *key):
                    log.info("removing an attachment no message references")
                    removed += self._remove(*key)
        return removed
