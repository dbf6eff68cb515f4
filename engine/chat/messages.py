"""Commands to the chat actors: frozen, slotted dataclasses, a union per kind (the
one-per-message commands, Post and Committed, are NamedTuples: see events.py).
Each actor's ``receive`` takes its kind's union (``VisitorCommand``,
``ConversationCommand``...), so a type checker proves it handles every member.

Replies travel in the envelope (``tell(msg, reply)`` / ``ask``), never in here. A
command that is answered subclasses ``Request[R]``, ``R`` its reply's type, so
``ref.ask(GetConversation())`` is a future of a :class:`ConversationSummary`.
Replies with several fields are frozen dataclasses or NamedTuples, defined here
beside their request.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from operator import attrgetter
from typing import NamedTuple, Protocol

from engine.chat.account_messages import (
    BoardCommand as BoardCommand,
)
from engine.chat.account_messages import (
    CardChanged as CardChanged,
)
from engine.chat.account_messages import (
    ConfigChanged as ConfigChanged,
)
from engine.chat.account_messages import (
    DirectCommitted as DirectCommitted,
)
from engine.chat.account_messages import (
    GetBoardStats as GetBoardStats,
)
from engine.chat.account_messages import (
    GetCard as GetCard,
)
from engine.chat.account_messages import (
    GetPresence as GetPresence,
)
from engine.chat.account_messages import (
    InternalCommand as InternalCommand,
)
from engine.chat.account_messages import (
    PresenceCommand as PresenceCommand,
)
from engine.chat.account_messages import (
    PresenceTick as PresenceTick,
)
from engine.chat.account_messages import (
    PresenceUpdate as PresenceUpdate,
)
from engine.chat.account_messages import (
    RescopeBoard as RescopeBoard,
)
from engine.chat.account_messages import (
    SendDirect as SendDirect,
)
from engine.chat.account_messages import (
    UnwatchBoard as UnwatchBoard,
)
from engine.chat.account_messages import (
    UnwatchOperators as UnwatchOperators,
)
from engine.chat.account_messages import (
    UnwatchSite as UnwatchSite,
)
from engine.chat.account_messages import (
    WatchBoard as WatchBoard,
)
from engine.chat.account_messages import (
    WatchOperators as WatchOperators,
)
from engine.chat.account_messages import (
    WatchSite as WatchSite,
)
from engine.chat.events import Event, FileRef, Sink
from engine.chat.journal import ReplayPage
from engine.chat.policies import Candidate
from engine.runtime import Reply, Request


@dataclass(frozen=True, slots=True)
class ConversationInfo:
    """What routing needs to know of a conversation (stored as a list, so new
    fields go last, with defaults)."""

    conversation_id: str
    site_id: str
    department_id: str
    visitor_id: str
    visitor_name: str
    language: str = ""  # the visitor's primary language ('' when unknown)
    region_id: str = ""  # the region the visitor chose
    group_id: str = ""  # from the first link rule matching the visitor's page
    preferred_operator_id: str = ""  # the one the visitor spoke to last
    priority: int = 0  # higher first; forwarded and moved chats get 1

    def to_list(self) -> list[str | int]:
        return list(_INFO_ROW(self))


_INFO_ROW = attrgetter(*(f.name for f in fields(ConversationInfo)))
"""A ConversationInfo's fields as a tuple, in order (its stored list), taken in C:
``map(info_rows, infos)`` is how an operator's snapshot lists its chats."""


def info_rows(infos: Iterable[ConversationInfo]) -> list[tuple[str | int, ...]]:
    """The stored lists of ``infos`` (as tuples: encoded the same)."""
    return list(map(_INFO_ROW, infos))


# -- Visitor ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InvitationWords:
    """The invitation a visitor answered: its operator and words, which become
    the first message of the chat the answer opens."""

    operator_id: str
    operator_name: str  # the display name the visitor was shown
    text: str


@dataclass(frozen=True, slots=True)
class OpenConversation(Request[str]):
    """Reply: the id of the visitor's open conversation, made if there is none."""

    department_id: str
    language: str = ""
    region_id: str = ""
    group_id: str = ""
    invitation: InvitationWords | None = None  # the invitation the visitor answered


@dataclass(frozen=True, slots=True)
class ConversationEnded:
    conversation_id: str
    last_operator_id: str = ""


@dataclass(frozen=True, slots=True)
class MissedReply:
    """An operator answered the visitor's missed chat: deliver it on return."""

    conversation_id: str


class VisitorState(NamedTuple):
    """Reply to GetVisitor ("" where there is none)."""

    conversation_id: str  # the open conversation
    name: str
    last_conversation_id: str  # the last one that ended
    missed_reply: str  # a missed chat with an answer waiting
    email: str = ""


@dataclass(frozen=True, slots=True)
class GetVisitor(Request[VisitorState]):
    """Reply: the visitor's :class:`VisitorState`."""


@dataclass(frozen=True, slots=True)
class Visit:
    """A connection said hello: what it tells about the visitor."""

    ip: str
    user_agent: str
    referrer: str
    page_url: str
    page_title: str
    language: str
    tz_offset_minutes: int  # the visitor's local time minus UTC
    at_ms: int


@dataclass(frozen=True, slots=True)
class PageView:
    url: str
    title: str
    at_ms: int


@dataclass(frozen=True, slots=True)
class VisitorInfo:
    """Reply to GetVisitorInfo: what is known of the visitor."""

    visitor_id: str
    site_id: str
    name: str
    email: str
    visits: int
    first_seen_ms: int
    last_seen_ms: int
    ip: str
    user_agent: str
    referrer: str
    language: str
    tz_offset_minutes: int  # the visitor's local time minus UTC
    pages: tuple[tuple[str, str, int], ...]  # (url, title, at_ms), oldest first
    conversation_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class GetVisitorInfo(Request[VisitorInfo]):
    """Reply: the :class:`VisitorInfo`."""


@dataclass(frozen=True, slots=True)
class Identify:
    """The visitor said who it is (a hello or the pre-chat form): a name or
    email given replaces the stored one, and its open chat is told."""

    name: str
    email: str


@dataclass(frozen=True, slots=True)
class MissedDelivered:
    conversation_id: str


@dataclass(frozen=True, slots=True)
class Register(Request[None]):
    """A new visitor: its identity and the digest of its token, stored in one
    commit before the reply (the token then finds the visitor)."""

    site_id: str
    name: str
    email: str
    token_digest: bytes = field(repr=False)


VisitorCommand = (
    Register
    | OpenConversation
    | ConversationEnded
    | GetVisitor
    | Visit
    | PageView
    | GetVisitorInfo
    | MissedReply
    | MissedDelivered
    | Identify
)


# -- Conversation ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Start:
    info: ConversationInfo
    invitation: InvitationWords | None = None  # its words are the first message


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
    attachment: FileRef | None = None  # a file's message (engine/attachments/)


@dataclass(frozen=True, slots=True)
class Subscribe(Request[int]):
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
    eta_seconds: int = 0


@dataclass(frozen=True, slots=True)
class CloseConversation(Request[None]):
    by_kind: str  # "visitor" | "operator" | "system"
    by_id: str
    reason: str = ""  # for "system": abandoned, no_operator, operator_offline


@dataclass(frozen=True, slots=True)
class MoveToDepartment:
    """The queue gave up waiting: go on waiting in another department."""

    department_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class OperatorLeft:
    """An operator left the chat (went offline); with ``requeue`` the chat goes
    back to its department's queue if nobody else is in it."""

    operator_id: str
    requeue: bool


@dataclass(frozen=True, slots=True)
class AbandonCheck:
    """Timer: is the waiting visitor still gone?"""


class Committed(NamedTuple):
    """The store committed (or failed) the conversation's pending entries up to seq."""

    seq: int
    error: BaseException | None


@dataclass(frozen=True, slots=True)
class MarkRead(Request[int]):
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
class Rate(Request[int]):
    """The visitor's rating of a closed conversation, once. Reply: the score."""

    visitor_id: str
    score: int
    comment: str


@dataclass(frozen=True, slots=True)
class JoinChat(Request[None]):
    """An operator joins a chat it may see; ``invisible``: the visitor is not
    told until it writes. Reply: None."""

    operator_id: str
    operator_name: str
    invisible: bool


@dataclass(frozen=True, slots=True)
class InviteOperator(Request[None]):
    """A participant brings a colleague in (who must be online, below its limit)."""

    by_id: str
    operator_id: str


@dataclass(frozen=True, slots=True)
class TransferToOperator(Request[None]):
    """Hand the chat to a colleague and leave it."""

    by_id: str
    operator_id: str


@dataclass(frozen=True, slots=True)
class TransferToDepartment(Request[None]):
    """Send the chat back to the queue of a department (of the same site) and leave."""

    by_id: str
    department_id: str


@dataclass(frozen=True, slots=True)
class LeaveChat(Request[None]):
    operator_id: str


@dataclass(frozen=True, slots=True)
class TakeOver(Request[None]):
    """Take the chat from ``from_id`` (the owner the taker saw: if it changed
    meanwhile, the take-over is refused)."""

    operator_id: str
    operator_name: str
    from_id: str


@dataclass(frozen=True, slots=True)
class SetChatStatus(Request[None]):
    """active | on_hold (frees the operator's slot) | not_waiting (the visitor is
    not waiting for an answer now; notifications muted)."""

    operator_id: str
    status: str


@dataclass(frozen=True, slots=True)
class ClaimDone:
    """Self-message: an operator answered a claim the conversation made for an
    invite, transfer or take-over."""

    action: InviteOperator | TransferToOperator | TakeOver = field(compare=False)
    operator_id: str
    accepted: bool
    reply: Reply | None = field(compare=False)


@dataclass(frozen=True, slots=True)
class ReplayMissed(Request[int]):
    """Push the operators' answers to this missed chat to ``sink``. Reply: how
    many messages."""

    sink: Sink = field(compare=False)


@dataclass(frozen=True, slots=True)
class ConversationSummary:
    """Reply to GetConversation."""

    id: str
    site_id: str
    department_id: str
    visitor_id: str
    visitor_name: str
    status: str  # queued | active | closed
    operators: dict[str, str]  # id -> name, in the chat and visible to the visitor
    last_seq: int
    rating: int
    visitor_connected: bool
    invisible: dict[str, str]  # id -> name, joined without the visitor knowing
    missed: bool
    chat_status: str  # "" | on_hold | not_waiting
    closed_seq: int = 0  # the close notice's seq (0 while open)


@dataclass(frozen=True, slots=True)
class RenameVisitor:
    """The chat's visitor gave a new name or email (the operators see it)."""

    name: str
    email: str


@dataclass(frozen=True, slots=True)
class GetConversation(Request[ConversationSummary]):
    """Reply: the :class:`ConversationSummary`."""


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
    | MoveToDepartment
    | OperatorLeft
    | AbandonCheck
    | JoinChat
    | InviteOperator
    | TransferToOperator
    | TransferToDepartment
    | LeaveChat
    | TakeOver
    | SetChatStatus
    | ClaimDone
    | ReplayMissed
    | ReplayPage
    | RenameVisitor
)


# -- Operator ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AttachSession(Request[tuple[str, int, str]]):
    """Reply: (display name, max chats, status shown)."""

    sink: Sink = field(compare=False)
    resume: dict[str, int] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class DetachSession:
    sink: Sink = field(compare=False)


@dataclass(frozen=True, slots=True)
class Claim(Request[tuple[str, int, int]]):
    """From a queue, or a conversation (invite, transfer, take-over). Reply:
    (outcome, load, max chats), outcome one of "accepted", "offered" (the
    operator must accept in time) or "refused". ``picked``: the operator chose
    it from the New pool (capacity still holds). ``confirm``: accepted quietly,
    counted but not shown: the sessions hear of the chat once the conversation
    sends :class:`ConfirmClaim`; a ``Released`` instead hands it back unseen."""

    info: ConversationInfo
    picked: bool = False
    confirm: bool = False


@dataclass(frozen=True, slots=True)
class ConfirmClaim:
    """From a conversation: the quiet claim on it stands (the operator is in the
    chat now): tell the sessions."""

    conversation_id: str


@dataclass(frozen=True, slots=True)
class Adopt:
    """The operator joined a chat (uncounted: its limit is for chats it was
    given): its sessions follow it."""

    info: ConversationInfo


@dataclass(frozen=True, slots=True)
class Hold(Request[bool]):
    """The chat is on hold (``on``) and frees its slot, or back. Reply: True, or
    False when going back would pass the limit."""

    conversation_id: str
    on: bool


@dataclass(frozen=True, slots=True)
class AnswerOffer(Request[None]):
    """The operator accepts or declines an offer. Reply: None."""

    conversation_id: str
    accept: bool


@dataclass(frozen=True, slots=True)
class OfferExpired:
    conversation_id: str


@dataclass(frozen=True, slots=True)
class WithdrawOffer:
    """From the queue: the visitor left while the offer was out."""

    conversation_id: str


@dataclass(frozen=True, slots=True)
class SetStatus(Request[str]):
    """online | away | offline. Reply: the status shown."""

    status: str


@dataclass(frozen=True, slots=True)
class SettingsChanged:
    """The operator's record changed (limit, departments, languages...)."""


@dataclass(frozen=True, slots=True)
class Offboard(Request[None]):
    """The operator was disabled or deleted: it takes no more chats, its offers
    go back to their queues, and its open chats follow each department's
    offline rule now (kept, forwarded back to the queue, or closed), without
    the offline delay. Asked before the record goes, so it can be read."""


@dataclass(frozen=True, slots=True)
class GraceOver:
    """Timer: the operator's last session dropped this long ago."""


@dataclass(frozen=True, slots=True)
class OrphanCheck:
    """Timer: the operator has been offline for a department's offline_seconds."""

    conversation_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Released:
    conversation_id: str


@dataclass(frozen=True, slots=True)
class NotifySessions:
    """An event for every session of the operator (about a chat it has left)."""

    event: Event = field(compare=False)


@dataclass(frozen=True, slots=True)
class OperatorState:
    """Reply to GetOperatorState."""

    online: bool  # a session is attached
    status: str  # the status shown: online | away | offline
    available: bool  # takes new chats now
    sessions: int
    load: int  # open chats counted toward the limit
    offers: tuple[str, ...]  # conversation ids, sorted
    conversations: tuple[str, ...]  # counted chats, sorted
    extra: tuple[str, ...]  # chats joined or on hold (uncounted), sorted


@dataclass(frozen=True, slots=True)
class GetOperatorState(Request[OperatorState]):
    """Reply: the :class:`OperatorState`."""


class AccessWatcher(Protocol):
    """A long-lived stream's hold on its operator's token and permissions
    (:class:`engine.chat.sessions.access.StreamAccess`)."""

    def recheck(self) -> None:
        """Re-read the token and permissions; end or narrow the stream. Must not
        block or raise."""


@dataclass(frozen=True, slots=True)
class WatchAccess:
    """A stream of this operator opened: re-check it now (a revocation may have
    passed between its login check and this message) and on every AccessChanged."""

    watcher: AccessWatcher = field(compare=False)


@dataclass(frozen=True, slots=True)
class UnwatchAccess:
    watcher: AccessWatcher = field(compare=False)


@dataclass(frozen=True, slots=True)
class AccessChanged:
    """The operator's tokens, role, role's permissions, departments or standing
    changed (a password reset, sessions revoked, a role edited, disabled): every
    open stream of it re-checks at once."""


OperatorCommand = (
    AttachSession
    | DetachSession
    | Claim
    | ConfirmClaim
    | Released
    | NotifySessions
    | GetOperatorState
    | AnswerOffer
    | Adopt
    | Hold
    | OfferExpired
    | WithdrawOffer
    | SetStatus
    | SettingsChanged
    | Offboard
    | PresenceTick
    | GraceOver
    | OrphanCheck
    | WatchAccess
    | UnwatchAccess
    | AccessChanged
)


# -- DepartmentQueue ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Enqueue:
    """Wait in the line. ``key``: the place the conversation stored for it (in
    the same commit as its record); empty: the queue stores one itself."""

    info: ConversationInfo
    key: bytes = b""


@dataclass(frozen=True, slots=True)
class Dequeue:
    conversation_id: str


@dataclass(frozen=True, slots=True)
class OperatorAvailable:
    candidate: Candidate


@dataclass(frozen=True, slots=True)
class OperatorGone:
    operator_id: str


@dataclass(frozen=True, slots=True)
class ClaimResult:
    conversation_id: str
    operator_id: str
    outcome: str  # accepted | offered | refused | failed
    load: int
    max_chats: int
    picked: bool = False


@dataclass(frozen=True, slots=True)
class OfferAnswered:
    conversation_id: str
    operator_id: str
    accepted: bool


@dataclass(frozen=True, slots=True)
class Pick(Request[None]):
    """An operator takes a waiting chat from the New pool. Reply: None once
    claimed, or a refusal."""

    conversation_id: str
    operator_id: str


@dataclass(frozen=True, slots=True)
class WaitExpired:
    conversation_id: str


class QueuedChat(NamedTuple):
    """One chat of the waiting line, as GetQueue tells it."""

    conversation_id: str
    visitor_name: str
    position: int  # from 1
    waited_seconds: int
    language: str
    region_id: str
    offered_to: str  # the operator with an offer out for it, or ""


@dataclass(frozen=True, slots=True)
class GetQueue(Request[list[QueuedChat]]):
    """Reply: the waiting line, in order."""


QueueCommand = (
    Enqueue
    | Dequeue
    | OperatorAvailable
    | OperatorGone
    | ClaimResult
    | OfferAnswered
    | Pick
    | WaitExpired
    | GetQueue
)
