"""``parley mail`` (the account's SMTP server), ``parley webhook`` (where the
account's events are posted) and the answers to tickets (``parley ticket
reply|assign|close``): translations to the Mail, Webhooks and Tickets services."""

from __future__ import annotations

import sys

import click

from control.cli.common import Ctx, fields_table, mask, pass_ctx, set_given, when
from control.cli.records import ticket
from parley.v1 import control_pb2

EVENTS = ("chat.started", "chat.assigned", "chat.closed", "message", "rating", "ticket")


@click.group()
def mail() -> None:
    """The account's SMTP server: ticket answers and operators' notices go through it."""


def _show_mail(s: control_pb2.MailSettings) -> str:
    return fields_table(
        (
            ("host", s.host or "-"),
            ("port", str(s.port)),
            ("tls", s.tls),
            ("username", s.username or "-"),
            ("password", "set" if s.password_set else "-"),
            ("from", s.from_address or "-"),
            ("timeout", f"{s.timeout_seconds} s"),
            ("waiting", str(s.pending)),
            ("failed", str(s.failed)),
            ("last error", s.last_error or "-"),
        )
    )


@mail.command("set")
@click.option("--host", help="The SMTP server's host name")
@click.option("--port", type=click.IntRange(1, 65535), help="Its port (587 by default)")
@click.option("--tls", type=click.Choice(["none", "starttls", "tls"]), help="How to encrypt")
@click.option("--username", help="The SMTP login ('' for none)")
@click.option("--password-stdin", is_flag=True, help="Read the SMTP password from standard input")
@click.option("--from", "from_address", help="The sender address of every email")
@click.option(
    "--timeout",
    type=click.IntRange(1, 600),
    help="Seconds one SMTP session may take before it is given up and retried (30)",
)
@pass_ctx
def mail_set(
    ctx: Ctx,
    host: str | None,
    port: int | None,
    tls: str | None,
    username: str | None,
    password_stdin: bool,
    from_address: str | None,
    timeout: int | None,
) -> None:
    """Set the account's SMTP server (only the options given change)."""
    given = control_pb2.MailSettings()
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    paths = set_given(
        given,
        (
            ("host", host),
            ("port", port),
            ("tls", tls),
            ("username", username),
            ("password", password),
            ("from_address", from_address),
            ("timeout_seconds", timeout),
        ),
    )
    if not paths:
        raise click.UsageError(
            "give --host, --port, --tls, --username, --password-stdin, --from or --timeout"
        )
    reply = ctx.call(
        ctx.client().mail.UpdateMailSettings,
        control_pb2.UpdateMailSettingsRequest(mail_settings=given, update_mask=mask(paths)),
    )
    ctx.out(reply, lambda: _show_mail(reply))


@mail.command("show")
@pass_ctx
def mail_show(ctx: Ctx) -> None:
    """Show the SMTP settings (never the password) and what waits in the outbox."""
    reply = ctx.call(ctx.client().mail.GetMailSettings, control_pb2.GetMailSettingsRequest())
    ctx.out(reply, lambda: _show_mail(reply))


@mail.command("outbox")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 1000))
@pass_ctx
def mail_outbox(ctx: Ctx, limit: int) -> None:
    """The account's emails not sent yet, oldest first: waiting (attempts, the
    last error, the next attempt) and failed (given up, with the reason)."""
    reply = ctx.list(
        ctx.client().mail.ListOutbox, control_pb2.ListOutboxRequest(), "emails", limit=limit
    )
    ctx.out_table(
        reply,
        reply.emails,
        lambda e: (
            when(e.created_ms),
            e.to,
            "failed" if e.failed else ("waiting" if e.attempts else "new"),
            e.attempts,
            when(e.next_attempt_ms) if e.next_attempt_ms else "-",
            e.last_error or "-",
        ),
        ("CREATED", "TO", "STATE", "ATTEMPTS", "NEXT", "LAST ERROR"),
    )


@mail.command("test")
@click.argument("to")
@pass_ctx
def mail_test(ctx: Ctx, to: str) -> None:
    """Send one email to TO now; a refusal carries the SMTP server's reason."""
    reply = ctx.call(ctx.client().mail.SendTestMail, control_pb2.SendTestMailRequest(to=to))
    ctx.out(reply, lambda: f"sent to {to}")


@click.group()
def webhook() -> None:
    """Where the account's events are posted, signed (README: Email and webhooks)."""


@webhook.command("add")
@click.argument("url")
@click.option(
    "--event", "events", multiple=True, type=click.Choice(EVENTS), help="Repeat; none: all"
)
@pass_ctx
def webhook_add(ctx: Ctx, url: str, events: tuple[str, ...]) -> None:
    """Post the account's events to URL; prints the signing secret, once."""
    hook = ctx.create(
        ctx.client().webhooks.CreateWebhook,
        control_pb2.CreateWebhookRequest(webhook=control_pb2.Webhook(url=url, events=list(events))),
    )
    ctx.out(hook, lambda: f"{hook.id}\nsecret: {hook.secret} (shown once)")


@webhook.command("list")
@pass_ctx
def webhook_list(ctx: Ctx) -> None:
    """The account's webhooks, and why any is disabled."""
    reply = ctx.list(
        ctx.client().webhooks.ListWebhooks, control_pb2.ListWebhooksRequest(), "webhooks"
    )
    ctx.out_table(
        reply,
        reply.webhooks,
        lambda h: (
            h.id,
            h.url,
            ",".join(h.events) or "all",
            "on" if h.enabled else "off",
            str(h.failures),
            h.disabled_reason or "-",
        ),
        ("ID", "URL", "EVENTS", "STATE", "FAILURES", "DISABLED BECAUSE"),
    )


@webhook.command("test")
@click.argument("webhook_id")
@pass_ctx
def webhook_test(ctx: Ctx, webhook_id: str) -> None:
    """Post a signed "ping" now; a refusal carries the receiver's answer."""
    reply = ctx.call(
        ctx.client().webhooks.TestWebhook, control_pb2.TestWebhookRequest(webhook_id=webhook_id)
    )
    ctx.out(reply, lambda: "delivered")


@webhook.command("delete")
@click.argument("webhook_id")
@pass_ctx
def webhook_delete(ctx: Ctx, webhook_id: str) -> None:
    """Stop posting to a webhook; its waiting calls are dropped."""
    reply = ctx.call(
        ctx.client().webhooks.DeleteWebhook,
        control_pb2.DeleteWebhookRequest(webhook_id=webhook_id),
    )
    ctx.out(reply, lambda: f"deleted {webhook_id}")


def _ticket_line(t: control_pb2.Ticket) -> str:
    return f"{t.id} {t.status} assignee={t.assignee_id or '-'} updated {when(t.updated_ms)}"


@ticket.command("reply")
@click.argument("ticket_id")
@click.argument("text")
@pass_ctx
def ticket_reply(ctx: Ctx, ticket_id: str, text: str) -> None:
    """Answer a ticket by email to the visitor; it is then answered."""
    t = ctx.call(
        ctx.client().tickets.ReplyToTicket,
        control_pb2.ReplyToTicketRequest(ticket_id=ticket_id, text=text),
    )
    ctx.out(t, lambda: _ticket_line(t))


def _update(ctx: Ctx, ticket_id: str, field: str, value: str) -> None:
    given = control_pb2.Ticket(id=ticket_id)
    setattr(given, field, value)
    t = ctx.call(
        ctx.client().tickets.UpdateTicket,
        control_pb2.UpdateTicketRequest(ticket=given, update_mask=mask([field])),
    )
    ctx.out(t, lambda: _ticket_line(t))


@ticket.command("assign")
@click.argument("ticket_id")
@click.argument("operator_id")
@pass_ctx
def ticket_assign(ctx: Ctx, ticket_id: str, operator_id: str) -> None:
    """Give a ticket to an operator ('' takes it back)."""
    _update(ctx, ticket_id, "assignee_id", operator_id)


@ticket.command("close")
@click.argument("ticket_id")
@pass_ctx
def ticket_close(ctx: Ctx, ticket_id: str) -> None:
    """Close a ticket (parley ticket reopen ID opens it again)."""
    _update(ctx, ticket_id, "status", "closed")


@ticket.command("reopen")
@click.argument("ticket_id")
@pass_ctx
def ticket_reopen(ctx: Ctx, ticket_id: str) -> None:
    """Open a closed ticket again."""
    _update(ctx, ticket_id, "status", "open")
