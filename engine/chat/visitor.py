"""The Visitor actor: a visitor's identity and its open conversation.

It serialises the opening of conversations, so two tabs of one visitor never
open two chats. Its state is its snapshot, saved on every change.
"""

from __future__ import annotations

from typing import Any

from engine.chat import ids
from engine.chat.messages import (
    ConversationEnded,
    ConversationInfo,
    GetVisitor,
    MissedDelivered,
    MissedReply,
    OpenConversation,
    Start,
)
from engine.errors import InvalidArgument, NotFound
from engine.persistence.codec import decode, encode
from engine.runtime import Actor, Context


def visitor_snapshot(
    site_id: str,
    name: str,
    email: str,
    conversation_id: str,
    last: str = "",
    lastop: str = "",
    missed: str = "",
) -> bytes:
    return encode(
        {
            "site": site_id,
            "name": name,
            "email": email,
            "conv": conversation_id,
            "last": last,
            "lastop": lastop,
            "missed": missed,
        }
    )


class VisitorActor(Actor):
    def __init__(self, key: str, snapshot: bytes | None) -> None:
        self.id = key
        self.known = snapshot is not None
        doc = decode(snapshot) if snapshot else {"site": "", "name": "", "email": "", "conv": ""}
        self.site_id: str = doc["site"]
        self.name: str = doc["name"]
        self.email: str = doc["email"]
        self.conversation_id: str = doc["conv"]
        self.last_conversation_id: str = doc.get("last", "")  # the last one that ended
        self.last_operator_id: str = doc.get("lastop", "")  # who it spoke to last
        self.missed_reply: str = doc.get("missed", "")  # an answer to a missed chat waits

    def snapshot(self) -> bytes | None:
        if not self.known:
            return None
        return visitor_snapshot(
            self.site_id,
            self.name,
            self.email,
            self.conversation_id,
            self.last_conversation_id,
            self.last_operator_id,
            self.missed_reply,
        )

    def receive(self, message: Any, ctx: Context) -> Any:
        if not self.known:
            raise NotFound("unknown_visitor", f"no visitor {self.id!r}")
        match message:
            case OpenConversation(department_id, language, region_id, group_id):
                if self.conversation_id:
                    return self.conversation_id
                conv_id = ids.new_conversation_id(self.site_id)
                self.conversation_id = conv_id
                ctx.save_snapshot()
                info = ConversationInfo(
                    conv_id,
                    self.site_id,
                    department_id,
                    self.id,
                    self.name or f"Visitor {self.id[-4:]}",
                    language,
                    region_id,
                    group_id,
                    self.last_operator_id,
                )
                ctx.ref("conversation", conv_id).tell(Start(info))
                return conv_id
            case ConversationEnded(conv_id, last_operator_id):
                if self.conversation_id == conv_id:
                    self.conversation_id = ""
                    self.last_conversation_id = conv_id
                    if last_operator_id:
                        self.last_operator_id = last_operator_id
                    ctx.save_snapshot()
                return None
            case GetVisitor():
                return self.conversation_id, self.name, self.last_conversation_id, self.missed_reply
            case MissedReply(conv_id):
                self.missed_reply = conv_id
                ctx.save_snapshot()
                return None
            case MissedDelivered(conv_id):
                if self.missed_reply == conv_id:
                    self.missed_reply = ""
                    ctx.save_snapshot()
                return None
        raise InvalidArgument("unknown_command", f"visitor cannot handle {message!r}")
