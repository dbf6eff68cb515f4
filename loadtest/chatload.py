"""Chat traffic for the capacity benchmarks (overload, soak): operators on gRPC
session streams, visitors on websockets sending messages at a paced rate or
with a window in flight, and the fate of every message sent.

A message is *pending* from its send until the server answers it: ``ack``
(stored durably, with its conversation and seq) or an ``error`` naming its
``cid`` (refused; ``overloaded`` carries ``retryable`` and, from an edge, a
``retry_after_ms`` hint). Latency is from the send to the ack, on the visitor's
side. ``transcript_check`` reads every conversation back over the gRPC API and
finds each acknowledged message in it, at the seq its ack gave.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from typing import Any

import grpc
import orjson
from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from edge.visitor.frames import client_hello, client_msg
from loadtest.fleet import Fleet
from parley.v1 import (
    common_pb2,
    control_pb2,
    control_pb2_grpc,
    operator_pb2,
    operator_pb2_grpc,
)

TEXT = "Hello, I have a question about my order number 12345, thanks!"
CLOSE = orjson.dumps({"type": "close"})


class Outcomes:
    """What became of the messages sent: counters shared by every visitor."""

    def __init__(self, keep_acked: bool = True) -> None:
        self.pending: dict[str, float] = {}  # cid -> when sent
        self.keep_acked = keep_acked
        self.acked: dict[str, tuple[str, int]] = {}  # cid -> (conversation, seq)
        self.acks = 0
        self.sent = 0
        self.refused: Counter[str] = Counter()
        self.refused_at: list[float] = []  # when each refused message was sent
        self.retryable = 0  # refusals marked retryable
        self.hinted = 0  # refusals with a retry_after_ms hint
        self.other_errors: Counter[str] = Counter()  # errors naming no message
        self.latencies: list[tuple[float, float]] = []  # (sent at, seconds to ack)
        self.chats = 0  # conversations opened (an ack in a new conversation)
        self.operator_cuts = 0  # load operators' streams ended by the server

    def take_latencies(self) -> list[tuple[float, float]]:
        out, self.latencies = self.latencies, []
        return out


class Visitor(WSListener):  # type: ignore[misc]
    """One visitor; with ``chat_length`` it closes its chat after that many
    messages, and its next message opens another."""

    def __init__(self, out: Outcomes, index: int) -> None:
        self.out = out
        self.index = index
        self.n = 0
        self.chat_length = 0  # messages per chat (0: the chat stays open)
        self.in_chat = 0
        self.conversation = ""
        self.window = 0  # messages kept in flight (saturation); 0: sent by offer
        self.outstanding = 0
        self.closing = False
        self.close_sent = False
        self.transport: WSTransport | None = None
        self.welcomed = asyncio.get_running_loop().create_future()

    def send_one(self) -> None:
        cid = f"{self.index}-{self.n}"
        self.n += 1
        self.out.pending[cid] = time.perf_counter()
        self.out.sent += 1
        assert self.transport is not None
        self.transport.send(WSMsgType.TEXT, client_msg(cid, TEXT))
        self.outstanding += 1
        if self.chat_length:
            self.in_chat += 1
            if self.in_chat >= self.chat_length:
                # Close once every message of this chat is answered: one sent
                # after the close would be refused, being of the closed chat.
                self.in_chat = 0
                self.closing = True

    def _answered(self) -> None:
        self.outstanding -= 1
        if self.closing and not self.outstanding and not self.close_sent:
            assert self.transport is not None
            self.transport.send(WSMsgType.TEXT, CLOSE)
            self.close_sent = True

    def refill(self) -> None:
        """Saturation: back to ``window`` messages in flight, unless it is
        closing its chat (the window refills in the next one)."""
        while self.window and not self.closing and self.outstanding < self.window:
            self.send_one()

    @property
    def busy(self) -> bool:
        """Closing its chat: it sends nothing until the chat is closed."""
        return self.closing

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is not WSMsgType.TEXT:
            return
        doc = orjson.loads(frame.get_payload_as_bytes())
        kind = doc["type"]
        out = self.out
        if kind == "ack":
            cid = doc["cid"]
            sent = out.pending.pop(cid, None)
            if sent is None:
                return
            out.acks += 1
            self._answered()
            out.latencies.append((sent, time.perf_counter() - sent))
            if out.keep_acked:
                out.acked[cid] = (doc["conversation"], doc["seq"])
            if doc["conversation"] != self.conversation:
                self.conversation = doc["conversation"]
                out.chats += 1
            self.refill()
        elif kind == "closed" and self.close_sent:
            self.closing = self.close_sent = False
            self.refill()
        elif kind == "welcome":
            if not self.welcomed.done():
                self.welcomed.set_result(doc)
        elif kind == "error":
            cid = doc.get("cid", "")
            sent = out.pending.pop(cid, None) if cid else None
            if sent is not None:
                out.refused[doc["code"]] += 1
                out.refused_at.append(sent)
                out.retryable += bool(doc.get("retryable"))
                out.hinted += "retry_after_ms" in doc
                self._answered()
                self.refill()
            else:
                out.other_errors[doc["code"]] += 1
                if self.close_sent:  # the close refused: carry on in a new chat
                    self.closing = self.close_sent = False
                    self.refill()


async def _operator(stub: Any, token: str, ready: asyncio.Event, out: Outcomes) -> None:
    """One load operator: a session stream that reads what it is sent. Cut (a
    slow reader past its bound, the engine restarting), it comes back after a
    pause and resumes each chat it is in from the last seq it saw, as a real
    console does; the cuts are counted in ``out.operator_cuts``."""
    seen: dict[str, int] = {}  # open chats it is in -> the last seq it saw
    pause = 0.05
    while True:
        hello = operator_pb2.OperatorHello(
            resume=[common_pb2.ResumePoint(conversation_id=c, after_seq=s) for c, s in seen.items()]
        )
        over = asyncio.Event()
        call = stub.Connect(
            _hello_then_wait(hello, over), metadata=[("authorization", f"Bearer {token}")]
        )
        try:
            async for batch in call:
                for event in batch.events:
                    which = event.WhichOneof("event")
                    if which == "message":
                        m = event.message
                        if m.seq > seen.get(m.conversation_id, 0):
                            seen[m.conversation_id] = m.seq
                    elif which == "assigned":
                        seen.setdefault(event.assigned.conversation_id, 0)
                    elif which == "closed":
                        seen.pop(event.closed.conversation_id, None)
                    elif which == "ready":
                        ready.set()
                        pause = 0.05
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.UNAUTHENTICATED:
                raise  # its token is gone: coming back would not help
        finally:
            # The commands end with the call: gRPC stops waiting on them only
            # when it cancels a call still running, not one the server ended.
            over.set()
            call.cancel()
        out.operator_cuts += 1
        await asyncio.sleep(pause)
        pause = min(pause * 2, 2.0)


async def _hello_then_wait(hello: operator_pb2.OperatorHello, over: asyncio.Event) -> Any:
    yield operator_pb2.OperatorCommandBatch(commands=[operator_pb2.OperatorCommand(hello=hello)])
    await over.wait()  # the stream stays open until the call is over


async def new_operator(
    channel: grpc.aio.Channel,
    info: dict[str, str],
    email: str,
    password: str,
    max_chats: int,
    name: str = "",
) -> str:
    """An operator of the demo department, made by the owner (``info`` is the
    server's banner): logged in, its session token."""
    auth = control_pb2_grpc.AuthStub(channel)
    owner = await auth.Login(
        control_pb2.LoginRequest(email=info["owner_email"], password=info["owner_password"])
    )
    await control_pb2_grpc.OperatorsStub(channel).CreateOperator(
        control_pb2.CreateOperatorRequest(
            operator=control_pb2.Operator(
                email=email, display_name=name or email, department_ids=[info["department"]]
            ),
            password=password,
            max_chats=max_chats,
        ),
        metadata=[("authorization", f"Bearer {owner.token}")],
    )
    login = await auth.Login(control_pb2.LoginRequest(email=email, password=password))
    return str(login.token)


class Chat:
    """Operators online and visitors welcomed on a running ``Fleet``."""

    def __init__(self, srv: Fleet, out: Outcomes) -> None:
        self.srv = srv
        self.out = out
        self.channel = grpc.aio.insecure_channel(srv.info["grpc"])
        self.tasks: list[asyncio.Task[None]] = []
        self.visitors: list[Visitor] = []
        self.owner_md: list[tuple[str, str]] = []
        self.turn = 0

    async def open(self, visitors: int, operators: int, max_chats: int = 0) -> None:
        """Log operators in, connect and welcome the visitors, and open a chat
        for each (its first message acknowledged)."""
        info = self.srv.info
        auth = control_pb2_grpc.AuthStub(self.channel)
        owner = await auth.Login(
            control_pb2.LoginRequest(email=info["owner_email"], password=info["owner_password"])
        )
        self.owner_md = [("authorization", f"Bearer {owner.token}")]
        stub = operator_pb2_grpc.OperatorSessionStub(self.channel)
        for i in range(operators):
            token = await new_operator(
                self.channel,
                info,
                f"load{i}@parley.local",
                "load-password",
                max_chats or math.ceil(visitors / operators),
                f"Load {i}",
            )
            ready = asyncio.Event()
            task = asyncio.create_task(_operator(stub, token, ready, self.out))
            self.tasks.append(task)
            waiting = asyncio.ensure_future(ready.wait())
            await asyncio.wait([waiting, task], return_when=asyncio.FIRST_COMPLETED)
            if not ready.is_set():
                waiting.cancel()
                task.result()  # its stream refused for good: the error, not a wait forever
        url = self.srv.visitor_url()
        for i in range(visitors):
            _, v = await ws_connect(lambda i=i: Visitor(self.out, i), url)
            v.transport.send(WSMsgType.TEXT, client_hello(name=f"visitor {i}"))
            await v.welcomed
            self.visitors.append(v)
        for v in self.visitors:
            v.send_one()
        await self.drain(60)

    async def drain(self, limit: float) -> bool:
        """Wait until every message sent is answered (at most ``limit`` s)."""
        deadline = time.perf_counter() + limit
        while self.out.pending and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
        return not self.out.pending

    async def saturate(self, window: int, seconds: float, warmup: float) -> float:
        """Each visitor keeps ``window`` messages in flight (a visitor with a
        ``chat_length`` closes its chat after that many, and its window waits
        for the close); acks per second."""
        for v in self.visitors:
            v.window = window
            v.refill()
        await asyncio.sleep(warmup)
        acks = self.out.acks
        began = time.perf_counter()
        await asyncio.sleep(seconds)
        rate = (self.out.acks - acks) / (time.perf_counter() - began)
        for v in self.visitors:
            v.window = 0
        await self.drain(60)
        return rate

    async def offer(self, rate: float, seconds: float, tick: float = 0.001) -> float:
        """Send ``rate`` messages a second, round robin over the visitors, for
        ``seconds``, whatever comes back; the rate actually sent."""
        owed = 0.0
        start = last = time.perf_counter()
        sent = self.out.sent
        end = start + seconds
        visitors = self.visitors
        while (now := time.perf_counter()) < end:
            owed += (now - last) * rate
            last = now
            skipped = 0
            while owed >= 1.0 and skipped < len(visitors):
                v = visitors[self.turn % len(visitors)]
                self.turn += 1
                if v.busy:  # its turn passes to the next
                    skipped += 1
                    continue
                v.send_one()
                owed -= 1.0
            await asyncio.sleep(tick)
        return (self.out.sent - sent) / (time.perf_counter() - start)

    async def transcript_check(self) -> tuple[int, int]:
        """Read every conversation of an acknowledged message back over gRPC:
        (acknowledged messages checked, those missing or at another seq)."""
        api = control_pb2_grpc.ConversationsStub(self.channel)
        by_conversation: dict[str, dict[str, int]] = {}
        for cid, (conversation, seq) in self.out.acked.items():
            by_conversation.setdefault(conversation, {})[cid] = seq
        missing = 0
        for conversation, want in by_conversation.items():
            stored: dict[str, int] = {}
            token = ""
            while True:
                page = await api.ListMessages(
                    control_pb2.ListMessagesRequest(
                        conversation_id=conversation, page_size=1000, page_token=token
                    ),
                    metadata=self.owner_md,
                )
                for m in page.messages:
                    if m.client_msg_id:
                        stored[m.client_msg_id] = m.seq
                token = page.next_page_token
                if not token:
                    break
            missing += sum(1 for cid, seq in want.items() if stored.get(cid) != seq)
        return len(self.out.acked), missing

    async def close(self) -> None:
        for v in self.visitors:
            if v.transport is not None:
                v.transport.disconnect()
        for task in self.tasks:
            task.cancel()
        # The streams end before their channel closes, so nothing is torn down twice.
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.channel.close()


def percentile(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ms(x: float) -> str:
    return "-" if math.isnan(x) else f"{x * 1000:.1f} ms"
