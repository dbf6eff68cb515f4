"""Pure rules, tested without actors."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

MAX_TEXT = 4000  # characters in one chat message
MAX_CLIENT_MSG_ID = 64


@dataclass(frozen=True, slots=True)
class Candidate:
    operator_id: str
    load: int
    max_chats: int
    idle_since: float


def choose_operator(candidates: Iterable[Candidate]) -> Candidate | None:
    """The operator for the next chat: free capacity, least loaded, then longest
    idle (smallest ``idle_since``), then id for a stable order."""
    best: Candidate | None = None
    for c in candidates:
        if c.load >= c.max_chats:
            continue
        if best is None or (c.load, c.idle_since, c.operator_id) < (
            best.load,
            best.idle_since,
            best.operator_id,
        ):
            best = c
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
