"""Webhooks from the outbox, against a real HTTP receiver on loopback: signed,
retried after a failure with the same event id, disabled after failing too
often in a row, with the reason."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import orjson

from engine.delivery.settings import RetryPolicy
from parley.v1 import control_pb2 as pb
from tests.delivery.receivers import Receiver
from tests.delivery.test_mail import leave_ticket
from tests.integration.helpers import owner, running

FAST = RetryPolicy(first_retry=0.05, max_retry=0.2, timeout=5.0, disable_after=3)


def verified(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """What a receiver does: HMAC-SHA256 of "timestamp.body" with the secret."""
    signed = headers["parley-timestamp"].encode() + b"." + body
    expected = "v1=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["parley-signature"])


async def test_signed_retried_with_a_stable_event_id(tmp_path: Path) -> None:
    receiver = await Receiver(statuses=[500]).start()
    try:
        async with running(tmp_path, delivery=FAST) as app:
            assert app.engine is not None
            boss = await owner(app)
            md = boss.metadata
            hook = await boss.api.webhooks.CreateWebhook(
                pb.CreateWebhookRequest(webhook=pb.Webhook(url=receiver.url, events=["ticket"])),
                metadata=md,
            )
            assert hook.secret.startswith("whsec_") and hook.enabled
            again = await boss.api.webhooks.GetWebhook(
                pb.GetWebhookRequest(webhook_id=hook.id), metadata=md
            )
            assert again.secret == ""  # shown once
            ticket_id = await leave_ticket(app, "<Al>", "al@visitor.test", "hello & bye")
            first, second = await receiver.wait_for(2)
            await app.engine.deliveries.drained()
            await app.engine.settle()
            assert len(receiver.calls) == 2  # refused once, taken once, no more
            assert first.headers["parley-event-id"] == second.headers["parley-event-id"]
            assert first.body == second.body
            for call in (first, second):
                assert verified(hook.secret, call.headers, call.body)
                assert not verified("whsec_other", call.headers, call.body)
            event = orjson.loads(second.body)
            assert event["type"] == "ticket" and event["id"] == first.headers["parley-event-id"]
            assert event["data"]["ticket_id"] == ticket_id and event["data"]["name"] == "<Al>"
            listed = await boss.api.webhooks.ListWebhooks(pb.ListWebhooksRequest(), metadata=md)
            assert [h.failures for h in listed.webhooks] == [0]
            await boss.api.webhooks.TestWebhook(
                pb.TestWebhookRequest(webhook_id=hook.id), metadata=md
            )
            ping = await receiver.wait_for(3)
            assert orjson.loads(ping[2].body)["type"] == "ping"
            assert verified(hook.secret, ping[2].headers, ping[2].body)
    finally:
        await receiver.close()


async def test_disabled_after_failing_in_a_row(tmp_path: Path) -> None:
    receiver = await Receiver(statuses=[500] * 100).start()
    try:
        async with running(tmp_path, delivery=FAST) as app:
            assert app.engine is not None
            boss = await owner(app)
            md = boss.metadata
            hook = await boss.api.webhooks.CreateWebhook(
                pb.CreateWebhookRequest(webhook=pb.Webhook(url=receiver.url)), metadata=md
            )
            await leave_ticket(app, "Bo", "bo@visitor.test", "first")
            await receiver.wait_for(3)
            await app.engine.deliveries.drained()
            await app.engine.settle()
            got = await boss.api.webhooks.GetWebhook(
                pb.GetWebhookRequest(webhook_id=hook.id), metadata=md
            )
            assert not got.enabled and got.failures == 3
            assert (
                "HTTP 500" in got.disabled_reason and "3 failed deliveries" in got.disabled_reason
            )
            assert len(receiver.calls) == 3
            # Disabled: later events are not posted.
            await leave_ticket(app, "Bo", "bo@visitor.test", "second")
            await app.engine.deliveries.drained()
            await app.engine.settle()
            assert len(receiver.calls) == 3
    finally:
        await receiver.close()
