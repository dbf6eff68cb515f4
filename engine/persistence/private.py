"""The data directory is the owner's alone.

It holds password hashes (in ``data.mdb``) and the owner's, the server
administrator's and the demo operator's credentials, so every directory under
it is 0700 and every file 0600, whatever the process's umask: a umask only
takes bits away, so new paths are created with those modes and then set to
them exactly (a umask of 0277 would otherwise leave a file the owner cannot
write). A directory made by an older version, or by hand, with looser modes is
tightened when the store opens, with a log line naming how many paths were open
to others. Symbolic links are neither followed nor changed.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger("parley.store")

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> None:
    """Create ``path`` (and missing parents) if absent, ``path`` itself 0700; an
    existing one is left to :func:`make_private`, which says if it was open."""
    try:
        path.mkdir(mode=DIR_MODE, parents=True)
    except FileExistsError:
        return
    os.chmod(path, DIR_MODE)


def make_private(root: Path) -> int:
    """Set every directory under ``root`` (``root`` included) to 0700 and every
    file to 0600. Returns how many paths were readable, writable or searchable by
    others before, and logs it when there were any."""
    opened = 0
    for top, dirs, files in os.walk(root):
        here = Path(top)
        paths = [(here, DIR_MODE)] if here == root else []
        paths += [(here / name, DIR_MODE) for name in dirs]
        paths += [(here / name, FILE_MODE) for name in files]
        for path, want in paths:
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                continue
            mode = stat.S_IMODE(info.st_mode)
            if mode != want:
                opened += bool(mode & 0o077)
                os.chmod(path, want)
    if opened:
        log.warning(
            "data directory %s: %d paths were open to other users; "
            "now owner-only (directories 0700, files 0600)",
            root,
            opened,
        )
    return opened


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` as a 0600 file (an existing file is tightened)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "wb") as f:
        os.fchmod(fd, FILE_MODE)
        f.write(data)
