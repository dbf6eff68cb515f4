"""Keys and values of the store.

Keys are built for range scans: a journal entry is ``<stream id> 0x00 <seq as 8
big-endian bytes>``, so one conversation's entries are contiguous and in order,
and a conversation id begins with its site id, so one site's conversations are
contiguous too (the unit a shard will own). Values are orjson documents.
"""

from __future__ import annotations

from typing import Any

import orjson

SEP = b"\x00"


def journal_key(stream: str, seq: int) -> bytes:
    return stream.encode() + SEP + seq.to_bytes(8, "big")


def journal_prefix(stream: str) -> bytes:
    return stream.encode() + SEP


def seq_of(key: bytes) -> int:
    return int.from_bytes(key[-8:], "big")


def snapshot_key(kind: str, key: str) -> bytes:
    return kind.encode() + SEP + key.encode()


def waiting_key(department_id: str, priority: int, at_ms: int, conversation_id: str) -> bytes:
    """A place in a department's line: priority first (higher sorts first), then
    the time it joined, then the conversation, so a scan gives the line in order."""
    rank = 255 - max(0, min(priority, 255))
    return (
        department_id.encode()
        + SEP
        + bytes([rank])
        + at_ms.to_bytes(8, "big")
        + conversation_id.encode()
    )


def encode(value: Any) -> bytes:
    return orjson.dumps(value)


def decode(data: bytes) -> Any:
    return orjson.loads(data)
