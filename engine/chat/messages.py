"""Commands to the chat actors: frozen, slotted dataclasses, a union per kind (the
one-per-message commands, Post and Committed, are NamedTuples: see events.py).

Replies travel in the envelope (``tell(msg, reply)`` / ``ask``), never in here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from engine.chat.events import Sink


@dataclass(frozen=True, slots=True)
class ConversationInfo:
    conversation_id: str
    site_id: str
    department_id: str
    visitor_id: str
    visitor_name: str


# -- Visitor ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpenConversation:
    """Reply: the id of the visitor's open conversation, made if there is none."""

    department_id: str


@dataclass(frozen=True, slots=True)
class ConversationEnded:
    conversation_id: str


@dataclass(frozen=True, slots=True)
class GetVisitor:
    """Reply: (open conversation id or "", name, last ended conversation id or "")."""


VisitorCommand = OpenConversation | ConversationEnded | GetVisitor


# -- Conversation ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Start:
    info: ConversationInfo


class Post(NamedTuple):
    """Reply: the message's seq, after its commit (the original seq for a resend).
    ``origin`` is the sink the post came from: it gets the ack, not an echo.
    A NamedTuple, like the events: one is made per chat message (see events.py)."""

    author_kind: str
    author_id: str
    author_name: str
    client_msg_id: str
    text: str
    origin: Sink | None = None


@dataclass(frozen=True, slots=True)
class Subscribe:
    """Replay what ``sink`` missed after ``after_seq``, then deliver live.
    Reply: the last delivered seq."""

    sink: Sink = field(compare=False)
    after_seq: int
    role: str  # "visitor" | "operator"


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    sink: Sink = field(compare=False)


@dataclass(frozen=True, slots=True)
class AssignTo:
    operator_id: str
    operator_name: str


@dataclass(frozen=True, slots=True)
class QueuePositionChanged:
    position: int


@dataclass(frozen=True, slots=True)
class CloseConversation:
    by_kind: str
    by_id: str


class Committed(NamedTuple):
    """The store committed (or failed) the conversation's pending entries up to seq."""

    seq: int
    error: BaseException | None


@dataclass(frozen=True, slots=True)
class MarkRead:
    """A participant has read up to ``seq``. Reply: the read position kept
    (it never moves back)."""

    reader_kind: str
    reader_id: str
    reader_name: str
    seq: int
    origin: Sink | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class SetTyping:
    """Not stored: passed to the other participants at once."""

    author_kind: str
    author_id: str
    author_name: str
    active: bool
    preview: str
    origin: Sink | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Rate:
    """The visitor's rating of a closed conversation, once. Reply: the score."""

    visitor_id: str
    score: int
    comment: str


@dataclass(frozen=True, slots=True)
class GetConversation:
    """Reply: a dict summary."""


ConversationCommand = (
    Start
    | Post
    | Subscribe
    | Unsubscribe
    | AssignTo
    | QueuePositionChanged
    | CloseConversation
    | Committed
    | Rate
    | SetTyping
    | MarkRead
    | GetConversation
)


# -- Operator ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AttachSession:
    """Reply: (display name, max chats)."""

    sink: Sink = field(compare=False)
    resume: dict[str, int] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class DetachSession:
    sink: Sink = field(compare=False)


@dataclass(frozen=True, slots=True)
class Claim:
    """From a queue. Reply: (accepted, load, max chats)."""

    info: ConversationInfo


@dataclass(frozen=True, slots=True)
class Released:
    conversation_id: str


@dataclass(frozen=True, slots=True)
class NotifySessions:
    """An event for every session of the operator (about a chat it has left)."""

    event: Any = field(compare=False)


@dataclass(frozen=True, slots=True)
class GetOperatorState:
    """Reply: dict with online, load, conversations."""


OperatorCommand = (
    AttachSession | DetachSession | Claim | Released | NotifySessions | GetOperatorState
)


# -- DepartmentQueue ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Enqueue:
    info: ConversationInfo


@dataclass(frozen=True, slots=True)
class Dequeue:
    conversation_id: str


@dataclass(frozen=True, slots=True)
class OperatorAvailable:
    operator_id: str
    load: int
    max_chats: int
    idle_since: float


@dataclass(frozen=True, slots=True)
class OperatorGone:
    operator_id: str


@dataclass(frozen=True, slots=True)
class ClaimResult:
    conversation_id: str
    operator_id: str
    accepted: bool
    load: int
    max_chats: int


@dataclass(frozen=True, slots=True)
class GetQueue:
    """Reply: list of waiting conversation ids."""


QueueCommand = Enqueue | Dequeue | OperatorAvailable | OperatorGone | ClaimResult | GetQueue
