"""What the history index keeps of a conversation, derived from the store alone.

Pure functions from a conversation's record (``ConversationDoc``) and its
journal records to the index's row: the same derivation serves the live index,
its rebuild from the store and ``GetConversation`` (which reads the store), so
the three cannot disagree. How a chat ended is one tag: ``visitor`` or
``operator`` (closed by one), ``abandoned``, ``no_operator``,
``operator_offline`` (closed by the system), ``closed`` (a record older than
the field); "missed" is a flag of its own (closed before anyone answered).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from engine.persistence.schema import ConversationDoc

ENDED = ("visitor", "operator", "abandoned", "no_operator", "operator_offline", "closed")
ENDED_FILTERS = (*ENDED, "missed")  # what a list may filter on
STATUSES = ("new", "queued", "active", "closed")
COUNTED = ("visitor", "operator")  # the messages a chat's count holds
SEARCHED = ("visitor", "operator", "note")  # whose text is searched (not notices)


@dataclass(frozen=True, slots=True)
class ConversationRow:
    """A conversation as the history shows it."""

    id: str
    site_id: str
    department_id: str
    visitor_id: str
    visitor_name: str
    status: str
    operators: tuple[tuple[str, str], ...]  # (id, name) visible to the visitor, in order
    created_ms: int
    closed_ms: int
    ended: str  # "" while open, else one of ENDED
    closed_by: str  # the operator's or visitor's id that closed it ("" for the system)
    missed: bool
    rating: int
    comment: str
    message_count: int = 0

    @property
    def operator_name(self) -> str:
        """The operator the chat ended with (what a list sorts "by operator" on)."""
        return self.operators[-1][1] if self.operators else ""


def ended_of(doc: ConversationDoc) -> tuple[str, str]:
    """(how it ended, by whom) from a record; ("", "") while open."""
    if doc.get("status") != "closed":
        return "", ""
    kind, _, by_id = doc.get("closed_by", "").partition(":")
    reason = doc.get("closed_reason", "")
    if reason:
        return reason, ""
    if kind in ("visitor", "operator"):
        return kind, by_id
    return "closed", ""


def row_of(conversation_id: str, doc: ConversationDoc, message_count: int = 0) -> ConversationRow:
    """The row of a stored record."""
    info: list[Any] = doc.get("info") or []
    site = info[1] if len(info) > 1 else doc.get("site", "")
    dept = info[2] if len(info) > 2 else doc.get("dept", "")
    visitor = info[3] if len(info) > 3 else doc.get("visitor", "")
    name = info[4] if len(info) > 4 else doc.get("visitor_name", "")
    ended, by = ended_of(doc)
    return ConversationRow(
        id=conversation_id,
        site_id=site,
        department_id=dept,
        visitor_id=visitor,
        visitor_name=name,
        status=doc.get("status", "new"),
        operators=tuple((str(i), str(n)) for i, n in doc.get("operators", ())),
        created_ms=doc.get("created_ms", 0),
        closed_ms=doc.get("closed_ms", 0),
        ended=ended,
        closed_by=by,
        missed=bool(doc.get("missed", False)),
        rating=doc.get("rating", 0),
        comment=doc.get("comment", ""),
        message_count=message_count,
    )


def doc_participants(doc: ConversationDoc) -> set[str]:
    """The operators a record names: in the chat, visibly or not."""
    return {str(o[0]) for o in doc.get("operators", ())} | {
        str(o[0]) for o in doc.get("invisible", ())
    }


@dataclass(frozen=True, slots=True)
class JournalFacts:
    """What a run of journal records adds to a conversation's row."""

    counted: int  # messages the chat's count holds
    authors: set[str]  # operators who wrote (messages and notes)
    texts: list[tuple[int, str]]  # (seq, text) to search


def facts_of(records: Iterable[dict[str, Any]]) -> JournalFacts:
    """Facts of decoded journal records (``{"s", "k", "a", "t", ...}``)."""
    counted = 0
    authors: set[str] = set()
    texts: list[tuple[int, str]] = []
    counts, searched, writers = _COUNTED, _SEARCHED, _WRITERS  # locals: the index's hot loop
    for r in records:
        kind = r["k"]
        if kind in counts:
            counted += 1
        if kind in writers and r["a"]:
            authors.add(r["a"])
        if kind in searched:
            texts.append((r["s"], r["t"]))
    return JournalFacts(counted, authors, texts)


_COUNTED, _SEARCHED, _WRITERS = (
    frozenset(COUNTED),
    frozenset(SEARCHED),
    frozenset(("operator", "note")),
)
