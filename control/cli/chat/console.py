"""The console's state and what it prints for each event of the session stream.

The state is shared by the input thread and the event printer, under one lock:
the chats seen (each with its short number, the visitor's name and whether it
is the operator's own), the chat plain lines go to, and the last offer. The
chat plain lines go to is never guessed: it is the one chosen with ``/to``, or
the operator's only open chat; when it ends under the operator (the visitor
left, a colleague closed or took it) plain lines are refused until ``/to``
chooses again, so a reply meant for one visitor never reaches the next.
"""

from __future__ import annotations

import itertools
import os
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import click

from control.client import Client
from parley.v1 import operator_pb2

VISITOR, OPERATOR, SYSTEM, NOTE = 1, 2, 3, 4

# What to do about a refusal of the session stream, by its code.
HINTS = {
    "conversation_closed": "the chat has ended",
    "not_participant": "you are not in that chat (/join N first)",
    "already_in_chat": "already in that chat",
    "permission_denied": "your role may not do that",
    "operator_unavailable": "the colleague is not online, or has no free slot",
    "owner_changed": "the chat moved meanwhile",
    "waiting": "the chat waits in the New pool: /take N",
    "unknown_conversation": "no such chat in your sight",
    "unknown_operator": "no such colleague",
    "unknown_department": "no such department",
}


@dataclass
class Chat:
    """One chat the console has seen, by its number for this session."""

    number: int
    conversation_id: str
    visitor_name: str = ""
    view: str = ""  # the board's view: mine, new, others, missed ("" none yet)
    mine: bool = False  # the operator is in it (assigned, not ended or left)
    typing: bool = False  # the visitor is typing, as last told

    @property
    def label(self) -> str:
        return f"[{self.number} {self.visitor_name or 'visitor'}]"


class Console:
    """The state of one ``parley chat``, and the commands queued for its stream."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.lock = threading.RLock()
        # Batches of commands for the stream; None ends it.
        self.outbox: queue.Queue[Any] = queue.Queue()
        self.outbox.put([operator_pb2.OperatorCommand(hello=operator_pb2.OperatorHello())])
        self.operator_id = ""
        self.chats: dict[str, Chat] = {}
        self.numbers: dict[int, Chat] = {}
        self.target = ""  # the chat plain lines go to ("" none chosen)
        self.lost = ""  # the chosen chat ended under the operator: why, until /to
        self.offered = ""  # the last offer, until it is gone
        self.leaving: set[str] = set()  # chats the operator closed, left or handed on
        self.colleagues: dict[str, str] = {}  # operator id -> display name (presence)
        self._ids = itertools.count(1)
        self._prefix = os.urandom(4).hex()

    # The stream's requests.

    def batches(self) -> Iterator[Any]:
        """Each queued batch, until None."""
        while (batch := self.outbox.get()) is not None:
            yield operator_pb2.OperatorCommandBatch(commands=batch)

    def put(self, *commands: Any) -> None:
        """Queue COMMANDS for the stream, as one batch."""
        self.outbox.put(list(commands))

    def message(self, conversation_id: str, text: str) -> Any:
        """An OperatorSend of TEXT to the chat, with a fresh client id."""
        return operator_pb2.OperatorSend(
            conversation_id=conversation_id,
            client_msg_id=f"{self._prefix}-{next(self._ids)}",
            text=text,
        )

    # The chats.

    def see(self, conversation_id: str, visitor_name: str = "") -> Chat:
        """The chat by its id, numbered on first sight."""
        with self.lock:
            chat = self.chats.get(conversation_id)
            if chat is None:
                chat = Chat(len(self.chats) + 1, conversation_id)
                self.chats[conversation_id] = chat
                self.numbers[chat.number] = chat
            if visitor_name:
                chat.visitor_name = visitor_name
            return chat

    def find(self, ref: str) -> Chat | None:
        """The chat a command names: its number (or its full id)."""
        with self.lock:
            if ref.isdigit():
                return self.numbers.get(int(ref))
            return self.chats.get(ref)

    def mine(self) -> list[Chat]:
        """The operator's open chats, by number."""
        with self.lock:
            return sorted((c for c in self.chats.values() if c.mine), key=lambda c: c.number)

    def destination(self) -> Chat | str:
        """The chat a plain line goes to, or why none: the chosen one; else,
        unless the chosen one ended under the operator, the only open chat."""
        with self.lock:
            chosen = self.chats.get(self.target)
            if chosen is not None and chosen.mine:
                return chosen
            if self.lost:
                return f"{self.lost}; choose where lines go with /to N (/chats lists them)"
            open_chats = self.mine()
            if not open_chats:
                return "no chat open yet; wait for a visitor, or /chats and /take N"
            if len(open_chats) > 1:
                numbers = ", ".join(c.label for c in open_chats)
                return (
                    f"not sent: {len(open_chats)} chats are open ({numbers}); "
                    "choose one with /to N, then write"
                )
            self.target = open_chats[0].conversation_id
            return open_chats[0]

    def choose(self, chat: Chat) -> None:
        """Plain lines go to CHAT from now on."""
        with self.lock:
            self.target = chat.conversation_id
            self.lost = ""

    def _gone(self, chat: Chat, why: str) -> None:
        """CHAT is no longer the operator's (WHY, as a sentence after its label)."""
        chat.mine = False
        chat.typing = False
        if self.target == chat.conversation_id:
            # Lines went there: they go nowhere until /to, unless the operator
            # ended it and no other visitor is there to get a line meant for it.
            self.target = ""
            others = [c for c in self.chats.values() if c.mine and c is not chat]
            if chat.conversation_id not in self.leaving or others:
                self.lost = f"{chat.label} {why}"
        self.leaving.discard(chat.conversation_id)

    # The events.

    def show(self, event: Any) -> None:
        """Print one event of the stream, and keep the state it changes."""
        which = event.WhichOneof("event")
        handler = getattr(self, f"_on_{which}", None)
        if handler is not None:
            with self.lock:
                handler(getattr(event, which))

    def _on_ready(self, ready: Any) -> None:
        self.operator_id = ready.operator_id
        click.echo(
            f"-- signed in as {ready.display_name} ({ready.status}); waiting for chats. "
            "/help lists the commands"
        )

    def _on_assigned(self, a: Any) -> None:
        chat = self.see(a.conversation_id, a.visitor_name)
        was_mine, chat.mine = chat.mine, True
        if was_mine:
            return
        click.echo(f"-- {chat.label} chat {a.conversation_id} is yours (visitor {a.visitor_id})")
        self._where_lines_go()

    def _where_lines_go(self) -> None:
        open_chats = self.mine()
        chosen = self.chats.get(self.target)
        if chosen is not None and chosen.mine:
            return
        if len(open_chats) == 1 and not self.lost:
            click.echo(f"-- plain lines go to {open_chats[0].label}")
        elif len(open_chats) > 1:
            click.echo(f"-- {len(open_chats)} chats open: /to N chooses where plain lines go")

    def _on_message(self, m: Any) -> None:
        chat = self.see(m.conversation_id)
        if m.author_kind == VISITOR:
            if m.author_name:
                chat.visitor_name = m.author_name
            chat.typing = False
            click.echo(f"{chat.label} {m.author_name or 'visitor'}: {m.text}")
        elif m.author_kind == OPERATOR:
            click.echo(f"{chat.label} {m.author_name}: {m.text}")
        elif m.author_kind == NOTE:
            click.echo(f"{chat.label} (note) {m.author_name or '*'}: {m.text}")
        else:
            click.echo(f"{chat.label} * {m.text}")

    def _on_error(self, e: Any) -> None:
        chat = self.chats.get(e.conversation_id) if e.conversation_id else None
        where = f"{chat.label} " if chat else ""
        verb = "not sent" if e.client_msg_id else "refused"
        hint = HINTS.get(e.code)
        click.echo(f"-- {where}{verb}: {e.code}: {e.message}" + (f" ({hint})" if hint else ""))
        if chat is not None:
            self.leaving.discard(chat.conversation_id)

    def _on_closed(self, c: Any) -> None:
        chat = self.see(c.conversation_id)
        by = (
            "you"
            if c.closed_by and c.closed_by == self.operator_id
            else self.colleagues.get(c.closed_by)
            or ("the visitor" if c.closed_by else c.reason or "the server")
        )
        why = f"was closed by {by}" + (f" ({c.reason})" if c.reason else "")
        if c.closed_by == self.operator_id:
            self.leaving.add(c.conversation_id)
        click.echo(f"-- {chat.label} closed by {by}" + (f" ({c.reason})" if c.reason else ""))
        if chat.mine:
            self._gone(chat, why)
        elif self.lost.startswith(f"{chat.label} "):  # its views told first
            self.lost = f"{chat.label} {why}"

    def _on_rated(self, r: Any) -> None:
        chat = self.see(r.conversation_id)
        click.echo(f"-- {chat.label} rated the chat {r.score}/5")

    def _on_typing(self, t: Any) -> None:
        chat = self.see(t.conversation_id)
        if t.author_kind == VISITOR:
            if t.active and (t.preview or not chat.typing):
                preview = f": {t.preview}" if t.preview else ""
                click.echo(f"{chat.label} ({chat.visitor_name or 'visitor'} is typing{preview})")
            chat.typing = t.active
        elif t.active:
            click.echo(f"{chat.label} ({t.author_name} is typing)")

    def _on_offered(self, o: Any) -> None:
        chat = self.see(o.conversation_id, o.visitor_name)
        self.offered = o.conversation_id
        click.echo(
            f"-- {chat.label} offer: chat {o.conversation_id} with "
            f"{o.visitor_name or 'a visitor'} (visitor {o.visitor_id}); "
            f"/accept or /decline within {o.expires_in_seconds} s"
        )

    def _on_withdrawn(self, w: Any) -> None:
        chat = self.see(w.conversation_id)
        if self.offered == w.conversation_id:
            self.offered = ""
        click.echo(f"-- {chat.label} offer gone ({w.reason})")

    def _on_presence(self, p: Any) -> None:
        self.colleagues[p.operator_id] = p.display_name
        click.echo(f"-- {p.display_name} is {p.status}")

    def _on_listed(self, listed: Any) -> None:
        card = listed.card
        chat = self.see(card.conversation_id, card.visitor_name)
        before, chat.view = chat.view, listed.view
        if listed.view == "mine":
            chat.mine = True
        elif before == "mine" and chat.mine:
            self._gone(chat, "is no longer yours")
            click.echo(f"-- {chat.label} is no longer yours ({listed.view})")
        if listed.view == "new" and before != "new":
            click.echo(f"-- {chat.label} waits in the New pool: /take {chat.number}")

    def _on_unlisted(self, u: Any) -> None:
        chat = self.chats.get(u.conversation_id)
        if chat is None:
            return
        before, chat.view = chat.view, ""
        if before == "mine" and chat.mine:
            # Closed (its closed event tells by whom) or gone out of sight.
            self._gone(chat, "is no longer yours")

    def _on_direct(self, d: Any) -> None:
        if d.from_operator_id != self.operator_id:
            click.echo(f"-- from {d.from_name}: {d.text}")
