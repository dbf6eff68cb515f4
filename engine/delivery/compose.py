"""The emails Parley sends, as text: each kind's subject, plain-text body and
HTML body, and the message built from an outbox entry.

Everything a visitor or an operator wrote is data, never markup: the HTML part
escapes every value (``html.escape``, quotes included) and keeps line breaks
with ``<br>``; the subject has control characters taken out, so no value can
add a header. The message's ``Message-ID`` is made from the outbox id: an email
sent twice (the worker died between the server's answer and the delete of the
entry) is one message for the recipient's server and client, which keep one
copy of a Message-ID.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate

from engine.persistence.schema import OutboxDoc

_CONTROL = {c: " " for c in range(32)} | {127: " "}


@dataclass(frozen=True, slots=True)
class Mail:
    """One email's content."""

    subject: str
    text: str
    html: str


def _line(value: str, limit: int = 200) -> str:
    return value.translate(_CONTROL).strip()[:limit]


def _html_text(value: str) -> str:
    return html.escape(value, quote=True).replace("\n", "<br>\n")


def _page(title: str, rows: Iterable[tuple[str, str]], body: str) -> str:
    items = "".join(
        f"<tr><th align=left>{html.escape(k)}</th><td>{_html_text(v)}</td></tr>" for k, v in rows
    )
    return (
        "<!doctype html><html><body>"
        f"<h2>{html.escape(title)}</h2><table>{items}</table>"
        f"<p>{_html_text(body)}</p></body></html>"
    )


def _plain(rows: Iterable[tuple[str, str]], body: str) -> str:
    head = "".join(f"{k}: {v}\n" for k, v in rows)
    return f"{head}\n{body}\n"


def new_ticket(site: str, name: str, email: str, text: str, page_url: str) -> Mail:
    """To the operators who asked for new offline requests."""
    rows = [("Site", site), ("From", f"{name} <{email}>" if name else email), ("Page", page_url)]
    return Mail(
        _line(f"New request on {site} from {name or email}"),
        _plain(rows, text),
        _page("New request", rows, text),
    )


def ticket_reply(site: str, operator: str, text: str, request: str) -> Mail:
    """The answer to a visitor's offline request."""
    quoted = "\n".join(f"> {line}" for line in request.splitlines())
    body = f"{text}\n\n-- \n{operator}, {site}\n\nYou wrote:\n{quoted}"
    return Mail(_line(f"Re: your message to {site}"), body + "\n", _page(site, [], body))


def missed_chat(site: str, visitor: str, conversation_id: str, lines: Sequence[str]) -> Mail:
    """To the operators who asked for missed chats."""
    rows = [("Site", site), ("Visitor", visitor), ("Conversation", conversation_id)]
    body = "\n".join(lines) or "(no message)"
    return Mail(
        _line(f"Missed chat on {site} with {visitor}"),
        _plain(rows, body),
        _page("Missed chat", rows, body),
    )


def transcript(site: str, conversation_id: str, lines: Sequence[str]) -> Mail:
    """A chat's transcript, to the visitor who asked for it."""
    body = "\n".join(lines)
    rows = [("Conversation", conversation_id)]
    return Mail(
        _line(f"Your chat with {site}"),
        _plain(rows, body),
        _page(f"Your chat with {site}", rows, body),
    )


DAILY_COLUMNS = (
    "Chats",
    "Missed",
    "Answered",
    "First response (median)",
    "Wait (median)",
    "Duration (average)",
    "Rating",
)


def daily_report(
    account: str, operator: str, day: str, timezone: str, rows: Sequence[tuple[str, Sequence[str]]]
) -> Mail:
    """An operator's daily report: a row of :data:`DAILY_COLUMNS` figures per
    label (its own chats, its departments)."""
    title = f"Your day in chats: {day}"
    intro = (
        f"{operator}, here are the chats of {day} ({timezone}) at {account}: "
        "the chats that started that day and are closed."
    )
    widths = [max(len(label) for label, _ in rows)] if rows else [0]
    widths += [
        max(len(name), *(len(figures[i]) for _, figures in rows))
        for i, name in enumerate(DAILY_COLUMNS)
    ]
    head = ["", *DAILY_COLUMNS]
    table = [
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in [head, *([label, *figures] for label, figures in rows)]
    ]
    text = "\n".join([intro, "", *table]) + "\n"
    cells = "".join(f"<th>{html.escape(c)}</th>" for c in head)
    body = "".join(
        "<tr>"
        + f"<th align=left>{html.escape(label)}</th>"
        + "".join(f"<td align=right>{html.escape(v)}</td>" for v in figures)
        + "</tr>"
        for label, figures in rows
    )
    page = (
        "<!doctype html><html><body>"
        f"<h2>{html.escape(title)}</h2><p>{_html_text(intro)}</p>"
        f"<table cellpadding=4><tr>{cells}</tr>{body}</table></body></html>"
    )
    return Mail(_line(f"{title} at {account}"), text, page)


def test_mail(account: str) -> Mail:
    text = f"Parley can send email for {account}."
    return Mail(_line(f"Parley test mail for {account}"), text + "\n", _page("Test", [], text))


def message_id(outbox_id: str, from_address: str) -> str:
    """The stable Message-ID of an outbox entry."""
    domain = from_address.rpartition("@")[2] or "parley.invalid"
    return f"<{outbox_id}@{domain}>"


def build(doc: OutboxDoc, from_address: str) -> EmailMessage:
    """The message of an email entry: plain text with an HTML alternative."""
    message = EmailMessage()
    message["From"] = from_address
    message["To"] = doc["to"]
    message["Subject"] = _line(doc["subject"], 250)
    message["Message-ID"] = message_id(doc["id"], from_address)
    message["Date"] = formatdate(doc["created_ms"] / 1000, usegmt=True)
    message.set_content(doc["text"])
    message.add_alternative(doc["html"], subtype="html")
    return message
