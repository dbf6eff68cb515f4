"""Email through the outbox, against a real SMTP server in the test's loop:
each kind arrives once, to the right address, with what visitors wrote
escaped; a down SMTP server loses nothing and sends each email once when it
is back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from control.runner import Parley
from engine.chat.kinds import CONVERSATION
from engine.chat.messages import CloseConversation
from engine.delivery.settings import RetryPolicy
from parley.v1 import control_pb2 as pb
from tests.delivery.receivers import Inbox, parts, reserved_port, smtp_server
from tests.integration.helpers import (
    Operator,
    Visitor,
    on_duty,
    owner,
    running,
    visitor_url,
)

FAST = RetryPolicy(first_retry=0.05, max_retry=0.2, timeout=5.0)
EVIL = '<script>alert("x")</script> & <b>bold</b>'


async def mail_to(boss: Operator, port: int) -> None:
    await call(
        boss,
        "mail",
        "UpdateMailSettings",
        pb.UpdateMailSettingsRequest(
            mail_settings=pb.MailSettings(
                host="127.0.0.1", port=port, tls="none", from_address="help@shop.test"
            ),
            update_mask=FieldMask(paths=["host", "port", "tls", "from_address"]),
        ),
    )


def call(boss: Operator, service: str, method: str, request: Any) -> Any:
    return getattr(getattr(boss.api, service), method)(request, metadata=boss.metadata)


async def opt_in(app: Parley, boss: Operator, *topics: str) -> str:
    """The owner serves the demo department and asks for ``topics``; its email."""
    assert app.engine is not None and app.demo is not None
    me = await boss.api.auth.GetMe(pb.GetMeRequest(), metadata=boss.metadata)
    await app.engine.directory.update_operator(
        me.account_id, me.id, {"department_ids": [app.demo["department"]]}
    )
    await boss.api.auth.UpdateMe(
        pb.UpdateMeRequest(
            operator=pb.Operator(mail_notifications=list(topics)),
            update_mask=FieldMask(paths=["mail_notifications"]),
        ),
        metadata=boss.metadata,
    )
    return me.email


async def leave_ticket(app: Parley, name: str, email: str, text: str) -> str:
    visitor = await Visitor(visitor_url(app)).connect()
    await visitor.hello()
    visitor.send({"type": "ticket", "name": name, "email": email, "text": text})
    ticket_id = str((await visitor.recv("ticket_saved"))["ticket"])
    await visitor.close()
    return ticket_id


async def drained(app: Parley) -> None:
    """Nothing left to deliver, and the engine settled: counts are final."""
    assert app.engine is not None
    await app.engine.deliveries.drained()
    await app.engine.settle()


async def test_each_kind_arrives_once_escaped(tmp_path: Path) -> None:
    inbox = Inbox()
    server, port = await smtp_server(inbox)
    try:
        async with running(tmp_path, delivery=FAST) as app:
            boss = await owner(app)
            await mail_to(boss, port)
            me = await opt_in(app, boss, "tickets", "missed")
            ticket_id = await leave_ticket(app, EVIL, "vee@visitor.test", EVIL + "\nsecond line")
            (notice,) = await inbox.wait_for(1)
            assert notice["To"] == me and len(notice.get_all("Subject", [])) == 1
            text, html = parts(notice)
            assert EVIL in text and "<script>" not in html
            assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;" in html

            # The answer: to the visitor, the ticket answered, then closed.
            answered = await boss.api.tickets.ReplyToTicket(
                pb.ReplyToTicketRequest(ticket_id=ticket_id, text="Thanks <3, we're on it"),
                metadata=boss.metadata,
            )
            assert answered.status == "answered" and answered.replies[0].text.startswith("Thanks")
            await inbox.wait_for(2)
            (reply,) = inbox.to("vee@visitor.test")
            text, html = parts(reply)
            assert "Thanks <3" in text and "Thanks &lt;3" in html and "<script>" not in html
            closed = await boss.api.tickets.UpdateTicket(
                pb.UpdateTicketRequest(
                    ticket=pb.Ticket(id=ticket_id, status="closed"),
                    update_mask=FieldMask(paths=["status"]),
                ),
                metadata=boss.metadata,
            )
            assert closed.status == "closed" and closed.assignee_id
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await boss.api.tickets.ReplyToTicket(
                    pb.ReplyToTicketRequest(ticket_id=ticket_id, text="again"),
                    metadata=boss.metadata,
                )
            assert "ticket_closed" in str(info.value.details())

            # A missed chat: the visitor leaves before anyone answers.
            assert app.engine is not None
            duty = await on_duty(app)  # the site takes chats while someone is online
            visitor = await Visitor(visitor_url(app)).connect()
            await visitor.hello()
            visitor.send({"type": "msg", "cid": "1", "text": "anyone? <i>hello</i>"})
            conversation = (await visitor.recv("ack"))["conversation"]
            await visitor.close()
            await app.engine.settle()
            await app.engine.system.ref(CONVERSATION, conversation).ask(
                CloseConversation("system", "", "no_operator")
            )
            await app.engine.settle()
            await inbox.wait_for(3)
            (missed,) = [m for m in inbox.to(me) if "Missed" in str(m["Subject"])]
            text, html = parts(missed)
            assert "anyone? <i>hello</i>" in text and "&lt;i&gt;hello&lt;/i&gt;" in html

            await duty.close()
            await drained(app)
            assert len(inbox.raw) == len(inbox.by_id) == 3
            settings = await call(boss, "mail", "GetMailSettings", pb.GetMailSettingsRequest())
            assert settings.pending == 0 and not settings.password_set
    finally:
        server.close()
        await server.wait_closed()


async def test_smtp_down_then_up_each_email_once(tmp_path: Path) -> None:
    inbox = Inbox()
    sock = reserved_port()  # bound, not listening: refused
    port = sock.getsockname()[1]
    async with running(tmp_path, delivery=FAST) as app:
        boss = await owner(app)
        await mail_to(boss, port)
        await opt_in(app, boss, "tickets")
        for i in range(3):
            await leave_ticket(app, f"V{i}", f"v{i}@visitor.test", f"request {i}")
        # Tried and refused: the reason is shown, nothing is lost.
        for _ in range(200):
            settings = await call(boss, "mail", "GetMailSettings", pb.GetMailSettingsRequest())
            if settings.last_error:
                break
            await app.engine.settle() if app.engine else None
        assert "unreachable" in settings.last_error or "refused" in settings.last_error.lower()
        assert settings.pending == 3
        server, _ = await smtp_server(inbox, sock)
        try:
            await inbox.wait_for(3)
            await drained(app)
            assert len(inbox.raw) == len(inbox.by_id) == 3
            assert (
                sorted(str(m["Subject"]) for m in inbox.raw)
                == [f"New request on Demo from V{i}" for i in range(3)]
                or len({m["Message-ID"] for m in inbox.raw}) == 3
            )
        finally:
            server.close()
            await server.wait_closed()


async def test_a_bad_address_and_no_settings_are_refused(tmp_path: Path) -> None:
    async with running(tmp_path, delivery=FAST) as app:
        boss = await owner(app)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await call(boss, "mail", "SendTestMail", pb.SendTestMailRequest(to="not an address"))
        assert info.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert "invalid_address" in str(info.value.details())
        ticket_id = await leave_ticket(app, "Al", "al@visitor.test", "hi")
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await boss.api.tickets.ReplyToTicket(
                pb.ReplyToTicketRequest(ticket_id=ticket_id, text="hello"), metadata=boss.metadata
            )
        assert "mail_not_set" in str(info.value.details())
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await call(
                boss,
                "mail",
                "UpdateMailSettings",
                pb.UpdateMailSettingsRequest(
                    mail_settings=pb.MailSettings(from_address="a@b@c"),
                    update_mask=FieldMask(paths=["from_address"]),
                ),
            )
        assert "invalid_address" in str(info.value.details())
