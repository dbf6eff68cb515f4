"""The Board actor, one per account: the live lists operators work from.

Conversations tell it their card (status, department, who is in them) whenever
it changes. Each operator session watching it sees four views, filtered by what
its role may see (own chats only, its departments', or all):

- mine: chats it is in (invisible joins included);
- new: chats waiting for an operator;
- others: colleagues' chats;
- missed: chats whose visitor left before anyone answered.

A watcher gets every visible card once at the start, then ``ChatListed`` when a
card enters or changes in its views and ``ChatUnlisted`` when it leaves them (the
chat closed, or moved somewhere it may not see: revoked live). Cards are stored
one key each in the ``board`` database, so a restart keeps the lists.
"""

from __future__ import annotations

import logging
from typing import Any

from engine.chat.events import ChatCard, ChatListed, ChatUnlisted, Sink
from engine.chat.messages import (
    BoardCommand,
    CardChanged,
    GetBoardStats,
    GetCard,
    RescopeBoard,
    UnwatchBoard,
    WatchBoard,
)
from engine.chat.services import ChatServices, Context
from engine.errors import InvalidArgument
from engine.persistence.schema import BOARD as BOARD_TABLE
from engine.runtime import Actor, unhandled

log = logging.getLogger("parley.board")

MAX_MISSED = 1000  # missed chats kept per account (the oldest go first)
SCOPES = ("own", "department", "all")


def in_scope(
    scope: str, operator_id: str, department_ids: Any, department_id: str, participants: Any
) -> bool:
    """Whether an operator whose role sees ``scope`` (own, department, all) may
    see a chat of ``department_id`` with these participants. The one rule for
    the lists, the chat actions and the RPCs that name a chat."""
    return (
        operator_id in participants
        or scope == "all"
        or (scope == "department" and department_id in department_ids)
    )


class _Watcher:
    __slots__ = ("operator_id", "scope", "departments", "shown")

    def __init__(self, operator_id: str, scope: str, departments: tuple[str, ...]) -> None:
        self.operator_id = operator_id
        self.scope = scope
        self.departments = frozenset(departments)
        self.shown: set[str] = set()

    def view(self, card: ChatCard) -> str | None:
        """Where ``card`` shows for this operator, or None when it may not see it."""
        mine = self.operator_id in card.operators or self.operator_id in card.invisible
        if card.status == "closed":
            if not card.missed:
                return None
            view = "missed"
        elif mine:
            return "mine"
        else:
            view = "new" if card.status == "queued" else "others"
        participants = (*card.operators, *card.invisible)
        if in_scope(
            self.scope, self.operator_id, self.departments, card.department_id, participants
        ):
            return view
        return None


def card_doc(card: ChatCard) -> list[Any]:
    return list(card)


def card_of(doc: list[Any]) -> ChatCard:
    doc[6], doc[7] = tuple(doc[6]), tuple(doc[7])
    return ChatCard(*doc)


class Board(Actor[BoardCommand, ChatServices]):
    def __init__(self, key: str, snapshot: bytes | None) -> None:
        self.account_id = key
        self.cards: dict[str, ChatCard] = {}
        self.watchers: dict[Sink, _Watcher] = {}

    def started(self, ctx: Context) -> None:
        for doc in BOARD_TABLE.of_account(ctx.services.store, self.account_id):
            card = card_of(doc)
            self.cards[card.conversation_id] = card

    def can_passivate(self) -> bool:
        return not self.watchers

    def receive(self, message: BoardCommand, ctx: Context) -> object:
        match message:
            case CardChanged(card):
                self._changed(card, ctx)
                return None
            case WatchBoard(sink, operator_id, scope, departments):
                if scope not in SCOPES:
                    raise InvalidArgument("invalid_argument", f"unknown scope {scope!r}")
                watcher = _Watcher(operator_id, scope, departments)
                self.watchers[sink] = watcher
                visible = []
                for card in sorted(self.cards.values(), key=lambda c: c.started_ms):
                    view = watcher.view(card)
                    if view is not None:
                        watcher.shown.add(card.conversation_id)
                        visible.append((card, view))
                return visible
            case UnwatchBoard(sink):
                self.watchers.pop(sink, None)
                return None
            case RescopeBoard(sink, scope, departments):
                self._rescope(sink, scope, departments)
                return None
            case GetCard(conv_id):
                return self.cards.get(conv_id)
            case GetBoardStats(site_id):
                return self._stats(site_id)
        unhandled(message)

    def _changed(self, card: ChatCard, ctx: Context) -> None:
        conv_id = card.conversation_id
        store = ctx.services.store
        if card.status == "closed" and not card.missed:
            self.cards.pop(conv_id, None)
            store.write([BOARD_TABLE.delete(self.account_id, conv_id)], _logged)
        else:
            self.cards[conv_id] = card
            store.write([BOARD_TABLE.put(self.account_id, conv_id, card_doc(card))], _logged)
            if card.missed:
                self._trim(ctx)
        for sink, watcher in self.watchers.items():
            view = watcher.view(card)
            if view is not None:
                watcher.shown.add(conv_id)
                sink.push(ChatListed(card, view))
            elif conv_id in watcher.shown:
                watcher.shown.discard(conv_id)
                sink.push(ChatUnlisted(conv_id))

    def _rescope(self, sink: Sink, scope: str, departments: tuple[str, ...]) -> None:
        """The watcher's role or departments changed: what it may no longer see
        leaves its views, what it now may enters them, at once."""
        old = self.watchers.get(sink)
        if old is None or scope not in SCOPES:
            return
        watcher = _Watcher(old.operator_id, scope, departments)
        self.watchers[sink] = watcher
        for card in sorted(self.cards.values(), key=lambda c: c.started_ms):
            conv_id = card.conversation_id
            view = watcher.view(card)
            if view is not None:
                watcher.shown.add(conv_id)
                if conv_id not in old.shown:
                    sink.push(ChatListed(card, view))
            elif conv_id in old.shown:
                sink.push(ChatUnlisted(conv_id))

    def _stats(self, site_id: str) -> dict[str, dict[str, int]]:
        """Live counts per department: waiting, active, on hold, missed, and the
        average first response of the open chats answered (ms)."""
        out: dict[str, dict[str, int]] = {}
        answered: dict[str, list[int]] = {}
        for card in self.cards.values():
            if card.site_id != site_id:
                continue
            row = out.setdefault(
                card.department_id, {"waiting": 0, "active": 0, "on_hold": 0, "missed": 0}
            )
            if card.status == "queued":
                row["waiting"] += 1
            elif card.status == "active":
                row["on_hold" if card.chat_status == "on_hold" else "active"] += 1
                if card.first_response_ms:
                    answered.setdefault(card.department_id, []).append(card.first_response_ms)
            elif card.missed:
                row["missed"] += 1
        for dept, row in out.items():
            times = answered.get(dept, [])
            row["first_response_ms"] = sum(times) // len(times) if times else 0
        return out

    def _trim(self, ctx: Context) -> None:
        missed = [c for c in self.cards.values() if c.missed and c.status == "closed"]
        if len(missed) <= MAX_MISSED:
            return
        missed.sort(key=lambda c: c.updated_ms)
        for card in missed[: len(missed) - MAX_MISSED]:
            self._changed(card._replace(missed=False), ctx)


def _logged(error: BaseException | None) -> None:
    if error is not None:
        log.error("board card not stored: %r", error)
