"""Pings for silent websockets: one timer for every connection of a listener.

A websocket that has received nothing for ``idle`` seconds is pinged; one that
has received nothing within ``reply`` seconds of its ping is told so (a close,
1001) and cut. That is picows' own auto ping (``PING_WHEN_IDLE``), which costs
each connection a task, its coroutine, a future and a timer: about 2 KiB an
idle visitor. Here one timer runs every ``min(idle, reply) / 2`` seconds over
the connections, so a ping leaves up to half that late, and so does a cut.
That round is cut in steps of :data:`STEP` seconds, each checking its share of
the connections (a system call each), so that 100,000 of them never hold the
loop for long at once.

When a socket last received data is the kernel's (``TCP_INFO``'s
``tcpi_last_data_recv``, in milliseconds): the path of every frame does nothing
for it, and a pong, like any other data, shows the peer is there. Where the
kernel does not say (no ``TCP_INFO``), picows pings as before (see
:data:`KERNEL_CLOCK`).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
import time
import weakref
from typing import Any, cast

from picows import WSCloseCode, WSTransport

log = logging.getLogger("parley.edge")

_TCP_INFO = getattr(socket, "TCP_INFO", None)
# struct tcp_info (linux/tcp.h): eight one-byte fields, then 32-bit ones;
# tcpi_last_data_recv is the 12th of those.
_LAST_DATA_RECV = struct.Struct("=I")
_LAST_DATA_RECV_AT = 52
_INFO_SIZE = _LAST_DATA_RECV_AT + _LAST_DATA_RECV.size
KERNEL_CLOCK = _TCP_INFO is not None  # False: picows' own auto ping instead
_ABORT_AFTER = 0.01  # seconds for the close frame to leave before the cut (as picows)
STEP = 0.5  # seconds between two steps of a round over the connections


def silent_ms(transport: WSTransport) -> int | None:
    """Milliseconds since the socket under ``transport`` last received data
    (None when the kernel does not say)."""
    sock = transport.underlying_transport.get_extra_info("socket")
    if sock is None or _TCP_INFO is None:
        return None
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, _TCP_INFO, _INFO_SIZE)
    except OSError:
        return None
    if len(info) < _INFO_SIZE:
        return None
    return cast(int, _LAST_DATA_RECV.unpack_from(info, _LAST_DATA_RECV_AT)[0])


class IdlePings:
    """The pings of one listener's websockets. A watched connection is a picows
    listener with a ``transport`` attribute (None until connected and once
    gone); it is held weakly, so it leaves when picows lets it go."""

    def __init__(self, idle: float, reply: float) -> None:
        if idle <= 0 or reply <= 0:
            raise ValueError("idle and reply timeouts must be positive")
        self.idle = idle
        self.reply = reply
        self.every = min(idle, reply) / 2
        self.steps = max(1, round(self.every / STEP))  # of a round
        self.watched: weakref.WeakSet[Any] = weakref.WeakSet()
        # connection: when its ping left (monotonic), and how long it had been
        # silent then (ms)
        self.pinged: dict[Any, tuple[float, int]] = {}
        self._round: list[weakref.ref[Any]] = []  # the connections this round has left
        self._share = 0  # connections a step checks, this round
        self._timer: asyncio.TimerHandle | None = None
        self._closed = False

    def watch(self, conn: Any) -> None:
        """Ping ``conn`` when it falls silent, from now on."""
        if self._closed:
            return
        self.watched.add(conn)
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.every / self.steps, self._tick)

    def close(self) -> None:
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.pinged.clear()
        self._round = []

    def _tick(self) -> None:
        self._timer = None
        try:
            self.step(time.monotonic())
        finally:
            if not self._closed and (len(self.watched) or self._round):
                self._timer = asyncio.get_running_loop().call_later(
                    self.every / self.steps, self._tick
                )

    def step(self, now: float) -> None:
        """Check this step's share of the round (a new round takes every
        connection watched now)."""
        if not self._round:
            self._round = [weakref.ref(conn) for conn in self.watched]
            self._share = -(-len(self._round) // self.steps)  # rounded up
        share, self._round = self._round[-self._share :], self._round[: -self._share]
        self.check(now, [conn for ref in share if (conn := ref()) is not None])

    def check(self, now: float, conns: list[Any] | None = None) -> None:
        """Ping the connections (``conns``, or every one watched) silent for
        ``idle``; cut those whose ping went ``reply`` seconds ago with nothing
        received since."""
        idle_ms = self.idle * 1000.0
        pinged = self.pinged
        for conn in list(self.watched) if conns is None else conns:
            transport: WSTransport | None = conn.transport
            if transport is None or transport.is_disconnected:
                pinged.pop(conn, None)
                continue
            silent = silent_ms(transport)
            if silent is None:
                continue
            ping = pinged.get(conn)
            if ping is not None:
                at, was = ping
                # Silent since before the ping, it would be silent ``was`` plus
                # the time since; anything received after the ping makes it far
                # less (half of ``was``, which is the idle time at least, is the
                # line: the kernel counts in ticks of a few ms, and a pong on
                # a fast link comes within the tick of its ping).
                if silent < (now - at) * 1000.0 + was / 2:
                    del pinged[conn]  # something came after the ping: it is there
                elif now - at >= self.reply:
                    del pinged[conn]
                    self._cut(transport)
                    continue
                else:
                    continue
            if silent >= idle_ms and not transport.is_close_frame_sent:
                transport.send_ping()
                pinged[conn] = (now, silent)

    def _cut(self, transport: WSTransport) -> None:
        log.info("websocket cut: no answer to a ping within %s s", self.reply)
        transport.send_close(
            WSCloseCode.GOING_AWAY,
            f"no answer to a ping within {self.reply:g} seconds".encode(),
        )
        # Not a graceful close: a peer that does not answer may never end it.
        underlying = transport.underlying_transport
        asyncio.get_running_loop().call_later(_ABORT_AFTER, underlying.abort)
