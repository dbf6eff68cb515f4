"""The attachment rules without a server: types from bytes, names cleaned, and
the store's sweep (what no message references goes once old; what a message
references, or one being written, stays). LMDB is real, in a temp dir."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from engine.attachments.service import clean_name
from engine.attachments.sniff import TEXT, TextCheck, detect, dimensions
from engine.attachments.store import FileStore
from engine.errors import InvalidArgument
from engine.persistence.lmdb_store import LmdbStore
from engine.persistence.schema import FILE_REFS
from tests.integration.attach_clients import EXE, PNG


def kind(data: bytes, pieces: int = 1) -> str | None:
    text = TextCheck()
    step = max(1, len(data) // pieces)
    for at in range(0, len(data), step):
        text.feed(data[at : at + step])
    text.feed(b"", final=True)
    return detect(data[:8192], text)


def test_types_come_from_the_bytes() -> None:
    assert kind(PNG) == "image/png"
    assert kind(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 100) == "image/jpeg"
    assert kind(b"GIF89a" + b"\x00" * 20) == "image/gif"
    assert kind(b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 20) == "image/webp"
    assert kind(b"%PDF-1.7\n%%EOF") == "application/pdf"
    # UTF-8 split inside a character across pieces is still text.
    assert kind("naïve café ✓\n".encode() * 50, pieces=7) == TEXT
    for refused in (
        EXE,  # a Windows program, whatever its name
        b"\x7fELF\x02\x01\x01" + b"\x00" * 60,
        b"PK\x03\x04" + b"\x00" * 60,  # an archive
        b"<!DOCTYPE html><html><script>x()</script></html>",
        b"plain until a NUL\x00",
        b"\xff\xfe not utf-8",
        b"",
    ):
        assert kind(refused) is None, refused[:16]


def test_dimensions_where_the_header_says_them() -> None:
    assert dimensions("image/png", PNG[:64]) == (2, 3)
    assert dimensions("image/gif", b"GIF89a\x10\x00\x20\x00") == (16, 32)
    assert dimensions("image/jpeg", b"\xff\xd8\xff") == (0, 0)


def test_names_are_cleaned() -> None:
    assert clean_name("C:\\Users\\ann\\report.pdf") == "report.pdf"
    assert clean_name("../../etc/passwd") == "passwd"
    assert clean_name("a\u202egnp.exe") == "agnp.exe"  # no direction overrides
    assert len(clean_name("x" * 500)) == 200
    for bad in ("", "dir/", "..", "\x00\x01"):
        with pytest.raises(InvalidArgument):
            clean_name(bad)


def _stored(files: FileStore, site: str, data: bytes) -> str:
    temp = files.temp()
    temp.write(data)
    return files.commit(site, temp)


def test_the_sweep_keeps_what_is_referenced(tmp_path: Path) -> None:
    store = LmdbStore(tmp_path / "data")
    try:
        files = FileStore(tmp_path / "data" / "files")
        site = "sabcdefghi"
        kept, orphan, writing = (_stored(files, site, d) for d in (b"kept", b"orphan", b"new"))
        assert files.usage(site) == len(b"kept") + len(b"orphan") + len(b"new")
        store.write_now([FILE_REFS.put(site, kept, f"{site}-aaaaaaaaaaaa", {"n": "k"})])
        files.pending[(site, writing)] = 1
        stale = files.temp()  # an upload a crash left behind
        stale.write(b"half")
        assert files.collect(store) == 0  # all young: nothing goes
        old = time.time() - 7200
        for digest in (kept, orphan, writing):
            os.utime(files.path(site, digest), (old, old))
        os.utime(stale.path, (old, old))
        assert files.collect(store) == 2  # the orphan and the stale temporary file
        assert files.path(site, kept).exists() and files.path(site, writing).exists()
        assert not files.path(site, orphan).exists() and not stale.path.exists()
        assert files.usage(site) == len(b"kept") + len(b"new")
        assert files.path(site, kept).stat().st_mode & 0o777 == 0o600
        # Same content twice: stored once.
        assert _stored(files, site, b"kept") == kept
        assert files.usage(site) == len(b"kept") + len(b"new")
        assert files.remove_unreferenced(store, site, {kept, writing}) == 0
        store.write_now([FILE_REFS.delete(site, kept, f"{site}-aaaaaaaaaaaa")])
        assert files.remove_unreferenced(store, site, {kept}) == 1
        with pytest.raises(ValueError):
            files.path("../etc", kept)
    finally:
        store.close()
