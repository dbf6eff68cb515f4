"""The Lobby actor, one per account: the visitors on its sites now, and the
operators' invitations to chat (PRODUCT.md C13).

Visitor connections tell it when they arrive, change (a page, a chat opened or
closed) and leave; it keeps one entry per visitor with its connections, so a
visitor with three tabs is one row. Operators read it a page at a time
(``ListOnline``), never as a stream of page views: their sessions get at most
one ``VisitorsOnline`` count a second, and only when something changed, however
many visitors come and go. A site with 10,000 visitors costs a dict entry each
and one event a second per operator session.

An invitation is pushed to every connection of the visitor; it ends once, told
to the inviter's sessions (and the visitor's connections): accepted (the
visitor's first message, whose chat prefers the inviter and opens with the
invitation's words as the inviter's message: the visitor's session carries the
``Invitation`` into ``OpenConversation``), declined, expired
(``INVITATION_SECONDS``) or left (its last connection closed). Nothing here is
stored: a restart forgets who is online, and every connection tells again.
"""

from __future__ import annotations

from engine.chat import ids
from engine.chat.events import Invitation, InvitationEnded, Sink, VisitorsOnline
from engine.chat.kinds import OPERATOR
from engine.chat.lobby_messages import (
    InvitationAnswered,
    InvitationExpired,
    Invite,
    ListOnline,
    LobbyCommand,
    LobbyTick,
    OnlineVisitor,
    UnwatchLobby,
    VisitorGone,
    VisitorLeft,
    VisitorSeen,
    WatchLobby,
)
from engine.chat.messages import NotifySessions
from engine.chat.services import ChatServices, Context
from engine.errors import FailedPrecondition, NotFound
from engine.runtime import Actor, MailboxFull, unhandled

INVITATION_SECONDS = 300.0  # an invitation nobody answers expires after this
COUNT_EVERY = 1.0  # seconds between VisitorsOnline events, at most
# A visitor whose last connection went is still on the site this long: moving to
# another page closes one websocket and opens the next.
LEAVE_GRACE = 15.0
_TICK = "count"


class _Pending:
    __slots__ = ("id", "operator_id", "event")

    def __init__(self, invitation_id: str, operator_id: str, event: Invitation) -> None:
        self.id = invitation_id
        self.operator_id = operator_id
        self.event = event  # shown again on a connection that comes later (a new page)


class _Here:
    """One visitor: its connections, each with what it last showed."""

    __slots__ = ("arrived_ms", "connections", "latest")

    def __init__(self, arrived_ms: int) -> None:
        self.arrived_ms = arrived_ms
        self.connections: dict[Sink, VisitorSeen] = {}
        self.latest: VisitorSeen | None = None  # the last change of any connection


class Lobby(Actor[LobbyCommand, ChatServices]):
    def __init__(self, key: str, snapshot: bytes | None) -> None:
        self.account_id = key
        self.here: dict[str, _Here] = {}
        self.invitations: dict[str, _Pending] = {}  # by visitor id
        self.watchers: set[Sink] = set()
        self._changed = False

    def can_passivate(self) -> bool:
        return not self.here and not self.watchers and not self.invitations

    def receive(self, message: LobbyCommand, ctx: Context) -> object:
        match message:
            case VisitorSeen(_site, visitor_id, sink):
                here = self.here.get(visitor_id)
                if here is None:
                    here = self.here[visitor_id] = _Here(ctx.clock.wall_ms())
                here.connections[sink] = message
                here.latest = message
                ctx.cancel_timer(("left", visitor_id))
                pending = self.invitations.get(visitor_id)
                if pending is not None and not message.conversation_id:
                    sink.push(pending.event)  # the invitation follows it to a new page
                self._touch(ctx)
                return None
            case VisitorGone(visitor_id, sink):
                here = self.here.get(visitor_id)
                if here is None or here.connections.pop(sink, None) is None:
                    return None
                if here.connections:
                    if here.latest is not None and here.latest.sink is sink:
                        here.latest = next(reversed(here.connections.values()))
                    self._touch(ctx)
                else:  # gone, unless a new page connects in a moment
                    ctx.start_timer(("left", visitor_id), LEAVE_GRACE, VisitorLeft(visitor_id))
                return None
            case VisitorLeft(visitor_id):
                here = self.here.get(visitor_id)
                if here is not None and not here.connections:
                    del self.here[visitor_id]
                    self._end(visitor_id, "left", ctx)
                    self._touch(ctx)
                return None
            case ListOnline(site_id, after, limit):
                return self._list(site_id, after, limit)
            case Invite():
                return self._invite(message, ctx)
            case InvitationAnswered(visitor_id, invitation_id, accepted):
                pending = self.invitations.get(visitor_id)
                if pending is not None and pending.id == invitation_id:
                    self._end(visitor_id, "accepted" if accepted else "declined", ctx)
                return None
            case InvitationExpired(visitor_id, invitation_id):
                pending = self.invitations.get(visitor_id)
                if pending is not None and pending.id == invitation_id:
                    self._end(visitor_id, "expired", ctx)
                return None
            case WatchLobby(sink):
                self.watchers.add(sink)
                return None
            case UnwatchLobby(sink):
                self.watchers.discard(sink)
                return None
            case LobbyTick():
                if self._changed:
                    self._changed = False
                    event = VisitorsOnline(len(self.here))
                    for sink in self.watchers:
                        sink.push(event)
                    ctx.start_timer(_TICK, COUNT_EVERY, LobbyTick())
                return None
        unhandled(message)

    def _touch(self, ctx: Context) -> None:
        """Something operators see changed: count it in the next tick (one
        a second at most, whatever the number of changes)."""
        self._changed = True
        if self.watchers and not ctx.has_timer(_TICK):
            ctx.start_timer(_TICK, COUNT_EVERY, LobbyTick())

    def _row(self, visitor_id: str, here: _Here) -> OnlineVisitor:
        seen = here.latest
        assert seen is not None
        pending = self.invitations.get(visitor_id)
        shown = here.connections.values()
        chat = next((c.conversation_id for c in shown if c.conversation_id), "")
        # A tab opened later tells no referrer: the visit's came with the first.
        referrer = seen.referrer or next((c.referrer for c in shown if c.referrer), "")
        return OnlineVisitor(
            visitor_id,
            seen.site_id,
            seen.name,
            seen.page_url,
            seen.page_title,
            referrer,
            seen.language,
            seen.returning,
            here.arrived_ms,
            chat,
            len(here.connections),
            pending.operator_id if pending is not None else "",
        )

    def _list(self, site_id: str, after: tuple[int, str] | None, limit: int) -> list[OnlineVisitor]:
        keyed = [
            ((here.arrived_ms, visitor_id), visitor_id, here)
            for visitor_id, here in self.here.items()
            if here.latest is not None and (not site_id or here.latest.site_id == site_id)
        ]
        if after is not None:
            keyed = [row for row in keyed if row[0] > after]
        keyed.sort(key=lambda row: row[0])
        return [self._row(visitor_id, here) for _key, visitor_id, here in keyed[:limit]]

    def _invite(self, invite: Invite, ctx: Context) -> str:
        here = self.here.get(invite.visitor_id)
        if here is None:
            raise FailedPrecondition("visitor_offline", "the visitor is not on the site now")
        if any(c.conversation_id for c in here.connections.values()):
            raise FailedPrecondition("visitor_in_chat", "the visitor is in a chat already")
        if invite.visitor_id in self.invitations:
            raise FailedPrecondition("already_invited", "the visitor has an invitation already")
        invitation_id = "i" + ids.random_id(15)
        event = Invitation(
            invitation_id, invite.operator_id, invite.operator_name, invite.avatar_url, invite.text
        )
        self.invitations[invite.visitor_id] = _Pending(invitation_id, invite.operator_id, event)
        for sink in here.connections:
            sink.push(event)
        ctx.start_timer(
            ("invitation", invite.visitor_id),
            INVITATION_SECONDS,
            InvitationExpired(invite.visitor_id, invitation_id),
        )
        self._touch(ctx)
        return invitation_id

    def _end(self, visitor_id: str, outcome: str, ctx: Context) -> None:
        pending = self.invitations.pop(visitor_id, None)
        if pending is None:
            return
        ctx.cancel_timer(("invitation", visitor_id))
        event = InvitationEnded(pending.id, visitor_id, outcome)
        here = self.here.get(visitor_id)
        if here is not None:
            for sink in here.connections:
                sink.push(event)
        try:
            ctx.ref(OPERATOR, pending.operator_id).tell(NotifySessions(event))
        except MailboxFull:
            ctx.ref(OPERATOR, pending.operator_id).tell_system(NotifySessions(event))
        self._touch(ctx)


def unknown_visitor(visitor_id: str) -> NotFound:
    return NotFound("unknown_visitor", f"no visitor {visitor_id[:64]!r}")
