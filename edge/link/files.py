"""An edge process's file routes: uploads and downloads through the link.

The rules of attachments (who, sizes, quota, rate, type by content) are the
engine's; the engine runs the one-process server's own code for them
(:class:`edge.files.UploadSession`, :func:`edge.files.answer`) behind the
link's ``Upload`` and ``Download``, and this module moves bytes.

An upload websocket (``/v1/upload``) is a :class:`LinkedUpload`: one
``Upload`` call per socket, its frames forwarded as they came, the engine's
answers written back. Memory per upload is bounded: past ``UPLOAD_WINDOW``
bytes waiting for the link the edge stops reading the socket (TCP holds the
client back) until they have left.

A file's GET (``/v1/files/...``) needs the engine's answer before the edge can
write its own, and picows answers an HTTP request in the callback that parsed
it, with no way to wait. So a connection's first reader on an edge is a
:class:`FileDoor`: it reads the first bytes; a request for a file it answers
itself (``Download``, the body written as it comes, paused while the client
reads slowly); anything else it hands, with those bytes, to picows, which then
owns the connection as on the one-process server.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

import grpc
import orjson
from picows import WSFrame, WSListener, WSMsgType, WSTransport

from edge.files import (
    CLOSE_REFUSED,
    FILES_PREFIX,
    MAX_HEADER,
    MAX_PIECE,
    VISITOR_HEADER,
    refusal,
    write_upload,
)
from edge.ping import control_bucket, control_frame
from edge.static import JSON, headers
from parley.link.v1 import link_pb2

if TYPE_CHECKING:
    from edge.link.listener import LinkedEdge

log = logging.getLogger("parley.edge.files")

UPLOAD_WINDOW = 2 * MAX_PIECE + MAX_HEADER  # bytes of an upload waiting for the link
MAX_REQUEST = 16 * 1024  # bytes of a file request's head
_FILE_REQUESTS = (b"GET " + FILES_PREFIX.encode(), b"OPTIONS " + FILES_PREFIX.encode())
_LINK_DOWN = "reconnecting to the service: try again"


class LinkedUpload(WSListener):
    """One upload websocket of an edge: relayed to the engine's ``Upload``."""

    def __init__(self, edge: LinkedEdge, origin: str | None, console_origin: bool) -> None:
        self.edge = edge
        self.opening = link_pb2.UploadOpen(console_origin=console_origin)
        if origin is not None:
            self.opening.origin = origin
        self.transport: WSTransport | None = None
        self.queue: asyncio.Queue[link_pb2.UploadRequest | None] = asyncio.Queue()
        self.waiting = 0  # bytes of frames queued for the link
        self.paused = False
        self.ended = False
        self.relay: asyncio.Task[None] | None = None
        self.control = control_bucket()

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport
        if not self.edge.link.up:
            self._out(
                refusal("reconnecting", _LINK_DOWN, retryable=True), CLOSE_REFUSED, "reconnecting"
            )
            return
        self.queue.put_nowait(link_pb2.UploadRequest(open=self.opening))
        self.relay = asyncio.ensure_future(self._relay())

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.transport = None
        self.ended = True
        self.queue.put_nowait(None)  # the call's end: the engine drops the upload
        if self.relay is not None:
            self.relay.cancel()

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        kind = frame.msg_type
        if kind is WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()
            return
        if kind is WSMsgType.PING or kind is WSMsgType.PONG:
            control_frame(transport, frame, self.control)
            return
        if self.ended:
            return
        if not frame.fin or kind is WSMsgType.CONTINUATION:
            self._out(refusal("bad_frame", "send whole frames"), CLOSE_REFUSED, "bad_frame")
            return
        payload = frame.get_payload_as_bytes()
        self.waiting += len(payload)
        self.queue.put_nowait(link_pb2.UploadRequest(frame=payload, text=kind is WSMsgType.TEXT))
        if self.waiting > UPLOAD_WINDOW and not self.paused:
            self.paused = True
            transport.underlying_transport.pause_reading()

    async def _requests(self) -> AsyncIterator[link_pb2.UploadRequest]:
        while (request := await self.queue.get()) is not None:
            self.waiting -= len(request.frame)
            if self.paused and self.waiting <= UPLOAD_WINDOW // 2:
                self.paused = False
                if self.transport is not None:
                    self.transport.underlying_transport.resume_reading()
            yield request

    async def _relay(self) -> None:
        link = self.edge.link
        try:
            call = link.stub.Upload(self._requests(), metadata=link.metadata)
            async for response in call:
                self._out(response.frame, response.close_code, response.close_reason)
        except grpc.aio.AioRpcError as error:
            if not self.ended:
                log.warning("an upload lost the engine: %s", error.details())
                self._out(
                    refusal("reconnecting", _LINK_DOWN, retryable=True),
                    CLOSE_REFUSED,
                    "reconnecting",
                )
        finally:
            if not self.ended:  # the engine ended the call without a close
                self._out(b"", 1011, "internal")

    def _link_down(self) -> None:
        self._out(
            refusal("reconnecting", _LINK_DOWN, retryable=True), CLOSE_REFUSED, "reconnecting"
        )

    def _out(self, frame: bytes, close_code: int, reason: str) -> None:
        if close_code:
            self.ended = True
        write_upload(self.transport, frame, close_code, reason)


class FileDoor(asyncio.BufferedProtocol):
    """A new connection's first reader on an edge (see the module's docstring)."""

    def __init__(self, edge: LinkedEdge, websocket: Callable[[], Any]) -> None:
        self.edge = edge
        self.websocket = websocket  # makes picows' protocol for the connection
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray(1024)
        self.size = 0
        self.serving: asyncio.Task[None] | None = None
        self.deadline: asyncio.TimerHandle | None = None
        self.writable = asyncio.Event()
        self.writable.set()

    # -- reading the head ------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        # A client that sends no head in time is dropped, as picows drops one
        # that does not finish its handshake.
        self.deadline = self.edge.loop.call_later(self.edge.config.hello_timeout, self._overdue)

    def _overdue(self) -> None:
        self.deadline = None
        if self.serving is None and self.transport is not None:
            self.transport.abort()

    def get_buffer(self, sizehint: int) -> memoryview:
        if self.size == len(self.buffer):
            self.buffer.extend(bytes(len(self.buffer)))
        return memoryview(self.buffer)[self.size :]

    def buffer_updated(self, nbytes: int) -> None:
        self.size += nbytes
        if self.serving is not None:
            self.size = 0  # a file request has no body: anything more is dropped
            return
        head = bytes(self.buffer[: self.size])
        if not any(head.startswith(r) for r in _FILE_REQUESTS):
            if any(r.startswith(head[: len(r)]) for r in _FILE_REQUESTS):
                return  # too few bytes to tell yet
            self._hand_over()
            return
        end = head.find(b"\r\n\r\n")
        if end < 0:
            if self.size >= MAX_REQUEST:
                self._answer_now(431, "bad_request", "the request's head is too large")
            return
        self._disarm()
        self.serving = asyncio.ensure_future(self._serve(head[:end]))

    def _disarm(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None

    def _hand_over(self) -> None:
        """Not a file: picows takes the connection, and the bytes read so far."""
        transport = self.transport
        assert transport is not None
        self._disarm()
        protocol = self.websocket()
        transport.set_protocol(protocol)
        protocol.connection_made(transport)
        data = memoryview(self.buffer)[: self.size]
        while data and not transport.is_closing():
            target = protocol.get_buffer(-1)
            n = min(len(target), len(data))
            target[:n] = data[:n]
            data = data[n:]
            protocol.buffer_updated(n)
        self.buffer = bytearray()
        self.transport = None

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self.transport = None
        self.writable.set()
        if self.serving is not None:
            self.serving.cancel()

    def pause_writing(self) -> None:
        self.writable.clear()

    def resume_writing(self) -> None:
        self.writable.set()

    # -- answering a file request ----------------------------------------------------

    async def _serve(self, head: bytes) -> None:
        lines = head.decode("latin-1").split("\r\n")
        method, target = lines[0].split(" ")[:2]
        fields: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip()
        parts = urlsplit(target)
        request = link_pb2.DownloadRequest(
            method=method,
            path=parts.path,
            query=parts.query,
            authorization=fields.get("authorization", ""),
            visitor=fields.get(VISITOR_HEADER, ""),
        )
        if "origin" in fields:
            request.origin = fields["origin"]
        link = self.edge.link
        started = False
        try:
            if not link.up:
                self._answer_now(503, "reconnecting", _LINK_DOWN)
                return
            async for piece in link.stub.Download(request, metadata=link.metadata, timeout=30):
                if not started:
                    started = True
                    self._write_head(piece.status, dict(piece.headers))
                if piece.body:
                    await self._write(piece.body)
        except grpc.aio.AioRpcError as error:
            log.warning("a file request lost the engine: %s", error.details())
            if not started:
                self._answer_now(503, "reconnecting", _LINK_DOWN)
                return
        if self.transport is not None:
            self.transport.close()

    def _write_head(self, status: int, fields: dict[str, str]) -> None:
        lines = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}"]
        lines += [f"{name}: {value}" for name, value in fields.items()]
        lines.append("Connection: close")
        if self.transport is not None:
            self.transport.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    async def _write(self, data: bytes) -> None:
        await self.writable.wait()  # the client reads: at most a piece waits on it
        if self.transport is not None:
            self.transport.write(data)

    def _answer_now(self, status: int, code: str, message: str) -> None:
        body = orjson.dumps({"error": code, "message": message})
        self._write_head(status, {**headers(JSON), "Content-Length": str(len(body))})
        if self.transport is not None:
            self.transport.write(body)
            self.transport.close()
