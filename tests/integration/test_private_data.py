"""The data directory on a real server is the owner's alone, whatever the umask."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.persistence import LmdbStore
from tests.integration.helpers import owner, running


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def modes(root: Path) -> dict[str, int]:
    """Every path under ``root`` (``root`` as ".") and its permission bits."""
    out = {".": stat.S_IMODE(root.stat().st_mode)}
    for path in root.rglob("*"):
        out[str(path.relative_to(root))] = stat.S_IMODE(path.lstat().st_mode)
    return out


def owner_only(found: dict[str, int], root: Path) -> None:
    for name, mode in found.items():
        want = 0o700 if (root / name).is_dir() else 0o600
        assert mode == want, f"{name} is {mode:o}, not {want:o}"


@pytest.mark.usefixtures("permissive_umask")
async def test_a_new_data_directory_is_owner_only(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        await owner(app)
        data = app.config.data_dir
        found = modes(data)
    assert {"lmdb/data.mdb", "lmdb/lock.mdb", "owner-credentials.json"} <= set(found)
    assert "demo-credentials.json" in found and "parley.lock" in found
    owner_only(found, data)


@pytest.mark.usefixtures("permissive_umask")
def test_an_open_data_directory_is_tightened_at_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A directory from an older version (0755, files 0644, a stray 0666 file in a
    0777 folder) is owner-only after the store opens, with a log line; the store
    then opens without a word."""
    data = tmp_path / "data"
    LmdbStore(data).close()
    for path in [data, *data.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    (data / "old").mkdir(mode=0o777)
    (data / "old" / "notes.txt").write_text("x")
    os.chmod(data / "old" / "notes.txt", 0o666)
    os.symlink("/etc/hostname", data / "link")  # left alone, not followed
    before = stat.S_IMODE(os.stat("/etc/hostname").st_mode)
    with caplog.at_level(logging.WARNING, "parley.store"):
        LmdbStore(data).close()
    found = modes(data)
    del found["link"]
    owner_only(found, data)
    assert stat.S_IMODE(os.stat("/etc/hostname").st_mode) == before
    [record] = caplog.records
    assert "were open to other users" in record.getMessage()
    assert "7 paths" in record.getMessage()  # ., lmdb, its 2 files, lock, old, notes.txt
    caplog.clear()
    with caplog.at_level(logging.WARNING, "parley.store"):
        LmdbStore(data).close()
    assert caplog.records == []
