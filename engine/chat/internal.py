"""The internal chat: direct messages between two operators of an account.

One actor per pair (key ``<lower id>~<higher id>``) owns the pair's journal in the
``internal`` database (``<pair> 0 <seq>``), stored like a conversation's: seqs
are given at the write, one write in flight, a resent client id answered with
its first seq. After the commit the message goes to every session of both
operators (through their operator actors), the sender's included.
"""

from __future__ import annotations

import logging
from typing import Any

from engine.chat.events import DirectMessage
from engine.chat.kinds import OPERATOR
from engine.chat.messages import DirectCommitted, InternalCommand, NotifySessions, SendDirect
from engine.chat.services import ChatServices, Context
from engine.errors import InvalidArgument
from engine.persistence.codec import decode, encode, journal_key, journal_prefix, seq_of
from engine.runtime import Actor, Reply, unhandled

log = logging.getLogger("parley.internal")


def pair_id(a: str, b: str) -> str:
    return "~".join(sorted((a, b)))


def direct_from_record(pair: str, doc: dict[str, Any]) -> DirectMessage:
    return DirectMessage(
        pair, doc["s"], doc["f"], doc["n"], doc["to"], doc["t"], doc["c"], doc["ts"]
    )


class InternalChat(Actor[InternalCommand, ChatServices]):
    def __init__(self, key: str, snapshot: bytes | None) -> None:
        self.id = key
        self.last = 0
        self.cids: dict[str, int] = {}
        self.pending: list[tuple[SendDirect, list[Reply]]] = []
        self.inflight: list[tuple[DirectMessage, list[Reply]]] | None = None

    def started(self, ctx: Context) -> None:
        for key, value in ctx.services.store.scan("internal", journal_prefix(self.id)):
            self.last = seq_of(key)
            self.cids[decode(value)["c"]] = self.last

    def can_passivate(self) -> bool:
        return self.inflight is None and not self.pending

    def receive(self, message: InternalCommand, ctx: Context) -> object:
        match message:
            case SendDirect(from_id, _name, to_id, cid, _text):
                if pair_id(from_id, to_id) != self.id:
                    raise InvalidArgument("invalid_argument", "not this pair's chat")
                seq = self.cids.get(cid)
                if seq is not None:
                    return seq
                reply = ctx.defer()
                for waiting, replies in self.pending:
                    if waiting.client_msg_id == cid:
                        if reply is not None:
                            replies.append(reply)
                        return None
                self.pending.append((message, [reply] if reply is not None else []))
                if self.inflight is None:
                    self._flush(ctx)
                return None
            case DirectCommitted(_seq, error):
                self._committed(error, ctx)
                return None
        unhandled(message)

    def _flush(self, ctx: Context) -> None:
        batch, self.pending = self.pending, []
        now = ctx.clock.wall_ms()
        ops: list[tuple[str, bytes, bytes | None]] = []
        inflight = []
        seq = self.last
        for send, replies in batch:
            seq += 1
            event = DirectMessage(
                self.id,
                seq,
                send.from_id,
                send.from_name,
                send.to_id,
                send.text,
                send.client_msg_id,
                now,
            )
            doc = {
                "s": seq,
                "f": send.from_id,
                "n": send.from_name,
                "to": send.to_id,
                "t": send.text,
                "c": send.client_msg_id,
                "ts": now,
            }
            ops.append(("internal", journal_key(self.id, seq), encode(doc)))
            inflight.append((event, replies))
        self.inflight = inflight
        me = ctx.self_ref
        ctx.services.store.write(ops, lambda error: me.tell_system(DirectCommitted(seq, error)))

    def _committed(self, error: BaseException | None, ctx: Context) -> None:
        done, self.inflight = self.inflight or [], None
        for event, replies in done:
            if error is not None:
                for reply in replies:
                    reply(None, error)
                continue
            self.last = event.seq
            self.cids[event.client_msg_id] = event.seq
            for reply in replies:
                reply(event.seq, None)
            for op_id in {event.from_id, event.to_id}:
                ctx.ref(OPERATOR, op_id).tell(NotifySessions(event))
        if error is not None:
            log.warning("internal chat %s: write failed: %r", self.id, error)
        if self.pending:
            self._flush(ctx)
