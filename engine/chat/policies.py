"""Pure rules, tested without actors."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

MAX_TEXT = 4000  # characters in one chat message
MAX_CLIENT_MSG_ID = 64


@dataclass(frozen=True, slots=True)
class Candidate:
    """An available operator as a department queue sees it."""

    operator_id: str
    load: int  # open chats and outstanding offers
    max_chats: int
    idle_since: float
    languages: tuple[str, ...] = ()  # empty: takes any language
    region_ids: tuple[str, ...] = ()
    group_ids: tuple[str, ...] = ()
    auto_distribution: bool = True


@dataclass(frozen=True, slots=True)
class Want:
    """What a waiting chat asks of its operator."""

    language: str = ""
    region_id: str = ""
    group_id: str = ""
    preferred_operator_id: str = ""
    excluded: frozenset[str] = frozenset()  # declined or let the offer lapse


def eligible(c: Candidate, want: Want, picked: bool = False) -> bool:
    """Free capacity, takes part in auto-distribution (unless picking by hand),
    speaks the language, serves the region, has not turned this chat down."""
    return (
        c.load < c.max_chats
        and (picked or c.auto_distribution)
        and (not want.language or not c.languages or want.language in c.languages)
        and (not want.region_id or want.region_id in c.region_ids)
        and c.operator_id not in want.excluded
    )


def _rank(c: Candidate) -> tuple[int, float, str]:
    return (c.load, c.idle_since, c.operator_id)


def choose_operator(candidates: Iterable[Candidate], want: Want = Want()) -> Candidate | None:
    """The operator for a chat: among the eligible, the one the visitor spoke
    to last; else the link rule's group first; then least loaded, longest idle
    (smallest ``idle_since``), then id for a stable order."""
    best: Candidate | None = None
    best_in_group = False
    for c in candidates:
        if not eligible(c, want):
            continue
        if want.preferred_operator_id and c.operator_id == want.preferred_operator_id:
            return c
        in_group = bool(want.group_id) and want.group_id in c.group_ids
        if (
            best is None
            or (in_group and not best_in_group)
            or (in_group == best_in_group and _rank(c) < _rank(best))
        ):
            best, best_in_group = c, in_group
    return best


def check_text(text: str) -> str | None:
    """The refusal code for a chat message text, or None when it is fine."""
    if not text or not text.strip():
        return "empty_message"
    if len(text) > MAX_TEXT:
        return "message_too_long"
    return None


def check_client_msg_id(client_msg_id: str) -> str | None:
    if not client_msg_id or len(client_msg_id) > MAX_CLIENT_MSG_ID:
        return "bad_client_msg_id"
    return None
