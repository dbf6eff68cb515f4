"""One console websocket: glue between picows and the operator's session stream.

The sans-I/O :class:`~edge.bridge.protocol.BridgeProtocol` judges each frame;
this module moves bytes. After the hello it opens ``OperatorSession.Connect``
with the token, writes the operator hello and reads until the session's
``ready`` (the only batches it decodes), sends ``BridgeReady``, then relays:

* up: command batches are queued and written by one task; batches that wait
  behind a write are joined into one (concatenated protobuf messages of a
  repeated field are one message), at most ``console_pending_limit`` bytes;
* down: each event batch becomes one frame, its bytes untouched. The stream
  is read only while the websocket drains: past ``console_send_buffer`` unsent
  bytes picows pauses writing and the reader waits, so gRPC's flow control
  holds the engine, which keeps at most ``stream_backlog`` events for the
  stream: past that it drops them and ends the stream with ``too_slow`` once
  it moves again (the console, reading again by then, gets close 4503). A
  console that reads nothing for ``console_stall_seconds`` is cut (1006: a
  close frame would queue behind the rest). Either way it resumes by seq on
  its next connection;
* unary calls run as tasks, each with the token, at most ``console_calls`` at
  once.

However the session stream ends (a revoked token, the server stopping), the
websocket closes with ``BridgeClosed`` naming the reason, and a code from
:mod:`edge.bridge.codes`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
import time
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, cast

import grpc
from picows import WSCloseCode, WSFrame, WSListener, WSMsgType, WSTransport

from edge.bridge import codes
from edge.bridge.protocol import (
    BridgeProtocol,
    Call,
    Commands,
    Hello,
    Ping,
    Refusal,
    closed_frame,
    events_frame,
    pong_frame,
    ready_frame,
    reply_frame,
)
from edge.bridge.relay import Api, Failure, failure_of, refusal
from edge.ping import answer_ping
from parley.v1 import operator_pb2

if TYPE_CHECKING:
    from edge.server import BaseEdge
    from engine.runtime import Timer

log = logging.getLogger("parley.edge.bridge")

_LINGER_ZERO = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 seconds: close is a reset


class ConsoleConnection(WSListener):
    """One console websocket and its session stream."""

    def __init__(self, edge: BaseEdge, api: Api) -> None:
        config = edge.config
        self.edge = edge
        self.api = api
        # Rate limits run on the OS clock (per frame); the hello deadline on the
        # engine's injected clock, so tests can move it.
        self.protocol = BridgeProtocol(
            time.monotonic(), config.console_rate, config.console_burst, config.console_frame_limit
        )
        self.transport: WSTransport | None = None
        self.token = ""
        self.stream: grpc.aio.StreamStreamCall[bytes, bytes] | None = None
        self.pending: list[bytes] = []  # command batches waiting for the writer
        self.pending_bytes = 0
        self.wake = asyncio.Event()  # the writer has batches to write
        self.writable = asyncio.Event()  # the websocket drains (picows did not pause)
        self.writable.set()
        self.calls: dict[int, asyncio.Task[None]] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self.closing = False
        self._deadline: Timer | None = None
        self._stall: Timer | None = None  # paused this long: the console is cut

    # -- picows callbacks -------------------------------------------------------------

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport
        self.edge.consoles.add(self)
        transport.underlying_transport.set_write_buffer_limits(
            high=self.edge.config.console_send_buffer
        )
        self._deadline = self.edge.clock.call_later(
            self.edge.config.hello_timeout, self._hello_overdue
        )

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.transport = None
        self.closing = True
        self.edge.consoles.discard(self)
        self._stop()

    def pause_writing(self) -> None:
        self.writable.clear()
        if self._stall is None:
            self._stall = self.edge.clock.call_later(
                self.edge.config.console_stall_seconds, self._stalled
            )

    def resume_writing(self) -> None:
        self.writable.set()
        if self._stall is not None:
            self._stall.cancel()
            self._stall = None

    def _stalled(self) -> None:
        self._stall = None
        self.close("too_slow", "the console did not read what it was sent", codes.CLOSE_RETRY)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        kind = frame.msg_type
        if kind is WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()
            return
        if self.closing:
            return
        if kind is not WSMsgType.BINARY and kind is not WSMsgType.TEXT:
            # A ping, a pong, or a continuation (its head was refused): each
            # spends the console's bucket like any frame.
            if not self.protocol.bucket.take(time.monotonic()):
                self.close("rate_limited", "too many frames: batch commands", codes.CLOSE_RATE)
            elif kind is WSMsgType.PING:
                answer_ping(transport, frame)
            return
        if not frame.fin:
            self.close("bad_frame", "send whole frames", codes.CLOSE_PROTOCOL)
            return
        inbound = self.protocol.receive(
            frame.get_payload_as_bytes(), kind is WSMsgType.BINARY, time.monotonic()
        )
        cls = type(inbound)
        if cls is Commands:
            self._queue(cast(Commands, inbound).batch)
        elif cls is Call:
            self._call(cast(Call, inbound))
        elif cls is Ping:
            self._send(pong_frame(cast(Ping, inbound).ping_id))
        elif cls is Hello:
            self._start(self._session(cast(Hello, inbound)))
        else:
            refused = cast(Refusal, inbound)
            self.close(refused.reason, refused.message, refused.close_code)

    # -- the session stream -----------------------------------------------------------

    async def _session(self, hello: Hello) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self.token = hello.token
        stream = self.stream = self.api.connect(hello.token)
        try:
            await stream.write(hello.batch)
            held = await self._until_ready(stream)
            if held is None:
                return
            for batch in held:
                self._send(events_frame(batch))
            self._start(self._write(stream))
            while True:
                if not self.writable.is_set():
                    await self.writable.wait()  # backpressure: read as the socket drains
                message = await stream.read()
                if message is grpc.aio.EOF:
                    self.close("stream_ended", "the session ended", codes.CLOSE_NORMAL)
                    return
                self._send(events_frame(cast(bytes, message)))
        except grpc.aio.AioRpcError as error:
            self._ended(failure_of(error))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("a console session failed")
            self.close("internal", "the bridge failed; reconnect", codes.CLOSE_INTERNAL)

    async def _until_ready(
        self, stream: grpc.aio.StreamStreamCall[bytes, bytes]
    ) -> list[bytes] | None:
        """Read the stream until the session's ready; send BridgeReady and return
        the batches read (to relay as they are), or None once closed. Before the
        ready only the hello has been handled, so an error is its refusal."""
        held: list[bytes] = []
        while True:
            message = await stream.read()
            if message is grpc.aio.EOF:
                self.close("stream_ended", "the session ended before it began", codes.CLOSE_NORMAL)
                return None
            data = cast(bytes, message)
            held.append(data)
            for event in operator_pb2.OperatorEventBatch.FromString(data).events:
                which = event.WhichOneof("event")
                if which == "ready":
                    config = self.edge.config
                    ready = ready_frame(
                        event.ready,
                        config.console_frame_limit,
                        config.console_calls,
                        config.console_rate,
                        config.console_burst,
                    )
                    self._send(ready)
                    return held
                if which == "error":
                    error = event.error
                    code = codes.close_code_of_hello_refusal(error.code, error.retryable)
                    self.close(error.code, error.message, code)
                    return None

    def _ended(self, failure: Failure) -> None:
        code = codes.close_code_of(failure.status, failure.code)
        self.close(failure.code, failure.message, code)

    async def _write(self, stream: grpc.aio.StreamStreamCall[bytes, bytes]) -> None:
        """Write the queued command batches in order, joined while they wait."""
        try:
            while True:
                await self.wake.wait()
                self.wake.clear()
                pending = self.pending
                if not pending:
                    continue
                data = pending[0] if len(pending) == 1 else b"".join(pending)
                self.pending = []
                self.pending_bytes = 0
                await stream.write(data)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the stream ended: its reader says why
            log.debug("console command writer stopped: %r", error)

    def _queue(self, batch: bytes) -> None:
        self.pending.append(batch)
        self.pending_bytes += len(batch)
        if self.pending_bytes > self.edge.config.console_pending_limit:
            self.close("overloaded", "too many commands waiting", codes.CLOSE_RATE)
            return
        self.wake.set()

    # -- unary calls ------------------------------------------------------------------

    def _call(self, call: Call) -> None:
        failure = None
        if call.call_id in self.calls:
            failure = refusal(
                grpc.StatusCode.INVALID_ARGUMENT,
                "DUPLICATE_CALL_ID",
                f"call {call.call_id} is under way",
            )
        elif call.method not in self.api.methods:
            failure = refusal(
                grpc.StatusCode.UNIMPLEMENTED,
                "UNKNOWN_METHOD",
                f"the bridge does not carry {call.method[:100]!r}",
            )
        elif len(self.calls) >= self.edge.config.console_calls:
            failure = refusal(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                "TOO_MANY_CALLS",
                f"at most {self.edge.config.console_calls} calls at once",
            )
        if failure is not None:
            self._send(failure.frame(call.call_id))
            return
        self.calls[call.call_id] = self._start(self._unary(call))

    async def _unary(self, call: Call) -> None:
        try:
            response = await self.api.call(call.method, self.token, call.request, call.timeout)
            self._send(reply_frame(call.call_id, response))
        except grpc.aio.AioRpcError as error:
            self._send(failure_of(error).frame(call.call_id))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("a console call failed")
            failed = refusal(grpc.StatusCode.INTERNAL, "INTERNAL", "the bridge failed")
            self._send(failed.frame(call.call_id))
        finally:
            self.calls.pop(call.call_id, None)

    # -- output and closing -----------------------------------------------------------

    def _start(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = self.edge.loop.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    def _send(self, data: bytes) -> None:
        transport = self.transport
        if transport is not None and not self.closing:
            transport.send(WSMsgType.BINARY, data)

    def _hello_overdue(self) -> None:
        self._deadline = None
        if not self.protocol.hello_seen:
            self.close("hello_timeout", "no hello in time", codes.CLOSE_TIMEOUT)

    def close(self, reason: str, message: str, code: int) -> None:
        """Say why in a BridgeClosed, then close with ``code``; a console that
        does not read is cut instead (the close would queue behind the rest)."""
        transport = self.transport
        if self.closing or transport is None:
            return
        self.closing = True
        reading = self.writable.is_set()
        self._stop()
        if not reading:
            log.info("console connection cut: it does not read what it is sent")
            sock = transport.underlying_transport.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_ZERO)
            transport.disconnect(graceful=False)
            return
        transport.send(WSMsgType.BINARY, closed_frame(reason, message[:500], code))
        # picows types the code as its enum; our 4xxx codes are plain ints.
        transport.send_close(cast(WSCloseCode, code), reason.encode()[:120])
        transport.disconnect()

    def _stop(self) -> None:
        """End the stream and every task but the one running this."""
        for timer in (self._deadline, self._stall):
            if timer is not None:
                timer.cancel()
        self._deadline = self._stall = None
        if self.stream is not None:
            self.stream.cancel()
        current = asyncio.current_task()
        for task in list(self.tasks):
            if task is not current:
                task.cancel()
        self.writable.set()  # nothing waits on a socket that is gone
