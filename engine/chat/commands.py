"""Commands from clients to their session, the same whichever front end read them.

The websocket edge parses JSON frames into these, the gRPC visitor channel and
operator session stream convert protobuf messages into them, and
:mod:`engine.chat.dispatch` carries each onto the session, once for every front
end. They are plain values checked for shape by the front end (types, presence);
the session checks what they mean (lengths, ids, rules).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# -- visitor ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hello:
    department: str = ""
    token: str = ""
    last_seq: int = 0
    name: str = ""
    email: str = ""
    region: str = ""
    page_url: str = ""
    language: str = ""
    title: str = ""
    referrer: str = ""
    tz_offset: int = 0  # minutes, local time minus UTC
    epoch: str = ""  # the data's epoch last_seq was seen in (engine/backup.py)
    conversation: str = ""  # the conversation last_seq is of ("": the open one)


@dataclass(frozen=True, slots=True)
class PageChange:
    url: str
    title: str = ""


@dataclass(frozen=True, slots=True)
class Choose:
    department: str
    region: str = ""


@dataclass(frozen=True, slots=True)
class LeaveTicket:
    """The offline form."""

    name: str
    email: str
    text: str


@dataclass(frozen=True, slots=True)
class Send:
    cid: str
    text: str


@dataclass(frozen=True, slots=True)
class Prechat:
    """The pre-chat form: who the visitor is, and its question (the chat's
    first message, posted with ``cid``)."""

    name: str = ""
    email: str = ""
    question: str = ""
    cid: str = ""


@dataclass(frozen=True, slots=True)
class CloseChat:
    pass


@dataclass(frozen=True, slots=True)
class ReadTo:
    seq: int


@dataclass(frozen=True, slots=True)
class TypingNow:
    active: bool
    text: str = ""


@dataclass(frozen=True, slots=True)
class RateChat:
    score: int
    comment: str = ""


@dataclass(frozen=True, slots=True)
class DeclineInvitation:
    """The visitor dismissed an operator's invitation."""


@dataclass(frozen=True, slots=True)
class UnknownCommand:
    """A command this server does not know (a newer client's, say)."""


VisitorCommand = (
    Hello
    | Send
    | CloseChat
    | RateChat
    | TypingNow
    | ReadTo
    | Choose
    | LeaveTicket
    | PageChange
    | DeclineInvitation
    | Prechat
    | UnknownCommand
)

# -- operator -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OperatorHello:
    """Attach the session; ``resume`` maps a conversation to the last seq seen,
    in the data's ``epoch`` ("": taken as the server's; engine/backup.py)."""

    resume: dict[str, int] = field(default_factory=dict)
    epoch: str = ""


@dataclass(frozen=True, slots=True)
class OperatorSend:
    conversation_id: str
    client_msg_id: str
    text: str
    note: bool = False  # a whisper: only operators see it


@dataclass(frozen=True, slots=True)
class OperatorClose:
    conversation_id: str


@dataclass(frozen=True, slots=True)
class OperatorTyping:
    conversation_id: str
    active: bool


@dataclass(frozen=True, slots=True)
class OperatorRead:
    conversation_id: str
    seq: int


@dataclass(frozen=True, slots=True)
class SetMyStatus:
    status: str


@dataclass(frozen=True, slots=True)
class OfferAnswer:
    conversation_id: str
    accept: bool


@dataclass(frozen=True, slots=True)
class PickChat:
    conversation_id: str


@dataclass(frozen=True, slots=True)
class ChatAction:
    """join (maybe invisibly), leave, invite, transfer (to an operator or a
    department), take_over (from an operator, or the owner), chat_status; an
    empty ``action`` is one this server does not know."""

    conversation_id: str
    action: str
    invisible: bool = False
    operator_id: str = ""
    department_id: str = ""
    from_id: str = ""
    status: str = ""


@dataclass(frozen=True, slots=True)
class DirectSend:
    to_operator_id: str
    client_msg_id: str
    text: str


OperatorCommand = (
    OperatorHello
    | OperatorSend
    | OperatorClose
    | OperatorTyping
    | OperatorRead
    | SetMyStatus
    | OfferAnswer
    | PickChat
    | ChatAction
    | DirectSend
    | UnknownCommand
)
