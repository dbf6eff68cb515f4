"""What the chat's events owe the outbox: the emails and webhook calls of a
ticket stored, a chat started, assigned, closed (and missed), a message and a
rating. Each function returns writes for the event's own commit (so a crash
keeps the event and its deliveries, or neither); none when nobody asked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.chat import ids
from engine.chat.records import Ticket
from engine.delivery import compose
from engine.delivery.settings import ADDRESS_RE
from engine.persistence.codec import decode
from engine.persistence.schema import SNAPSHOTS, Op

if TYPE_CHECKING:
    from engine.chat.messages import ConversationInfo
    from engine.chat.services import ChatServices

MISSED_LINES = 20  # of a missed chat's transcript, in its email


def account_of(services: ChatServices, site_id: str) -> tuple[str, str]:
    """(account id, site name) of a site ("" when it is gone)."""
    site = services.directory.sites.get(site_id)
    return (site.account_id, site.name) if site is not None else ("", "")


def ticket_ops(services: ChatServices, ticket: Ticket, notices: bool = True) -> list[Op]:
    """A new ticket: to the operators who asked (``notices``: a missed chat's
    ticket is told as a missed chat instead), and the webhooks."""
    account_id, site_name = account_of(services, ticket.site_id)
    if not account_id:
        return []
    mail = compose.new_ticket(site_name, ticket.name, ticket.email, ticket.text, ticket.page_url)
    deliveries = services.deliveries
    told = deliveries.notify_ops(account_id, ticket.department_id, "tickets", mail)
    return [
        *(told if notices else ()),
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
                "kind": ticket.kind,
                "conversation_id": ticket.conversation_id,
            },
        ),
    ]


def missed_ticket(
    services: ChatServices, info: ConversationInfo, said: list[str], now_ms: int
) -> Ticket | None:
    """A missed chat whose visitor gave an email becomes a ticket (kind
    "missed_chat", linked to the chat), answered by email like any other
    (``ReplyToTicket``); None when the visitor gave no usable email."""
    raw = SNAPSHOTS.get(services.store, "visitor", info.visitor_id)
    email = str(decode(raw).get("email", "")).strip() if raw is not None else ""
    if not ADDRESS_RE.match(email) or ".." in email:
        return None
    text = "\n".join(said)[:4000] or "(the visitor wrote nothing)"
    return Ticket(
        id="t" + ids.random_id(12),
        site_id=info.site_id,
        department_id=info.department_id,
        visitor_id=info.visitor_id,
        name=info.visitor_name,
        email=email,
        text=text,
        created_ms=now_ms,
        language=info.language,
        kind="missed_chat",
        conversation_id=info.conversation_id,
    )


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
