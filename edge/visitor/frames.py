"""Frames of visitor protocol v1: what a client may send, and how every engine
event is written. The README's "Visitor protocol" section documents the same.

Client to server: hello, choose, page, prechat, msg, typing, read, close, rate,
ticket, decline_invitation, email_transcript, ping.
Server to client: welcome, epoch_changed, departments, prechat_saved, msg, ack, typing,
read, queued, joined, closed, rated, ticket_saved, invitation, invitation_ended,
transcript_sent, error, pong.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from engine.chat.commands import (
    Choose,
    CloseChat,
    DeclineInvitation,
    EmailTranscript,
    Hello,
    LeaveTicket,
    PageChange,
    Prechat,
    RateChat,
    ReadTo,
    Send,
    TypingNow,
    VisitorCommand,
)
from engine.chat.events import (
    RETRY_AFTER_MS,
    RETRY_OVERLOADED_MS,
    RETRY_RECONNECTING_MS,
    Ack,
    Assigned,
    Closed,
    CommandFailed,
    Departments,
    Event,
    Invitation,
    InvitationEnded,
    MessageEvent,
    OperatorJoined,
    PrechatSaved,
    Queued,
    Rated,
    ReadUpTo,
    TicketSaved,
    TranscriptSent,
    Typing,
)

VERSION = 1

__all__ = [
    "PONG",
    "RETRY_OVERLOADED_MS",
    "RETRY_RECONNECTING_MS",
    "VERSION",
    "Choose",
    "CloseChat",
    "Command",
    "DeclineInvitation",
    "EmailTranscript",
    "FrameError",
    "Hello",
    "LeaveTicket",
    "PageChange",
    "Ping",
    "Prechat",
    "RateChat",
    "ReadTo",
    "Send",
    "TypingNow",
    "client_hello",
    "client_msg",
    "departments_doc",
    "encode_epoch_changed",
    "encode_error",
    "encode_event",
    "encode_welcome",
]

# The hint a refusal of load carries: when to send the same frame (same cid) again.


@dataclass(frozen=True, slots=True)
class Ping:
    pass


@dataclass(frozen=True, slots=True)
class FrameError:
    """A frame the protocol refuses; the connection goes on unless ``close_code``."""

    code: str
    message: str
    cid: str = ""
    close_code: int = 0


# The commands are the engine's (the gRPC visitor channel speaks them too); Ping
# is the websocket's own.
Command = VisitorCommand | Ping


def encode_event(event: Event) -> bytes:
    """The frame for an engine event."""
    cls = type(event)
    if cls is MessageEvent:
        e: Any = event
        msg: dict[str, Any] = {
            "type": "msg",
            "conversation": e.conversation_id,
            "seq": e.seq,
            "from": e.author_kind,
            "name": e.author_name,
            "text": e.text,
            "cid": e.client_msg_id,
            "ts": e.sent_at_ms,
        }
        if e.attachment is not None:  # a file: fetched at /v1/files/<conversation>/<sha256>
            file = e.attachment
            msg["file"] = {
                "sha256": file.digest,
                "name": file.name,
                "type": file.content_type,
                "size": file.size,
                "width": file.width,
                "height": file.height,
            }
        if e.notice:
            # A notice's code and names: the widget says it in its language.
            msg["notice"], msg["args"] = e.notice[0], e.notice[1:]
        return orjson.dumps(msg)
    if cls is Ack:
        a: Any = event
        return orjson.dumps(
            {"type": "ack", "conversation": a.conversation_id, "cid": a.client_msg_id, "seq": a.seq}
        )
    if cls is CommandFailed:
        f: Any = event
        doc: dict[str, Any] = {
            "type": "error",
            "code": f.code,
            "message": f.message,
            "retryable": f.retryable,
        }
        if f.code in RETRY_AFTER_MS:
            doc["retry_after_ms"] = RETRY_AFTER_MS[f.code]
        if f.client_msg_id:
            doc["cid"] = f.client_msg_id
        return orjson.dumps(doc)
    if cls is Queued:
        q: Any = event
        return orjson.dumps(
            {
                "type": "queued",
                "conversation": q.conversation_id,
                "position": q.position,
                "eta": q.eta_seconds,
            }
        )
    if cls is OperatorJoined:
        j: Any = event
        return orjson.dumps(
            {
                "type": "joined",
                "conversation": j.conversation_id,
                "operator": j.operator_name,
                "avatar": j.avatar_url,
            }
        )
    if cls is Closed:
        c: Any = event
        closed: dict[str, Any] = {"type": "closed", "conversation": c.conversation_id}
        if c.reason:
            closed["reason"] = c.reason
        return orjson.dumps(closed)
    if cls is Typing:
        t: Any = event
        return orjson.dumps(
            {
                "type": "typing",
                "conversation": t.conversation_id,
                "from": t.author_kind,
                "name": t.author_name,
                "active": t.active,
            }
        )
    if cls is ReadUpTo:
        u: Any = event
        return orjson.dumps(
            {
                "type": "read",
                "conversation": u.conversation_id,
                "from": u.reader_kind,
                "name": u.reader_name,
                "seq": u.seq,
            }
        )
    if cls is Rated:
        r: Any = event
        return orjson.dumps({"type": "rated", "conversation": r.conversation_id, "score": r.score})
    if cls is PrechatSaved:
        w: Any = event
        return orjson.dumps({"type": "prechat_saved", "name": w.name, "email": w.email})
    if cls is Departments:
        return orjson.dumps({"type": "departments", **departments_doc(event)})  # type: ignore[arg-type]
    if cls is TicketSaved:
        k: Any = event
        return orjson.dumps({"type": "ticket_saved", "ticket": k.ticket_id})
    if cls is Invitation:
        i: Any = event
        return orjson.dumps(
            {
                "type": "invitation",
                "invitation": i.invitation_id,
                "operator": i.operator_name,
                "avatar": i.avatar_url,
                "text": i.text,
            }
        )
    if cls is InvitationEnded:
        n: Any = event
        return orjson.dumps(
            {"type": "invitation_ended", "invitation": n.invitation_id, "outcome": n.outcome}
        )
    if cls is TranscriptSent:
        s: Any = event
        return orjson.dumps(
            {"type": "transcript_sent", "conversation": s.conversation_id, "email": s.email}
        )
    if cls is Assigned:  # operators only; never sent to a visitor
        raise ValueError("Assigned is not a visitor event")
    raise ValueError(f"no frame for {event!r}")


def departments_doc(view: Departments) -> dict[str, Any]:
    """The departments as the widget lists them; regions only when offered."""
    return {
        "departments": [
            {
                "id": d.department_id,
                "name": d.name,
                "online": d.online,
                "regions": [
                    {"id": r.region_id, "name": r.name, "online": r.online} for r in d.regions
                ],
            }
            for d in view.departments
        ],
        "department": view.department_id or None,
        "offline": view.offline,
    }


def encode_welcome(
    visitor_id: str,
    token: str,
    conversation_id: str,
    last_seq: int,
    departments: Departments | None = None,
    epoch: str = "",
    epoch_changed: bool = False,
    widget: dict[str, Any] | None = None,
    email_transcripts: bool = False,
) -> bytes:
    doc: dict[str, Any] = {
        "type": "welcome",
        "v": VERSION,
        "visitor": visitor_id,
        "token": token,
        "conversation": conversation_id or None,
        "last_seq": last_seq,
        "epoch": epoch,
        "epoch_changed": epoch_changed,
        # The account can send email: offer "Email me this conversation".
        "email_transcripts": email_transcripts,
    }
    if departments is not None:
        doc.update(departments_doc(departments))
    if widget is not None:
        doc["site"] = widget  # the site's look, words and pre-chat form
    return orjson.dumps(doc)


def encode_epoch_changed(epoch: str) -> bytes:
    """The hello's seqs are of other data (a restore): sent before the replay,
    which starts from the beginning of the conversation."""
    return orjson.dumps({"type": "epoch_changed", "epoch": epoch})


def encode_error(error: FrameError) -> bytes:
    doc: dict[str, Any] = {
        "type": "error",
        "code": error.code,
        "message": error.message,
        "retryable": False,
    }
    if error.cid:
        doc["cid"] = error.cid
    return orjson.dumps(doc)


PONG = orjson.dumps({"type": "pong"})


# -- client side (the load generator and tests write frames with these) ------------


def client_hello(
    department: str = "",
    token: str = "",
    last_seq: int = 0,
    name: str = "",
    conversation: str = "",
    email: str = "",
) -> bytes:
    doc = {
        "type": "hello",
        "v": VERSION,
        "department": department,
        "token": token,
        "last_seq": last_seq,
        "name": name,
    }
    if conversation:
        doc["conversation"] = conversation
    if email:
        doc["email"] = email
    return orjson.dumps(doc)


def client_msg(cid: str, text: str) -> bytes:
    return orjson.dumps({"type": "msg", "cid": cid, "text": text})
