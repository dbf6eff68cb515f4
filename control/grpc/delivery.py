"""The services of email and webhooks: Mail (the account's SMTP settings and
a test mail) and Webhooks (where the account's events are posted). They
translate and call ``engine/delivery/outbox.py``; the SMTP password is written
here and never answered, a webhook's secret answered once, by its create."""

from __future__ import annotations

from google.protobuf import empty_pb2

from control.grpc.calls import Ctx, create_once, need, rpc
from control.grpc.masks import changes_of, masked
from control.grpc.paging import page_of
from engine.app import Engine
from engine.chat.auth import Principal
from engine.delivery import compose
from engine.delivery.outbox import MailStatus
from engine.delivery.senders import DeliveryFailed
from engine.delivery.settings import MAIL_TIMEOUT, MailSettings, Webhook, check_address
from engine.errors import FailedPrecondition
from engine.persistence.schema import OutboxDoc
from parley.v1 import control_pb2 as pb
from parley.v1 import control_pb2_grpc as grpc_pb

MAIL_FIELDS = ("host", "port", "tls", "username", "password", "from_address", "timeout_seconds")
WEBHOOK_FIELDS = ("url", "events", "enabled")


def mail_settings_pb(s: MailSettings, status: MailStatus) -> pb.MailSettings:
    return pb.MailSettings(
        host=s.host,
        port=s.port,
        tls=s.tls,
        username=s.username,
        from_address=s.from_address,
        password_set=bool(s.password),
        pending=status.pending,
        failed=status.failed,
        last_error=status.last_error,
        timeout_seconds=s.timeout_seconds,
    )


def outbox_email_pb(d: OutboxDoc) -> pb.OutboxEmail:
    return pb.OutboxEmail(
        id=d["id"],
        to=d.get("to", ""),
        subject=d.get("subject", ""),
        created_ms=d["created_ms"],
        attempts=d.get("attempts", 0),
        last_error=d.get("error", ""),
        failed=bool(d.get("failed")),
        next_attempt_ms=0 if d.get("failed") else d.get("next_ms", 0),
    )


def webhook_pb(h: Webhook, secret: bool = False) -> pb.Webhook:
    return pb.Webhook(
        id=h.id,
        url=h.url,
        events=list(h.events),
        enabled=h.enabled,
        disabled_reason=h.disabled_reason,
        failures=h.failures,
        secret=h.secret if secret else "",
        created_ms=h.created_ms,
    )


class MailService(grpc_pb.MailServicer):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.deliveries = engine.deliveries

    def _answer(self, account_id: str) -> pb.MailSettings:
        d = self.deliveries
        return mail_settings_pb(d.mail_settings(account_id), d.mail_status(account_id))

    @rpc("Mail", "GetMailSettings")
    async def GetMailSettings(
        self, request: pb.GetMailSettingsRequest, p: Principal, context: Ctx
    ) -> pb.MailSettings:
        return self._answer(p.account_id)

    @rpc("Mail", "UpdateMailSettings")
    async def UpdateMailSettings(
        self, request: pb.UpdateMailSettingsRequest, p: Principal, context: Ctx
    ) -> pb.MailSettings:
        fields = masked(request.update_mask, request.mail_settings, MAIL_FIELDS, "mail_settings")
        changes = changes_of(request.mail_settings, fields)
        if "port" in changes and not changes["port"]:
            changes["port"] = 587
        if "timeout_seconds" in changes and not changes["timeout_seconds"]:
            changes["timeout_seconds"] = MAIL_TIMEOUT
        await self.deliveries.set_mail(p.account_id, changes)
        return self._answer(p.account_id)

    @rpc("Mail", "SendTestMail")
    async def SendTestMail(
        self, request: pb.SendTestMailRequest, p: Principal, context: Ctx
    ) -> empty_pb2.Empty:
        to = check_address(request.to, "to")
        try:
            await self.deliveries.test_mail(p.account_id, to, compose.test_mail(p.account_id))
        except DeliveryFailed as error:
            raise FailedPrecondition("mail_failed", str(error)) from None
        return empty_pb2.Empty()

    @rpc("Mail", "ListOutbox")
    async def ListOutbox(
        self, request: pb.ListOutboxRequest, p: Principal, context: Ctx
    ) -> pb.ListOutboxResponse:
        page = page_of(request, "outbox", p.account_id)
        emails, token = page.take(
            self.deliveries.outbox_emails(p.account_id), lambda d: (d["created_ms"], d["id"])
        )
        return pb.ListOutboxResponse(
            emails=[outbox_email_pb(d) for d in emails], next_page_token=token
        )


class WebhooksService(grpc_pb.WebhooksServicer):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.deliveries = engine.deliveries

    @rpc("Webhooks", "GetWebhook")
    async def GetWebhook(
        self, request: pb.GetWebhookRequest, p: Principal, context: Ctx
    ) -> pb.Webhook:
        return webhook_pb(self.deliveries.webhook(p.account_id, request.webhook_id))

    @rpc("Webhooks", "ListWebhooks")
    async def ListWebhooks(
        self, request: pb.ListWebhooksRequest, p: Principal, context: Ctx
    ) -> pb.ListWebhooksResponse:
        page = page_of(request, "webhooks", p.account_id)
        found = self.deliveries.webhooks(p.account_id)
        hooks, token = page.take(found, lambda h: (h.created_ms, h.id))
        return pb.ListWebhooksResponse(
            webhooks=[webhook_pb(h) for h in hooks], next_page_token=token
        )

    @rpc("Webhooks", "CreateWebhook")
    async def CreateWebhook(
        self, request: pb.CreateWebhookRequest, p: Principal, context: Ctx
    ) -> pb.Webhook:
        given = request.webhook
        need(given.url, "webhook.url")
        made: list[Webhook] = []

        async def create() -> Webhook:
            hook = await self.deliveries.add_webhook(p.account_id, given.url, given.events)
            made.append(hook)
            return hook

        hook = await create_once(
            self.engine,
            p,
            "CreateWebhook",
            request,
            create,
            lambda h: h.id,
            lambda webhook_id: self.deliveries.webhook(p.account_id, webhook_id),
        )
        # The secret is shown to the call that made it, once.
        return webhook_pb(hook, secret=bool(made))

    @rpc("Webhooks", "UpdateWebhook")
    async def UpdateWebhook(
        self, request: pb.UpdateWebhookRequest, p: Principal, context: Ctx
    ) -> pb.Webhook:
        fields = masked(request.update_mask, request.webhook, WEBHOOK_FIELDS, "webhook")
        webhook_id = need(request.webhook.id, "webhook.id")
        changes = changes_of(request.webhook, fields)
        hook = await self.deliveries.update_webhook(p.account_id, webhook_id, changes)
        return webhook_pb(hook)

    @rpc("Webhooks", "DeleteWebhook")
    async def DeleteWebhook(
        self, request: pb.DeleteWebhookRequest, p: Principal, context: Ctx
    ) -> empty_pb2.Empty:
        await self.deliveries.delete_webhook(p.account_id, request.webhook_id)
        return empty_pb2.Empty()

    @rpc("Webhooks", "TestWebhook")
    async def TestWebhook(
        self, request: pb.TestWebhookRequest, p: Principal, context: Ctx
    ) -> empty_pb2.Empty:
        try:
            await self.deliveries.test_webhook(p.account_id, request.webhook_id)
        except DeliveryFailed as error:
            raise FailedPrecondition("webhook_failed", str(error)) from None
        return empty_pb2.Empty()
