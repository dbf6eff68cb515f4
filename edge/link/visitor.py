"""A visitor websocket on an edge process: checked here, hosted by the engine.

The edge does what needs the socket: the per-connection and per-address rate
buckets and every frame check (the same :class:`~edge.visitor.protocol.
VisitorProtocol` as the one-process server), the per-address connection limit,
the send buffer's bound. A frame that passes goes over the link as it came;
the engine's :class:`~edge.link.host.HostedVisitor` answers with the frames to
write. A ping goes over the link too, so its pong still comes after everything
the engine sent before it.

The edge keeps what it needs to resume the connection on a new link: the
visitor's hello, its token and data epoch (from the welcome) and the last seq
written to it;
and the client ids of its messages sent but not yet settled (acked or refused).
When the link is lost, each of those is refused ``reconnecting`` (retryable: the
engine de-duplicates by client id, so sending it again never doubles it) and
the visitor is told the service is reconnecting; meanwhile its messages are
refused the same way, a hello is held. When the link is back the connection is
opened and resumed from its last seq on the new stream, and the visitor told.
A full link queue refuses a message ``overloaded`` with a retry hint.

The engine sends a replay (a visitor resuming a long chat) a window of bytes at
a time (``Open.send_window``, a quarter of the send bound) and asks for room
(``ask_room``); the edge answers at once when less than half the bound is
unsent in the socket's buffer, else when it has drained to a quarter (the
transport says so: its high water lowered to that quarter meanwhile), and says
how much was unsent then (``room_unsent``): the engine may go three windows
less that ahead of the answer. Past the whole bound the visitor is cut,
whatever filled it (it resumes by seq).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, cast

import orjson
from picows import WSFrame, WSListener, WSMsgType, WSTransport

from edge.ping import answer_ping
from edge.server import close_transport, past_bound, unwatch_room, watch_room, write_frames
from edge.visitor.frames import (
    PONG,
    RETRY_OVERLOADED_MS,
    RETRY_RECONNECTING_MS,
    Command,
    FrameError,
    Hello,
    Ping,
    Send,
    encode_error,
)
from edge.visitor.protocol import VisitorProtocol
from parley.link.v1 import link_pb2

if TYPE_CHECKING:
    from edge.link.listener import LinkedEdge

RECONNECTING = orjson.dumps(
    {"type": "service", "state": "reconnecting", "message": "reconnecting to the service"}
)
CONNECTED = orjson.dumps({"type": "service", "state": "connected"})


def send_window(limit: int) -> int:
    """The replay bytes the engine may send before it asks for room: a quarter
    of the send bound (so at most three quarters are ever unsent for a
    replay), within the field's 32 bits."""
    return min(limit // 4, 0xFFFFFFFF)


def refusal(code: str, cid: str) -> bytes:
    """A retryable refusal of a frame the engine never saw, with a retry hint."""
    if code == "overloaded":
        message, after = "the server is busy; resend later", RETRY_OVERLOADED_MS
    else:
        message, after = "reconnecting to the service: send it again", RETRY_RECONNECTING_MS
    doc: dict[str, object] = {
        "type": "error",
        "code": code,
        "message": message,
        "retryable": True,
        "retry_after_ms": after,
    }
    if cid:
        doc["cid"] = cid
    return orjson.dumps(doc)


class LinkedVisitor(WSListener):
    """One visitor websocket of an edge."""

    # One per connected visitor: no instance dictionary.
    __slots__ = (
        "edge", "number", "open", "transport", "protocol", "hello", "token", "epoch",
        "last_seq", "welcomed", "unsettled", "told_reconnecting", "_ip", "room_owed",
        "watching", "_out",
    )  # fmt: skip

    def __init__(self, edge: LinkedEdge, site_id: str, origin: str, user_agent: str) -> None:
        self.edge = edge
        self.number = edge.next_number()
        self.open = link_pb2.Open(site_id=site_id, origin=origin, user_agent=user_agent)
        self.transport: WSTransport | None = None
        config = edge.config
        self.protocol = VisitorProtocol(time.monotonic(), config.visitor_rate, config.visitor_burst)
        self.hello = b""  # the hello as sent (resent on a new link)
        self.token = ""
        self.epoch = ""  # the data epoch of the seqs written to it
        self.last_seq = 0
        self.welcomed = False
        # Client ids sent on, not yet acked or refused; made on the first message
        # (an idle visitor has none).
        self.unsettled: set[str] | None = None
        self.told_reconnecting = False
        self._ip = ""
        self.room_owed = 0  # the engine's ask for room, answered once the socket drains
        self.watching = False  # the socket's high water lowered to say so (watch_room)
        self._out: list[bytes] | None = None  # the engine's frames of the batch being read

    # -- picows callbacks -------------------------------------------------------------

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport
        ip = self.edge.accept(self, transport)
        if ip is None:
            return
        self._ip = ip
        self.open.ip = ip
        self.open.send_window = send_window(self.edge.config.send_buffer_limit)
        self.edge.linked[self.number] = self
        if self.edge.link.up:
            self.edge.link.push(link_pb2.EdgeItem(connection=self.number, open=self.open))
        else:
            self.told_reconnecting = True
            self._send(RECONNECTING)

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if self._ip:
            self.edge.release(self._ip)
            self._ip = ""
        self.edge.connections.discard(self)
        if self.edge.linked.pop(self.number, None) is not None:
            self.edge.link.push(link_pb2.EdgeItem(connection=self.number, gone=link_pb2.Gone()))
        self.transport = None

    def pause_writing(self) -> None:
        if not self.watching or past_bound(self.transport, self.edge.config):
            self.edge.cut(self.transport)

    def resume_writing(self) -> None:
        if self.watching and self.transport is not None:
            self.watching = False
            unwatch_room(self.transport, self.edge.config)
            if self.room_owed:
                self._room(self.room_owed)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        kind = frame.msg_type
        if kind is WSMsgType.TEXT or kind is WSMsgType.BINARY:
            if not frame.fin:
                refusal = self.protocol.control(time.monotonic())
                self._handle(refusal or FrameError("fragmented", "send whole frames"), b"")
                return
            payload = frame.get_payload_as_bytes()
            command = self.protocol.receive(payload, kind is WSMsgType.TEXT, time.monotonic())
            self._handle(command, payload)
        elif kind is WSMsgType.PING:
            refusal = self.protocol.control(time.monotonic())
            if refusal is not None:
                self._handle(refusal, b"")
                return
            answer_ping(transport, frame)
            if self.watching and past_bound(transport, self.edge.config):
                self.edge.cut(transport)  # see _send
        elif kind is WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()
        elif kind is WSMsgType.PONG or kind is WSMsgType.CONTINUATION:
            # Nothing to answer (a fragment's head was refused already), but
            # like every frame they spend the rate: a flood is cut.
            refusal = self.protocol.control(time.monotonic())
            if refusal is not None:
                self._handle(refusal, b"")

    # -- frames ------------------------------------------------------------------------

    def _handle(self, command: Command | FrameError, payload: bytes) -> None:
        cls = type(command)
        if cls is FrameError:
            error = cast(FrameError, command)
            self.edge.refused(error.code)
            self._send(encode_error(error))
            if error.close_code:
                self._close(error.close_code, error.code)
            return
        link = self.edge.link
        if cls is Send:
            cid = cast(Send, command).cid
            if link.send(link_pb2.EdgeItem(connection=self.number, frame=payload)):
                unsettled = self.unsettled
                if unsettled is None:
                    unsettled = self.unsettled = set()
                unsettled.add(cid)
            else:
                self._refuse("overloaded" if link.up else "reconnecting", cid)
            return
        if cls is Hello and not self.welcomed:
            self.hello = payload  # kept to resume on a new link; held while it is down
            if link.up:
                link.push(link_pb2.EdgeItem(connection=self.number, frame=payload))
            return
        if cls is Ping and not link.up:
            self._send(PONG)
            return
        if not link.send(link_pb2.EdgeItem(connection=self.number, frame=payload)):
            self._refuse("overloaded" if link.up else "reconnecting", "")

    def _refuse(self, code: str, cid: str) -> None:
        self.edge.refused(code)
        self._send(refusal(code, cid))

    # -- from the engine ----------------------------------------------------------------

    def deliver(self, item: link_pb2.EngineItem) -> None:
        if item.seq > self.last_seq:
            self.last_seq = item.seq
        if item.settled and self.unsettled is not None:
            self.unsettled.discard(item.settled)
        if item.welcome:
            self.welcomed = True
            self.token = item.token
            self.epoch = item.epoch
        if item.frame:
            # Written with the rest of the batch's frames for this visitor, in
            # one write (flush), not a write each: a replay's page comes in one
            # batch.
            out = self._out
            if out is None:
                self._out = [item.frame]
                self.edge.writing.append(self)
            else:
                out.append(item.frame)
        elif item.ask_room:
            self.flush()  # the socket's unsent bytes, every frame before the ask in them
            self._ask_room(item.ask_room)
        if item.close_code:
            self.flush()
            self.edge.linked.pop(self.number, None)  # the engine forgot it already
            self._close(item.close_code, item.close_reason)

    def flush(self) -> None:
        """Write the frames the batch held for this visitor (see deliver)."""
        out, self._out = self._out, None
        transport = self.transport
        if out is None or transport is None or not write_frames(transport, out):
            return
        if self.watching and past_bound(transport, self.edge.config):
            self.edge.cut(transport)  # see _send

    def _ask_room(self, sent: int) -> None:
        """The engine holds back a replay until the socket has room: say so now
        (under half the bound unsent) or once it has drained to a quarter."""
        transport = self.transport
        if transport is None:
            return
        config = self.edge.config
        unsent = transport.underlying_transport.get_write_buffer_size()
        if unsent < config.send_buffer_limit // 2:
            self._room(sent)
            return
        self.room_owed = sent
        if not self.watching:
            self.watching = True
            if watch_room(transport, config):  # drained meanwhile
                self.resume_writing()

    def _room(self, sent: int) -> None:
        self.room_owed = 0
        transport = self.transport
        if transport is not None and self.number in self.edge.linked and self.edge.link.up:
            unsent = transport.underlying_transport.get_write_buffer_size()
            item = link_pb2.EdgeItem(connection=self.number, room=sent, room_unsent=unsent)
            self.edge.link.push(item)

    def link_lost(self) -> None:
        """The link went: what was under way is refused, the visitor told."""
        if self.unsettled is not None:
            for cid in sorted(self.unsettled):
                # Not counted as the edge's refusal: the engine had it, and
                # may have stored it (a resend is answered by its seq).
                self._send(refusal("reconnecting", cid))
            self.unsettled = None
        if not self.told_reconnecting:
            self.told_reconnecting = True
            self._send(RECONNECTING)

    def link_back(self) -> None:
        """A new link: tell the visitor, open the connection there (with what its
        socket still has unsent), resume its hello."""
        link = self.edge.link
        self.room_owed = 0  # asked by the engine's half on the old link
        if self.told_reconnecting:
            self.told_reconnecting = False
            self._send(CONNECTED)
        transport = self.transport
        self.open.unsent = (
            transport.underlying_transport.get_write_buffer_size() if transport is not None else 0
        )
        link.push(link_pb2.EdgeItem(connection=self.number, open=self.open))
        if self.hello:
            resume = link_pb2.Resume(
                hello=self.hello, token=self.token, last_seq=self.last_seq, epoch=self.epoch
            )
            link.push(link_pb2.EdgeItem(connection=self.number, resume=resume))

    # -- output ------------------------------------------------------------------------

    def _send(self, data: bytes) -> None:
        if self._out is not None:
            self.flush()  # after what the engine sent before it
        transport = self.transport
        if transport is not None:
            transport.send(WSMsgType.TEXT, data)
            # Paused already while it watches for room, the transport does
            # not say when the whole bound is passed: look.
            if self.watching and past_bound(transport, self.edge.config):
                self.edge.cut(transport)

    def _close(self, code: int, reason: str) -> None:
        close_transport(self.transport, code, reason)
