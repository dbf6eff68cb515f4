"""The Operator actor: presence, sessions and load.

The operator is the authority on its own capacity: a department queue proposes a
conversation with ``Claim`` and the operator accepts only below its limit, so no
race between queues (an operator may serve several departments) can push it over.
Online means at least one session is attached. Its active conversations are its
snapshot, saved on every change, so a restart knows its load.
"""

from __future__ import annotations

from typing import Any

from engine.chat.events import Assigned, Sink
from engine.chat.messages import (
    AttachSession,
    Claim,
    ConversationInfo,
    DetachSession,
    GetOperatorState,
    NotifySessions,
    OperatorAvailable,
    OperatorGone,
    Released,
    Subscribe,
    Unsubscribe,
)
from engine.chat.records import Operator
from engine.errors import InvalidArgument, NotFound
from engine.persistence.codec import decode, encode
from engine.runtime import Actor, Context


class OperatorActor(Actor):
    def __init__(self, key: str, snapshot: bytes | None) -> None:
        self.id = key
        self.sessions: list[Sink] = []
        self.active: dict[str, ConversationInfo] = {}
        self.idle_since = 0.0
        if snapshot:
            for doc in decode(snapshot)["active"]:
                info = ConversationInfo(*doc)
                self.active[info.conversation_id] = info

    def started(self, ctx: Context) -> None:
        self.idle_since = ctx.clock.monotonic()

    def snapshot(self) -> bytes | None:
        return encode(
            {
                "active": [
                    [i.conversation_id, i.site_id, i.department_id, i.visitor_id, i.visitor_name]
                    for i in self.active.values()
                ]
            }
        )

    def can_passivate(self) -> bool:
        return not self.sessions

    def _record(self, ctx: Context) -> Operator:
        op: Operator | None = ctx.services.directory.operators.get(self.id)
        if op is None:
            raise NotFound("unknown_operator", f"no operator {self.id!r}")
        return op

    def _announce(self, ctx: Context, op: Operator) -> None:
        if self.sessions:
            message: Any = OperatorAvailable(
                self.id, len(self.active), op.max_chats, self.idle_since
            )
        else:
            message = OperatorGone(self.id)
        for dept_id in op.department_ids:
            ctx.ref("queue", dept_id).tell(message)

    def receive(self, message: Any, ctx: Context) -> Any:
        match message:
            case AttachSession(sink, resume):
                op = self._record(ctx)
                self.sessions.append(sink)
                for info in self.active.values():
                    self._open_for(sink, info, resume.get(info.conversation_id, 0), ctx)
                if len(self.sessions) == 1:
                    self._announce(ctx, op)
                return op.display_name, op.max_chats
            case DetachSession(sink):
                if sink in self.sessions:
                    self.sessions.remove(sink)
                    for conv_id in self.active:
                        ctx.ref("conversation", conv_id).tell(Unsubscribe(sink))
                    if not self.sessions:
                        self._announce(ctx, self._record(ctx))
                return None
            case Claim(info):
                op = self._record(ctx)
                if not self.sessions or len(self.active) >= op.max_chats:
                    return False, len(self.active), op.max_chats
                self.active[info.conversation_id] = info
                ctx.save_snapshot()
                for sink in self.sessions:
                    self._open_for(sink, info, 0, ctx)
                return True, len(self.active), op.max_chats
            case Released(conv_id):
                if self.active.pop(conv_id, None) is not None:
                    ctx.save_snapshot()
                    self.idle_since = ctx.clock.monotonic()
                    for sink in self.sessions:
                        ctx.ref("conversation", conv_id).tell(Unsubscribe(sink))
                    if self.sessions:
                        self._announce(ctx, self._record(ctx))
                return None
            case NotifySessions(event):
                for sink in self.sessions:
                    sink.push(event)
                return None
            case GetOperatorState():
                return {
                    "online": bool(self.sessions),
                    "sessions": len(self.sessions),
                    "load": len(self.active),
                    "conversations": sorted(self.active),
                }
        raise InvalidArgument("unknown_command", f"operator cannot handle {message!r}")

    def _open_for(self, sink: Sink, info: ConversationInfo, after: int, ctx: Context) -> None:
        sink.push(
            Assigned(
                info.conversation_id,
                info.site_id,
                info.department_id,
                info.visitor_id,
                info.visitor_name,
                0,
            )
        )
        ctx.ref("conversation", info.conversation_id).tell(Subscribe(sink, after, "operator"))
