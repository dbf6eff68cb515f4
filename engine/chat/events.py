"""Events the engine pushes to connected clients (visitor connections and
operator sessions) through their sinks. Front ends translate them: the
websocket edge to JSON frames, the gRPC services to protobuf. Version 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class MessageEvent:
    """A stored message (or system notice) of a conversation."""

    conversation_id: str
    seq: int
    author_kind: str  # "visitor" | "operator" | "system"
    author_id: str
    author_name: str
    text: str
    client_msg_id: str
    sent_at_ms: int


@dataclass(frozen=True, slots=True)
class Ack:
    conversation_id: str
    client_msg_id: str
    seq: int


@dataclass(frozen=True, slots=True)
class CommandFailed:
    code: str
    message: str
    retryable: bool = False
    client_msg_id: str = ""
    conversation_id: str = ""


@dataclass(frozen=True, slots=True)
class Queued:
    conversation_id: str
    position: int


@dataclass(frozen=True, slots=True)
class OperatorJoined:
    conversation_id: str
    operator_name: str


@dataclass(frozen=True, slots=True)
class Assigned:
    """To an operator: a conversation is now theirs."""

    conversation_id: str
    site_id: str
    department_id: str
    visitor_id: str
    visitor_name: str
    last_seq: int


@dataclass(frozen=True, slots=True)
class Closed:
    conversation_id: str
    closed_by: str


Event = MessageEvent | Ack | CommandFailed | Queued | OperatorJoined | Assigned | Closed


class Sink(Protocol):
    """Where a client's events go. ``push`` must not block or raise; a sink whose
    client is too slow drops the connection itself (the client resumes by seq)."""

    def push(self, event: Event) -> None: ...
