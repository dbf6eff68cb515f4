"""SMTP servers that misbehave, on the test's own loop at port 0: one that
takes the connection and never answers, one that stalls after EHLO, one that
stalls after the message's DATA. Each attempt ends at the account's timeout,
the email waits with its error (GetMailSettings, ListOutbox) and is retried
with backoff; when a real server is set, it arrives once. A server that refuses
the message for good (550) marks it failed with the reason, never retried."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from google.protobuf.field_mask_pb2 import FieldMask

from control.runner import Parley
from parley.v1 import control_pb2 as pb
from tests.delivery.receivers import Inbox, smtp_server
from tests.delivery.test_mail import FAST, call, drained, leave_ticket, opt_in
from tests.integration.helpers import Operator, owner, running


class Hanging:
    """An SMTP server that stops answering at ``stage``: "connect" (says
    nothing at all), "ehlo" (greets, then never answers EHLO) or "data" (takes
    the whole message, then never answers its end)."""

    def __init__(self, stage: str) -> None:
        self.stage = stage
        self.sessions = 0
        self.messages = 0  # whole messages it was sent (and never acknowledged)
        self._held: list[asyncio.StreamWriter] = []

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.sessions += 1
        self._held.append(writer)
        if self.stage == "connect":
            await reader.read()  # until the client gives up
            return
        writer.write(b"220 hang.test ESMTP\r\n")
        while line := await reader.readline():
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                if self.stage == "ehlo":
                    await reader.read()
                    return
                writer.write(b"250 hang.test\r\n")
            elif verb == b"DATA":
                writer.write(b"354 go on\r\n")
                await writer.drain()
                while (await reader.readline()) not in (b".\r\n", b""):
                    pass
                self.messages += 1
                await reader.read()  # the message is in: never a 250
                return
            else:
                writer.write(b"250 ok\r\n")
            await writer.drain()

    async def close(self) -> None:
        for writer in self._held:
            writer.close()
        self.server.close()
        await self.server.wait_closed()


async def mail_settings(boss: Operator, port: int, timeout: int = 0) -> pb.MailSettings:
    given = pb.MailSettings(host="127.0.0.1", port=port, tls="none", from_address="help@shop.test")
    paths = ["host", "port", "tls", "from_address"]
    if timeout:
        given.timeout_seconds = timeout
        paths.append("timeout_seconds")
    return await call(
        boss,
        "mail",
        "UpdateMailSettings",
        pb.UpdateMailSettingsRequest(mail_settings=given, update_mask=FieldMask(paths=paths)),
    )


async def outbox(boss: Operator) -> list[pb.OutboxEmail]:
    return list((await call(boss, "mail", "ListOutbox", pb.ListOutboxRequest())).emails)


async def until_tried(app: Parley, boss: Operator, attempts: int) -> pb.OutboxEmail:
    """The one email in the outbox once it has failed ``attempts`` times."""
    async with asyncio.timeout(20):
        while True:
            emails = await outbox(boss)
            if emails and emails[0].attempts >= attempts:
                return emails[0]
            await asyncio.sleep(0.05)  # real seconds: each attempt waits for the timeout


@pytest.mark.parametrize("stage", ["connect", "ehlo", "data"])
async def test_a_hanging_server_times_out_then_a_real_one_gets_it_once(
    tmp_path: Path, stage: str
) -> None:
    hanging = Hanging(stage)
    port = await hanging.start()
    inbox = Inbox()
    real, real_port = await smtp_server(inbox)
    try:
        async with running(tmp_path, delivery=FAST) as app:
            boss = await owner(app)
            settings = await mail_settings(boss, port, timeout=1)
            assert settings.timeout_seconds == 1
            me = await opt_in(app, boss, "tickets")
            await leave_ticket(app, "Hu", "hu@visitor.test", "are you there?")
            email = await until_tried(app, boss, 2)  # tried, timed out, tried again
            assert email.to == me and not email.failed
            assert "did not answer in 1 s" in email.last_error
            status = await call(boss, "mail", "GetMailSettings", pb.GetMailSettingsRequest())
            assert status.pending == 1 and status.failed == 0
            assert "did not answer" in status.last_error
            assert hanging.sessions >= 2
            if stage == "data":
                assert hanging.messages >= 1  # it had it all, and never said so

            # The real server: the email arrives, once, and leaves the outbox.
            await mail_settings(boss, real_port)
            (got,) = await inbox.wait_for(1)
            await drained(app)
            assert got["To"] == me and len(inbox.raw) == 1
            assert await outbox(boss) == []
            # The default timeout is back when an update sets 0.
            reset = await mail_settings(boss, real_port, timeout=0)
            assert reset.timeout_seconds == 1  # not named in the mask: unchanged
            cleared = await call(
                boss,
                "mail",
                "UpdateMailSettings",
                pb.UpdateMailSettingsRequest(
                    mail_settings=pb.MailSettings(timeout_seconds=0),
                    update_mask=FieldMask(paths=["timeout_seconds"]),
                ),
            )
            assert cleared.timeout_seconds == 30
    finally:
        await hanging.close()
        real.close()
        await real.wait_closed()


class Refusing(Inbox):
    """A real SMTP server that refuses one recipient for good."""

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address.startswith("gone@"):
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"


async def test_a_permanent_refusal_fails_the_email_at_once(tmp_path: Path) -> None:
    inbox = Refusing()
    server, port = await smtp_server(inbox)
    try:
        async with running(tmp_path, delivery=FAST) as app:
            boss = await owner(app)
            await mail_settings(boss, port)
            ticket_id = await leave_ticket(app, "Go", "gone@visitor.test", "hello?")
            await boss.api.tickets.ReplyToTicket(
                pb.ReplyToTicketRequest(ticket_id=ticket_id, text="Here you are"),
                metadata=boss.metadata,
            )
            await drained(app)  # nothing left to try: it failed at the first refusal
            (email,) = await outbox(boss)
            assert email.failed and email.attempts == 1 and email.next_attempt_ms == 0
            assert "550" in email.last_error and "no such mailbox" in email.last_error
            status = await call(boss, "mail", "GetMailSettings", pb.GetMailSettingsRequest())
            assert (status.pending, status.failed) == (0, 1)
            # Others still go: the refusal was this message's, not the server's.
            await boss.api.mail.SendTestMail(
                pb.SendTestMailRequest(to="ok@visitor.test"), metadata=boss.metadata
            )
            assert [m["To"] for m in await inbox.wait_for(1)] == ["ok@visitor.test"]
            assert (await outbox(boss))[0].attempts == 1  # never tried again
    finally:
        server.close()
        await server.wait_closed()


async def test_bad_mail_settings_are_refused(tmp_path: Path) -> None:
    async with running(tmp_path, delivery=FAST) as app:
        boss = await owner(app)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await call(
                boss,
                "mail",
                "UpdateMailSettings",
                pb.UpdateMailSettingsRequest(
                    mail_settings=pb.MailSettings(timeout_seconds=601),
                    update_mask=FieldMask(paths=["timeout_seconds"]),
                ),
            )
        assert info.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert "timeout_seconds" in str(info.value.details())
