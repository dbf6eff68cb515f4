"""Encoding primitives of the store: orjson values and sequenced keys.

A sequenced key is ``<stream id> 0x00 <seq as 8 big-endian bytes>``, so one
stream's entries are contiguous and in order. Which database holds what is
``engine/persistence/schema.py``.
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


def encode(value: Any) -> bytes:
    return orjson.dumps(value)


def decode(data: bytes) -> Any:
    return orjson.loads(data)
