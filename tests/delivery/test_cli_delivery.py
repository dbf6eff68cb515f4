"""``parley mail``, ``parley webhook`` and ``parley ticket reply|assign|close``
against a real server, a real SMTP server and a real HTTP receiver."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from engine.delivery.settings import RetryPolicy
from tests.control.test_cli_resources import logged_in
from tests.delivery.receivers import Inbox, Receiver, smtp_server
from tests.delivery.test_mail import leave_ticket
from tests.integration.helpers import running

FAST = RetryPolicy(first_retry=0.05, max_retry=0.2, timeout=5.0)


async def test_mail_webhook_and_ticket_commands(tmp_path: Path) -> None:
    inbox = Inbox()
    server, port = await smtp_server(inbox)
    receiver = await Receiver().start()
    try:
        async with running(tmp_path, delivery=FAST) as app:
            assert app.owner is not None and app.demo is not None and app.engine is not None
            cli = await logged_in(app, tmp_path, app.owner)

            async def ok(*args: str, stdin: str | None = None) -> Any:
                r = await cli("--json", *args, stdin=stdin)
                assert r.exit_code == 0, (args, r.output)
                return orjson.loads(r.stdout) if r.stdout.strip() else {}

            settings = await ok(
                "mail", "set", "--host", "127.0.0.1", "--port", str(port), "--tls", "none",
                "--username", "", "--password-stdin", "--from", "help@shop.test",
                stdin="s3cret\n",
            )  # fmt: skip
            assert settings["password_set"] and "password" not in settings
            r = await cli("mail", "show")
            assert r.exit_code == 0 and "s3cret" not in r.stdout and "help@shop.test" in r.stdout
            await ok("mail", "test", "me@shop.test")
            assert [m["To"] for m in await inbox.wait_for(1)] == ["me@shop.test"]
            r = await cli("mail", "test", "nobody")
            assert r.exit_code == 1 and "invalid_address" in r.stderr

            hook = await ok("webhook", "add", receiver.url, "--event", "ticket")
            assert hook["secret"]
            await ok("webhook", "test", hook["id"])
            assert [h["id"] for h in (await ok("webhook", "list"))["webhooks"]] == [hook["id"]]

            ticket_id = await leave_ticket(app, "Di", "di@visitor.test", "where is my order?")
            t = await ok("ticket", "assign", ticket_id, app.demo["operator"])
            assert t["status"] == "assigned"
            t = await ok("ticket", "reply", ticket_id, "On its way")
            assert t["status"] == "answered"
            t = await ok("ticket", "close", ticket_id)
            assert t["status"] == "closed"
            await inbox.wait_for(2)
            await app.engine.deliveries.drained()
            await app.engine.settle()
            assert [m["To"] for m in inbox.to("di@visitor.test")] == ["di@visitor.test"]
            assert len(receiver.calls) == 2  # the ping and the ticket
            await ok("webhook", "delete", hook["id"])
            assert (await ok("webhook", "list")).get("webhooks", []) == []
    finally:
        await receiver.close()
        server.close()
        await server.wait_closed()
