"""What the chat's events owe the outbox: the emails and webhook calls of a
ticket stored, a chat started, assigned, closed (and missed), a message and a
rating. Each function returns writes for the event's own commit (so a crash
keeps the event and its deliveries, or neither); none when nobody asked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.delivery import compose
from engine.persistence.schema import Op

if TYPE_CHECKING:
    from engine.chat.messages import ConversationInfo
    from engine.chat.records import Ticket
    from engine.chat.services import ChatServices

MISSED_LINES = 20  # of a missed chat's transcript, in its email


def account_of(services: ChatServices, site_id: str) -> tuple[str, str]:
    """(account id, site name) of a site ("" when it is gone)."""
    site = services.directory.sites.get(site_id)
    return (site.account_id, site.name) if site is not None else ("", "")


def ticket_ops(services: ChatServices, ticket: Ticket) -> list[Op]:
    """A new offline request: to the operators who asked, and the webhooks."""
    account_id, site_name = account_of(services, ticket.site_id)
    if not account_id:
        return []
    mail = compose.new_ticket(site_name, ticket.name, ticket.email, ticket.text, ticket.page_url)
    deliveries = services.deliveries
    return [
        *deliveries.notify_ops(account_id, ticket.department_id, "tickets", mail),
        *deliveries.event_ops(
            account_id,
            "ticket",
            {
                "ticket_id": ticket.id,
                "site_id": ticket.site_id,
                "department_id": ticket.department_id,
                "visitor_id": ticket.visitor_id,
                "name": ticket.name,
                "email": ticket.email,
                "text": ticket.text,
                "status": ticket.status,
            },
        ),
    ]


def chat_ops(
    services: ChatServices, info: ConversationInfo, event_type: str, **data: object
) -> list[Op]:
    """A chat event to the account's webhooks that want it."""
    site = services.directory.sites.get(info.site_id)
    account_id = site.account_id if site is not None else ""
    if not account_id or not services.deliveries.has_hooks(account_id):
        return []  # the common case, on every message: nothing built
    return services.deliveries.event_ops(
        account_id,
        event_type,
        {
            "conversation_id": info.conversation_id,
            "site_id": info.site_id,
            "department_id": info.department_id,
            "visitor_id": info.visitor_id,
            **data,
        },
    )


def missed_ops(services: ChatServices, info: ConversationInfo, lines: list[str]) -> list[Op]:
    """A missed chat: to the operators of its department who asked."""
    account_id, site_name = account_of(services, info.site_id)
    if not account_id:
        return []
    visitor = info.visitor_name or info.visitor_id
    mail = compose.missed_chat(site_name, visitor, info.conversation_id, lines[-MISSED_LINES:])
    return services.deliveries.notify_ops(account_id, info.department_id, "missed", mail)
