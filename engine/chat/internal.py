"""The internal chat: direct messages between two operators of an account.

One actor per pair (key ``<lower id>~<higher id>``) owns the pair's stream of
direct messages, written through a :class:`Journal` like a conversation's: seqs
given at the write, one write in flight, a resent client id answered with its
first seq (``engine/chat/journal.py``; the databases are in
``engine/persistence/schema.py``). After the commit the message goes to every
session of both operators (through their operator actors), the sender's included.
"""

from __future__ import annotations

from engine.chat.events import DirectMessage
from engine.chat.journal import DIRECT, WAITING_POSTS, Journal
from engine.chat.kinds import OPERATOR
from engine.chat.messages import DirectCommitted, InternalCommand, NotifySessions, SendDirect
from engine.chat.services import ChatServices, Context
from engine.errors import InvalidArgument, Unavailable
from engine.runtime import Actor, unhandled


def pair_id(a: str, b: str) -> str:
    return "~".join(sorted((a, b)))


class InternalChat(Actor[InternalCommand, ChatServices]):
    def __init__(self, key: str, snapshot: bytes | None) -> None:
        self.id = key
        self.journal = Journal(key, DIRECT, DirectCommitted)

    def started(self, ctx: Context) -> None:
        self.journal.open(ctx.services.store, ctx.services.backlog)

    def can_passivate(self) -> bool:
        return self.journal.idle

    def receive(self, message: InternalCommand, ctx: Context) -> object:
        match message:
            case SendDirect(from_id, name, to_id, cid, text):
                if pair_id(from_id, to_id) != self.id:
                    raise InvalidArgument("invalid_argument", "not this pair's chat")
                if self.journal.crowded(cid, WAITING_POSTS):
                    # As a conversation's post: refused before anything is done.
                    raise Unavailable("overloaded", "the server is busy; resend later")
                draft = DirectMessage(self.id, 0, from_id, name, to_id, text, cid, 0)
                return self.journal.append(
                    draft, ctx, answer=True, on_committed=self._delivered, tag=ctx
                )
            case DirectCommitted(_seq, error):
                self.journal.committed(error, ctx)
                return None
        unhandled(message)

    def _delivered(self, event: DirectMessage, ctx: Context) -> None:
        """Stored: to every session of both operators."""
        for op_id in {event.from_id, event.to_id}:
            ctx.ref(OPERATOR, op_id).tell(NotifySessions(event))
