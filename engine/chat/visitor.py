"""The Visitor actor: a visitor's identity and its open conversation.

It serialises the opening of conversations, so two tabs of one visitor never
open two chats. Its state is its snapshot, saved on every change.
"""

from __future__ import annotations

from typing import Any

from engine.chat import ids
from engine.chat.kinds import CONVERSATION
from engine.chat.messages import (
    ConversationEnded,
    ConversationInfo,
    GetVisitor,
    GetVisitorInfo,
    Identify,
    MissedDelivered,
    MissedReply,
    OpenConversation,
    PageView,
    Register,
    RenameVisitor,
    Start,
    Visit,
    VisitorCommand,
    VisitorInfo,
    VisitorState,
)
from engine.chat.services import ChatServices, Context
from engine.errors import FailedPrecondition, NotFound
from engine.persistence.codec import decode, encode
from engine.persistence.schema import SNAPSHOTS, VISITOR_TOKENS
from engine.runtime import Actor, unhandled


def visitor_snapshot(
    site_id: str,
    name: str,
    email: str,
    conversation_id: str,
    last: str = "",
    lastop: str = "",
    missed: str = "",
    info: dict[str, Any] | None = None,
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
            "info": info,
        }
    )


MAX_KEPT = 20  # pages and chats remembered per visitor


class VisitorActor(Actor[VisitorCommand, ChatServices]):
    def __init__(self, key: str, snapshot: bytes | None) -> None:
        self.id = key
        self.known = snapshot is not None
        doc: dict[str, Any] = (
            decode(snapshot) if snapshot else {"site": "", "name": "", "email": "", "conv": ""}
        )
        self.site_id: str = doc["site"]
        self.name: str = doc["name"]
        self.email: str = doc["email"]
        self.conversation_id: str = doc["conv"]
        self.last_conversation_id: str = doc.get("last", "")  # the last one that ended
        self.last_operator_id: str = doc.get("lastop", "")  # who it spoke to last
        self.missed_reply: str = doc.get("missed", "")  # an answer to a missed chat waits
        # What the visitor's connections told (visitor info for operators).
        self.info: dict[str, Any] = doc.get("info") or {
            "visits": 0,
            "first_ms": 0,
            "last_ms": 0,
            "ip": "",
            "ua": "",
            "referrer": "",
            "language": "",
            "tz": 0,
            "pages": [],
            "chats": [],
        }

    def _page(self, url: str, title: str, at_ms: int) -> None:
        pages = self.info["pages"]
        if pages and pages[-1][0] == url:
            return  # a reload, not a step
        self.info["pages"] = [*pages, [url, title, at_ms]][-MAX_KEPT:]

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
            self.info,
        )

    def receive(self, message: VisitorCommand, ctx: Context) -> object:
        if isinstance(message, Register):  # the one message before it is known
            self._register(message, ctx)
            return None
        if not self.known:
            raise NotFound("unknown_visitor", f"no visitor {self.id!r}")
        match message:
            case OpenConversation(department_id, language, region_id, group_id, invitation):
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
                    # The inviter first, if it can take the chat; else as usual.
                    invitation.operator_id if invitation else self.last_operator_id,
                )
                ctx.ref(CONVERSATION, conv_id).tell(Start(info, invitation))
                self.info["chats"] = [*self.info["chats"], conv_id][-MAX_KEPT:]
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
                return VisitorState(
                    self.conversation_id,
                    self.name,
                    self.last_conversation_id,
                    self.missed_reply,
                    self.email,
                )
            case Identify(name, email):
                name, email = name or self.name, email or self.email
                if (name, email) == (self.name, self.email):
                    return None
                self.name, self.email = name, email
                ctx.save_snapshot()
                if self.conversation_id:
                    ctx.ref(CONVERSATION, self.conversation_id).tell(RenameVisitor(name, email))
                return None
            case Visit():
                v, i = message, self.info
                i["visits"] += 1
                i["first_ms"] = i["first_ms"] or v.at_ms
                i["last_ms"] = v.at_ms
                i.update(ip=v.ip, ua=v.user_agent, language=v.language, tz=v.tz_offset_minutes)
                if v.referrer:
                    i["referrer"] = v.referrer
                if v.page_url:
                    self._page(v.page_url, v.page_title, v.at_ms)
                ctx.save_snapshot()
                return None
            case PageView(url, title, at_ms):
                self._page(url, title, at_ms)
                ctx.save_snapshot()
                return None
            case GetVisitorInfo():
                i = self.info
                return VisitorInfo(
                    self.id,
                    self.site_id,
                    self.name,
                    self.email,
                    i["visits"],
                    i["first_ms"],
                    i["last_ms"],
                    i["ip"],
                    i["ua"],
                    i["referrer"],
                    i["language"],
                    i["tz"],
                    tuple((url, title, at_ms) for url, title, at_ms in i["pages"]),
                    tuple(i["chats"]),
                )
            case MissedReply(conv_id):
                self.missed_reply = conv_id
                ctx.save_snapshot()
                return None
            case MissedDelivered(conv_id):
                if self.missed_reply == conv_id:
                    self.missed_reply = ""
                    ctx.save_snapshot()
                return None
        unhandled(message)

    def _register(self, new: Register, ctx: Context) -> None:
        """Become a known visitor: the snapshot and the token in one commit, the
        reply after it (so the token finds the visitor from then on)."""
        if self.known:
            raise FailedPrecondition("already_registered", f"visitor {self.id!r} exists")
        self.site_id, self.name, self.email = new.site_id, new.name, new.email
        self.known = True
        snapshot = self.snapshot()
        assert snapshot is not None
        reply = ctx.defer()

        def stored(error: BaseException | None) -> None:
            if error is not None:
                self.known = False  # not stored: nobody can find it
            if reply is not None:
                reply(None, error)

        ctx.services.store.write(
            [
                VISITOR_TOKENS.put(new.token_digest, new.site_id, self.id),
                SNAPSHOTS.put("visitor", self.id, snapshot),
            ],
            stored,
        )
