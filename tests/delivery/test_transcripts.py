"""A conversation's transcript by email, against a real SMTP server in the
test's loop: asked by the visitor on the websocket (to the email it gave, or
one it types), sent by an operator over gRPC (SendTranscript); with times and
authors, escaped in HTML, never the operators' notes; bad addresses, no SMTP
server, other accounts' and unknown chats, and the limits refused with their
codes. And a missed chat whose visitor gave an email becomes a ticket, linked
to the chat, answered by email with ReplyToTicket."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
import pytest

from engine.chat.kinds import CONVERSATION
from engine.chat.messages import CloseConversation
from engine.delivery import transcripts
from parley.v1 import control_pb2 as pb
from parley.v1 import operator_pb2
from tests.control.test_cli import cli
from tests.delivery.receivers import Inbox, parts, smtp_server
from tests.delivery.test_mail import EVIL, FAST, drained, mail_to
from tests.integration.helpers import Operator, Visitor, error_info, owner, running, visitor_url
from tests.integration.test_routing import staff


async def chat_with(
    app: Any, ana: Operator, email: str = "", text: str = "hello"
) -> tuple[Visitor, str]:
    """A visitor (who gave ``email``) whose chat Ana took."""
    v = await Visitor(visitor_url(app)).connect()
    await v.hello(name="Vee", email=email, tz=120, department=app.demo["department"])
    v.send({"type": "msg", "cid": "c1", "text": text})
    conv = (await v.recv("ack"))["conversation"]
    await ana.recv("assigned")
    return v, conv


def whisper(conv: str, text: str) -> operator_pb2.OperatorCommand:
    return operator_pb2.OperatorCommand(
        whisper=operator_pb2.OperatorSend(conversation_id=conv, client_msg_id="n1", text=text)
    )


async def refused(v: Visitor, frame: dict[str, Any]) -> dict[str, Any]:
    v.send(frame)
    return await v.recv("error")


async def test_the_visitor_emails_itself_the_transcript(tmp_path: Path) -> None:
    inbox = Inbox()
    server, port = await smtp_server(inbox)
    try:
        async with running(tmp_path, delivery=FAST) as app:
            boss = await owner(app)
            ana = await staff(app, boss, "Ana")
            v, conv = await chat_with(app, ana, text=EVIL)
            assert v.welcome["email_transcripts"] is False  # no SMTP server yet
            error = await refused(v, {"type": "email_transcript", "email": "vee@visitor.test"})
            assert error["code"] == "mail_not_set"

            await mail_to(boss, port)
            ana.say(conv, "a1", "Hi Vee, how can I help?")
            ana.send_commands(whisper(conv, "secret note: VIP"))
            while (await v.recv("msg"))["text"] != "Hi Vee, how can I help?":
                pass
            # The open chat's transcript, to an address the visitor types.
            for bad in ("not an address", "a@b", "x@y.z\r\nBcc: all@evil.test"):
                error = await refused(v, {"type": "email_transcript", "email": bad})
                assert error["code"] == "invalid_address", bad
            error = await refused(v, {"type": "email_transcript"})  # none given, none typed
            assert error["code"] == "no_email"
            v.send({"type": "email_transcript", "email": " vee@visitor.test "})
            sent = await v.recv("transcript_sent")
            assert sent == {
                "type": "transcript_sent",
                "conversation": conv,
                "email": "vee@visitor.test",
            }
            (mail,) = await inbox.wait_for(1)
            assert mail["To"] == "vee@visitor.test"
            text, html = parts(mail)
            assert "times in UTC+02:00" in text  # the visitor's offset, from its hello
            assert f"Vee: {EVIL}" in text and "Ana: Hi Vee, how can I help?" in text
            assert "secret note" not in text and "secret note" not in html
            assert "<script>" not in html and "&lt;script&gt;" in html
            assert "] Vee: " in text  # each line has its time

            # A new connection of a visitor who gave its email: it is prefilled
            # (the widget's), and the welcome says the server can email.
            await v.close()
            again = await Visitor(visitor_url(app)).connect()
            welcome = await again.hello(token=v.welcome["token"], email="vee@visitor.test")
            assert welcome["email_transcripts"] is True
            ana.send_commands(
                operator_pb2.OperatorCommand(
                    close=operator_pb2.CloseConversation(conversation_id=conv)
                )
            )
            await again.recv("closed")
            # The last chat (closed), to the hello's email: twice more, then no more.
            for _ in range(2):
                again.send({"type": "email_transcript"})
                assert (await again.recv("transcript_sent"))["email"] == "vee@visitor.test"
            error = await refused(again, {"type": "email_transcript"})
            assert (error["code"], error["retryable"]) == ("too_many_transcripts", False)
            await inbox.wait_for(3)
            await drained(app)
            assert len(inbox.raw) == 3
    finally:
        server.close()
        await server.wait_closed()


async def test_an_operator_sends_the_transcript_and_the_hourly_limit(tmp_path: Path) -> None:
    inbox = Inbox()
    server, port = await smtp_server(inbox)
    try:
        async with running(tmp_path, delivery=FAST) as app:
            boss = await owner(app)
            await mail_to(boss, port)
            ana = await staff(app, boss, "Ana", max_chats=4)
            md = ana.metadata
            send = ana.api.conversations.SendTranscript

            async def code_of(conversation_id: str) -> tuple[grpc.StatusCode, str, Any]:
                with pytest.raises(grpc.aio.AioRpcError) as info:
                    await send(
                        pb.SendTranscriptRequest(conversation_id=conversation_id), metadata=md
                    )
                return info.value.code(), error_info(info.value).reason, error_info(info.value)

            code, _reason, _ = await code_of("")  # a missing id, as every method refuses
            assert code is grpc.StatusCode.INVALID_ARGUMENT
            for unknown in ("nope", "sxxxxxxxxx-yyyyyyyyyyyy"):
                code, reason, _ = await code_of(unknown)
                assert (code, reason) == (grpc.StatusCode.NOT_FOUND, "UNKNOWN_CONVERSATION")
            silent, silent_conv = await chat_with(app, ana)  # gave no email
            code, reason, _ = await code_of(silent_conv)
            assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "NO_EMAIL")
            # Another operator who does not see the chat: it does not exist for it.
            assert app.demo is not None
            sales = await boss.api.departments.CreateDepartment(
                pb.CreateDepartmentRequest(
                    department=pb.Department(site_id=app.demo["site"], name="Sales")
                ),
                metadata=boss.metadata,
            )
            bo = await staff(app, boss, "Bo", departments=[sales.id], online=False)
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await bo.api.conversations.SendTranscript(
                    pb.SendTranscriptRequest(conversation_id=silent_conv), metadata=bo.metadata
                )
            assert info.value.code() is grpc.StatusCode.NOT_FOUND

            # Five to one visitor in an hour (three of one chat at most): the sixth
            # is refused, retryable, with the wait.
            v, first = await chat_with(app, ana, email="vee@visitor.test")
            for _ in range(3):
                got = await send(pb.SendTranscriptRequest(conversation_id=first), metadata=md)
                assert got.email == "vee@visitor.test" and got.outbox_id
            code, reason, _ = await code_of(first)
            assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "TOO_MANY_TRANSCRIPTS")
            ana.send_commands(
                operator_pb2.OperatorCommand(
                    close=operator_pb2.CloseConversation(conversation_id=first)
                )
            )
            await v.recv("closed")
            v.send({"type": "msg", "cid": "c2", "text": "one more thing"})
            second = (await v.recv("ack"))["conversation"]
            await ana.recv("assigned")
            for _ in range(2):
                await send(pb.SendTranscriptRequest(conversation_id=second), metadata=md)
            code, reason, info_ = await code_of(second)
            assert (code, reason) == (grpc.StatusCode.UNAVAILABLE, "TOO_MANY_TRANSCRIPTS")
            wait = int(info_.metadata["retry_after_s"])
            assert 3500 <= wait <= transcripts.HOUR_MS // 1000
            v.send({"type": "email_transcript"})  # the visitor's own ask counts too
            error = await v.recv("error")
            assert (error["code"], error["retryable"]) == ("too_many_transcripts", True)
            assert f"retry in {wait} s" in error["message"] or "retry in" in error["message"]
            await inbox.wait_for(5)
            await drained(app)
            assert len(inbox.raw) == 5
            assert {m["To"] for m in inbox.raw} == {"vee@visitor.test"}
    finally:
        server.close()
        await server.wait_closed()


async def test_a_missed_chat_with_an_email_becomes_a_ticket_answered_by_email(
    tmp_path: Path,
) -> None:
    inbox = Inbox()
    server, port = await smtp_server(inbox)
    try:
        async with running(tmp_path, delivery=FAST) as app:
            assert app.engine is not None and app.demo is not None
            boss = await owner(app)
            await mail_to(boss, port)
            ana = await staff(app, boss, "Ana")
            missed: dict[str, str] = {}
            for email in ("mia@visitor.test", ""):
                v = await Visitor(visitor_url(app)).connect()
                await v.hello(name="Mia", email=email)
                v.send({"type": "msg", "cid": "1", "text": "is anyone there? <b>"})
                missed[email] = (await v.recv("ack"))["conversation"]
                await ana.recv("assigned")  # taken, never answered
                await v.close()
                await app.engine.system.ref(CONVERSATION, missed[email]).ask(
                    CloseConversation("system", "", "abandoned")
                )
            await app.engine.settle()
            listed = await boss.api.tickets.ListTickets(
                pb.ListTicketsRequest(site_id=app.demo["site"]), metadata=boss.metadata
            )
            (ticket,) = listed.tickets  # the visitor without an email left none
            assert (ticket.kind, ticket.conversation_id) == (
                "missed_chat",
                missed["mia@visitor.test"],
            )
            assert (ticket.email, ticket.status) == ("mia@visitor.test", "open")
            assert ticket.text == "is anyone there? <b>"
            answered = await boss.api.tickets.ReplyToTicket(
                pb.ReplyToTicketRequest(ticket_id=ticket.id, text="Sorry we missed you!"),
                metadata=boss.metadata,
            )
            assert answered.status == "answered"
            (mail,) = await inbox.wait_for(1)
            text, html = parts(mail)
            assert mail["To"] == "mia@visitor.test" and "Sorry we missed you!" in text
            assert "is anyone there? &lt;b&gt;" in html

            # The CLI shows the link.
            conv = missed["mia@visitor.test"]
            shown = await cli(app, tmp_path, "--token", boss.token, "ticket", "show", ticket.id)
            assert shown.exit_code == 0, shown.output
            assert "missed chat" in shown.output and conv in shown.output
            out = await cli(
                app, tmp_path, "--token", boss.token, "ticket", "list", "--site", app.demo["site"]
            )
            assert out.exit_code == 0 and conv in out.output and " CHAT " in out.output
    finally:
        server.close()
        await server.wait_closed()


def test_the_grpc_visitor_channel_speaks_it() -> None:
    """The embedding services' channel carries the same command and event."""
    from control import converters
    from engine.chat.commands import EmailTranscript
    from engine.chat.events import TranscriptSent
    from parley.v1 import visitor_pb2

    command = visitor_pb2.VisitorCommand(
        email_transcript=visitor_pb2.VisitorEmailTranscript(email="vee@visitor.test")
    )
    assert converters.visitor_command(command) == EmailTranscript("vee@visitor.test")
    event = converters.visitor_event(TranscriptSent("c1", "vee@visitor.test"))
    assert event.transcript_sent.conversation_id == "c1"
    assert event.transcript_sent.email == "vee@visitor.test"
