"""One visitor's data: found by id or email, exported whole, erased everywhere.

A visitor's data is its record (the Visitor actor's snapshot: name, email, the
visits with pages, address and browser), its tokens, its conversations (their
records and journals: every message with its time and author), its offline
requests (tickets), the board's card of a missed chat, and what the history
index derived from them. :func:`find` gathers it for an account (by visitor id,
or every visitor who gave an email), :func:`export_doc` turns it into one JSON
document (operators' notes left out), :func:`erase` removes it.

Erasure is one commit of deletes, then the store compacts (the data file is
rewritten without the pages the deletes freed, which still held the text:
LMDB never clears a freed page), and the history index drops the rows and the
text it took from the erased records and rewrites its search table
(``engine/records/index.py``). The visitor's and its chats' actors leave memory
without saving anything. What stays: the audit log's events (ids only), blocks
(an id and an operator's reason), and a tombstone ``erased`` (site and visitor
id) so a second erasure says it was done. A visitor in an open chat is refused
(``visitor_in_chat``): close the chat first.

The outbox (engine/delivery/) gives the deletes of its entries for each visitor
(pending emails to it, webhook calls naming it or its chats); they join the
erasure's commit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine.chat.events import ChatCard
from engine.chat.journal import MESSAGES
from engine.chat.kinds import BOARD, CONVERSATION, VISITOR
from engine.errors import FailedPrecondition, InvalidArgument, NotFound
from engine.persistence.codec import decode, journal_prefix
from engine.persistence.schema import (
    BOARD as BOARD_TABLE,
)
from engine.persistence.schema import (
    CONVERSATION_JOURNAL,
    CONVERSATIONS,
    ERASED,
    FILE_REFS,
    MAIL_MARKS,
    SNAPSHOTS,
    TICKETS,
    VISITOR_TOKENS,
    ConversationDoc,
    Op,
    Reader,
    stream_records,
)

if TYPE_CHECKING:
    from engine.app import Engine

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+$")
PIECE = 1000  # journal records read at a time


@dataclass
class VisitorData:
    """What is stored of one visitor of one site."""

    site_id: str
    visitor_id: str
    record: dict[str, Any] | None  # its snapshot (None: it left only tickets or chats)
    conversations: list[tuple[str, ConversationDoc]] = field(default_factory=list)
    tickets: list[dict[str, Any]] = field(default_factory=list)


def check_query(visitor_id: str, email: str) -> str:
    """A visitor id or a well-formed email, one of the two; the email lowered."""
    if bool(visitor_id) == bool(email):
        raise InvalidArgument(
            "invalid_argument", "give a visitor id or an email (one of the two)", field="visitor_id"
        )
    if email and (len(email) > 254 or not EMAIL.match(email)):
        raise InvalidArgument(
            "invalid_email", f"{email[:60]!r} is not an email address", field="email"
        )
    return email.lower()


def find(engine: Engine, account_id: str, visitor_id: str, email: str) -> list[VisitorData]:
    """Every visitor of the account with this id, or who gave this email."""
    email = check_query(visitor_id, email)
    store = engine.store
    sites = {s.id for s in engine.directory.list_sites(account_id)}
    found: dict[tuple[str, str], VisitorData] = {}
    if visitor_id:
        raw = SNAPSHOTS.get(store, "visitor", visitor_id)
        record = decode(raw) if raw is not None else None
        if record is not None and record.get("site") in sites:
            found[(record["site"], visitor_id)] = VisitorData(record["site"], visitor_id, record)
    else:
        for key, raw in SNAPSHOTS.of_kind(store, "visitor"):
            record = decode(raw)
            if record.get("site") in sites and str(record.get("email", "")).lower() == email:
                found[(record["site"], key)] = VisitorData(record["site"], key, record)
    for site_id in sorted(sites):
        for ticket in TICKETS.of_site(store, site_id):
            match = (
                ticket["visitor_id"] == visitor_id
                if visitor_id
                else str(ticket.get("email", "")).lower() == email
            )
            if match and ticket["visitor_id"]:
                pair = (site_id, ticket["visitor_id"])
                found.setdefault(pair, VisitorData(site_id, ticket["visitor_id"], None))
                found[pair].tickets.append(ticket)
        wanted = {v for (s, v) in found if s == site_id}
        if visitor_id:
            wanted.add(visitor_id)
        if not wanted:
            continue
        for conv_key, conv_raw in store.scan(CONVERSATIONS.name, (site_id + "-").encode()):
            doc: ConversationDoc = decode(conv_raw)
            if doc.get("visitor") in wanted:
                pair = (site_id, doc["visitor"])
                found.setdefault(pair, VisitorData(site_id, doc["visitor"], None))
                found[pair].conversations.append((conv_key.decode(), doc))
    if not found:
        if visitor_id:
            for site_id in sorted(sites):
                gone = ERASED.get(store, site_id, visitor_id)
                if gone is not None:
                    raise FailedPrecondition(
                        "visitor_erased",
                        f"visitor {visitor_id!r} was erased (at {gone['ms']} ms); nothing is left",
                        field="visitor_id",
                    )
            raise NotFound("unknown_visitor", f"no visitor {visitor_id[:40]!r}", field="visitor_id")
        raise NotFound("unknown_visitor", "no visitor gave that email", field="email")
    return [found[pair] for pair in sorted(found)]


# -- export --------------------------------------------------------------------------


def _messages(store: Reader, conversation_id: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    after = 0
    while True:
        page = MESSAGES.read(store, conversation_id, after, PIECE)
        for m in page:
            if m.author_kind == "note":  # operators' whispers are not the visitor's
                continue
            out.append(
                {
                    "seq": m.seq,
                    "at_ms": m.sent_at_ms,
                    "author_kind": m.author_kind,
                    "author_name": m.author_name,
                    "text": m.text,
                }
            )
            if m.attachment is not None:  # the file's facts; its bytes by its digest
                f = m.attachment
                out[-1]["attachment"] = {
                    "name": f.name,
                    "content_type": f.content_type,
                    "size": f.size,
                    "sha256": f.digest,
                }
        if len(page) < PIECE:
            return out
        after = page[-1].seq


def export_doc(engine: Engine, found: list[VisitorData]) -> dict[str, Any]:
    """The visitors' data as one JSON-ready document."""
    visitors = []
    for v in found:
        record = v.record or {}
        conversations = []
        for conv_id, doc in sorted(v.conversations, key=lambda c: c[1].get("created_ms", 0)):
            conversations.append(
                {
                    "id": conv_id,
                    "department_id": doc.get("dept", ""),
                    "status": doc.get("status", ""),
                    "created_ms": doc.get("created_ms", 0),
                    "closed_ms": doc.get("closed_ms", 0),
                    "closed_reason": doc.get("closed_reason", ""),
                    "rating": doc.get("rating", 0),
                    "comment": doc.get("comment", ""),
                    "messages": _messages(engine.store, conv_id),
                }
            )
        visitors.append(
            {
                "id": v.visitor_id,
                "site_id": v.site_id,
                "name": record.get("name", ""),
                "email": record.get("email", ""),
                "visit": record.get("info") or {},
                "conversations": conversations,
                "tickets": sorted(v.tickets, key=lambda t: t.get("created_ms", 0)),
            }
        )
    return {"visitors": visitors}


# -- erasure -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Erased:
    visitor_ids: tuple[str, ...]
    conversations: int
    messages: int
    tickets: int


def conversation_ops(
    store: Reader,
    account_id: str,
    conversation_id: str,
    files: dict[str, set[str]] | None = None,
) -> tuple[list[Op], int]:
    """The deletes of one conversation: its journal, record, board card and
    references to attached files (whose digests go into ``files`` by site, for
    :meth:`~engine.attachments.FileStore.remove_unreferenced` after the commit);
    and how many messages it held."""
    ops: list[Op] = []
    refs: list[Op] = []
    prefix = journal_prefix(conversation_id)
    site_id = conversation_id.split("-", 1)[0]
    start: bytes | None = None
    messages = 0
    while True:
        rows = list(store.scan(CONVERSATION_JOURNAL.records, prefix, start=start, limit=PIECE))
        for key, value in rows:
            ops.append((CONVERSATION_JOURNAL.records, key, None))
            for _seq, record in stream_records(key, value):
                messages += 1
                if b'"f":' in record:  # an attachment's message
                    digest = MESSAGES.decode(conversation_id, record).attachment
                    if digest is not None:
                        refs.append(FILE_REFS.delete(site_id, digest.digest, conversation_id))
                        if files is not None:
                            files.setdefault(site_id, set()).add(digest.digest)
        if len(rows) < PIECE:
            break
        start = rows[-1][0] + b"\x00"
    ops.extend(refs)
    ops.append(CONVERSATIONS.delete(conversation_id))
    ops.append(BOARD_TABLE.delete(account_id, conversation_id))
    ops.append(MAIL_MARKS.delete("conv", conversation_id))  # its transcripts emailed
    return ops, messages


def forget_conversation(
    engine: Engine, account_id: str, conv_id: str, doc: ConversationDoc
) -> None:
    """Drop a conversation's actor unsaved and its card from the board's lists."""
    engine.system.discard(CONVERSATION, conv_id)
    site, dept = doc.get("site", ""), doc.get("dept", "")
    card = ChatCard(conv_id, site, dept, "", "", "closed", (), (), False, "", 0, 0)
    engine.system.ref(BOARD, account_id).tell(_card_gone(card))


def _card_gone(card: ChatCard) -> Any:
    from engine.chat.account_messages import CardChanged

    return CardChanged(card)


async def erase(engine: Engine, account_id: str, found: list[VisitorData]) -> Erased:
    """Remove the visitors' data for good (see the module's docstring)."""
    for v in found:
        for conv_id, doc in v.conversations:
            if doc.get("status") != "closed":
                raise FailedPrecondition(
                    "visitor_in_chat",
                    f"visitor {v.visitor_id!r} is in an open chat ({conv_id}): close it first",
                )
    store = engine.store
    ops: list[Op] = []
    conversations = messages = tickets = 0
    now = engine.clock.wall_ms()
    files: dict[str, set[str]] = {}  # their attachments' digests by site
    for v in found:
        for conv_id, _doc in v.conversations:
            conv_ops, count = conversation_ops(store, account_id, conv_id, files)
            ops.extend(conv_ops)
            conversations += 1
            messages += count
        for ticket in v.tickets:
            ops.append(TICKETS.delete(v.site_id, ticket["id"]))
            tickets += 1
        ops.append(SNAPSHOTS.delete("visitor", v.visitor_id))
        ops.extend(
            VISITOR_TOKENS.delete(d)
            for d in VISITOR_TOKENS.of_visitor(store, v.site_id, v.visitor_id)
        )
        ops.append(ERASED.put(v.site_id, v.visitor_id, now))
        ops.extend(engine.deliveries.erase_visitor(store, v))  # its pending mail, calls
    # Out of memory first, unsaved: nothing of theirs may be written back.
    for v in found:
        engine.system.discard(VISITOR, v.visitor_id)
        for conv_id, doc in v.conversations:
            forget_conversation(engine, account_id, conv_id, doc)
    await store.write_async(ops)
    store.compact_at_next_start()  # the freed pages leave the file at the next start
    for site_id, digests in files.items():  # unless another chat still has the same file
        engine.attachments.files.remove_unreferenced(store, site_id, digests)
    return Erased(tuple(v.visitor_id for v in found), conversations, messages, tickets)
