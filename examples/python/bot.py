"""An operator bot for Parley, over its gRPC API: a working example to read top
to bottom and adapt.

What it does:

1. Logs in as the account owner (or takes an API token).
2. Makes sure a site, a department and a bot operator exist: it looks each one
   up by name (paging through the lists) and creates what is missing. Every
   create carries a request_id, so a create retried after a timeout makes one
   thing, not two.
3. Logs in as the bot and opens its session stream (OperatorSession.Connect):
   hello first, then waits for `ready`, goes online, takes the chats it is given
   and answers every visitor message. "bye" ends the conversation.

Needs: grpcio, grpcio-status and the generated `parley.v1` modules (installed
with Parley). Run:

    python examples/python/bot.py --server 127.0.0.1:50051 \\
        --email owner@parley.local --password '...' --origin https://shop.example

Options can also come from the environment: PARLEY_SERVER, PARLEY_EMAIL,
PARLEY_PASSWORD, PARLEY_TOKEN, PARLEY_CHAT_URL.
"""

from __future__ import annotations

import argparse
import os
import queue
import secrets
import signal
import sys
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import grpc
from google.protobuf.field_mask_pb2 import FieldMask
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from parley.v1 import common_pb2, control_pb2, control_pb2_grpc, operator_pb2, operator_pb2_grpc

TIMEOUT = 10.0  # seconds for each unary call
HOURS_ANSWER = "We are here around the clock; people answer Monday to Friday, 9:00 to 17:00."


def say(*parts: object) -> None:
    """A line on stdout, at once (a supervisor may be reading it)."""
    print(*parts, flush=True)


# ---- Refusals ---------------------------------------------------------------------
# Every refusal carries a google.rpc.ErrorInfo in the status details: its reason
# is Parley's error code in capitals ("ALREADY_EXISTS", "IN_USE", ...). Programs
# match the reason; the status message is for people.


def reason_of(error: grpc.RpcError) -> str:
    """The ErrorInfo reason of a refused call ("" when there is none)."""
    status = rpc_status.from_call(error)
    for detail in status.details if status else ():
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return str(info.reason)
    return ""


def create(call: Callable[..., Any], request: Any, meta: Any) -> Any:
    """A create with a request_id, retried with the same id when the answer was
    lost (timeout, server restarting): the server makes the thing once and
    answers every retry with it."""
    request.request_id = uuid.uuid4().hex
    for attempt in range(3):
        try:
            return call(request, metadata=meta, timeout=TIMEOUT)
        except grpc.RpcError as error:
            retry = error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
            if not retry or attempt == 2:
                raise
    raise AssertionError("unreachable")


def pages(call: Callable[..., Any], request: Any, field: str, meta: Any) -> Iterator[Any]:
    """Every item of a list, page by page: next_page_token is "" on the last."""
    while True:
        reply = call(request, metadata=meta, timeout=TIMEOUT)
        yield from getattr(reply, field)
        if not reply.next_page_token:
            return
        request.page_token = reply.next_page_token


# ---- Setting up: site, department, bot operator ------------------------------------


def ensure_site(channel: grpc.Channel, meta: Any, name: str, origin: str) -> Any:
    sites = control_pb2_grpc.SitesStub(channel)
    found = pages(sites.ListSites, control_pb2.ListSitesRequest(), "sites", meta)
    site = next((s for s in found if s.name == name), None)
    if site is None:
        new = control_pb2.Site(name=name, allowed_origins=[origin])
        try:
            return create(sites.CreateSite, control_pb2.CreateSiteRequest(site=new), meta)
        except grpc.RpcError as error:
            if reason_of(error) != "ALREADY_EXISTS":
                raise
            # Someone made it between our look-up and our create: take theirs.
            return ensure_site(channel, meta, name, origin)
    if origin not in site.allowed_origins:
        # An update names the fields it changes; the others keep their values.
        site.allowed_origins.append(origin)
        mask = FieldMask(paths=["allowed_origins"])
        update = control_pb2.UpdateSiteRequest(site=site, update_mask=mask)
        site = sites.UpdateSite(update, metadata=meta, timeout=TIMEOUT)
    return site


def ensure_department(channel: grpc.Channel, meta: Any, site_id: str, name: str) -> Any:
    departments = control_pb2_grpc.DepartmentsStub(channel)
    listing = control_pb2.ListDepartmentsRequest(site_id=site_id)
    for department in pages(departments.ListDepartments, listing, "departments", meta):
        if department.name == name:
            return department
    request = control_pb2.CreateDepartmentRequest(
        department=control_pb2.Department(site_id=site_id, name=name)
    )
    try:
        return create(departments.CreateDepartment, request, meta)
    except grpc.RpcError as error:
        if reason_of(error) != "ALREADY_EXISTS":
            raise
        return ensure_department(channel, meta, site_id, name)


def ensure_bot(channel: grpc.Channel, meta: Any, email: str, department_id: str) -> str:
    """The bot operator, made or found, with a fresh password; returns that
    password (the bot logs in with it)."""
    operators = control_pb2_grpc.OperatorsStub(channel)
    password = secrets.token_urlsafe(24)
    wanted = control_pb2.Operator(
        email=email, display_name="Echo bot", role="operator", department_ids=[department_id]
    )
    try:
        bot = create(
            operators.CreateOperator,
            control_pb2.CreateOperatorRequest(operator=wanted, password=password, max_chats=20),
            meta,
        )
    except grpc.RpcError as error:
        if reason_of(error) != "ALREADY_EXISTS":
            raise
        # The email is taken: the bot of an earlier run. Find it, give it a new
        # password (this also ends the sessions an earlier run may have left).
        listing = control_pb2.ListOperatorsRequest()
        found = pages(operators.ListOperators, listing, "operators", meta)
        bot = next((op for op in found if op.email == email), None)
        if bot is None:
            raise SystemExit(f"{email} belongs to another account's operator") from error
        reset = control_pb2.ResetPasswordRequest(operator_id=bot.id, new_password=password)
        operators.ResetPassword(reset, metadata=meta, timeout=TIMEOUT)
    # Chats come to the bot straight away (no offer to accept) from its department.
    bot.auto_accept = True
    bot.auto_distribution = True
    if department_id not in bot.department_ids:
        bot.department_ids.append(department_id)
    mask = FieldMask(paths=["auto_accept", "auto_distribution", "department_ids"])
    update = control_pb2.UpdateOperatorRequest(operator=bot, update_mask=mask)
    operators.UpdateOperator(update, metadata=meta, timeout=TIMEOUT)
    return password


def login(channel: grpc.Channel, email: str, password: str) -> list[tuple[str, str]]:
    reply = control_pb2_grpc.AuthStub(channel).Login(
        control_pb2.LoginRequest(email=email, password=password), timeout=TIMEOUT
    )
    return [("authorization", f"Bearer {reply.token}")]


# ---- The session stream ---------------------------------------------------------


def answer_to(text: str) -> str:
    if "hours" in text.lower():
        return HOURS_ANSWER
    return f"You said: {text}"


class Bot:
    """One session stream. Commands go out in batches through a queue that the
    request iterator drains; events come back in batches."""

    def __init__(self, channel: grpc.Channel, meta: Any, max_chats: int) -> None:
        self.outbox: queue.Queue[list[Any] | None] = queue.Queue()
        self.stub = operator_pb2_grpc.OperatorSessionStub(channel)
        self.meta = meta
        self.max_chats = max_chats  # 0: run until stopped
        self.done = 0  # conversations that ended
        self.mine: set[str] = set()  # conversations assigned to the bot
        self.me = ""  # the bot's operator id, from ready
        self.online = False
        self.stopping = False
        self.call: Any = None

    def send(self, *commands: Any) -> None:
        self.outbox.put(list(commands))

    def commands(self) -> Iterator[Any]:
        while (batch := self.outbox.get()) is not None:
            yield operator_pb2.OperatorCommandBatch(commands=batch)

    def stop(self) -> None:
        self.stopping = True
        self.outbox.put(None)
        if self.call is not None:
            self.call.cancel()

    def run(self, ready_line: str) -> None:
        # hello must come first; it may name conversations to resume.
        self.send(operator_pb2.OperatorCommand(hello=operator_pb2.OperatorHello()))
        self.call = self.stub.Connect(self.commands(), metadata=self.meta)
        try:
            for batch in self.call:
                for event in batch.events:
                    self.handle(event.WhichOneof("event"), event, ready_line)
                if self.max_chats and self.done >= self.max_chats:
                    return
            raise SystemExit("session ended by the server")
        except grpc.RpcError as error:
            if not self.stopping:
                raise SystemExit(f"session ended: {error.code().name} {error.details()}") from None

    def handle(self, kind: str | None, event: Any, ready_line: str) -> None:
        if kind == "ready":
            self.me = event.ready.operator_id
            if event.ready.status != "online":  # the status an earlier run left
                status = operator_pb2.SetStatus(status="online")
                self.send(operator_pb2.OperatorCommand(status=status))
        elif kind == "presence":
            # The operators list: everyone's status once after ready, then each
            # change. Once it shows the bot online, chats can come.
            online = event.presence.status == "online"
            if event.presence.operator_id == self.me and online and not self.online:
                self.online = True
                say(ready_line)
        elif kind == "offered":  # only without auto_accept: take it
            answer = operator_pb2.OfferAnswer(
                conversation_id=event.offered.conversation_id, accept=True
            )
            self.send(operator_pb2.OperatorCommand(answer=answer))
        elif kind == "assigned":
            self.mine.add(event.assigned.conversation_id)
            say(f"chat {event.assigned.conversation_id} with {event.assigned.visitor_name}")
        elif kind == "message":
            self.on_message(event.message)
        elif kind == "closed" and event.closed.conversation_id in self.mine:
            self.mine.discard(event.closed.conversation_id)
            self.done += 1
            say(f"closed {event.closed.conversation_id}")
        elif kind == "error":
            print(f"refused: {event.error.code}: {event.error.message}", file=sys.stderr)

    def on_message(self, message: Any) -> None:
        if message.author_kind != common_pb2.AUTHOR_KIND_VISITOR:
            return  # our own replies and the system's notices come back too
        conv = message.conversation_id
        bye = message.text.strip().lower().startswith("bye")
        # The client message id is ours to choose; one per answer, so a resent
        # command is stored once.
        reply = operator_pb2.OperatorSend(
            conversation_id=conv,
            client_msg_id=f"bot-reply-{message.seq}",
            text="Goodbye!" if bye else answer_to(message.text),
        )
        read = operator_pb2.OperatorRead(conversation_id=conv, seq=message.seq)
        commands = [
            operator_pb2.OperatorCommand(read=read),
            operator_pb2.OperatorCommand(send=reply),
        ]
        if bye:
            close = operator_pb2.CloseConversation(conversation_id=conv)
            commands.append(operator_pb2.OperatorCommand(close=close))
        self.send(*commands)  # one batch: handled in order


# ---- Main -------------------------------------------------------------------------


def arguments() -> argparse.Namespace:
    env = os.environ.get
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--server", default=env("PARLEY_SERVER", "127.0.0.1:50051"))
    p.add_argument("--email", default=env("PARLEY_EMAIL"), help="the owner's (or an admin's)")
    p.add_argument("--password", default=env("PARLEY_PASSWORD"))
    p.add_argument("--token", default=env("PARLEY_TOKEN"), help="instead of email and password")
    p.add_argument("--site-name", default="Example shop")
    p.add_argument("--origin", default="https://shop.example", help="pages that may chat")
    p.add_argument("--department-name", default="Support")
    p.add_argument("--bot-email", default="echo-bot@shop.example")
    p.add_argument(
        "--chat-url",
        default=env("PARLEY_CHAT_URL", "http://127.0.0.1:8080"),
        help="where visitors reach Parley's HTTP side (for the widget line)",
    )
    p.add_argument("--max-chats", type=int, default=0, help="stop after N chats ended")
    p.add_argument("--once", action="store_const", const=1, dest="max_chats")
    args = p.parse_args()
    if not args.token and not (args.email and args.password):
        p.error("give --token, or --email and --password")
    return args


def main() -> int:
    args = arguments()
    with grpc.insecure_channel(args.server) as channel:
        if args.token:
            admin = [("authorization", f"Bearer {args.token}")]
        else:
            admin = login(channel, args.email, args.password)
        site = ensure_site(channel, admin, args.site_name, args.origin)
        department = ensure_department(channel, admin, site.id, args.department_name)
        password = ensure_bot(channel, admin, args.bot_email, department.id)
        base = args.chat_url.rstrip("/")
        say(f"site: {site.id}")
        say(f"department: {department.id}")
        say(f'widget: <script src="{base}/widget.js" data-site="{site.id}" async></script>')
        websocket = base.replace("http", "ws", 1)  # http -> ws, https -> wss
        say(f"visitor websocket: {websocket}/v1/visitor?site={site.id}")

        bot = Bot(channel, login(channel, args.bot_email, password), args.max_chats)
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: bot.stop())
        bot.run(ready_line=f"ready: {args.bot_email} takes chats on site {site.id}")
        bot.stop()
    say("stopped")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except grpc.RpcError as error:
        reason = reason_of(error) or error.code().name
        sys.exit(f"refused ({reason}): {error.details()}")
