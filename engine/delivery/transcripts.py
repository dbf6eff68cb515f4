"""A conversation's transcript by email, to its visitor: asked by the visitor
(the ``email_transcript`` frame, to the address it gives or the one it gave)
or sent by an operator who sees the chat (``Conversations.SendTranscript``, to
the email the visitor gave).

The transcript is read from the store (the journal, the truth), never from the
history index: it is there on a server started with ``--no-history`` too. It
holds every message with its time (in the visitor's own offset from UTC, as its
browser told it) and its author, and notices; operators' notes (whispers) are
never in it. Its email goes to the outbox like any other, with the marks of
what was sent in the same commit (``mailmarks``): at most
:data:`PER_CONVERSATION` of one chat (``too_many_transcripts``, not retryable)
and :data:`PER_HOUR` to one visitor in any hour (``too_many_transcripts``,
retryable, the wait in the message and in ``retry_after_s``), so neither a
visitor nor an operator can make Parley send mail in bulk. One transcript is
decided at a time (a lock), so two asked at once cannot both pass the limit.

Refusals, in order: ``no_conversation`` (the visitor has none) or
``unknown_conversation``; ``invalid_address`` (a malformed address) or
``no_email`` (none given, none known); ``mail_not_set`` (the account has no
SMTP server); ``too_many_transcripts``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from engine.chat.events import MessageEvent
from engine.chat.journal import MESSAGES
from engine.chat.kinds import VISITOR
from engine.chat.messages import GetVisitorInfo, VisitorInfo
from engine.chat.visibility import chat_in_sight
from engine.delivery import compose
from engine.delivery.settings import check_address
from engine.errors import FailedPrecondition, NotFound, Unavailable
from engine.persistence.schema import CONVERSATIONS, MAIL_MARKS, Op

if TYPE_CHECKING:
    from engine.app import Engine
    from engine.chat.auth import Principal

PER_CONVERSATION = 3  # transcripts of one chat, ever
PER_HOUR = 5  # transcripts to one visitor in any hour
HOUR_MS = 3_600_000
MAX_MESSAGES = 5000  # of one transcript (a longer chat: its first ones, and a line saying so)


def offset_zone(minutes: int) -> timezone:
    """The zone of an offset from UTC in minutes (a browser's, -840 to 840)."""
    return timezone(timedelta(minutes=max(-840, min(840, minutes))))


def lines_of(messages: Sequence[MessageEvent], zone: timezone) -> list[str]:
    """The transcript's lines: ``[YYYY-MM-DD HH:MM] Author: text``, notices as
    ``[time] (text)``; operators' notes left out."""
    out = []
    for m in messages:
        if m.author_kind == "note":
            continue
        at = datetime.fromtimestamp(m.sent_at_ms / 1000, UTC).astimezone(zone)
        stamp = at.strftime("%Y-%m-%d %H:%M")
        if m.author_kind == "system":
            out.append(f"[{stamp}] ({m.text})")
        else:
            out.append(f"[{stamp}] {m.author_name or m.author_kind}: {m.text}")
    return out


def _recent(doc: dict[str, Any] | None, since_ms: int) -> list[int]:
    sent = doc.get("sent", []) if doc else []
    return [ms for ms in sent if isinstance(ms, int) and ms > since_ms]


def limit_ops(engine: Engine, conversation_id: str, visitor_id: str, now_ms: int) -> list[Op]:
    """The marks of one more transcript of the chat to its visitor, or the refusal."""
    store = engine.store
    of_chat = _recent(MAIL_MARKS.get(store, "conv", conversation_id), 0)
    if len(of_chat) >= PER_CONVERSATION:
        raise FailedPrecondition(
            "too_many_transcripts",
            f"this conversation's transcript was emailed {PER_CONVERSATION} times already",
        )
    to_visitor = _recent(MAIL_MARKS.get(store, "visitor", visitor_id), now_ms - HOUR_MS)
    if len(to_visitor) >= PER_HOUR:
        wait = max(1, math.ceil((min(to_visitor) + HOUR_MS - now_ms) / 1000))
        raise Unavailable(
            "too_many_transcripts",
            f"at most {PER_HOUR} transcripts an hour; retry in {wait} s",
            metadata={"retry_after_s": str(wait)},
        )
    return [
        MAIL_MARKS.put("conv", conversation_id, {"sent": [*of_chat, now_ms]}),
        MAIL_MARKS.put("visitor", visitor_id, {"sent": [*to_visitor, now_ms]}),
    ]


async def email_transcript(
    engine: Engine, account_id: str, conversation_id: str, visitor_id: str, to: str, tz: int
) -> tuple[str, str]:
    """Put the chat's transcript in the outbox to ``to`` (checked here; "":
    ``no_email``); (the address, the outbox id). ``tz``: the visitor's offset
    from UTC in minutes, for the times."""
    doc = CONVERSATIONS.get(engine.store, conversation_id)
    site = engine.directory.sites.get(doc.get("site", "")) if doc is not None else None
    if doc is None or site is None or site.account_id != account_id:
        raise NotFound("unknown_conversation", f"no conversation {conversation_id[:40]!r}")
    if doc.get("visitor") != visitor_id:
        raise NotFound("unknown_conversation", f"no conversation {conversation_id[:40]!r}")
    if not to.strip():
        raise FailedPrecondition(
            "no_email", "the visitor gave no email to send the transcript to", field="email"
        )
    address = check_address(to, "email")
    deliveries = engine.deliveries
    if not deliveries.mail_settings(account_id).ready:
        raise FailedPrecondition(
            "mail_not_set", "no SMTP server is set for the account: parley mail set"
        )
    async with deliveries.transcript_lock:
        marks = limit_ops(engine, conversation_id, visitor_id, engine.clock.wall_ms())
        messages = MESSAGES.read(engine.store, conversation_id, 0, MAX_MESSAGES + 1)
        lines = lines_of(messages[:MAX_MESSAGES], offset_zone(tz))
        if len(messages) > MAX_MESSAGES:
            lines.append(f"(the first {MAX_MESSAGES} messages; the chat goes on)")
        zone = f"times in UTC{offset_zone(tz).tzname(None)[3:] or '+00:00'}"
        mail = compose.transcript(site.name, conversation_id, [zone, "", *lines])
        op = deliveries.email_op(account_id, address, mail)
        await engine.store.write_async([op, *marks])
    return address, op[1].decode()


async def send_to_visitor(engine: Engine, p: Principal, conversation_id: str) -> tuple[str, str]:
    """An operator who sees the chat emails its transcript to the email its
    visitor gave; (the address, the outbox id)."""
    summary = await chat_in_sight(engine, p, conversation_id)
    info: VisitorInfo = await engine.system.ref(VISITOR, summary.visitor_id).ask(GetVisitorInfo())
    return await email_transcript(
        engine,
        p.account_id,
        conversation_id,
        summary.visitor_id,
        info.email,
        info.tz_offset_minutes,
    )
