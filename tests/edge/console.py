"""A console over the web bridge, as a browser would be: a picows client
speaking binary BridgeFrames (built by edge.bridge.protocol, as the load
generator does)."""

from __future__ import annotations

import asyncio
import os
from typing import Any, TypeVar

from google.protobuf.message import Message
from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from control.runner import Parley
from edge.bridge import protocol
from parley.v1 import bridge_pb2, operator_pb2

M = TypeVar("M", bound=Message)
ROUND_TRIP = "sroundtrip-"  # a conversation id no site has: the marker of a round trip


class Disconnected(Exception):
    def __init__(self, code: int | None) -> None:
        super().__init__(f"disconnected with code {code}")
        self.code = code


class CallFailed(Exception):
    def __init__(self, error: bridge_pb2.UnaryError) -> None:
        super().__init__(f"{error.reason}: {error.message}")
        self.error = error


class _Listener(WSListener):
    def __init__(self, console: Console) -> None:
        self.console = console
        self.close_code: int | None = None

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is WSMsgType.BINARY:
            self.console._arrived(bridge_pb2.BridgeFrame.FromString(frame.get_payload_as_bytes()))
        elif frame.msg_type is WSMsgType.CLOSE:
            self.close_code = frame.get_close_code()
            transport.disconnect()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.console._arrived(Disconnected(self.close_code))


def masked_frames(payloads: list[bytes]) -> bytes:
    """Client websocket frames (binary, whole, masked as a client's must be)."""
    out = bytearray()
    for payload in payloads:
        out.append(0x82)
        size = len(payload)
        if size < 126:
            out.append(0x80 | size)
        elif size < 1 << 16:
            out.append(0x80 | 126)
            out += size.to_bytes(2, "big")
        else:
            out.append(0x80 | 127)
            out += size.to_bytes(8, "big")
        mask = os.urandom(4)
        out += mask
        out += bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
    return bytes(out)


def console_url(app: Parley) -> str:
    return f"ws://127.0.0.1:{app.http_port}/v1/console"


class Console:
    """One console websocket: frames and the stream's events, each in order."""

    def __init__(self, app: Parley) -> None:
        self.url = console_url(app)
        self.transport: WSTransport | None = None
        self.listener: _Listener | None = None
        self.frames: asyncio.Queue[bridge_pb2.BridgeFrame | Disconnected] = asyncio.Queue()
        self.events: asyncio.Queue[operator_pb2.OperatorEvent | Disconnected] = asyncio.Queue()
        self.event_backlog: list[operator_pb2.OperatorEvent] = []
        self.seen: list[operator_pb2.OperatorEvent] = []  # every event, in order
        self.replies: dict[int, asyncio.Future[bridge_pb2.BridgeFrame]] = {}
        self.ready: bridge_pb2.BridgeReady | None = None
        self.closed: bridge_pb2.BridgeClosed | None = None
        self.close_code: int | None = None
        self.gone = asyncio.Event()
        self._next_call = 0
        self._trips = 0

    async def connect(self, origin: str | None = None) -> Console:
        headers = {"Origin": origin} if origin else None
        self.transport, self.listener = await ws_connect(
            lambda: _Listener(self), self.url, extra_headers=headers
        )
        return self

    def _arrived(self, item: bridge_pb2.BridgeFrame | Disconnected) -> None:
        if isinstance(item, Disconnected):
            self.close_code = item.code
            self.gone.set()
            self.frames.put_nowait(item)
            self.events.put_nowait(item)
            for future in self.replies.values():
                if not future.done():
                    future.set_exception(item)
            return
        kind = item.WhichOneof("frame")
        if kind == "events":
            for event in item.events.events:
                self.seen.append(event)
                self.events.put_nowait(event)
        elif kind in ("reply", "error"):
            call_id = getattr(item, kind).call_id
            future = self.replies.pop(call_id, None)
            if future is not None and not future.done():
                future.set_result(item)
        else:
            if kind == "closed":
                self.closed = item.closed
            self.frames.put_nowait(item)

    def send_raw(self, data: bytes, binary: bool = True) -> None:
        assert self.transport is not None
        self.transport.send(WSMsgType.BINARY if binary else WSMsgType.TEXT, data)

    def send_together(self, payloads: list[bytes]) -> None:
        """Binary frames in one write to the socket: the server reads them in one
        go, before it can answer any (a test of limits must not race replies)."""
        assert self.transport is not None
        self.transport.underlying_transport.write(masked_frames(payloads))

    async def frame(self, timeout: float = 5.0) -> bridge_pb2.BridgeFrame:
        """The next frame that is not events nor a call's answer."""
        async with asyncio.timeout(timeout):
            item = await self.frames.get()
        if isinstance(item, Disconnected):
            raise item
        return item

    async def hello(self, token: str, resume: dict[str, int] | None = None) -> Console:
        self.send_raw(protocol.hello_frame(token, resume))
        frame = await self.frame()
        assert frame.WhichOneof("frame") == "ready", frame
        self.ready = frame.ready
        return self

    async def wait_closed(
        self, timeout: float = 15.0
    ) -> tuple[bridge_pb2.BridgeClosed | None, int]:
        """The BridgeClosed (None if cut without one) and the close code (1006
        for a cut)."""
        async with asyncio.timeout(timeout):
            await self.gone.wait()
        return self.closed, self.close_code if self.close_code is not None else 1006

    def send_commands(self, *commands: operator_pb2.OperatorCommand) -> None:
        self.send_raw(protocol.commands_frame(commands))

    def say(self, conversation_id: str, cid: str, text: str) -> None:
        send = operator_pb2.OperatorSend(
            conversation_id=conversation_id, client_msg_id=cid, text=text
        )
        self.send_commands(operator_pb2.OperatorCommand(send=send))

    def expect_call(self, call_id: int) -> asyncio.Future[bridge_pb2.BridgeFrame]:
        """The answer to a call sent by hand (send_together) with ``call_id``."""
        future: asyncio.Future[bridge_pb2.BridgeFrame] = asyncio.get_running_loop().create_future()
        self.replies[call_id] = future
        return future

    def start_call(self, method: str, request: Message) -> asyncio.Future[bridge_pb2.BridgeFrame]:
        self._next_call += 1
        future: asyncio.Future[bridge_pb2.BridgeFrame] = asyncio.get_running_loop().create_future()
        self.replies[self._next_call] = future
        self.send_raw(protocol.call_frame(self._next_call, method, request.SerializeToString()))
        return future

    async def call(self, method: str, request: Message, reply: type[M]) -> M:
        """Call ``method`` through the bridge; its reply, or CallFailed."""
        async with asyncio.timeout(5):
            frame = await self.start_call(method, request)
        if frame.WhichOneof("frame") == "error":
            raise CallFailed(frame.error)
        return reply.FromString(frame.reply.response)

    async def event(self, *kinds: str, timeout: float = 5.0) -> Any:
        """The first event of any of ``kinds`` (any if none); others stay queued."""
        for i, event in enumerate(self.event_backlog):
            if not kinds or event.WhichOneof("event") in kinds:
                del self.event_backlog[i]
                return getattr(event, event.WhichOneof("event"))
        async with asyncio.timeout(timeout):
            while True:
                item = await self.events.get()
                if isinstance(item, Disconnected):
                    raise item
                if not kinds or item.WhichOneof("event") in kinds:
                    return getattr(item, item.WhichOneof("event"))
                self.event_backlog.append(item)

    async def round_trip(self) -> None:
        """A command answered through the stream: every event the session sent
        before its answer has arrived here."""
        self._trips += 1
        marker = f"{ROUND_TRIP}{self._trips:012d}"
        join = operator_pb2.ChatAction(conversation_id=marker, join=operator_pb2.JoinChat())
        self.send_commands(operator_pb2.OperatorCommand(action=join))
        async with asyncio.timeout(5):
            while True:
                item = await self.events.get()
                if isinstance(item, Disconnected):
                    raise item
                if item.WhichOneof("event") == "error" and item.error.conversation_id == marker:
                    return
                self.event_backlog.append(item)

    async def ping(self, ping_id: int = 1) -> None:
        self.send_raw(protocol.ping_frame(ping_id))
        frame = await self.frame()
        assert frame.WhichOneof("frame") == "pong" and frame.pong.id == ping_id, frame

    async def close(self) -> None:
        if self.transport is not None:
            self.transport.disconnect()
            await self.transport.wait_disconnected()
