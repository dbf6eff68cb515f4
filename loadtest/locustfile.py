"""Capacity test with locust: visitor users over websockets, operator users over
the gRPC session stream, against a running ``parley serve --demo``.

    parley serve --demo --data data ...       # prints the site id
    locust -f loadtest/locustfile.py --headless -u 52 -r 10 -t 30s \\
        --host http://127.0.0.1:8080 --grpc 127.0.0.1:50051 --site SITE_ID --data data

``--data`` reads the demo operator's login from ``demo-credentials.json`` and the
owner's from ``owner-credentials.json`` in the server's data directory (or give
``--operator-email``/``--operator-password``, and ``--owner-email``/``--owner-password``).
With the owner's login the run first raises the operator's ``max_chats`` to the
number of users, so every visitor is answered; ``locust -f loadtest/locustfile.py
--help`` lists the options under "Parley".

Order: the operator users (``--operators``, a fixed count) are spawned first, and
a visitor sends only once an operator of its process is online. A message the
site refuses as ``offline`` (nobody online yet, in a distributed run an operator
on another worker still logging in) is tried again and counted apart, as
"visitor msg refused: nobody online", not as a failure.

Visitor users say hello, then send messages and time the durable ack ("visitor
msg -> ack") and the operator's answer ("visitor msg -> answer"). Operator users
answer each visitor message, timing their own acks ("operator reply -> ack").
At the end visitors close their chats and operators close what they still hold:
the run leaves no chat open. Any failure makes locust exit 1.
"""

from __future__ import annotations

import contextlib
import itertools
import queue
import time
import uuid
from pathlib import Path
from typing import Any

import gevent
import gevent.event
import grpc
import grpc.experimental.gevent as grpc_gevent
import orjson
import websocket
from google.protobuf import field_mask_pb2
from locust import User, between, events, task
from locust.runners import WorkerRunner

from parley.v1 import control_pb2, control_pb2_grpc, operator_pb2, operator_pb2_grpc

grpc_gevent.init_gevent()

_counter = itertools.count()
OPERATOR_ONLINE = gevent.event.Event()  # an operator user of this process is online
REFUSED_OFFLINE = "visitor msg refused: nobody online"


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    group = parser.add_argument_group("Parley")
    group.add_argument("--site", default="", help="The site id parley serve printed")
    group.add_argument("--grpc", default="127.0.0.1:50051", help="The gRPC address")
    group.add_argument(
        "--data",
        default="",
        help="The server's data directory: the demo operator's and owner's logins are read there",
    )
    group.add_argument("--operator-email", default="", help="The operator users log in as")
    group.add_argument("--operator-password", default="")
    group.add_argument("--owner-email", default="", help="Raises the operator's max_chats")
    group.add_argument("--owner-password", default="")
    group.add_argument(
        "--operators",
        type=int,
        default=1,
        help="Operator users (a fixed count); each session of one operator sees all its chats",
    )


def _login(options: Any, who: str) -> tuple[str, str]:
    email, password = getattr(options, f"{who}_email"), getattr(options, f"{who}_password")
    if not email and options.data:
        name = "demo" if who == "operator" else "owner"
        doc = orjson.loads((Path(options.data) / f"{name}-credentials.json").read_bytes())
        email, password = doc["email"], doc["password"]
    return email, password


@events.init.add_listener
def _init(environment: Any, **_: Any) -> None:
    options = environment.parsed_options
    if options is not None:
        OperatorUser.fixed_count = options.operators


@events.test_start.add_listener
def _raise_capacity(environment: Any, **_: Any) -> None:
    """Give the operator room for every visitor (once, where the run starts)."""
    options = environment.parsed_options
    if options is None or isinstance(environment.runner, WorkerRunner):
        return  # a worker: its master did it
    owner, owner_password = _login(options, "owner")
    email, password = _login(options, "operator")
    if not owner or not email:
        return
    with grpc.insecure_channel(options.grpc) as channel:
        auth = control_pb2_grpc.AuthStub(channel)
        token = auth.Login(control_pb2.LoginRequest(email=owner, password=owner_password)).token
        me = auth.Login(control_pb2.LoginRequest(email=email, password=password)).operator
        control_pb2_grpc.OperatorsStub(channel).UpdateOperator(
            control_pb2.UpdateOperatorRequest(
                operator=control_pb2.Operator(id=me.id, max_chats=max(5, options.num_users or 0)),
                update_mask=field_mask_pb2.FieldMask(paths=["max_chats"]),
            ),
            metadata=[("authorization", f"Bearer {token}")],
        )


def fire(
    environment: Any, kind: str, name: str, started: float, error: Exception | None = None
) -> None:
    environment.events.request.fire(
        request_type=kind,
        name=name,
        response_time=(time.perf_counter() - started) * 1000,
        response_length=0,
        exception=error,
        context={},
    )


class Refusal(Exception):
    def __init__(self, frame: dict[str, Any]) -> None:
        super().__init__(f"{frame['code']}: {frame['message']}")
        self.code = frame["code"]


class VisitorUser(User):
    """A website visitor chatting through the widget protocol."""

    wait_time = between(1, 3)
    weight = 10

    def on_start(self) -> None:
        options = self.environment.parsed_options
        if not options.site:
            raise RuntimeError("give --site, the site id parley serve printed")
        base = self.host.replace("http://", "ws://").replace("https://", "wss://")
        started = time.perf_counter()
        self.ws = websocket.create_connection(f"{base}/v1/visitor?site={options.site}", timeout=10)
        self.ws.send(orjson.dumps({"type": "hello", "v": 1, "name": f"locust {next(_counter)}"}))
        self._wait_for("welcome")
        fire(self.environment, "ws", "hello -> welcome", started)
        self.chatting = False
        if options.operators and OperatorUser.fixed_count:
            OPERATOR_ONLINE.wait(10)  # this process's operators come first

    def _wait_for(self, kind: str, cid: str | None = None) -> dict[str, Any]:
        while True:
            frame = orjson.loads(self.ws.recv())
            if frame["type"] == "error" and (cid is None or frame.get("cid") == cid):
                raise Refusal(frame)
            if frame["type"] == kind and (cid is None or frame.get("cid") == cid):
                return frame
            if frame["type"] == "closed":
                self.chatting = False

    @task
    def send_message(self) -> None:
        cid = uuid.uuid4().hex[:16]
        started = time.perf_counter()
        try:
            self.ws.send(orjson.dumps({"type": "msg", "cid": cid, "text": "Hello from locust"}))
            self._wait_for("ack", cid)
        except Refusal as error:
            if error.code == "offline":  # operators still coming online: not a failure
                fire(self.environment, "ws", REFUSED_OFFLINE, started)
                gevent.sleep(0.5)
                return
            fire(self.environment, "ws", "visitor msg -> ack", started, error)
            return
        except Exception as error:
            fire(self.environment, "ws", "visitor msg -> ack", started, error)
            return
        fire(self.environment, "ws", "visitor msg -> ack", started)
        self.chatting = True
        try:
            while True:
                frame = orjson.loads(self.ws.recv())
                if frame["type"] == "msg" and frame.get("from") == "operator":
                    break
        except Exception as error:
            fire(self.environment, "ws", "visitor msg -> answer", started, error)
        else:
            fire(self.environment, "ws", "visitor msg -> answer", started)

    def on_stop(self) -> None:
        ws = getattr(self, "ws", None)
        if ws is None:
            return
        # End the chat and see it ended (the operator may have ended it first).
        with contextlib.suppress(Exception):
            if self.chatting:
                ws.send(orjson.dumps({"type": "close"}))
                self._wait_for("closed")
        ws.close()


class OperatorUser(User):
    """An operator answering every visitor message on its session stream."""

    fixed_count = 1  # set from --operators; fixed-count users are spawned first
    wait_time = between(1, 1)

    def on_start(self) -> None:
        options = self.environment.parsed_options
        email, password = _login(options, "operator")
        if not email:
            raise RuntimeError("give --data, or --operator-email and --operator-password")
        self.channel = grpc.insecure_channel(options.grpc)
        auth = control_pb2_grpc.AuthStub(self.channel)
        started = time.perf_counter()
        token = auth.Login(control_pb2.LoginRequest(email=email, password=password)).token
        fire(self.environment, "grpc", "login", started)
        self.outbox: queue.Queue[Any] = queue.Queue()
        self.pending: dict[str, float] = {}
        self.held: set[str] = set()  # chats this session was assigned and not closed
        self.closing: dict[str, gevent.event.Event] = {}
        self.outbox.put([operator_pb2.OperatorCommand(hello=operator_pb2.OperatorHello())])
        stub = operator_pb2_grpc.OperatorSessionStub(self.channel)
        self.call = stub.Connect(self._commands(), metadata=[("authorization", f"Bearer {token}")])
        self.reader = gevent.spawn(self._read)

    def _commands(self) -> Any:
        while True:
            batch = self.outbox.get()
            if batch is None:
                return
            yield operator_pb2.OperatorCommandBatch(commands=batch)

    def _send(self, command: operator_pb2.OperatorCommand) -> None:
        self.outbox.put([command])

    def _read(self) -> None:
        try:
            for batch in self.call:
                for event in batch.events:
                    self._event(event)
        except grpc.RpcError:
            pass

    def _event(self, event: operator_pb2.OperatorEvent) -> None:
        which = event.WhichOneof("event")
        if which == "ready":
            OPERATOR_ONLINE.set()
        elif which == "assigned":
            self.held.add(event.assigned.conversation_id)
        elif which == "offered":
            answer = operator_pb2.OfferAnswer(
                conversation_id=event.offered.conversation_id, accept=True
            )
            self._send(operator_pb2.OperatorCommand(answer=answer))
        elif which == "closed":
            conv = event.closed.conversation_id
            self.held.discard(conv)
            if conv in self.closing:
                self.closing[conv].set()
        elif which == "message" and event.message.author_kind == 1:
            self._reply(event.message.conversation_id)
        elif which == "ack":
            started = self.pending.pop(event.ack.client_msg_id, None)
            if started is not None:
                fire(self.environment, "grpc", "operator reply -> ack", started)
        elif which == "error" and event.error.code != "conversation_closed":
            # A reply racing the visitor's close is no failure; anything else is.
            error = RuntimeError(f"{event.error.code}: {event.error.message}")
            fire(self.environment, "grpc", "operator command", time.perf_counter(), error)

    def _reply(self, conversation_id: str) -> None:
        cid = uuid.uuid4().hex[:16]
        self.pending[cid] = time.perf_counter()
        send = operator_pb2.OperatorSend(
            conversation_id=conversation_id, client_msg_id=cid, text="Thanks, looking into it"
        )
        self._send(operator_pb2.OperatorCommand(send=send))

    @task
    def idle(self) -> None:
        """Operators act on events; this task only keeps the user alive."""

    def on_stop(self) -> None:
        # Close what this session still holds, and wait (briefly) to see it closed.
        for conv in list(self.held):
            self.closing[conv] = gevent.event.Event()
            close = operator_pb2.CloseConversation(conversation_id=conv)
            self._send(operator_pb2.OperatorCommand(close=close))
        for done in self.closing.values():
            done.wait(5)
        self.outbox.put(None)
        self.call.cancel()
        self.channel.close()
