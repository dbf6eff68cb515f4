"""The bridge protocol for one console connection, without I/O.

:meth:`BridgeProtocol.receive` takes a websocket frame's payload (and whether it
was binary) and returns what it asks for: a :class:`Hello`, :class:`Commands`
(the stream's batch as bytes), a :class:`Call`, a :class:`Ping`, or a
:class:`Refusal` that closes the connection. Every frame, valid or not, first
spends from the connection's token bucket (time is passed in); a frame past it
is refused, so a flood of malformed frames is cut like a flood of good ones.

The session stream's batches are never decoded here. A commands frame is one
field, ``BridgeFrame.commands`` (tag ``0x12``), whose value is an
``OperatorCommandBatch`` as it goes on the gRPC stream: its bytes are sliced out
after the tag and length. Going down, :func:`events_frame` puts the tag and
length of ``BridgeFrame.events`` before the stream's bytes. Only a frame that
is not that one field alone (a client that added fields, say) goes through the
protobuf parser, and its batch is serialized again.

The encoders of the client's frames are here too, for the tests and the load
generator: server, tests and load cannot disagree about the frames.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from google.protobuf.message import DecodeError

from edge.bridge import codes
from edge.visitor.protocol import TokenBucket
from parley.v1 import bridge_pb2, common_pb2, operator_pb2

MAX_FRAME = 64 * 1024  # bytes in one client frame (a batch of 16 long messages)
RATE_PER_SECOND = 50.0  # client frames a second, sustained: consoles batch
RATE_BURST = 200.0
DEFAULT_TIMEOUT = 30.0  # seconds a unary call may take unless it says
MAX_TIMEOUT = 60.0

_COMMANDS_TAG = 0x12  # field 2, length-delimited
_EVENTS_TAG = b"\x4a"  # field 9, length-delimited


@dataclass(frozen=True, slots=True)
class Hello:
    """Open the session: ``token`` for the stream and calls, ``batch`` the
    stream's first message (the operator hello with the resume points)."""

    token: str
    batch: bytes


@dataclass(frozen=True, slots=True)
class Commands:
    """An ``OperatorCommandBatch`` for the stream, serialized."""

    batch: bytes


@dataclass(frozen=True, slots=True)
class Call:
    call_id: int
    method: str
    request: bytes
    timeout: float  # seconds


@dataclass(frozen=True, slots=True)
class Ping:
    ping_id: int


@dataclass(frozen=True, slots=True)
class Refusal:
    """A frame that ends the connection: the reason, for people, and the code."""

    reason: str
    message: str
    close_code: int


Inbound = Hello | Commands | Call | Ping | Refusal


def _varint(data: bytes, at: int) -> tuple[int, int]:
    """The varint at ``at`` and the index after it; (-1, at) if it is cut short."""
    value = shift = 0
    end = min(len(data), at + 10)
    while at < end:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, at
        shift += 7
    return -1, at


def _put_varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


class BridgeProtocol:
    """One console connection's protocol state."""

    __slots__ = ("bucket", "max_frame", "hello_seen")

    def __init__(
        self,
        now: float,
        rate: float = RATE_PER_SECOND,
        burst: float = RATE_BURST,
        max_frame: int = MAX_FRAME,
    ) -> None:
        self.bucket = TokenBucket(now, rate, burst)
        self.max_frame = max_frame
        self.hello_seen = False

    def receive(self, payload: bytes, is_binary: bool, now: float) -> Inbound:
        # The bucket is spent before the frame is judged: were bad frames
        # refused first, they would never be rate limited.
        if not self.bucket.take(now):
            return Refusal("rate_limited", "too many frames: batch commands", codes.CLOSE_RATE)
        if not is_binary:
            return Refusal("text_frame", "frames are binary BridgeFrames", codes.CLOSE_PROTOCOL)
        if len(payload) > self.max_frame:
            return Refusal(
                "too_large", f"a frame has at most {self.max_frame} bytes", codes.CLOSE_TOO_BIG
            )
        if payload[:1] == b"\x12" and self.hello_seen:
            size, at = _varint(payload, 1)
            if at + size == len(payload):
                return Commands(payload[at:])  # the hot path: no decoding
        try:
            frame = bridge_pb2.BridgeFrame.FromString(payload)
        except DecodeError:
            return Refusal("bad_frame", "the frame is not a BridgeFrame", codes.CLOSE_PROTOCOL)
        kind = frame.WhichOneof("frame")
        if kind == "hello":
            if self.hello_seen:
                return Refusal("already_hello", "one hello per connection", codes.CLOSE_PROTOCOL)
            self.hello_seen = True
            return _hello(frame.hello)
        if kind not in ("commands", "call", "ping"):
            return Refusal(
                "unknown_frame",
                f"not a frame a client sends: {kind or 'none set'}",
                codes.CLOSE_PROTOCOL,
            )
        if not self.hello_seen:
            return Refusal("no_hello", "the first frame is a hello", codes.CLOSE_PROTOCOL)
        if kind == "commands":
            return Commands(frame.commands.SerializeToString())
        if kind == "ping":
            return Ping(frame.ping.id)
        call = frame.call
        timeout = call.timeout_ms / 1000 if call.timeout_ms else DEFAULT_TIMEOUT
        return Call(call.call_id, call.method, call.request, min(timeout, MAX_TIMEOUT))


def _hello(hello: bridge_pb2.BridgeHello) -> Hello | Refusal:
    if not hello.token:
        return Refusal(
            "unauthenticated", "the hello needs the operator's token", codes.CLOSE_UNAUTHENTICATED
        )
    command = operator_pb2.OperatorCommand(
        hello=operator_pb2.OperatorHello(resume=hello.resume, epoch=hello.epoch)
    )
    batch = operator_pb2.OperatorCommandBatch(commands=[command])
    return Hello(hello.token, batch.SerializeToString())


# -- server frames ---------------------------------------------------------------------


def events_frame(batch: bytes) -> bytes:
    """A ``BridgeFrame.events`` around the stream's ``OperatorEventBatch`` bytes."""
    return _EVENTS_TAG + _put_varint(len(batch)) + batch


def ready_frame(
    session: operator_pb2.SessionReady, max_frame: int, max_calls: int, rate: float, burst: float
) -> bytes:
    ready = bridge_pb2.BridgeReady(
        session=session,
        max_frame_bytes=max_frame,
        max_calls=max_calls,
        frames_per_second=rate,
        frame_burst=burst,
    )
    return bridge_pb2.BridgeFrame(ready=ready).SerializeToString()


def reply_frame(call_id: int, response: bytes) -> bytes:
    reply = bridge_pb2.UnaryReply(call_id=call_id, response=response)
    return bridge_pb2.BridgeFrame(reply=reply).SerializeToString()


def error_frame(
    call_id: int,
    code: int,
    message: str,
    reason: str,
    domain: str,
    metadata: Mapping[str, str] | None = None,
) -> bytes:
    meta = dict(metadata or {})
    error = bridge_pb2.UnaryError(
        call_id=call_id,
        code=code,
        message=message,
        reason=reason,
        domain=domain,
        field=meta.get("field", ""),
        metadata=meta,
    )
    return bridge_pb2.BridgeFrame(error=error).SerializeToString()


def pong_frame(ping_id: int) -> bytes:
    return bridge_pb2.BridgeFrame(pong=bridge_pb2.BridgePong(id=ping_id)).SerializeToString()


def closed_frame(reason: str, message: str, code: int) -> bytes:
    closed = bridge_pb2.BridgeClosed(reason=reason, message=message, code=code)
    return bridge_pb2.BridgeFrame(closed=closed).SerializeToString()


# -- client frames (tests, load generator) ---------------------------------------------


def hello_frame(token: str, resume: Mapping[str, int] | None = None, epoch: str = "") -> bytes:
    points = [
        common_pb2.ResumePoint(conversation_id=c, after_seq=s) for c, s in (resume or {}).items()
    ]
    hello = bridge_pb2.BridgeHello(token=token, resume=points, epoch=epoch)
    return bridge_pb2.BridgeFrame(hello=hello).SerializeToString()


def commands_frame(commands: Iterable[operator_pb2.OperatorCommand]) -> bytes:
    batch = operator_pb2.OperatorCommandBatch(commands=commands)
    return bridge_pb2.BridgeFrame(commands=batch).SerializeToString()


def call_frame(call_id: int, method: str, request: bytes, timeout_ms: int = 0) -> bytes:
    call = bridge_pb2.UnaryCall(
        call_id=call_id, method=method, request=request, timeout_ms=timeout_ms
    )
    return bridge_pb2.BridgeFrame(call=call).SerializeToString()


def ping_frame(ping_id: int) -> bytes:
    return bridge_pb2.BridgeFrame(ping=bridge_pb2.BridgePing(id=ping_id)).SerializeToString()
