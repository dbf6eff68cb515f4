"""The visitor protocol for one connection, without I/O.

``receive`` takes a frame's payload and whether it was a text frame, and returns a
:class:`~edge.visitor.frames.Command` or a :class:`~edge.visitor.frames.FrameError`.
Every frame, valid or not, spends from the rate buckets (the connection's and its
address's token buckets; time is passed in, so tests need no clock): a flood of
malformed frames is cut like a flood of good ones, answered ``rate_limited`` rather
than with one parse error per frame. A frame the buckets let through is checked,
in order: frame kind, size, UTF-8, JSON, shape and field types. Bad frames are
answered, not fatal; ``MAX_BAD_IN_A_ROW`` bad frames in a row, or sustained
flooding, close the connection. The server and the load generator both
use this module, so they cannot disagree about the protocol.
"""

from __future__ import annotations

from typing import Any

import orjson

from edge.visitor.codes import CLOSE_PROTOCOL, CLOSE_RATE
from edge.visitor.frames import (
    VERSION,
    Choose,
    CloseChat,
    Command,
    DeclineInvitation,
    EmailTranscript,
    FrameError,
    Hello,
    LeaveTicket,
    PageChange,
    Ping,
    Prechat,
    RateChat,
    ReadTo,
    Send,
    TypingNow,
)

MAX_FRAME = 16 * 1024  # bytes in one client frame
MAX_BAD_IN_A_ROW = 20
RATE_PER_SECOND = 20.0  # sustained client frames per second
RATE_BURST = 60.0
MAX_RATE_STRIKES = 50  # refused frames before the connection is closed

_HELLO_FIELDS = {
    "type",
    "conversation",
    "v",
    "department",
    "region",
    "token",
    "last_seq",
    "name",
    "email",
    "site",
    "page",
    "language",
    "title",
    "referrer",
    "tz",
    "epoch",
}


_HELLO_STRINGS = (
    "conversation",
    "department",
    "region",
    "token",
    "name",
    "email",
    "page",
    "language",
    "title",
    "referrer",
    "epoch",
)


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved; a frame costs one."""

    __slots__ = ("rate", "burst", "tokens", "last")

    def __init__(self, now: float, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.last = now

    def take(self, now: float) -> bool:
        tokens = self.tokens + (now - self.last) * self.rate
        self.last = now
        if tokens > self.burst:
            tokens = self.burst
        if tokens < 1.0:
            self.tokens = tokens
            return False
        self.tokens = tokens - 1.0
        return True


class VisitorProtocol:
    """One connection's protocol state. ``shared`` is the bucket of the client's
    address, shared by all its connections (set once the address is known)."""

    __slots__ = ("_bad", "_strikes", "bucket", "shared")

    def __init__(
        self, now: float, rate: float = RATE_PER_SECOND, burst: float = RATE_BURST
    ) -> None:
        self.bucket = TokenBucket(now, rate, burst)
        self.shared: TokenBucket | None = None
        self._bad = 0
        self._strikes = 0

    def receive(self, payload: bytes, is_text: bool, now: float) -> Command | FrameError:
        # The buckets are spent before the frame is judged: were parse errors
        # answered first, bad frames would never be rate limited.
        shared = self.shared
        if not self.bucket.take(now) or (shared is not None and not shared.take(now)):
            return self._refused(_cid(payload, is_text))
        result = self._parse(payload, is_text)
        if isinstance(result, FrameError):
            self._bad += 1
            if self._bad >= MAX_BAD_IN_A_ROW:
                return FrameError(
                    "too_many_errors", "too many bad frames in a row", result.cid, CLOSE_PROTOCOL
                )
            return result
        self._bad = 0
        return result

    def control(self, now: float) -> FrameError | None:
        """A websocket ping spends the buckets as any frame does (it is
        answered by the connection, not by picows): None when it may be
        answered, else its refusal."""
        shared = self.shared
        if self.bucket.take(now) and (shared is None or shared.take(now)):
            return None
        return self._refused("")

    def _refused(self, cid: str) -> FrameError:
        self._strikes += 1
        if self._strikes >= MAX_RATE_STRIKES:
            return FrameError("rate_limited", "too many frames; closing", "", CLOSE_RATE)
        return FrameError("rate_limited", "too many frames; slow down", cid)

    @staticmethod
    def _parse(payload: bytes, is_text: bool) -> Command | FrameError:
        if not is_text:
            return FrameError("binary_frame", "frames are JSON text")
        if len(payload) > MAX_FRAME:
            return FrameError("too_large", f"a frame has at most {MAX_FRAME} bytes")
        try:
            doc = orjson.loads(payload)  # also rejects invalid UTF-8
        except orjson.JSONDecodeError as error:
            if _bad_utf8(payload):
                return FrameError("bad_utf8", "the frame is not valid UTF-8")
            return FrameError("bad_json", f"the frame is not JSON: {error.msg}")
        if not isinstance(doc, dict):
            return FrameError("bad_frame", "a frame is a JSON object")
        kind = doc.get("type")
        if kind == "msg":
            cid = doc.get("cid")
            text = doc.get("text")
            if not isinstance(cid, str) or not isinstance(text, str):
                return FrameError(
                    "bad_frame",
                    "msg needs string cid and text",
                    cid if isinstance(cid, str) else "",
                )
            return Send(cid, text)
        if kind == "hello":
            return _hello(doc)
        if kind == "ping":
            return Ping()
        if kind == "typing":
            return _typing(doc)
        if kind == "read":
            seq = doc.get("seq")
            if not isinstance(seq, int) or isinstance(seq, bool) or not 1 <= seq < 2**63:
                return FrameError("bad_frame", "read needs a whole 'seq' of at least 1")
            return ReadTo(seq)
        if kind == "rate":
            return _rate(doc)
        if kind == "close":
            return CloseChat()
        if kind == "decline_invitation":
            return DeclineInvitation()
        if kind == "prechat":
            values = _strings(doc, "prechat", ("name", "email", "question", "cid"))
            if isinstance(values, FrameError):
                return values
            return Prechat(*values)
        if kind == "email_transcript":
            values = _strings(doc, "email_transcript", ("email",))
            if isinstance(values, FrameError):
                return values
            return EmailTranscript(values[0])
        if kind == "choose":
            return _choose(doc)
        if kind == "ticket":
            return _ticket(doc)
        if kind == "page":
            values = _strings(doc, "page", ("url", "title"))
            if isinstance(values, FrameError):
                return values
            if not values[0]:
                return FrameError("bad_frame", "page needs a 'url'")
            return PageChange(values[0], values[1])
        if not isinstance(kind, str):
            return FrameError("bad_frame", "a frame needs a string 'type'")
        return FrameError("unknown_type", f"unknown frame type {kind[:40]!r}")


def _cid(payload: bytes, is_text: bool) -> str:
    """The client id of a refused ``msg`` frame, so the client knows which message
    to send again; "" for any other frame (a refused frame is parsed only this far)."""
    if not is_text or len(payload) > MAX_FRAME or b'"msg"' not in payload:
        return ""
    result = VisitorProtocol._parse(payload, is_text)
    return result.cid if isinstance(result, Send | FrameError) else ""


def _bad_utf8(payload: bytes) -> bool:
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _hello(doc: dict[str, Any]) -> Hello | FrameError:
    version = doc.get("v", VERSION)
    if version != VERSION:
        return FrameError("bad_version", f"this server speaks protocol version {VERSION}")
    unknown = set(doc) - _HELLO_FIELDS
    if unknown:
        return FrameError("bad_frame", f"unknown hello fields: {', '.join(sorted(unknown))}")
    values = _strings(doc, "hello", _HELLO_STRINGS)
    if isinstance(values, FrameError):
        return values
    strings = dict(zip(_HELLO_STRINGS, values, strict=True))
    last_seq = doc.get("last_seq", 0)
    if last_seq is None:
        last_seq = 0
    if (
        not isinstance(last_seq, int)
        or isinstance(last_seq, bool)
        or last_seq < 0
        or last_seq >= 2**63
    ):
        return FrameError("bad_frame", "hello field 'last_seq' must be a whole number >= 0")
    tz = doc.get("tz", 0) or 0
    if not isinstance(tz, int) or isinstance(tz, bool) or not -840 <= tz <= 840:
        return FrameError("bad_frame", "hello field 'tz' is minutes from UTC, -840 to 840")
    return Hello(
        strings["department"],
        strings["token"],
        last_seq,
        strings["name"],
        strings["email"],
        strings["region"],
        strings["page"],
        strings["language"],
        strings["title"],
        strings["referrer"],
        tz,
        strings["epoch"],
        strings["conversation"],
    )


def _strings(doc: dict[str, Any], kind: str, names: tuple[str, ...]) -> list[str] | FrameError:
    out = []
    for name in names:
        value = doc.get(name, "")
        if value is None:
            value = ""
        if not isinstance(value, str):
            return FrameError("bad_frame", f"{kind} field {name!r} must be a string")
        out.append(value)
    return out


def _choose(doc: dict[str, Any]) -> Choose | FrameError:
    values = _strings(doc, "choose", ("department", "region"))
    if isinstance(values, FrameError):
        return values
    if not values[0]:
        return FrameError("bad_frame", "choose needs a 'department'")
    return Choose(values[0], values[1])


def _ticket(doc: dict[str, Any]) -> LeaveTicket | FrameError:
    values = _strings(doc, "ticket", ("name", "email", "text"))
    if isinstance(values, FrameError):
        return values
    return LeaveTicket(*values)


def _rate(doc: dict[str, Any]) -> RateChat | FrameError:
    score = doc.get("score")
    comment = doc.get("comment", "") or ""
    if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
        return FrameError("bad_frame", "rate needs a whole 'score' from 1 to 5")
    if not isinstance(comment, str) or len(comment) > 1000:
        return FrameError("bad_frame", "a rating's 'comment' is text of at most 1000 characters")
    return RateChat(score, comment)


def _typing(doc: dict[str, Any]) -> TypingNow | FrameError:
    active = doc.get("active")
    text = doc.get("text", "") or ""
    if not isinstance(active, bool):
        return FrameError("bad_frame", "typing needs a true or false 'active'")
    if not isinstance(text, str) or len(text) > 4000:
        return FrameError("bad_frame", "typing 'text' is the draft, at most 4000 characters")
    return TypingNow(active, text)
