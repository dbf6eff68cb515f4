"""kill -9 with mail in the outbox: the real server as a process, its SMTP
server down when it dies; after the restart, with the SMTP server up, the
email arrives once."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import grpc
import orjson
from google.protobuf.field_mask_pb2 import FieldMask

from parley.v1 import control_pb2 as pb
from parley.v1 import control_pb2_grpc
from tests.delivery.receivers import Inbox, reserved_port, smtp_server
from tests.integration.helpers import Visitor
from tests.integration.process import Served, serve


async def login(served: Served, data: Path) -> tuple[grpc.aio.Channel, list[tuple[str, str]]]:
    channel = grpc.aio.insecure_channel(served.info["grpc"])
    creds = orjson.loads((data / "owner-credentials.json").read_bytes())
    reply = await control_pb2_grpc.AuthStub(channel).Login(
        pb.LoginRequest(email=creds["email"], password=creds["password"])
    )
    return channel, [("authorization", f"Bearer {reply.token}")]


async def mail_status(channel: grpc.aio.Channel, md: list[tuple[str, str]]) -> pb.MailSettings:
    return await control_pb2_grpc.MailStub(channel).GetMailSettings(
        pb.GetMailSettingsRequest(), metadata=md
    )


async def test_mail_queued_at_a_kill_is_sent_once_after_the_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    sock = reserved_port()  # refused until the SMTP server listens on it
    served = await serve(data)
    channel, md = await login(served, data)
    await control_pb2_grpc.MailStub(channel).UpdateMailSettings(
        pb.UpdateMailSettingsRequest(
            mail_settings=pb.MailSettings(
                host="127.0.0.1",
                port=sock.getsockname()[1],
                tls="none",
                from_address="help@shop.test",
            ),
            update_mask=FieldMask(paths=["*"]),
        ),
        metadata=md,
    )
    visitor = await Visitor(served.visitor_url()).connect()
    await visitor.hello()
    visitor.send({"type": "ticket", "name": "Cy", "email": "cy@visitor.test", "text": "help"})
    ticket_id = (await visitor.recv("ticket_saved"))["ticket"]
    await visitor.close()
    tickets = control_pb2_grpc.TicketsStub(channel)
    await tickets.ReplyToTicket(
        pb.ReplyToTicketRequest(ticket_id=ticket_id, text="Here is the answer"), metadata=md
    )
    # Tried once and refused (the store holds it, with the reason): then killed.
    async with asyncio.timeout(15):
        while not (status := await mail_status(channel, md)).last_error:
            await asyncio.sleep(0.02)  # a condition polled over round trips
    assert status.pending == 1
    await channel.close()
    os.kill(served.proc.pid, signal.SIGKILL)
    await served.stop(None)

    inbox = Inbox()
    server, _ = await smtp_server(inbox, sock)
    served = await serve(data)
    try:
        channel, md = await login(served, data)
        (mail,) = await inbox.wait_for(1)
        assert mail["To"] == "cy@visitor.test"
        async with asyncio.timeout(15):
            while (await mail_status(channel, md)).pending:
                await asyncio.sleep(0.02)
        # Delivered and recorded: nothing more will come of it.
        assert len(inbox.raw) == 1
        ticket = await tickets_of(channel, md, ticket_id)
        assert ticket.status == "answered"
        await channel.close()
    finally:
        await served.stop()
        server.close()
        await server.wait_closed()


async def tickets_of(
    channel: grpc.aio.Channel, md: list[tuple[str, str]], ticket_id: str
) -> pb.Ticket:
    return await control_pb2_grpc.TicketsStub(channel).GetTicket(
        pb.GetTicketRequest(ticket_id=ticket_id), metadata=md
    )


async def test_a_daily_report_queued_at_a_kill_is_sent_once_and_not_made_again(
    tmp_path: Path,
) -> None:
    """The report and the mark of its day are one commit: after a kill -9 with
    the report waiting in the outbox, the restart sends it once and makes no
    second one for the same day."""
    data = tmp_path / "data"
    sock = reserved_port()  # refused until the SMTP server listens on it
    served = await serve(data)
    channel, md = await login(served, data)
    await control_pb2_grpc.MailStub(channel).UpdateMailSettings(
        pb.UpdateMailSettingsRequest(
            mail_settings=pb.MailSettings(
                host="127.0.0.1", port=sock.getsockname()[1], tls="none", from_address="h@shop.test"
            ),
            update_mask=FieldMask(paths=["*"]),
        ),
        metadata=md,
    )
    await control_pb2_grpc.AuthStub(channel).UpdateMe(
        pb.UpdateMeRequest(
            operator=pb.Operator(mail_notifications=["daily"], timezone="Pacific/Auckland"),
            update_mask=FieldMask(paths=["mail_notifications", "timezone"]),
        ),
        metadata=md,
    )
    # Asked: yesterday's report at once; tried and refused, then killed.
    async with asyncio.timeout(15):
        while not (status := await mail_status(channel, md)).last_error:
            await asyncio.sleep(0.02)  # a condition polled over round trips
    assert status.pending == 1
    await channel.close()
    os.kill(served.proc.pid, signal.SIGKILL)
    await served.stop(None)

    inbox = Inbox()
    server, _ = await smtp_server(inbox, sock)
    served = await serve(data)
    try:
        channel, md = await login(served, data)
        (report,) = await inbox.wait_for(1)
        assert str(report["Subject"]).startswith("Your day in chats: ")
        async with asyncio.timeout(15):
            while (await mail_status(channel, md)).pending:
                await asyncio.sleep(0.02)
        # Asking again checks again: the day is marked, nothing new is made.
        await control_pb2_grpc.AuthStub(channel).UpdateMe(
            pb.UpdateMeRequest(
                operator=pb.Operator(mail_notifications=["daily"]),
                update_mask=FieldMask(paths=["mail_notifications"]),
            ),
            metadata=md,
        )
        # UpdateMe answers once the check it called for is done.
        status = await mail_status(channel, md)
        assert (status.pending, len(inbox.raw)) == (0, 1)
        await channel.close()
    finally:
        await served.stop()
        server.close()
        await server.wait_closed()
