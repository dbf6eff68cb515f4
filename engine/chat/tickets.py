"""A ticket's life: open, assigned, answered, closed.

An offline request is stored ``open``; giving it an assignee makes it
``assigned`` (taking the assignee away, ``open`` again), a reply sent to the
visitor's email ``answered``, and anyone who sees it may close it (or set any
status). Edits of tickets are read, changed and written one at a time (one lock:
they are rare), so two edits never lose each other. A reply is stored on the
ticket with its email in the outbox, one commit: the answer is sent exactly as
it is recorded.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from engine.chat import account, policies
from engine.chat.records import TICKET_STATUSES, Ticket
from engine.delivery import compose
from engine.delivery.settings import check_address
from engine.errors import FailedPrecondition, InvalidArgument

if TYPE_CHECKING:
    from engine.app import Engine
    from engine.chat.auth import Principal

TICKET_FIELDS = ("status", "assignee_id")


async def update_ticket(
    engine: Engine, p: Principal, ticket_id: str, changes: dict[str, Any]
) -> Ticket:
    """Change a ticket's status and/or assignee."""
    async with engine.ticket_edits:
        ticket = account.ticket(engine, p, ticket_id)
        status = str(changes.get("status", ticket.status))
        assignee = str(changes.get("assignee_id", ticket.assignee_id))
        if assignee != ticket.assignee_id:
            if assignee:
                op = engine.directory.operator(assignee, p.account_id)
                if op.disabled:
                    raise FailedPrecondition(
                        "operator_disabled", "a disabled operator takes no tickets",
                        field="ticket.assignee_id",
                    )  # fmt: skip
            if "status" not in changes and ticket.status in ("open", "assigned"):
                status = "assigned" if assignee else "open"
        if status not in TICKET_STATUSES:
            raise InvalidArgument(
                "invalid_argument",
                f"a ticket's status is one of {', '.join(TICKET_STATUSES)}",
                field="ticket.status",
            )
        updated = dataclasses.replace(
            ticket, status=status, assignee_id=assignee, updated_ms=engine.clock.wall_ms()
        )
        await engine.store.write_async([engine.ticket_op(updated)])
        return updated


async def reply_to_ticket(engine: Engine, p: Principal, ticket_id: str, text: str) -> Ticket:
    """Answer a ticket by email to the visitor: stored with the email, one commit."""
    async with engine.ticket_edits:
        ticket = account.ticket(engine, p, ticket_id)  # an unknown ticket first
        if policies.check_text(text) is not None:
            raise InvalidArgument(
                "invalid_argument", f"a reply is 1 to {policies.MAX_TEXT} characters", field="text"
            )
        if ticket.status == "closed":
            raise FailedPrecondition("ticket_closed", "the ticket is closed: reopen it first")
        to = check_address(ticket.email, "ticket.email")
        if not engine.deliveries.mail_settings(p.account_id).ready:
            raise FailedPrecondition(
                "mail_not_set", "no SMTP server is set for the account: parley mail set"
            )
        operator = engine.directory.operator(p.operator_id)
        site = engine.directory.sites.get(ticket.site_id)
        now = engine.clock.wall_ms()
        updated = dataclasses.replace(
            ticket,
            status="answered",
            assignee_id=ticket.assignee_id or operator.id,
            updated_ms=now,
            replies=(*ticket.replies, (operator.id, operator.display_name, text, now)),
        )
        mail = compose.ticket_reply(
            site.name if site else "", operator.display_name, text, ticket.text
        )
        ops = [engine.ticket_op(updated), engine.deliveries.email_op(p.account_id, to, mail)]
        await engine.store.write_async(ops)
        return updated
