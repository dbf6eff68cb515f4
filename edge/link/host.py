"""The engine's half of every linked visitor connection.

An edge process holds the websocket and checks each frame (size, rate, shape);
the engine hosts the rest, here: a :class:`HostedVisitor` per connection is a
:class:`~edge.session.VisitorCore`, the same code as the one-process server's
:class:`edge.server.VisitorConnection` (hello, held frames, the hello deadline,
the session and its dispatch); only the bytes go to the link instead of a
socket. So a chat means the same in both modes.

A :class:`LinkHost` is one attached edge: its connections by the edge's number,
and the frames waiting to be written to its stream. That queue is bounded
(``max_pending`` items): an edge that does not read what it is sent is cut, its
stream ended, and it attaches again and resumes every connection by seq, as a
visitor cut for not reading resumes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator, Callable
from typing import cast

from edge.session import VisitorCore
from edge.visitor.codes import CLOSE_FORBIDDEN
from edge.visitor.connection import ConnectionState
from edge.visitor.frames import FrameError, Hello, encode_error, encode_event
from edge.visitor.protocol import VisitorProtocol
from engine.app import Engine
from engine.chat.events import Ack, CommandFailed, Event, MessageEvent
from engine.chat.records import Site
from engine.chat.sessions import VisitorSession
from engine.runtime import Timer
from parley.link.v1 import link_pb2

log = logging.getLogger("parley.link")

BATCH_ITEMS = 1000  # frames in one stream message at most
_UNLIMITED = float("inf")  # the edge spends the rate buckets; the engine does not again


class HostedVisitor(VisitorCore):
    """One visitor connection of an edge, hosted on the engine: the session
    half is :class:`~edge.session.VisitorCore`, the output goes to the link."""

    __slots__ = (
        "host", "number", "engine", "protocol", "state", "session", "_deadline", "gone",
        "sent", "confirmed", "window", "ahead_limit", "asked", "room_waiters",
    )  # fmt: skip

    def __init__(
        self,
        host: LinkHost,
        number: int,
        site: Site,
        ip: str,
        agent: str,
        window: int = 0,
        unsent: int = 0,
    ) -> None:
        self.host = host
        self.number = number
        # Bytes of frames sent to the edge for this connection (from a new
        # link: what its socket still had unsent), and as many as the edge said
        # were in the socket with room to spare (see has_room).
        self.sent = unsent
        self.confirmed = 0
        self.window = window  # 0: the edge does not answer asks (the link's queue paces)
        # Bytes a replay may have ahead of the last confirmed: a window until
        # the edge has said how full the socket is (see room).
        self.ahead_limit = window
        self.asked = False  # an ask for room is out
        self.room_waiters: list[Callable[[], None]] | None = None  # replays at the window's end
        engine = self.engine = host.engine
        self.protocol = VisitorProtocol(0.0, _UNLIMITED, _UNLIMITED)
        self.state = ConnectionState(engine.clock.monotonic(), host.hello_timeout)
        self.session = VisitorSession(engine, site, self)
        self.session.ip = ip
        self.session.user_agent = agent
        self.gone = False
        self._deadline: Timer | None = None
        self._arm_deadline()

    # -- from the edge ---------------------------------------------------------------

    def frame(self, payload: bytes) -> None:
        self._handle(self.protocol.receive(payload, True, 0.0))

    def resume(self, resume: link_pb2.Resume) -> None:
        """The link came back: the visitor's hello again, with the token, last
        seq and epoch the edge learnt since it was sent."""
        hello = self.protocol.receive(resume.hello, True, 0.0)
        if type(hello) is not Hello:  # the edge kept only a hello it accepted
            self._handle(hello)
            return
        if resume.token:
            hello = dataclasses.replace(hello, token=resume.token)
        if resume.last_seq > hello.last_seq:
            # A seq written on this connection: of the chat open now (or the
            # last one closed), not necessarily of the one the hello named.
            hello = dataclasses.replace(hello, last_seq=resume.last_seq, conversation="")
        if resume.epoch:
            # The seqs it holds are of the epoch its welcome named: after a
            # restore the engine says epoch_changed and replays from the start.
            hello = dataclasses.replace(hello, epoch=resume.epoch)
        self._handle(hello)

    def end(self) -> None:
        """The websocket closed (or the link ended): leave what the session joined."""
        if self.gone:
            return
        self.gone = True
        self.engine.connections.hosted_visitors -= 1
        self._disarm_deadline()
        self.session.detach()
        self._room()  # their replays find it gone and end

    # -- output: the session's sink --------------------------------------------------

    def push(self, event: Event) -> None:
        if self.gone:
            return
        cls = type(event)
        frame = encode_event(event)
        self.sent += len(frame)
        item = link_pb2.EngineItem(connection=self.number, frame=frame)
        if cls is MessageEvent:
            item.seq = cast(MessageEvent, event).seq
        elif cls is Ack:
            ack = cast(Ack, event)
            item.seq = ack.seq
            item.settled = ack.client_msg_id
        elif cls is CommandFailed:
            item.settled = cast(CommandFailed, event).client_msg_id
        self.host.emit(item)

    def has_room(self) -> bool:
        """Whether a replay may send more: less than ``ahead_limit`` sent
        since the edge last said the visitor's socket had room, and the link's
        queue under half its bound. Half way to that limit the edge is asked
        (once) to say when the socket has room, so that the answer comes
        before the limit is reached unless the visitor is slow; the replay
        waits there. So a visitor on a slow line is sent a long chat at its
        pace instead of being cut by the edge past its send bound, and the
        link is not flooded."""
        host = self.host
        if self.gone or host.ended:
            return True  # what is pushed goes nowhere, and the replay ends
        if not self.window:
            return host.has_room()
        limit = self.ahead_limit
        ahead = self.sent - self.confirmed
        if ahead >= limit // 2:
            self._ask()
        return ahead < limit and host.has_room()

    def when_room(self, wake: Callable[[], None]) -> bool:
        """Call ``wake`` once a replay may send more (see has_room): when the
        edge answers for a spent window, when the link's queue has drained for
        a full one, or when the connection or the link is gone."""
        host = self.host
        if self.gone or host.ended:
            wake()
        elif self.window and self.sent - self.confirmed >= self.ahead_limit:
            if self.room_waiters is None:
                self.room_waiters = [wake]
            else:
                self.room_waiters.append(wake)
            self._ask()
        else:
            host.when_room(wake)
        return True

    def room(self, sent: int, unsent: int | None = None) -> None:
        """The edge's answer to an ask: every frame up to ``sent`` bytes is in
        the socket, which had ``unsent`` bytes not yet written when it
        answered (under half the bound: two windows). From there a replay may
        be up to three windows less those ahead (at least one window): the
        socket then holds at most three quarters of the bound, as with a
        window past a half-full socket, but a visitor that reads as it comes
        is sent three windows a round trip instead of one."""
        self.confirmed = max(self.confirmed, min(sent, self.sent))
        window = self.window
        self.ahead_limit = window if unsent is None else max(window, 3 * window - unsent)
        self.asked = False
        if self.room_waiters is not None:
            if self.sent - self.confirmed < self.ahead_limit:
                self._room()
            else:
                # A window or more went out after the ask (a record bigger
                # than what was left of it): ask again for the rest, or the
                # replay would wait for an answer nobody asked for.
                self._ask()

    def _ask(self) -> None:
        """Ask the edge (once at a time) to say when what was sent so far is
        in the socket with room to spare."""
        if not self.asked:
            self.asked = True
            self.host.emit(link_pb2.EngineItem(connection=self.number, ask_room=self.sent))

    def _room(self) -> None:
        """Hand the waiting replays on: to the link's queue, which wakes them
        at once where it has room."""
        waiters, self.room_waiters = self.room_waiters, None
        for wake in waiters or ():
            self.host.when_room(wake)

    def _welcome(self, frame: bytes, token: str, epoch: str) -> None:
        self.sent += len(frame)
        self.host.emit(
            link_pb2.EngineItem(
                connection=self.number, frame=frame, token=token, epoch=epoch, welcome=True
            )
        )

    def _send(self, data: bytes) -> None:
        self.sent += len(data)
        self.host.emit(link_pb2.EngineItem(connection=self.number, frame=data))

    def _close(self, code: int, reason: str) -> None:
        self.host.emit(
            link_pb2.EngineItem(connection=self.number, close_code=code, close_reason=reason)
        )
        self.host.forget(self.number)


class LinkHost:
    """One attached edge: its hosted connections and its stream's output queue."""

    def __init__(self, engine: Engine, hello_timeout: float, max_pending: int) -> None:
        self.engine = engine
        self.hello_timeout = hello_timeout
        self.max_pending = max_pending
        self.connections: dict[int, HostedVisitor] = {}
        self._out: list[link_pb2.EngineItem] = []
        self._wake = asyncio.Event()
        self.ended = False
        self.cut = False  # ended for not reading its frames
        self._room_waiters: list[Callable[[], None]] = []  # replays waiting for the queue

    def handle(self, item: link_pb2.EdgeItem) -> None:
        """One item from the edge."""
        number = item.connection
        kind = item.WhichOneof("kind")
        if kind == "frame":
            conn = self.connections.get(number)
            if conn is not None:
                conn.frame(item.frame)
        elif kind == "open":
            self._open(number, item.open)
        elif kind == "resume":
            conn = self.connections.get(number)
            if conn is not None:
                conn.resume(item.resume)
        elif kind == "gone":
            self.forget(number)
        elif kind == "room":
            conn = self.connections.get(number)
            if conn is not None:
                # An edge that does not say how full the socket is: a window.
                unsent = item.room_unsent if item.HasField("room_unsent") else None
                conn.room(item.room, unsent)
        elif kind == "probe":  # answered behind what is queued for the edge
            self.emit(link_pb2.EngineItem(probe=item.probe))

    def _open(self, number: int, open_: link_pb2.Open) -> None:
        self.forget(number)  # an edge's numbers are unique; a repeat replaces
        site = self.engine.directory.sites.get(open_.site_id)
        refusal = None
        if site is None:
            refusal = FrameError("unknown_site", f"no site {open_.site_id[:40]!r}")
        elif open_.origin and open_.origin.rstrip("/").lower() not in site.allowed_origins:
            refusal = FrameError(
                "origin_not_allowed", "this page's origin may not open chats on this site"
            )
        if refusal is not None or site is None:
            frame = encode_error(refusal) if refusal is not None else b""
            self.emit(
                link_pb2.EngineItem(
                    connection=number,
                    frame=frame,
                    close_code=CLOSE_FORBIDDEN,
                    close_reason=refusal.code if refusal is not None else "",
                )
            )
            return
        self.engine.connections.hosted_visitors += 1
        self.connections[number] = HostedVisitor(
            self, number, site, open_.ip, open_.user_agent, open_.send_window, open_.unsent
        )

    def forget(self, number: int) -> None:
        conn = self.connections.pop(number, None)
        if conn is not None:
            conn.end()

    def emit(self, item: link_pb2.EngineItem) -> None:
        """Queue a frame for the edge; past ``max_pending`` the edge is cut."""
        if self.ended:
            return
        out = self._out
        out.append(item)
        if len(out) == 1:
            self._wake.set()
        elif len(out) > self.max_pending:
            log.warning(
                "an edge does not read what it is sent: its link is cut (it resumes)",
                extra={"pending": len(out)},
            )
            self.cut = True
            self._out = []  # never sent: the edge resumes its connections by seq
            self.end()

    @property
    def queued(self) -> int:
        """Frames waiting to be written to the edge's stream."""
        return len(self._out)

    def has_room(self) -> bool:
        """Under half ``max_pending`` queued (an ended link takes nothing more:
        what is pushed goes nowhere, and its connections' replays end)."""
        return self.ended or len(self._out) < self.max_pending // 2

    def when_room(self, wake: Callable[[], None]) -> None:
        """Call ``wake`` now if the queue has room, else once the writer has
        taken enough of it (or the link ended)."""
        if self.has_room():
            wake()
        else:
            self._room_waiters.append(wake)

    def _room(self) -> None:
        waiters, self._room_waiters = self._room_waiters, []
        for wake in waiters:
            wake()

    def end(self) -> None:
        """End the stream (its connections are ended by :meth:`detach_all`)."""
        self.ended = True
        self._wake.set()
        self._room()

    async def batches(self) -> AsyncIterator[link_pb2.AttachResponse]:
        """The stream's responses: whatever is queued when the writer runs, at
        most BATCH_ITEMS a message, until the link ends."""
        while True:
            if not self._out:
                if self.ended:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            if self.ended and self.cut:
                return
            out = self._out
            if len(out) <= BATCH_ITEMS:
                self._out = []
                batch = out
            else:
                batch = out[:BATCH_ITEMS]
                del out[:BATCH_ITEMS]  # in place: a copy of the rest per batch was quadratic
            del out  # not held while the edge takes its time to read the batch
            if self._room_waiters and self.has_room():
                self._room()
            yield link_pb2.AttachResponse(items=batch)

    def detach_all(self) -> None:
        """The link is gone: every hosted connection ends (the visitors resume
        through the edge when it attaches again, or through another)."""
        self.ended = True
        for number in list(self.connections):
            self.forget(number)
        self._room()
