"""Commands to the actors of a whole account and to the internal chat: Presence
(who is online, the departments' live state), Board (the operators' views of the
chats) and InternalChat (direct messages between two operators). Part of
:mod:`engine.chat.messages`, which exports them all; the same conventions hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.chat.events import ChatCard, Departments, Sink
from engine.runtime import Request


@dataclass(frozen=True, slots=True)
class PresenceTick:
    """Timer: re-check the reception schedule; and the grace after a drop."""


# -- Presence (one per account) -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PresenceUpdate:
    """From an operator actor: the status shown and whether it takes chats now."""

    operator_id: str
    status: str  # online | away | offline
    available: bool
    languages: tuple[str, ...]
    region_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class WatchSite(Request[Departments]):
    """A visitor connection wants the site's department states. Reply: the view."""

    site_id: str
    sink: Sink = field(compare=False)


@dataclass(frozen=True, slots=True)
class UnwatchSite:
    site_id: str
    sink: Sink = field(compare=False)


@dataclass(frozen=True, slots=True)
class WatchOperators(Request[list[tuple[str, str, str]]]):
    """An operator session wants the operators list. Reply: list of
    (operator id, display name, status)."""

    sink: Sink = field(compare=False)


@dataclass(frozen=True, slots=True)
class UnwatchOperators:
    sink: Sink = field(compare=False)


@dataclass(frozen=True, slots=True)
class GetPresence(Request[dict[str, str]]):
    """Reply: {operator id: status} for the account's operators known online."""


@dataclass(frozen=True, slots=True)
class ConfigChanged:
    """Departments, regions or operators changed: recompute the views."""


# -- Internal chat (one actor per pair of operators) ------------------------------


@dataclass(frozen=True, slots=True)
class SendDirect(Request[int]):
    """Reply: the message's seq once stored (the original one for a resend)."""

    from_id: str
    from_name: str
    to_id: str
    client_msg_id: str
    text: str


@dataclass(frozen=True, slots=True)
class DirectCommitted:
    seq: int
    error: BaseException | None = field(compare=False)


InternalCommand = SendDirect | DirectCommitted


# -- Board (one per account: the operators' chat lists) --------------------------------


@dataclass(frozen=True, slots=True)
class CardChanged:
    card: ChatCard = field(compare=False)


@dataclass(frozen=True, slots=True)
class WatchBoard(Request[list[tuple[ChatCard, str]]]):
    """An operator session wants its views. ``scope``: own | department | all.
    Reply: list of (card, view) it may see."""

    sink: Sink = field(compare=False)
    operator_id: str
    scope: str
    department_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class UnwatchBoard:
    sink: Sink = field(compare=False)


@dataclass(frozen=True, slots=True)
class RescopeBoard:
    """A watching session's role or departments changed: re-evaluate its views
    (ChatUnlisted for what it may no longer see, ChatListed for what it now may)."""

    sink: Sink = field(compare=False)
    scope: str
    department_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class GetCard(Request[ChatCard | None]):
    """Reply: the card of a conversation, or None."""

    conversation_id: str


@dataclass(frozen=True, slots=True)
class GetBoardStats(Request[dict[str, dict[str, int]]]):
    """Reply: {department id: counts} of the site's open and missed chats."""

    site_id: str


BoardCommand = CardChanged | WatchBoard | UnwatchBoard | RescopeBoard | GetCard | GetBoardStats


PresenceCommand = (
    PresenceUpdate
    | WatchSite
    | UnwatchSite
    | WatchOperators
    | UnwatchOperators
    | GetPresence
    | ConfigChanged
    | PresenceTick
)
