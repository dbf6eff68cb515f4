"""The storage schema: every LMDB database, its keys, its values, who writes it.

This is the one place that names a database or builds a key. Actors and services
call the typed tables below: a table builds the write operations (``Op``) that go
to ``store.write`` / ``store.write_async`` (so that several tables' writes share
one commit) and reads through the store. ``engine/persistence/lmdb_store.py``
(the only module that imports ``lmdb``) opens every database listed here.

Notation: ``a 0x00 b`` is the parts joined by a zero byte; ``seq8`` is a seq as
8 big-endian bytes (keys sort by seq); ids are ASCII, text is UTF-8. Values are
orjson documents unless marked *raw*. A conversation id begins with its site id
and ``-``, so one site's conversations (and their journal entries) are one
contiguous range: the unit a shard will own.

Streams: sequenced, append-only, one writer each (``engine/chat/journal.py``)

============== ================================ ===================================
database       key                              value
============== ================================ ===================================
journal        <conversation id> 0x00 seq8      a message record (MessageRecords):
                                                ``{"s": seq, "k": author kind,
                                                "a": author id, "n": author name,
                                                "t": text, "c": client id or "",
                                                "ts": ms}``
internal       <pair id> 0x00 seq8              a direct message (DirectRecords):
                                                ``{"s", "f": from id, "n": from
                                                name, "to": to id, "t", "c", "ts"}``
============== ================================ ===================================

Written by the Conversation actor (journal) and the InternalChat actor, a pair id
being ``<lower operator id>~<higher>``. A key may instead hold a *block*: the
records of a run put in place together (at most BLOCK_RECORDS of them), under
the key of the last of them (:func:`pack_block`: 0x01, then seq8, length (4
bytes) and record for each).
Readers go through :meth:`StreamTable.read` or :func:`stream_records`; a
stream's rows are deleted as a scan gives them.

============== ================================ ===================================
log            <commit number8> <piece2>        the stream writes of a commit not
                                                yet in place: (database index
                                                1 byte, key length 2, value length
                                                4 or 0xffffffff for a delete, key,
                                                value)..., cut in pieces of at most
                                                1,900 bytes (``lmdb_store.py``
                                                writes it and empties it at each
                                                checkpoint)
============== ================================ ===================================

A resent client id is recognised from the stream's last records (the journal's
window), so no index is kept beside them.

Chat state

============== ================================ ===================================
conversations  <conversation id>                ConversationDoc: the Conversation
                                                actor's record, rewritten in the
                                                commit of the event changing it
waiting        <department id> 0x00             ConversationInfo as a list: a place
               <255 - priority, 1 byte>         in a department's line (scanned in
               <joined ms, 8 bytes>             line order); written by the
               <conversation id>                Conversation (with its record) and
                                                DepartmentQueue, deleted by the queue
board          <account id> 0x00 <conv id>      ChatCard as a list (Board actor)
snapshots      <actor kind> 0x00 <actor key>    an actor's snapshot, *raw* (runtime at
                                                passivation; a new visitor's first
                                                one by VisitorSession)
tickets        <site id> 0x00 <ticket id>       Ticket.to_doc() (VisitorSession)
============== ================================ ===================================

Configuration: the Directory writes them and loads them whole at start

============== ================================ ===================================
accounts       <account id>                     Account.to_doc()
sites          <site id>                        Site.to_doc()
departments    <department id>                  Department.to_doc()
regions        <region id>                      Region.to_doc()
groups         <group id>                       Group.to_doc()
links          <link rule id>                   LinkRule.to_doc()
templates      <template id>                    Template.to_doc()
blocks         <block id>                       Block.to_doc()
operators      <operator id>                    Operator.to_doc()
emails         <email>                          *raw* operator id
roles          <account id> 0x00 <role name>    the role's permissions, sorted
============== ================================ ===================================

Authentication

============== ================================ ===================================
tokens         sha256(session token)            ``{"operator_id", "created_ms",
                                                "expires_ms", "name"}`` (Auth)
opsessions     <operator id> 0x00 sha256(token) *raw* empty: an operator's sessions
vtokens        sha256(visitor token)            *raw* ``<site id> <visitor id>``
                                                (VisitorSession)
============== ================================ ===================================

Housekeeping

============== ================================ ===================================
requests       <account id> 0x00 <method>       ``{"f": the request's fingerprint,
               0x00 <request id>                "db", "key": the first write of the
                                                create, "ms"}``: a create's
                                                request id, written in the create's
                                                commit (engine/chat/requests.py)
usage          <site id>                        *raw* 8 bytes big-endian: the bytes
                                                of journal records and tickets the
                                                site has written (keys and values),
                                                kept by the store's writer in the
                                                commit of the writes it counts
meta           ``schema``                       the schema version, an int (upgrade)
               ``commit``                       the number of the last checkpoint,
                                                an int: written by the store in
                                                each (the history index's mark)
               ``demo``                         the demo's ids (control/runner.py)
============== ================================ ===================================

Delivery: email and webhooks from one outbox (``engine/delivery/``)

============== ================================ ============================
outbox         <outbox id>                      a delivery (OutboxDoc): an email or
                                                one webhook call, written in the
                                                commit of the event causing it,
                                                deleted once delivered (a failed
                                                email stays, ``failed`` set)
mailcfg        <account id>                     the account's SMTP settings, the
                                                password included (readable by
                                                the server alone: the data
                                                directory is 0700)
webhooks       <account id> 0x00 <webhook id>   Webhook.to_doc(), its secret
                                                included
mailmarks      ``daily`` 0x00 <operator id>     ``{"day": "YYYY-MM-DD", "ms"}``: the
                                                last local day whose daily report
                                                was written to the outbox, in the
                                                same commit (engine/records/daily.py)
               ``conv`` 0x00 <conversation id>  ``{"sent": [ms, ...]}``: transcripts
               ``visitor`` 0x00 <visitor id>    emailed of a chat, and to a visitor
                                                in the last hour, in the commit of
                                                each email (engine/delivery/
                                                transcripts.py)
============== ================================ ===================================

Audit log and privacy (engine/audit.py, engine/privacy.py)

============== ================================ ===================================
audit          <account id> 0x00 <2^64-1 - ms,   ``{"ms", "a": actor id, "k": kind,
               8 bytes> <2^32-1 - n, 4 bytes>   "t": target ids, "f": field names,
                                                "ip": address, "o": outcome}``:
                                                append-only, ids only (no personal
                                                text), newest first in key order
erased         <site id> 0x00 <visitor id>      ``{"ms"}``: an erased visitor (a
                                                second erasure says so)
============== ================================ ===================================

Attachments (engine/attachments/): the files themselves are outside LMDB, under
``<data dir>/files/<site id>/<sha256[:2]>/<sha256[2:]>``

============== ================================ ===================================
files          <site id> 0x00 <sha256 hex>      ``{"n": name, "t": content type,
               0x00 <conversation id>           "z": size, "w", "h": image size
                                                or 0, "ms"}``: a conversation's
                                                reference to a stored file, written
                                                in the commit of its message; a
                                                file no row names is swept
============== ================================ ===================================

Versions: 1 is the first (no version recorded); 2 kept a client-id index beside
each stream (``journal_cids``, ``internal_cids``), no longer written nor read
(a store that has them keeps them, unused); 3 adds ``usage``: :func:`upgrade`,
run when the engine opens the store, counts each site's stored messages and
tickets once (a scan of the journal and the tickets, in pieces of 10,000 records)
before anything is served, and records version 3. 4 adds ``requests`` (nothing
to convert); the delivery databases (``outbox``, ``mailcfg``, ``webhooks``) and
``audit``, ``erased`` and ``mailmarks`` came in version 4's time, new
databases that need nothing converted. 5 adds ``log`` and blocks in the streams
(nothing to convert: a record alone reads as before; an older Parley, which would
misread a block, refuses it). A store of a newer version is refused.
(Version 1 also declared a
``visitors`` database that nothing wrote: a visitor's record is its actor
snapshot. It is no longer opened.)
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from typing import Any, Generic, Protocol, TypedDict, TypeVar

from engine.errors import ParleyError
from engine.persistence.codec import SEP, decode, encode, journal_key, journal_prefix, seq_of

Op = tuple[str, bytes, bytes | None]  # (database, key, value or None to delete)

SCHEMA_VERSION = 5


class Reader(Protocol):
    """What the tables read through (the LmdbStore)."""

    def get(self, db: str, key: bytes) -> bytes | None: ...

    def get_many(self, db: str, keys: list[bytes]) -> list[bytes | None]: ...

    def scan(
        self, db: str, prefix: bytes = b"", start: bytes | None = None, limit: int | None = None
    ) -> Iterator[tuple[bytes, bytes]]: ...

    def last(self, db: str, prefix: bytes) -> tuple[bytes, bytes] | None: ...

    def count(self, db: str, prefix: bytes) -> int: ...


# -- streams ----------------------------------------------------------------------


# A run of a stream's records put in place together (a checkpoint of the log)
# is one block under the key of its last: 0x01, then for each record its seq8,
# its length (4 bytes) and the record. A record alone starts with "{".
_BLOCK = 0x01
_ENTRY = struct.Struct(">QI")


def pack_block(records: list[tuple[int, bytes]]) -> bytes:
    """One block of ``(seq, record)`` in seq order."""
    entry = _ENTRY.pack
    parts = [b"\x01"]
    for seq, record in records:
        parts += (entry(seq, len(record)), record)
    return b"".join(parts)


def block_first(value: bytes) -> int | None:
    """The first seq a block holds (None for a record alone)."""
    if value[:1] != b"\x01":
        return None
    return int(_ENTRY.unpack_from(value, 1)[0])


def stream_records(key: bytes, value: bytes) -> list[tuple[int, bytes]]:
    """The ``(seq, record)`` a stream row holds: one, or a block's."""
    if not value or value[0] != _BLOCK:
        return [(seq_of(key), value)]
    out: list[tuple[int, bytes]] = []
    at, size, unpack = 1, _ENTRY.size, _ENTRY.unpack_from
    while at < len(value):
        seq, length = unpack(value, at)
        at += size
        out.append((seq, value[at : at + length]))
        at += length
    return out


def block_records(value: bytes, after_seq: int, limit: int) -> list[bytes]:
    """The records of block ``value`` whose seq is above ``after_seq``, at
    most ``limit``: the headers are walked, and only those records copied (a
    page read from a long block copies the page, not the block)."""
    out: list[bytes] = []
    at, size, unpack, end = 1, _ENTRY.size, _ENTRY.unpack_from, len(value)
    while at < end and len(out) < limit:
        seq, length = unpack(value, at)
        at += size
        if seq > after_seq:
            out.append(value[at : at + length])
        at += length
    return out


def _block_count(value: bytes) -> int:
    if not value or value[0] != _BLOCK:
        return 1
    n, at, size, unpack = 0, 1, _ENTRY.size, _ENTRY.unpack_from
    while at < len(value):
        at += size + unpack(value, at)[1]
        n += 1
    return n


BLOCK_RECORDS = 200  # records a block holds at most (a replay's page)
BLOCK_BYTES = 256 * 1024  # and bytes, about: a block is closed once past them


def packed(ops: list[Op], last_in_place: Callable[[str, bytes], bytes | None]) -> list[Op]:
    """``ops`` (logged stream writes, in order) with each stream's run of new
    records made blocks of at most BLOCK_RECORDS records and about BLOCK_BYTES:
    the writes a checkpoint makes. A read takes what it needs from a block by
    walking it, so a block the size of a long burst (a whole chat written at
    once) would make each page of its replay walk all of it. A run with a
    delete, a rewrite, or a seq not above what is in place is written as it
    is. ``last_in_place(db, stream prefix)`` is the stream's greatest key."""
    runs: dict[tuple[str, bytes], list[Op]] = {}
    for op in ops:
        key = op[1]
        run = runs.get((op[0], key[:-8]))
        if run is None:
            runs[(op[0], key[:-8])] = [op]
        else:
            run.append(op)
    out: list[Op] = []
    for (db, stream), run in runs.items():
        if len(run) > 1 and all(
            value is not None and (i == 0 or key > run[i - 1][1])
            for i, (_db, key, value) in enumerate(run)
        ):
            stored = last_in_place(db, stream)
            if stored is None or stored < run[0][1]:
                out += _blocks(db, run)
                continue
        out.extend(run)
    return out


def _blocks(db: str, run: list[Op]) -> list[Op]:
    """A run of new records (in seq order, none deleted) as blocks, each under
    the key of its last record (one record alone as it is)."""
    out: list[Op] = []
    chunk: list[tuple[int, bytes]] = []
    size = 0
    for i, (_db, key, value) in enumerate(run):
        assert value is not None
        chunk.append((seq_of(key), value))
        size += len(value)
        if len(chunk) >= BLOCK_RECORDS or size >= BLOCK_BYTES or i == len(run) - 1:
            out.append((db, key, pack_block(chunk) if len(chunk) > 1 else value))
            chunk, size = [], 0
    return out


class StreamTable:
    """A sequenced stream database: ``<stream> 0x00 seq8`` -> record, or a
    block of records under its last one's key (:func:`pack_block`). ``prefix``
    is :func:`journal_prefix` of the stream (its writer keeps it). Read it with
    :meth:`read` (or :func:`stream_records` for rows scanned), never by key."""

    __slots__ = ("records",)

    def __init__(self, records: str) -> None:
        self.records = records

    def append(self, ops: list[Op], prefix: bytes, seq: int, value: bytes) -> None:
        """Add the write of one record to ``ops``."""
        ops.append((self.records, prefix + seq.to_bytes(8, "big"), value))

    def last_seq(self, store: Reader, stream: str) -> int:
        """The highest stored seq (0 for an empty stream): one cursor step."""
        last = store.last(self.records, journal_prefix(stream))
        return seq_of(last[0]) if last is not None else 0

    def read(self, store: Reader, stream: str, after_seq: int, limit: int) -> list[bytes]:
        """Up to ``limit`` record values after ``after_seq``, in seq order.

        Rows are read a few at a time, as many as the rows read so far say are
        needed: a row is one record or a block of up to BLOCK_RECORDS, and a
        scan copies each row it returns whole, so asking for ``limit`` rows
        at once copied up to ``limit`` blocks (a long chat's whole rest, at
        each page of its replay) to use one or two."""
        if after_seq >= 2**63 or limit <= 0:
            return []
        prefix = journal_prefix(stream)
        start = journal_key(stream, max(0, after_seq) + 1)
        out: list[bytes] = []
        want = 1
        floor = after_seq  # the last seq taken: a checkpoint landing between two
        # scans may put records read as written alone into the next block
        while True:
            rows = list(store.scan(self.records, prefix, start=start, limit=want))
            for key, value in rows:
                if value[:1] != b"\x01":
                    out.append(value)
                else:
                    out += block_records(value, floor, limit - len(out))
                if len(out) >= limit:
                    return out[:limit]
                floor = seq_of(key)  # a row's key is its last seq
            if len(rows) < want:
                return out  # the stream's end
            start = rows[-1][0] + b"\x00"
            # As many rows again as the seqs these spanned say are still
            # needed (a row's key is its last seq); short of them, read on.
            key, value = rows[0]
            first = block_first(value) or seq_of(key)
            per_row = max(1, (seq_of(rows[-1][0]) - first + 1) // len(rows))
            want = -(-(limit - len(out)) // per_row)

    def count(self, store: Reader, prefix: str) -> int:
        """Records of every stream whose id starts with ``prefix`` (each row
        read: for a worker thread)."""
        n, start, piece = 0, None, 10_000
        while True:
            rows = list(store.scan(self.records, prefix.encode(), start=start, limit=piece))
            n += sum(_block_count(value) for _key, value in rows)
            if len(rows) < piece:
                return n
            start = rows[-1][0] + b"\x00"


CONVERSATION_JOURNAL = StreamTable("journal")
DIRECT_JOURNAL = StreamTable("internal")


# -- the streams' log ------------------------------------------------------------------

# The streams' writes are logged first (``lmdb_store.py``): a commit puts them in
# ``log`` as a few pieces under its number, and a later checkpoint moves them to
# their places. The streams' databases, by their index in a logged write:
LOGGED = (CONVERSATION_JOURNAL.records, DIRECT_JOURNAL.records)
LOG = "log"
LOG_PIECE = 1900  # bytes a piece holds at most: a piece fits in a page, never overflows
_LOG_HEAD = struct.Struct(">BHI")  # database index, key length, value length
_DELETED = 0xFFFFFFFF  # value length of a delete


def log_pieces(number: int, ops: list[Op]) -> list[tuple[bytes, bytes]]:
    """The log's records for the logged writes ``ops`` of commit ``number``:
    ``number8 piece2`` -> a part of the writes, one after another as (head, key,
    value), cut in pieces of at most LOG_PIECE bytes."""
    head, index = _LOG_HEAD.pack, LOGGED.index
    parts: list[bytes] = []
    for db, key, value in ops:
        if value is None:
            parts += (head(index(db), len(key), _DELETED), key)
        else:
            parts += (head(index(db), len(key), len(value)), key, value)
    data = b"".join(parts)
    prefix = number.to_bytes(8, "big")
    return [
        (prefix + n.to_bytes(2, "big"), data[at : at + LOG_PIECE])
        for n, at in enumerate(range(0, len(data), LOG_PIECE))
    ]


def log_number(key: bytes) -> int:
    return int.from_bytes(key[:8], "big")


def log_ops(data: bytes) -> list[Op]:
    """The writes of one commit's log records, joined in key order."""
    ops: list[Op] = []
    at, size, unpack = 0, _LOG_HEAD.size, _LOG_HEAD.unpack_from
    while at < len(data):
        index, key_len, value_len = unpack(data, at)
        at += size
        key = data[at : at + key_len]
        at += key_len
        if value_len == _DELETED:
            ops.append((LOGGED[index], key, None))
        else:
            ops.append((LOGGED[index], key, data[at : at + value_len]))
            at += value_len
    return ops


# -- documents under an id ----------------------------------------------------------

D = TypeVar("D")


class Docs(Generic[D]):
    """``<id> -> document``."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def put(self, key: str, doc: D) -> Op:
        return (self.name, key.encode(), encode(doc))

    def delete(self, key: str) -> Op:
        return (self.name, key.encode(), None)

    def get(self, store: Reader, key: str) -> D | None:
        raw = store.get(self.name, key.encode())
        return decode(raw) if raw is not None else None

    def all(self, store: Reader) -> Iterator[D]:
        for _key, value in store.scan(self.name):
            yield decode(value)

    def count(self, store: Reader, prefix: str) -> int:
        return store.count(self.name, prefix.encode())


class ConversationDoc(TypedDict, total=False):
    """The ``conversations`` value. ``info`` is ConversationInfo as a list (the
    four fields before it are kept for records that predate it)."""

    site: str
    dept: str
    visitor: str
    visitor_name: str
    info: list[Any]
    closed_reason: str
    invisible: list[list[str]]
    answered: bool
    missed: bool
    chat_status: str
    closed_seq: int
    first_response_ms: int
    assigned_ms: int  # when an operator first took it (0: never): reports' wait
    status: str
    operators: list[list[str]]
    created_ms: int
    rating: int
    comment: str
    closed_ms: int
    closed_by: str


Doc = dict[str, Any]

CONVERSATIONS: Docs[ConversationDoc] = Docs("conversations")
COMMIT_KEY = b"commit"  # in META: the store's commit count (lmdb_store.py)
ACCOUNTS: Docs[Doc] = Docs("accounts")
SITES: Docs[Doc] = Docs("sites")
DEPARTMENTS: Docs[Doc] = Docs("departments")
REGIONS: Docs[Doc] = Docs("regions")
GROUPS: Docs[Doc] = Docs("groups")
LINKS: Docs[Doc] = Docs("links")
TEMPLATES: Docs[Doc] = Docs("templates")
BLOCKS: Docs[Doc] = Docs("blocks")
OPERATORS: Docs[Doc] = Docs("operators")
META: Docs[Any] = Docs("meta")


class Emails:
    """``<email> -> operator id`` (raw)."""

    name = "emails"

    def put(self, email: str, operator_id: str) -> Op:
        return (self.name, email.encode(), operator_id.encode())

    def delete(self, email: str) -> Op:
        return (self.name, email.encode(), None)


EMAILS = Emails()


class Roles:
    """``<account id> 0x00 <role name> -> sorted permissions``."""

    name = "roles"

    def put(self, account_id: str, role: str, permissions: frozenset[str]) -> Op:
        return (self.name, account_id.encode() + SEP + role.encode(), encode(sorted(permissions)))

    def delete(self, account_id: str, role: str) -> Op:
        return (self.name, account_id.encode() + SEP + role.encode(), None)

    def all(self, store: Reader) -> Iterator[tuple[str, str, frozenset[str]]]:
        """(account id, role name, permissions) of every custom role."""
        for key, value in store.scan(self.name):
            account_id, _, role = key.decode().partition("\x00")
            yield account_id, role, frozenset(decode(value))


ROLES = Roles()


# -- composite keys -----------------------------------------------------------------


class OperatorTokens:
    """``sha256(token) -> session doc``, with ``opsessions``:
    ``<operator id> 0x00 sha256(token) -> b""`` listing an operator's sessions."""

    name = "tokens"
    sessions = "opsessions"

    def put(self, operator_id: str, digest: bytes, doc: Doc) -> list[Op]:
        return [
            (self.name, digest, encode(doc)),
            (self.sessions, operator_id.encode() + SEP + digest, b""),
        ]

    def delete(self, operator_id: str, digest: bytes) -> list[Op]:
        return [
            (self.name, digest, None),
            (self.sessions, operator_id.encode() + SEP + digest, None),
        ]

    def get(self, store: Reader, digest: bytes) -> Doc | None:
        raw = store.get(self.name, digest)
        return decode(raw) if raw is not None else None

    def digests(self, store: Reader, operator_id: str) -> list[bytes]:
        """The token digests of an operator's sessions."""
        prefix = operator_id.encode() + SEP
        return [key[len(prefix) :] for key, _ in store.scan(self.sessions, prefix)]


TOKENS = OperatorTokens()


class VisitorTokens:
    """``sha256(visitor token) -> "<site id> <visitor id>"`` (raw)."""

    name = "vtokens"

    def put(self, digest: bytes, site_id: str, visitor_id: str) -> Op:
        return (self.name, digest, f"{site_id} {visitor_id}".encode())

    def delete(self, digest: bytes) -> Op:
        return (self.name, digest, None)

    def of_visitor(self, store: Reader, site_id: str, visitor_id: str) -> list[bytes]:
        """The digests of a visitor's tokens: a scan of every token (erasure only)."""
        wanted = f"{site_id} {visitor_id}".encode()
        return [key for key, value in store.scan(self.name) if value == wanted]

    def get(self, store: Reader, digest: bytes) -> tuple[str, str] | None:
        """(site id, visitor id) of a token."""
        raw = store.get(self.name, digest)
        if raw is None:
            return None
        site_id, _, visitor_id = raw.decode().partition(" ")
        return site_id, visitor_id


VISITOR_TOKENS = VisitorTokens()


class Snapshots:
    """``<actor kind> 0x00 <actor key> -> snapshot`` (raw)."""

    name = "snapshots"

    def put(self, kind: str, key: str, data: bytes) -> Op:
        return (self.name, kind.encode() + SEP + key.encode(), data)

    def get(self, store: Reader, kind: str, key: str) -> bytes | None:
        return store.get(self.name, kind.encode() + SEP + key.encode())

    def delete(self, kind: str, key: str) -> Op:
        return (self.name, kind.encode() + SEP + key.encode(), None)

    def of_kind(self, store: Reader, kind: str) -> Iterator[tuple[str, bytes]]:
        """(actor key, snapshot) of every snapshot of one kind of actor."""
        prefix = kind.encode() + SEP
        for key, value in store.scan(self.name, prefix):
            yield key[len(prefix) :].decode(), value


SNAPSHOTS = Snapshots()


class Tickets:
    """``<site id> 0x00 <ticket id> -> ticket doc``."""

    name = "tickets"

    def put(self, site_id: str, ticket_id: str, doc: Doc) -> Op:
        return (self.name, site_id.encode() + SEP + ticket_id.encode(), encode(doc))

    def of_site(self, store: Reader, site_id: str) -> Iterator[Doc]:
        for _key, value in store.scan(self.name, site_id.encode() + SEP):
            yield decode(value)

    def delete(self, site_id: str, ticket_id: str) -> Op:
        return (self.name, site_id.encode() + SEP + ticket_id.encode(), None)


TICKETS = Tickets()


class SiteUsage:
    """``<site id> -> *raw* 8-byte big-endian count``: what a site has stored of
    the things its visitors can make grow (conversation messages, tickets), as
    bytes of key and value, counted as they are written (a rewrite counts again,
    a delete gives nothing back). The store meters every batch with
    :meth:`measure` and writes the new totals in the same commit."""

    name = "usage"

    def put(self, site_id: str, total: int) -> Op:
        return (self.name, site_id.encode(), total.to_bytes(8, "big"))

    def all(self, store: Reader) -> Iterator[tuple[str, int]]:
        for key, value in store.scan(self.name):
            yield key.decode(), int.from_bytes(value, "big")

    @staticmethod
    def measure(ops: list[Op], into: dict[str, int]) -> None:
        """Add to ``into`` the bytes each site writes in ``ops``."""
        for db, key, value in ops:
            if value is None:
                continue
            if db == CONVERSATION_JOURNAL.records:  # <site id>-... 0x00 seq8
                end = key.find(b"-")
            elif db == TICKETS.name:  # <site id> 0x00 <ticket id>
                end = key.find(SEP)
            else:
                continue
            if end <= 0:
                continue
            name = key[:end].decode()
            into[name] = into.get(name, 0) + len(key) + len(value)


USAGE = SiteUsage()


class WaitingLine:
    """``<department id> 0x00 <255 - priority> <joined ms, 8 bytes> <conversation
    id> -> ConversationInfo as a list``: priority first (higher sorts first), then
    the time it joined, then the conversation, so a scan gives the line in order.
    The key is kept by the queue to delete the entry."""

    name = "waiting"

    def key(self, department_id: str, priority: int, at_ms: int, conversation_id: str) -> bytes:
        rank = 255 - max(0, min(priority, 255))
        return (
            department_id.encode()
            + SEP
            + bytes([rank])
            + at_ms.to_bytes(8, "big")
            + conversation_id.encode()
        )

    def put(self, key: bytes, info: list[Any]) -> Op:
        return (self.name, key, encode(info))

    def delete(self, key: bytes) -> Op:
        return (self.name, key, None)

    def joined_ms(self, department_id: str, key: bytes) -> int:
        """When the chat joined the line (wall clock ms), read from its key."""
        at = len(department_id.encode()) + 2  # past the id, the separator, the rank
        return int.from_bytes(key[at : at + 8], "big")

    def line(self, store: Reader, department_id: str) -> Iterator[tuple[bytes, list[Any]]]:
        """(key, info list) of a department's waiting chats, in line order."""
        for key, value in store.scan(self.name, department_id.encode() + SEP):
            yield key, decode(value)


WAITING = WaitingLine()


class BoardCards:
    """``<account id> 0x00 <conversation id> -> ChatCard as a list``."""

    name = "board"

    def put(self, account_id: str, conversation_id: str, card: list[Any]) -> Op:
        return (self.name, account_id.encode() + SEP + conversation_id.encode(), encode(card))

    def delete(self, account_id: str, conversation_id: str) -> Op:
        return (self.name, account_id.encode() + SEP + conversation_id.encode(), None)

    def of_account(self, store: Reader, account_id: str) -> Iterator[list[Any]]:
        for _key, value in store.scan(self.name, account_id.encode() + SEP):
            yield decode(value)


BOARD = BoardCards()


class Requests:
    """``<account id> 0x00 <method> 0x00 <request id> -> {"f", "db", "key", "ms"}``:
    what a create with a request id made (its first write's database and key)."""

    name = "requests"

    @staticmethod
    def _key(account_id: str, method: str, request_id: str) -> bytes:
        return SEP.join(part.encode() for part in (account_id, method, request_id))

    def put(
        self, account_id: str, method: str, request_id: str, fingerprint: str, first: Op, ms: int
    ) -> Op:
        doc = {"f": fingerprint, "db": first[0], "key": first[1].decode(), "ms": ms}
        return (self.name, self._key(account_id, method, request_id), encode(doc))

    def delete(self, account_id: str, method: str, request_id: str) -> Op:
        return (self.name, self._key(account_id, method, request_id), None)

    def get(self, store: Reader, account_id: str, method: str, request_id: str) -> Doc | None:
        raw = store.get(self.name, self._key(account_id, method, request_id))
        return decode(raw) if raw is not None else None


REQUESTS = Requests()


# -- delivery: the outbox, mail settings, webhooks ------------------------------------


class OutboxDoc(TypedDict, total=False):
    """An ``outbox`` value. ``kind`` "email": ``to``, ``subject``, ``text``,
    ``html``; "webhook": ``hook`` (its id), ``event`` (the event id), ``type``
    and ``body`` (the JSON sent, as text). ``attempts`` so far, ``error`` the
    last one's, ``failed`` once given up (an email kept for who reads the
    outbox)."""

    id: str
    kind: str
    account: str
    created_ms: int
    to: str
    subject: str
    text: str
    html: str
    hook: str
    event: str
    type: str
    body: str
    attempts: int
    error: str
    failed: bool
    next_ms: int  # when the next attempt is due (wall clock), after a failed one


class Outbox:
    """``<outbox id> -> OutboxDoc``; ids sort by creation (engine/delivery/ids)."""

    name = "outbox"

    def put(self, doc: OutboxDoc) -> Op:
        return (self.name, doc["id"].encode(), encode(doc))

    def delete(self, outbox_id: str) -> Op:
        return (self.name, outbox_id.encode(), None)

    def all(self, store: Reader) -> Iterator[OutboxDoc]:
        for _key, value in store.scan(self.name):
            yield decode(value)


OUTBOX = Outbox()
MAIL_SETTINGS: Docs[Doc] = Docs("mailcfg")


class MailMarks:
    """``<kind> 0x00 <id> -> doc``: what was emailed already, to send a daily
    report once a day and a few transcripts at most (kinds ``daily``, ``conv``,
    ``visitor``)."""

    name = "mailmarks"

    def put(self, kind: str, key: str, doc: Doc) -> Op:
        return (self.name, kind.encode() + SEP + key.encode(), encode(doc))

    def delete(self, kind: str, key: str) -> Op:
        return (self.name, kind.encode() + SEP + key.encode(), None)

    def get(self, store: Reader, kind: str, key: str) -> Doc | None:
        raw = store.get(self.name, kind.encode() + SEP + key.encode())
        return decode(raw) if raw is not None else None


MAIL_MARKS = MailMarks()


class Webhooks:
    """``<account id> 0x00 <webhook id> -> webhook doc``."""

    name = "webhooks"

    def put(self, account_id: str, webhook_id: str, doc: Doc) -> Op:
        return (self.name, account_id.encode() + SEP + webhook_id.encode(), encode(doc))

    def delete(self, account_id: str, webhook_id: str) -> Op:
        return (self.name, account_id.encode() + SEP + webhook_id.encode(), None)

    def all(self, store: Reader) -> Iterator[Doc]:
        for _key, value in store.scan(self.name):
            yield decode(value)


WEBHOOKS = Webhooks()


# -- audit log and privacy (engine/audit.py, engine/privacy.py) ------------------------

_TOP64, _TOP32 = (1 << 64) - 1, (1 << 32) - 1


class AuditLog:
    """``<account id> 0x00 <2^64-1 - ms> <2^32-1 - n> -> event``: append-only;
    the inverted time makes a forward scan newest first."""

    name = "audit"

    def key(self, account_id: str, ms: int, n: int) -> bytes:
        return (
            account_id.encode()
            + SEP
            + (_TOP64 - max(0, ms)).to_bytes(8, "big")
            + (_TOP32 - (n & _TOP32)).to_bytes(4, "big")
        )

    def put(self, key: bytes, doc: Doc) -> Op:
        return (self.name, key, encode(doc))

    def scan(
        self, store: Reader, account_id: str, start: bytes | None, limit: int
    ) -> list[tuple[bytes, Doc]]:
        """Up to ``limit`` events of an account from ``start`` (newest first)."""
        rows = store.scan(self.name, account_id.encode() + SEP, start=start, limit=limit)
        return [(key, decode(value)) for key, value in rows]


AUDIT = AuditLog()


class Erased:
    """``<site id> 0x00 <visitor id> -> {"ms"}``: visitors erased."""

    name = "erased"

    def put(self, site_id: str, visitor_id: str, ms: int) -> Op:
        return (self.name, site_id.encode() + SEP + visitor_id.encode(), encode({"ms": ms}))

    def get(self, store: Reader, site_id: str, visitor_id: str) -> Doc | None:
        raw = store.get(self.name, site_id.encode() + SEP + visitor_id.encode())
        return decode(raw) if raw is not None else None


ERASED = Erased()


class FileRefs:
    """``<site id> 0x00 <sha256> 0x00 <conversation id> -> {"n", "t", "z", "w", "h",
    "ms"}``: which conversations reference a stored file (engine/attachments/)."""

    name = "files"

    @staticmethod
    def key(site_id: str, digest: str, conversation_id: str) -> bytes:
        return site_id.encode() + SEP + digest.encode() + SEP + conversation_id.encode()

    def put(self, site_id: str, digest: str, conversation_id: str, doc: Doc) -> Op:
        return (self.name, self.key(site_id, digest, conversation_id), encode(doc))

    def delete(self, site_id: str, digest: str, conversation_id: str) -> Op:
        return (self.name, self.key(site_id, digest, conversation_id), None)

    def get(self, store: Reader, site_id: str, digest: str, conversation_id: str) -> Doc | None:
        raw = store.get(self.name, self.key(site_id, digest, conversation_id))
        return decode(raw) if raw is not None else None

    def referenced(self, store: Reader, site_id: str, digest: str) -> bool:
        """Whether any conversation still references the file."""
        prefix = site_id.encode() + SEP + digest.encode() + SEP
        return any(True for _ in store.scan(self.name, prefix, limit=1))


FILE_REFS = FileRefs()


DATABASES = (
    CONVERSATION_JOURNAL.records,
    DIRECT_JOURNAL.records,
    LOG,
    SNAPSHOTS.name,
    ACCOUNTS.name,
    SITES.name,
    DEPARTMENTS.name,
    ROLES.name,
    OPERATORS.name,
    EMAILS.name,
    TOKENS.name,
    TOKENS.sessions,
    VISITOR_TOKENS.name,
    CONVERSATIONS.name,
    REGIONS.name,
    GROUPS.name,
    LINKS.name,
    TICKETS.name,
    WAITING.name,
    BOARD.name,
    TEMPLATES.name,
    BLOCKS.name,
    USAGE.name,
    META.name,
    REQUESTS.name,
    # delivery
    OUTBOX.name,
    MAIL_SETTINGS.name,
    WEBHOOKS.name,
    MAIL_MARKS.name,
    # audit log and privacy
    AUDIT.name,
    ERASED.name,
    # attachments
    FILE_REFS.name,
)


# -- versions -----------------------------------------------------------------------


class NewerSchema(ParleyError):
    """The data directory was written by a newer Parley."""


BACKFILL_BATCH = 10_000


def upgrade(store: Reader, write_now: Callable[[list[Op]], None]) -> int:
    """Bring the store to :data:`SCHEMA_VERSION` before anything is served;
    ``write_now`` commits synchronously. Returns how many sites' usage was
    counted (0 for a store that is current or new)."""
    version = META.get(store, "schema")
    if version is not None and version > SCHEMA_VERSION:
        raise NewerSchema(
            f"the data directory has schema version {version}; this Parley knows up to "
            f"{SCHEMA_VERSION}: run a newer Parley"
        )
    if version == SCHEMA_VERSION:
        return 0
    counted = 0
    if version is None or version < 3:  # before usage was metered
        counted = len(backfill_usage(store, write_now))
    write_now([META.put("schema", SCHEMA_VERSION)])
    return counted


def backfill_usage(store: Reader, write_now: Callable[[list[Op]], None]) -> dict[str, int]:
    """Count what each site has stored of what its quota covers; write and
    return the totals (a store opened on them must read them again)."""
    totals: dict[str, int] = {}
    for db in (CONVERSATION_JOURNAL.records, TICKETS.name):
        start: bytes | None = None
        while True:
            rows = list(store.scan(db, start=start, limit=BACKFILL_BATCH))
            if db == CONVERSATION_JOURNAL.records:  # each record as it was written
                USAGE.measure(
                    [
                        (db, key[:-8] + seq.to_bytes(8, "big"), record)
                        for key, value in rows
                        for seq, record in stream_records(key, value)
                    ],
                    totals,
                )
            else:
                USAGE.measure([(db, key, value) for key, value in rows], totals)
            if len(rows) < BACKFILL_BATCH:
                break
            start = rows[-1][0] + b"\x00"  # just after the last key read
    if totals:
        write_now([USAGE.put(site, total) for site, total in totals.items()])
    return totals
