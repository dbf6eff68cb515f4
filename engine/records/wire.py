"""What the server and the history index's process say to each other.

One socket pair (``SOCK_SEQPACKET``: each send is one packet, whole or not at
all, in order). The server's packets name what a commit touched, never carry
its data (the index reads that from the store):

- ``C`` <commit, 8 bytes> <conversation ids, newline-separated>: the commit's
  last packet (a commit touching many conversations takes several);
- ``M`` <commit> <ids>: more of a commit, not its last packet;
- ``L``: notices were lost (the socket was full): catch up from the store.

The index's packets: ``A`` <commit>: the index holds every commit up to it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

COMMIT, MORE, LOST, APPLIED = b"C", b"M", b"L", b"A"
PACKET = 16 << 10  # the largest packet, in bytes
_HEAD = 9


def notices(number: int, ids: Iterable[bytes]) -> Iterator[bytes]:
    """The packets telling that commit ``number`` touched these conversations
    (one packet, its ids empty, when it touched none)."""
    n = number.to_bytes(8, "big")
    part: list[bytes] = []
    size = _HEAD
    for conv in ids:
        if part and size + len(conv) + 1 > PACKET:
            yield MORE + n + b"\n".join(part)
            part, size = [], _HEAD
        part.append(conv)
        size += len(conv) + 1
    yield COMMIT + n + b"\n".join(part)


def applied(number: int) -> bytes:
    return APPLIED + number.to_bytes(8, "big")


def parse(packet: bytes) -> tuple[bytes, int, list[str]]:
    """(kind, commit number, conversation ids) of a packet."""
    kind = packet[:1]
    if kind == LOST:
        return kind, 0, []
    number = int.from_bytes(packet[1:_HEAD], "big")
    body = packet[_HEAD:]
    return kind, number, body.decode().split("\n") if body else []
