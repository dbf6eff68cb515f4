"""The websocket edge and the gRPC visitor channel answer every visitor command alike.

One table of commands (each visitor command, valid and invalid, before and after
hello) runs through both front ends of one real server, and each front end's
answers must equal the table's: the two share one dispatch onto the session, and
this test keeps them from drifting apart again. After each command a marker (a
message with no text, always refused with its client id: no_hello before the
hello, empty_message after it) makes a round trip on
the same stream, so a command that must answer nothing is seen to answer nothing.
An answer that comes after a store write or an actor's turn (an ack, a saved
ticket, a rating, a close) is awaited until it comes. Wire-level checks that only
one wire has (a frame that is not JSON, a string where a number belongs) are the
protocol's own tests, not this table's.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import grpc

from engine.chat.commands import (
    Choose,
    CloseChat,
    Hello,
    LeaveTicket,
    PageChange,
    RateChat,
    ReadTo,
    Send,
    TypingNow,
    VisitorCommand,
)
from parley.v1 import visitor_pb2, visitor_pb2_grpc
from tests.integration.helpers import Visitor, on_duty, owner, running, visitor_url

Answer = tuple[Any, ...]
# Events that are not answers to the visitor's command: the chat's own life
# (its queue position, the operator joining, messages and receipts).
CHATTER = {"queued", "joined", "msg", "typing", "read"}

URL = "https://shop.example/item"


def table(dept: str) -> list[tuple[str, VisitorCommand, list[Answer]]]:
    """(what, command, the answers): the contract both front ends keep."""
    ticket = LeaveTicket("Ann", "ann@example.com", "call me back")
    return [
        # Before hello: every command is refused, the same way.
        ("typing before hello", TypingNow(True, "dra"), [("error", "no_hello", "")]),
        ("send before hello", Send("c0", "hi"), [("error", "no_hello", "c0")]),
        ("read before hello", ReadTo(1), [("error", "no_hello", "")]),
        ("rate before hello", RateChat(5), [("error", "no_hello", "")]),
        ("choose before hello", Choose(dept), [("error", "no_hello", "")]),
        ("page before hello", PageChange(URL, "Item"), [("error", "no_hello", "")]),
        ("ticket before hello", ticket, [("error", "no_hello", "")]),
        ("close before hello", CloseChat(), [("error", "no_hello", "")]),
        (
            "hello, unknown department",
            Hello(department="dnosuchdpt"),
            [("error", "unknown_department", "")],
        ),
        ("hello, a long name", Hello(name="n" * 101), [("error", "invalid_argument", "")]),
        ("hello", Hello(department=dept, name="Ann"), [("welcome", "")]),
        # After hello, before a chat.
        ("hello again", Hello(department=dept), [("error", "already_hello", "")]),
        ("typing, no chat yet", TypingNow(True, "dra"), []),
        ("read, no chat", ReadTo(1), [("error", "no_conversation", "")]),
        ("rate, no chat", RateChat(5), [("error", "no_conversation", "")]),
        ("close, no chat", CloseChat(), [("error", "no_conversation", "")]),
        ("choose, unknown", Choose("dnosuchdpt"), [("error", "unknown_department", "")]),
        ("choose, region alone", Choose(dept, "rnosuchreg"), [("error", "unknown_region", "")]),
        ("choose", Choose(dept), [("departments", dept, False)]),
        ("page", PageChange(URL + "/2", "Item 2"), []),
        ("page, too long", PageChange("u" * 2001), [("error", "invalid_argument", "")]),
        ("ticket, no email", LeaveTicket("Ann", "", "hi"), [("error", "invalid_argument", "")]),
        ("ticket, no text", LeaveTicket("Ann", "a@b.co", ""), [("error", "invalid_argument", "")]),
        ("ticket", ticket, [("ticket_saved",)]),
        ("send, empty", Send("c1", ""), [("error", "empty_message", "c1")]),
        ("send, too long", Send("c2", "x" * 5001), [("error", "message_too_long", "c2")]),
        ("send, no client id", Send("", "hi"), [("error", "bad_client_msg_id", "")]),
        ("send", Send("c3", "hello there"), [("ack", "c3")]),
        # In a chat.
        ("choose, chat open", Choose(dept), [("error", "conversation_open", "")]),
        ("typing", TypingNow(True, "more"), []),
        ("read", ReadTo(1), []),
        ("rate, chat open", RateChat(4), [("error", "not_closed", "")]),
        ("send again", Send("c4", "still there?"), [("ack", "c4")]),
        ("close", CloseChat(), [("closed",)]),
        # After the chat.
        ("close, closed", CloseChat(), [("error", "no_conversation", "")]),
        ("rate", RateChat(5, "thanks"), [("rated", 5)]),
    ]


# -- the websocket edge -------------------------------------------------------------


def frame(command: VisitorCommand) -> dict[str, Any]:
    match command:
        case Hello():
            return {
                "type": "hello",
                "v": 1,
                "department": command.department,
                "name": command.name,
            }
        case Send():
            return {"type": "msg", "cid": command.cid, "text": command.text}
        case TypingNow():
            return {"type": "typing", "active": command.active, "text": command.text}
        case ReadTo():
            return {"type": "read", "seq": command.seq}
        case RateChat():
            return {"type": "rate", "score": command.score, "comment": command.comment}
        case Choose():
            return {"type": "choose", "department": command.department, "region": command.region}
        case PageChange():
            return {"type": "page", "url": command.url, "title": command.title}
        case LeaveTicket():
            return {
                "type": "ticket",
                "name": command.name,
                "email": command.email,
                "text": command.text,
            }
        case CloseChat():
            return {"type": "close"}
    raise AssertionError(command)


def from_frame(doc: dict[str, Any]) -> Answer:
    kind = doc["type"]
    if kind == "error":
        return ("error", doc["code"], doc.get("cid", ""))
    if kind == "welcome":
        return ("welcome", doc["conversation"] or "")
    if kind == "departments":
        return ("departments", doc["department"] or "", doc["offline"])
    if kind == "ack":
        return ("ack", doc["cid"])
    if kind == "rated":
        return ("rated", doc["score"])
    return (kind,)


async def websocket_answers(app: Any, rows: list[Any]) -> list[list[Answer]]:
    visitor = await Visitor(visitor_url(app)).connect()
    out: list[list[Answer]] = []
    try:
        for i, (_what, command, expected) in enumerate(rows):
            visitor.send(frame(command))
            visitor.send({"type": "msg", "cid": f"marker{i}", "text": ""})
            out.append(await _collect(visitor.recv, from_frame, i, expected))
    finally:
        await visitor.close()
    return out


# -- the gRPC visitor channel -------------------------------------------------------


def message(command: VisitorCommand, site: str) -> visitor_pb2.VisitorCommand:
    V = visitor_pb2
    match command:
        case Hello():
            hello = V.VisitorHello(
                site_id=site, department_id=command.department, name=command.name
            )
            return V.VisitorCommand(hello=hello)
        case Send():
            return V.VisitorCommand(
                send=V.VisitorSend(client_msg_id=command.cid, text=command.text)
            )
        case TypingNow():
            return V.VisitorCommand(
                typing=V.VisitorTyping(active=command.active, text=command.text)
            )
        case ReadTo():
            return V.VisitorCommand(read=V.VisitorRead(seq=command.seq))
        case RateChat():
            return V.VisitorCommand(
                rate=V.VisitorRate(score=command.score, comment=command.comment)
            )
        case Choose():
            choose = V.VisitorChoose(department_id=command.department, region_id=command.region)
            return V.VisitorCommand(choose=choose)
        case PageChange():
            return V.VisitorCommand(page=V.VisitorPage(url=command.url, title=command.title))
        case LeaveTicket():
            ticket = V.VisitorTicket(name=command.name, email=command.email, text=command.text)
            return V.VisitorCommand(ticket=ticket)
        case CloseChat():
            return V.VisitorCommand(close=V.VisitorClose())
    raise AssertionError(command)


def from_event(event: visitor_pb2.VisitorEvent) -> Answer:
    kind = event.WhichOneof("event")
    if kind == "error":
        return ("error", event.error.code, event.error.client_msg_id)
    if kind == "welcome":
        return ("welcome", event.welcome.conversation_id)
    if kind == "departments":
        d = event.departments
        return ("departments", d.chosen_department_id, d.offline)
    if kind == "ack":
        return ("ack", event.ack.client_msg_id)
    if kind == "rated":
        return ("rated", event.rated.score)
    # The channel's names for the websocket's frames.
    names = {"ticket": "ticket_saved", "message": "msg", "assigned": "joined"}
    return (names.get(kind or "", kind),)


async def channel_answers(app: Any, token: str, rows: list[Any]) -> list[list[Answer]]:
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{app.grpc_port}")
    stub = visitor_pb2_grpc.VisitorChannelStub(channel)
    outbox: asyncio.Queue[visitor_pb2.VisitorCommand | None] = asyncio.Queue()
    inbox: asyncio.Queue[visitor_pb2.VisitorEvent] = asyncio.Queue()

    async def commands() -> Any:
        while (item := await outbox.get()) is not None:
            yield visitor_pb2.VisitorCommandBatch(commands=[item])

    call = stub.Connect(commands(), metadata=[("authorization", f"Bearer {token}")])

    async def read() -> None:
        async for batch in call:
            for event in batch.events:
                inbox.put_nowait(event)

    reader = asyncio.create_task(read())

    async def recv(kind: None = None, timeout: float = 5.0) -> visitor_pb2.VisitorEvent:
        async with asyncio.timeout(timeout):
            return await inbox.get()

    out: list[list[Answer]] = []
    try:
        for i, (_what, command, expected) in enumerate(rows):
            outbox.put_nowait(message(command, app.demo["site"]))
            marker = visitor_pb2.VisitorSend(client_msg_id=f"marker{i}", text="")
            outbox.put_nowait(visitor_pb2.VisitorCommand(send=marker))
            out.append(await _collect(recv, from_event, i, expected))
    finally:
        outbox.put_nowait(None)
        call.cancel()
        reader.cancel()
        await channel.close()
    return out


async def _collect(recv: Any, normal: Any, i: int, expected: list[Answer]) -> list[Answer]:
    """This row's answers: everything up to its marker's refusal, and until each
    answer the table expects has come (an answer from an actor's turn or a store
    write may come after the marker; one missing makes the row time out)."""
    answers: list[Answer] = []
    marked = False
    try:
        while not marked or any(a not in answers for a in expected):
            answer = normal(await recv())
            if answer[0] == "error" and answer[2] == f"marker{i}":
                marked = True
            elif answer[0] not in CHATTER:
                answers.append(answer)
    except TimeoutError:
        raise AssertionError(
            f"row {i}: answered {answers} (marker {'back' if marked else 'missing'}),"
            f" the table says {expected}"
        ) from None
    return sorted(answers, key=repr)


async def test_both_front_ends_answer_the_command_table_alike(tmp_path: Path) -> None:
    # The table sends more frames than the websocket's default burst allows.
    rates = {"visitor_rate": 500.0, "visitor_burst": 500.0, "ip_rate": 500.0, "ip_burst": 500.0}
    async with running(tmp_path, **rates) as app:
        assert app.demo is not None
        op = await on_duty(app)  # a chat opens only while someone is online
        boss = await owner(app)
        rows = table(app.demo["department"])
        expected = [sorted(answers, key=repr) for _what, _command, answers in rows]
        by_websocket = await websocket_answers(app, rows)
        by_channel = await channel_answers(app, boss.token, rows)
        for (what, _command, _answers), want, ws, ch in zip(
            rows, expected, by_websocket, by_channel, strict=True
        ):
            assert ws == ch, f"{what}: the websocket answered {ws}, the channel {ch}"
            assert ws == want, f"{what}: both answered {ws}, the table says {want}"
        await op.close()
        await boss.close()
