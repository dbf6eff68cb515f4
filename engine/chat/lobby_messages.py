"""Commands to the Lobby actor (one per account): the visitors on the account's
sites now, and the operators' invitations to chat (PRODUCT.md C13). Visitor
connections tell it what they show; operator sessions watch its count; the
Visitors RPCs ask it for a page and to invite. Same conventions as
:mod:`engine.chat.messages`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from engine.chat.events import Sink
from engine.runtime import Request


@dataclass(frozen=True, slots=True)
class VisitorSeen:
    """A visitor connection arrived or changed (its page, a chat opened or
    closed): what it shows now. The connection is the sink."""

    site_id: str
    visitor_id: str
    sink: Sink = field(compare=False)
    name: str = ""
    page_url: str = ""
    page_title: str = ""
    referrer: str = ""
    language: str = ""
    returning: bool = False  # came back with a token
    conversation_id: str = ""  # the open chat, if any


@dataclass(frozen=True, slots=True)
class VisitorGone:
    """A visitor connection ended."""

    visitor_id: str
    sink: Sink = field(compare=False)


class OnlineVisitor(NamedTuple):
    """One visitor on a site now (all its connections together)."""

    visitor_id: str
    site_id: str
    name: str
    page_url: str
    page_title: str
    referrer: str
    language: str
    returning: bool
    arrived_ms: int  # the first of its connections still open
    conversation_id: str
    connections: int
    invited_by: str  # the operator whose invitation is pending, or ""


@dataclass(frozen=True, slots=True)
class ListOnline(Request[list[OnlineVisitor]]):
    """Reply: up to ``limit`` visitors in (arrived_ms, visitor_id) order after
    ``after``; of one site, or of every site with ``site_id`` empty."""

    site_id: str
    after: tuple[int, str] | None
    limit: int


@dataclass(frozen=True, slots=True)
class Invite(Request[str]):
    """An operator invites an online visitor (checked: online, no chat, not
    invited already). Reply: the invitation id."""

    visitor_id: str
    operator_id: str
    operator_name: str
    avatar_url: str
    text: str


@dataclass(frozen=True, slots=True)
class InvitationAnswered:
    """The visitor answered (accepted: its first message) or declined."""

    visitor_id: str
    invitation_id: str
    accepted: bool


@dataclass(frozen=True, slots=True)
class InvitationExpired:
    """Timer: nobody answered in time."""

    visitor_id: str
    invitation_id: str


@dataclass(frozen=True, slots=True)
class VisitorLeft:
    """Timer: a visitor's last connection went a while ago and none came back
    (a page change reconnects within it)."""

    visitor_id: str


@dataclass(frozen=True, slots=True)
class WatchLobby:
    """An operator session wants the coalesced count (VisitorsOnline)."""

    sink: Sink = field(compare=False)


@dataclass(frozen=True, slots=True)
class UnwatchLobby:
    sink: Sink = field(compare=False)


@dataclass(frozen=True, slots=True)
class LobbyTick:
    """Timer: tell the watchers the count, if anything changed."""


LobbyCommand = (
    VisitorSeen
    | VisitorGone
    | ListOnline
    | Invite
    | InvitationAnswered
    | InvitationExpired
    | VisitorLeft
    | WatchLobby
    | UnwatchLobby
    | LobbyTick
)
