"""The account rules as engine calls, on a real engine: a settings change reaches
the operator actor and presence whoever makes it, and the permission rules hold
for a caller that is not a gRPC servicer."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.app import Engine
from engine.chat import account
from engine.chat.auth import Principal
from engine.chat.events import Assigned, Departments, Event, OperatorJoined
from engine.chat.sessions import OperatorSession, VisitorSession
from engine.errors import NotFound, PermissionDenied


class Sink:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def push(self, event: Event) -> None:
        self.events.append(event)

    def of(self, kind: type) -> list[Event]:
        return [e for e in self.events if isinstance(e, kind)]


async def test_moving_an_operator_tells_its_actor_and_presence(tmp_path: Path) -> None:
    engine = Engine(tmp_path)
    try:
        acme = await engine.directory.create_account("acme")
        site = await engine.directory.create_site(acme.id, "web", ["https://acme.test"])
        sales = await engine.directory.create_department(acme.id, site.id, "Sales")
        support = await engine.directory.create_department(acme.id, site.id, "Support")
        ana = await engine.directory.add_operator(
            acme.id, email="ana@acme.test", password="correct horse", display_name="Ana",
            department_ids=[sales.id],
        )  # fmt: skip
        boss = Principal(ana.id, acme.id, "owner", b"")
        desk = Sink()
        await OperatorSession(engine, boss, desk).hello({})
        watcher = Sink()
        w = VisitorSession(engine, site, watcher)
        await w.hello(department_id=sales.id)
        await engine.settle()
        assert not w.offline()

        await account.update_operator(engine, boss, ana.id, {"department_ids": [support.id]})
        await engine.settle()
        # Presence was told: the Sales visitor sees its department go offline.
        last = watcher.of(Departments)[-1]
        assert isinstance(last, Departments) and last.offline and w.offline()
        # The operator actor was told: Support's queue now assigns to Ana.
        visitor = Sink()
        v = VisitorSession(engine, site, visitor)
        await v.hello(department_id=support.id)
        v.send("c1", "hello support")
        await engine.settle()
        assert [e.conversation_id for e in desk.of(Assigned)] == [v.conversation_id]
        assert visitor.of(OperatorJoined)
    finally:
        await engine.close()


async def test_the_rules_hold_for_any_caller(tmp_path: Path) -> None:
    engine = Engine(tmp_path)
    try:
        acme = await engine.directory.create_account("acme")
        site = await engine.directory.create_site(acme.id, "web", ["https://acme.test"])
        sales = await engine.directory.create_department(acme.id, site.id, "Sales")
        owner = await engine.directory.add_operator(
            acme.id, email="own@acme.test", password="correct horse", display_name="Own",
            role="owner",
        )  # fmt: skip
        ana = await engine.directory.add_operator(
            acme.id, email="ana@acme.test", password="correct horse", display_name="Ana",
        )  # fmt: skip
        as_ana = Principal(ana.id, acme.id, "operator", b"")
        as_admin = Principal(ana.id, acme.id, "admin", b"")
        with pytest.raises(PermissionDenied, match="only an owner may act on an owner"):
            await account.update_operator(engine, as_admin, owner.id, {"max_chats": 1})
        with pytest.raises(PermissionDenied, match="only an owner"):
            await account.add_operator(
                engine, as_admin, email="x@acme.test", password="correct horse",
                display_name="X", role="owner", department_ids=[], max_chats=5,
            )  # fmt: skip
        with pytest.raises(PermissionDenied, match="do not serve that department"):
            await account.waiting_line(engine, as_ana, sales.id)
        with pytest.raises(PermissionDenied, match="the account's replies"):
            await account.add_template(engine, as_ana, "hi", "Hello!", shared=True)
        mine = await account.add_template(engine, as_ana, "hi", "Hello!", shared=False)
        with pytest.raises(NotFound):  # a colleague's own reply does not exist for others
            await account.delete_template(
                engine, Principal(owner.id, acme.id, "owner", b""), mine.id
            )
        await account.delete_template(engine, as_ana, mine.id)
        with pytest.raises(NotFound, match="unknown_site|no site"):
            account.visitor_site(engine, as_ana, "snosuchsit")
    finally:
        await engine.close()
