"""Capacity test with locust: visitor users over websockets, operator users over
the gRPC session stream, against a running ``parley serve --demo``.

    parley serve --demo                    # prints the site id and credentials
    PARLEY_SITE=SITE_ID PARLEY_GRPC=127.0.0.1:50051 \\
    PARLEY_OPERATOR_EMAIL=EMAIL PARLEY_OPERATOR_PASSWORD=PASSWORD \\
    locust -f loadtest/locustfile.py --headless -u 50 -r 10 -t 30s --host http://127.0.0.1:8080

Visitor users say hello once, then send messages and time the durable ack
("visitor msg -> ack"). Operator users keep one session stream open and answer
each visitor message, timing their own acks ("operator reply -> ack"). One locust
process cannot saturate Parley (see loadtest/bench_e2e.py for the headline
figures); this file is for capacity and soak tests with many users.
Start the server with higher --visitor-rate/--visitor-burst when users send fast
(and --visitor-messages-per-hour 0: each visitor may send 600 messages an hour).
"""

from __future__ import annotations

import itertools
import os
import queue
import time
import uuid
from typing import Any

import gevent
import grpc
import grpc.experimental.gevent as grpc_gevent
import orjson
import websocket
from locust import User, between, task

from parley.v1 import control_pb2, control_pb2_grpc, operator_pb2, operator_pb2_grpc

grpc_gevent.init_gevent()

SITE = os.environ.get("PARLEY_SITE", "")
GRPC = os.environ.get("PARLEY_GRPC", "127.0.0.1:50051")
OP_EMAIL = os.environ.get("PARLEY_OPERATOR_EMAIL", "")
OP_PASSWORD = os.environ.get("PARLEY_OPERATOR_PASSWORD", "")
_counter = itertools.count()


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


class VisitorUser(User):
    """A website visitor chatting through the widget protocol."""

    wait_time = between(1, 3)
    weight = 10

    def on_start(self) -> None:
        if not SITE:
            raise RuntimeError("set PARLEY_SITE to the site id parley serve printed")
        base = self.host.replace("http://", "ws://").replace("https://", "wss://")
        started = time.perf_counter()
        self.ws = websocket.create_connection(f"{base}/v1/visitor?site={SITE}", timeout=10)
        self.ws.send(orjson.dumps({"type": "hello", "v": 1, "name": f"locust {next(_counter)}"}))
        self._wait_for("welcome")
        fire(self.environment, "ws", "hello -> welcome", started)

    def _wait_for(self, kind: str, cid: str | None = None) -> dict[str, Any]:
        while True:
            frame = orjson.loads(self.ws.recv())
            if frame["type"] == "error":
                raise RuntimeError(f"{frame['code']}: {frame['message']}")
            if frame["type"] == kind and (cid is None or frame.get("cid") == cid):
                return frame

    @task
    def send_message(self) -> None:
        cid = uuid.uuid4().hex[:16]
        started = time.perf_counter()
        try:
            self.ws.send(orjson.dumps({"type": "msg", "cid": cid, "text": "Hello from locust"}))
            self._wait_for("ack", cid)
        except Exception as error:  # reported to locust as a failure
            # Until an operator user is online the site takes no chat: counted
            # apart, so it is not mistaken for a failure of the message path.
            offline = str(error).startswith("offline")
            name = "visitor msg refused: nobody online" if offline else "visitor msg -> ack"
            fire(self.environment, "ws", name, started, error)
        else:
            fire(self.environment, "ws", "visitor msg -> ack", started)

    def on_stop(self) -> None:
        self.ws.close()


class OperatorUser(User):
    """An operator answering every visitor message on its session stream."""

    weight = 1
    wait_time = between(1, 1)

    def on_start(self) -> None:
        if not OP_EMAIL:
            raise RuntimeError("set PARLEY_OPERATOR_EMAIL and PARLEY_OPERATOR_PASSWORD")
        self.channel = grpc.insecure_channel(GRPC)
        auth = control_pb2_grpc.AuthStub(self.channel)
        started = time.perf_counter()
        token = auth.Login(control_pb2.LoginRequest(email=OP_EMAIL, password=OP_PASSWORD)).token
        fire(self.environment, "grpc", "login", started)
        self.outbox: queue.Queue[Any] = queue.Queue()
        self.pending: dict[str, float] = {}
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

    def _read(self) -> None:
        try:
            for batch in self.call:
                for event in batch.events:
                    which = event.WhichOneof("event")
                    if which == "message" and event.message.author_kind == 1:
                        cid = uuid.uuid4().hex[:16]
                        self.pending[cid] = time.perf_counter()
                        self.outbox.put(
                            [
                                operator_pb2.OperatorCommand(
                                    send=operator_pb2.OperatorSend(
                                        conversation_id=event.message.conversation_id,
                                        client_msg_id=cid,
                                        text="Thanks, looking into it",
                                    )
                                )
                            ]
                        )
                    elif which == "ack":
                        started = self.pending.pop(event.ack.client_msg_id, None)
                        if started is not None:
                            fire(self.environment, "grpc", "operator reply -> ack", started)
                    elif which == "error":
                        fire(
                            self.environment,
                            "grpc",
                            "operator command",
                            time.perf_counter(),
                            RuntimeError(f"{event.error.code}: {event.error.message}"),
                        )
        except grpc.RpcError:
            pass

    @task
    def idle(self) -> None:
        """Operators act on events; this task only keeps the user alive."""

    def on_stop(self) -> None:
        self.outbox.put(None)
        self.call.cancel()
        self.channel.close()
