"""What a file is, from its bytes: the allow list of attachment types.

The name a client gives a file says nothing about it (an executable named
``.png`` is an executable), so the type is read from the file's own bytes, its
magic numbers, by ``puremagic`` (a maintained table of signatures rather than
our own). A file is allowed when its best signature is one of :data:`ALLOWED`;
a file with no known signature is plain text when all of it is UTF-8 without
control characters (the standard library's incremental decoder, chunk by
chunk, as it arrives). Everything else is refused: an archive, an office
document, an executable, a script, HTML (which a browser would run).
"""

from __future__ import annotations

import codecs
import struct

import puremagic

# The detected type -> the Content-Type it is served with.
ALLOWED = {
    "image/png": "image/png",
    "image/jpeg": "image/jpeg",
    "image/gif": "image/gif",
    "image/webp": "image/webp",
    "application/pdf": "application/pdf",
}
TEXT = "text/plain; charset=utf-8"
IMAGES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
HEAD = 8192  # bytes of a file's start read for its signature
_CONTROLS = frozenset(range(32)) - {9, 10, 12, 13}  # tab, newline, form feed, return


class TextCheck:
    """Whether the bytes fed so far can be plain text: UTF-8, no control
    characters (a NUL means binary)."""

    __slots__ = ("decoder", "ok")

    def __init__(self) -> None:
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.ok = True

    def feed(self, data: bytes, final: bool = False) -> None:
        if not self.ok:
            return
        try:
            text = self.decoder.decode(data, final)
        except UnicodeDecodeError:
            self.ok = False
            return
        if any(ord(c) in _CONTROLS for c in text if c < " "):
            self.ok = False


def detect(head: bytes, text: TextCheck) -> str | None:
    """The Content-Type of a file whose first bytes are ``head`` (and whose
    every byte ``text`` has seen, finished), or None when it is not allowed."""
    if not head:
        return None
    try:
        matches = puremagic.magic_string(head)
    except puremagic.PureError:
        matches = []
    if matches:
        best = max(m.confidence for m in matches)
        for m in matches:
            if m.confidence == best and m.mime_type in ALLOWED:
                return ALLOWED[m.mime_type]
        if best >= 0.4:
            return None  # a confident signature of something else
    if head and text.ok:
        return TEXT
    return None


def dimensions(content_type: str, head: bytes) -> tuple[int, int]:
    """An image's width and height where its header says them at a fixed place
    (PNG's IHDR, GIF's screen descriptor); (0, 0) otherwise."""
    if content_type == "image/png" and len(head) >= 24 and head[12:16] == b"IHDR":
        w, h = struct.unpack(">II", head[16:24])
        return int(w), int(h)
    if content_type == "image/gif" and len(head) >= 10:
        w, h = struct.unpack("<HH", head[6:10])
        return int(w), int(h)
    return 0, 0
