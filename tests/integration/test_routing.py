"""Routing scenarios on the real server: websocket visitors, gRPC operators and
admin calls, with a hand-moved clock wherever time matters (no sleeping)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from control.runner import Parley
from engine.chat.messages import GetConversation, GetOperatorState
from engine.runtime import FakeClock
from parley.v1 import control_pb2, operator_pb2
from tests.integration.helpers import Operator, Visitor, owner, running, visitor_url


async def staff(
    app: Parley,
    boss: Operator,
    name: str,
    *,
    online: bool = True,
    departments: list[str] | None = None,
    **settings: Any,
) -> Operator:
    """A new operator of the demo department (or ``departments``), with routing
    ``settings`` (UpdateOperator fields), logged in and (by default) online."""
    assert app.demo is not None
    email = f"{name.lower()}@routing.test"
    added = await boss.api.operators.CreateOperator(
        control_pb2.CreateOperatorRequest(
            operator=control_pb2.Operator(
                email=email,
                display_name=name,
                department_ids=departments or [app.demo["department"]],
                role=settings.pop("role", "operator"),
            ),
            password="a long password",
            max_chats=settings.pop("max_chats", 2),
        ),
        metadata=boss.metadata,
    )
    if settings:
        await boss.api.operators.UpdateOperator(
            update_operator(added.id, **settings), metadata=boss.metadata
        )
    op = await Operator(app).login(email, "a long password")
    op.id = added.id
    if online:
        await op.open()
    return op


async def chat_up(app: Parley, text: str = "hello", **hello: Any) -> tuple[Visitor, str]:
    """A visitor that says hello and a first message; returns it and its chat."""
    v = await Visitor(visitor_url(app)).connect()
    await v.hello(**hello)
    v.send({"type": "msg", "cid": "first", "text": text})
    ack = await v.recv("ack")
    return v, ack["conversation"]


async def advance(app: Parley, clock: FakeClock, seconds: float, step: float = 30.0) -> None:
    """Move time on, letting the actors handle each timer as it falls due."""
    assert app.engine is not None
    while seconds > 0:
        clock.advance(min(step, seconds))
        seconds -= step
        await app.engine.settle()


async def _until(app: Parley, kind: str, key: str, message: Any, done: Any) -> None:
    assert app.engine is not None
    async with asyncio.timeout(5):
        while not done(await app.engine.system.ref(kind, key).ask(message)):
            await asyncio.sleep(0.01)


async def gone(app: Parley, conv: str) -> None:
    """Wait until the server has seen the visitor of ``conv`` disconnect."""
    await _until(app, "conversation", conv, GetConversation(), lambda s: not s.visitor_connected)


async def dropped(app: Parley, operator_id: str) -> None:
    """Wait until the server has seen the operator's last session end."""
    await _until(app, "operator", operator_id, GetOperatorState(), lambda s: not s.sessions)


def command(**kw: Any) -> operator_pb2.OperatorCommand:
    return operator_pb2.OperatorCommand(**kw)


def update_operator(operator_id: str, **fields: Any) -> control_pb2.UpdateOperatorRequest:
    """An UpdateOperator of ``fields`` (lists replace the operator's; an empty one
    clears it), the mask naming them."""
    return control_pb2.UpdateOperatorRequest(
        operator=control_pb2.Operator(id=operator_id, **fields),
        update_mask=FieldMask(paths=list(fields)),
    )


def update_department(department_id: str, **fields: Any) -> control_pb2.UpdateDepartmentRequest:
    """An UpdateDepartment of ``fields``, the mask naming them."""
    return control_pb2.UpdateDepartmentRequest(
        department=control_pb2.Department(id=department_id, **fields),
        update_mask=FieldMask(paths=list(fields)),
    )


def update_site(site_id: str, **fields: Any) -> control_pb2.UpdateSiteRequest:
    """An UpdateSite of ``fields``, the mask naming them."""
    return control_pb2.UpdateSiteRequest(
        site=control_pb2.Site(id=site_id, **fields), update_mask=FieldMask(paths=list(fields))
    )


async def waiting_in(op: Operator, department_id: str) -> Any:
    """The New pool of ``department_id`` as ``op`` lists it."""
    return await op.api.conversations.ListWaitingConversations(
        control_pb2.ListWaitingConversationsRequest(department_id=department_id),
        metadata=op.metadata,
    )


async def test_two_operators_limit_two_five_visitors(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        boss = await owner(app)
        ana = await staff(app, boss, "Ana", max_chats=2)
        ben = await staff(app, boss, "Ben", max_chats=2)
        visitors = []
        for i in range(5):
            v, conv = await chat_up(app, f"visitor {i} here")
            visitors.append((v, conv))
        for v, _ in visitors[:4]:
            await v.recv("joined")
        v5, conv5 = visitors[4]
        queued = await v5.recv("queued")
        assert queued["position"] == 1 and isinstance(queued["eta"], int)
        got = {
            op: [(await op.recv("assigned")).conversation_id for _ in range(2)] for op in (ana, ben)
        }
        assert sorted(got[ana] + got[ben]) == sorted(c for _, c in visitors[:4])
        waiting = await waiting_in(boss, app.demo["department"])  # type: ignore[index]
        assert [c.conversation_id for c in waiting.chats] == [conv5]
        # A reconnect is told its place again.
        await v5.close()
        v5 = await Visitor(visitor_url(app)).connect()
        await v5.hello(token=visitors[4][0].welcome["token"], last_seq=1)
        assert (await v5.recv("queued"))["position"] == 1
        # Ana closes one chat: the waiting visitor is hers at once.
        ana.send_commands(
            command(close=operator_pb2.CloseConversation(conversation_id=got[ana][0]))
        )
        joined = await v5.recv("joined")
        assert joined["operator"] == "Ana"
        assert (await ana.recv("assigned")).conversation_id == conv5
        for op in (ana, ben, boss):
            await op.close()


async def test_regions_are_offered_only_when_two_are_online(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        assert app.demo is not None
        boss = await owner(app)
        md = boss.metadata
        dept = app.demo["department"]
        north = await boss.api.regions.CreateRegion(
            control_pb2.CreateRegionRequest(
                region=control_pb2.Region(department_id=dept, name="North")
            ),
            metadata=md,
        )
        south = await boss.api.regions.CreateRegion(
            control_pb2.CreateRegionRequest(
                region=control_pb2.Region(department_id=dept, name="South")
            ),
            metadata=md,
        )
        await staff(app, boss, "Nora", region_ids=[north.id])
        v = await Visitor(visitor_url(app)).connect()
        welcome = await v.hello()
        (support,) = welcome["departments"]
        assert support["online"] and support["regions"] == []  # one region online: no choice
        sam = await staff(app, boss, "Sam", region_ids=[south.id])
        update = await v.recv("departments")
        regions = {r["name"]: r["online"] for r in update["departments"][0]["regions"]}
        assert regions == {"North": True, "South": True}
        # The visitor picks the South region; Sam (South) gets the chat.
        v.send({"type": "choose", "department": dept, "region": south.id})
        chosen = await v.recv("departments")
        assert chosen["department"] == dept and not chosen["offline"]
        v.send({"type": "msg", "cid": "1", "text": "southern question"})
        assert (await sam.recv("assigned")).visitor_id == welcome["visitor"]
        sam.send_commands(command(status=operator_pb2.SetStatus(status="offline")))
        update = await v.recv("departments")
        assert update["departments"][0]["regions"] == []  # hidden again
        bad = await Visitor(visitor_url(app)).connect()
        bad.send({"type": "hello", "v": 1, "department": dept, "region": "rnope00000"})
        assert (await bad.recv("error"))["code"] == "unknown_region"


async def test_link_rules_send_visitors_to_their_group_first(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        assert app.demo is not None
        boss = await owner(app)
        md, site = boss.metadata, app.demo["site"]
        pricing = await boss.api.groups.CreateGroup(
            control_pb2.CreateGroupRequest(group=control_pb2.Group(site_id=site, name="Pricing")),
            metadata=md,
        )
        shop = await boss.api.groups.CreateGroup(
            control_pb2.CreateGroupRequest(group=control_pb2.Group(site_id=site, name="Shop")),
            metadata=md,
        )
        # Both rules match a pricing page; the lower position wins.
        await boss.api.link_rules.CreateLinkRule(
            control_pb2.CreateLinkRuleRequest(
                link_rule=control_pb2.LinkRule(
                    site_id=site, pattern=r"^https://shop\.test/", group_id=shop.id, position=5
                )
            ),
            metadata=md,
        )
        await boss.api.link_rules.CreateLinkRule(
            control_pb2.CreateLinkRuleRequest(
                link_rule=control_pb2.LinkRule(
                    site_id=site, pattern=r"/pricing(/|$)", group_id=pricing.id, position=1
                )
            ),
            metadata=md,
        )
        rules = await boss.api.link_rules.ListLinkRules(
            control_pb2.ListLinkRulesRequest(site_id=site), metadata=md
        )
        assert [r.group_id for r in rules.link_rules] == [pricing.id, shop.id]
        general = await staff(app, boss, "Gil", max_chats=5)
        priya = await staff(app, boss, "Priya", max_chats=5, group_ids=[pricing.id])
        sol = await staff(app, boss, "Sol", max_chats=5, group_ids=[shop.id])
        _, c1 = await chat_up(app, page="https://shop.test/pricing/pro")
        assert (await priya.recv("assigned")).conversation_id == c1
        _, c2 = await chat_up(app, page="https://shop.test/about")
        assert (await sol.recv("assigned")).conversation_id == c2
        _, c3 = await chat_up(app, page="https://elsewhere.test/")
        assert (await general.recv("assigned")).conversation_id == c3
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await boss.api.link_rules.CreateLinkRule(
                control_pb2.CreateLinkRuleRequest(
                    link_rule=control_pb2.LinkRule(site_id=site, pattern="([a-z", group_id=shop.id)
                ),
                metadata=md,
            )
        assert info.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert "does not compile" in (info.value.details() or "")
        after = await boss.api.link_rules.ListLinkRules(
            control_pb2.ListLinkRulesRequest(site_id=site), metadata=md
        )
        assert len(after.link_rules) == 2  # nothing half-saved


async def test_languages_route_and_a_disabled_one_opens_no_chat(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        assert app.demo is not None
        boss = await owner(app)
        await boss.api.sites.UpdateSite(
            update_site(app.demo["site"], languages=["en", "de"]), metadata=boss.metadata
        )
        dora = await staff(app, boss, "Dora", languages=["de"])
        french = await Visitor(visitor_url(app)).connect()
        welcome = await french.hello(language="fr-FR")
        assert welcome["offline"] and not welcome["departments"][0]["online"]
        french.send({"type": "msg", "cid": "x", "text": "bonjour"})
        refused = await french.recv("error")
        assert refused["code"] == "offline" and refused["cid"] == "x"
        # English is enabled, but only Dora (German) is online: offline too.
        english = await Visitor(visitor_url(app)).connect()
        assert (await english.hello(language="en-GB"))["offline"]
        eve = await staff(app, boss, "Eve", languages=["en"])
        assert not (await english.recv("departments"))["offline"]
        english.send({"type": "msg", "cid": "e", "text": "hello"})
        assert (await eve.recv("assigned")).visitor_id == english.welcome["visitor"]
        # German goes to Dora, though Eve is as free: Eve does not speak it.
        _, conv = await chat_up(app, "hallo", language="de")
        assert (await dora.recv("assigned")).conversation_id == conv


async def test_a_schedule_across_midnight_in_new_york(tmp_path: Path) -> None:
    ny = ZoneInfo("America/New_York")
    friday_late = datetime(2026, 11, 20, 21, 50, tzinfo=ny)  # a Friday
    clock = FakeClock(wall_ms=int(friday_late.astimezone(UTC).timestamp() * 1000))
    async with running(tmp_path, clock=clock) as app:
        boss = await owner(app)
        night = await staff(
            app, boss, "Nite", schedule="fri 22:00-02:00", timezone="America/New_York"
        )

        async def status() -> str:
            reply = await boss.api.operators.ListOperators(
                control_pb2.ListOperatorsRequest(), metadata=boss.metadata
            )
            return next(o.status for o in reply.operators if o.display_name == "Nite")

        v = await Visitor(visitor_url(app)).connect()
        assert (await v.hello())["offline"]  # 21:50: not yet
        assert await status() == "offline"
        night.send_commands(command(status=operator_pb2.SetStatus(status="online")))
        assert (await night.recv("error")).code == "outside_schedule"
        await advance(app, clock, 15 * 60)  # 22:05
        assert not (await v.recv("departments"))["offline"]
        assert await status() == "online"
        await advance(app, clock, 3 * 3600 + 50 * 60)  # Saturday 01:55: still on
        assert await status() == "online"
        await advance(app, clock, 10 * 60)  # 02:05: off
        assert (await v.recv("departments"))["offline"]
        assert await status() == "offline"


async def test_offers_move_on_after_a_decline_and_a_timeout(tmp_path: Path) -> None:
    clock = FakeClock()
    async with running(tmp_path, clock=clock) as app:
        assert app.demo is not None
        boss = await owner(app)
        await boss.api.departments.UpdateDepartment(
            update_department(app.demo["department"], offer_seconds=10), metadata=boss.metadata
        )
        ana = await staff(app, boss, "Ana", auto_accept=False)
        await advance(app, clock, 1)  # Ana has been idle longer: she is asked first
        ben = await staff(app, boss, "Ben", auto_accept=False)
        v, conv = await chat_up(app)
        offer = await ana.recv("offered")
        assert offer.conversation_id == conv and offer.expires_in_seconds == 10
        ana.send_commands(command(answer=operator_pb2.OfferAnswer(conversation_id=conv)))
        assert (await ana.recv("withdrawn")).reason == "declined"
        assert (await ben.recv("offered")).conversation_id == conv
        await advance(app, clock, 11, step=11)
        assert (await ben.recv("withdrawn")).reason == "timeout"
        waiting = await waiting_in(ana, app.demo["department"])
        assert [(c.conversation_id, c.offered_to) for c in waiting.chats] == [(conv, "")]
        # Both turned it down; Ana picks it from the New pool after all.
        ana.send_commands(command(pick=operator_pb2.PickConversation(conversation_id=conv)))
        assert (await ana.recv("assigned")).conversation_id == conv
        assert (await v.recv("joined"))["operator"] == "Ana"
        # Answering an offer that is gone is a clear error.
        ben.send_commands(
            command(answer=operator_pb2.OfferAnswer(conversation_id=conv, accept=True))
        )
        assert (await ben.recv("error")).code == "no_offer"


async def test_an_operator_dropping_mid_offer_passes_it_on(tmp_path: Path) -> None:
    clock = FakeClock()
    async with running(tmp_path, clock=clock) as app:
        boss = await owner(app)
        ana = await staff(app, boss, "Ana", auto_accept=False)
        await advance(app, clock, 1)
        ben = await staff(app, boss, "Ben")
        _, conv = await chat_up(app)
        assert (await ana.recv("offered")).conversation_id == conv
        await ana.close()  # the session drops with the offer out
        assert (await ben.recv("assigned")).conversation_id == conv


async def test_max_wait_moves_to_the_fallback_department(tmp_path: Path) -> None:
    clock = FakeClock()
    async with running(tmp_path, clock=clock) as app:
        assert app.demo is not None
        boss = await owner(app)
        md = boss.metadata
        sales = await boss.api.departments.CreateDepartment(
            control_pb2.CreateDepartmentRequest(
                department=control_pb2.Department(site_id=app.demo["site"], name="Sales")
            ),
            metadata=md,
        )
        await boss.api.departments.UpdateDepartment(
            update_department(
                app.demo["department"], max_wait_seconds=30, fallback_department_id=sales.id
            ),
            metadata=md,
        )
        await staff(app, boss, "Sue", max_chats=1)
        sally = await staff(app, boss, "Sally", departments=[sales.id])
        support = app.demo["department"]
        _, busy = await chat_up(app, department=support)
        v, conv = await chat_up(app, department=support)
        assert (await v.recv("queued"))["position"] == 1
        await advance(app, clock, 31)
        assert (await sally.recv("assigned")).conversation_id == conv
        moved = await v.recv("msg")
        assert moved["from"] == "system" and moved["text"].startswith("Moved to Sales")
        assert busy


async def test_max_wait_without_fallback_closes_and_the_offline_form_makes_a_ticket(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    async with running(tmp_path, clock=clock) as app:
        assert app.demo is not None
        boss = await owner(app)
        await boss.api.departments.UpdateDepartment(
            update_department(app.demo["department"], max_wait_seconds=20), metadata=boss.metadata
        )
        await staff(app, boss, "Sue", max_chats=1)
        await chat_up(app)
        v, conv = await chat_up(app)
        await advance(app, clock, 21)
        closed = await v.recv("closed")
        assert closed["conversation"] == conv and closed["reason"] == "no_operator"
        v.send({"type": "ticket", "name": "Vic", "email": "not-an-address", "text": "call me"})
        assert (await v.recv("error"))["code"] == "invalid_argument"
        v.send({"type": "ticket", "name": "Vic", "email": "vic@example.test", "text": "call me"})
        saved = await v.recv("ticket_saved")
        tickets = await boss.api.tickets.ListTickets(
            control_pb2.ListTicketsRequest(site_id=app.demo["site"]), metadata=boss.metadata
        )
        assert [(t.id, t.email, t.text) for t in tickets.tickets] == [
            (saved["ticket"], "vic@example.test", "call me")
        ]


async def test_a_visitor_who_leaves_the_queue_abandons_it(tmp_path: Path) -> None:
    clock = FakeClock()
    async with running(tmp_path, clock=clock, abandon_seconds=60) as app:
        assert app.demo is not None
        boss = await owner(app)
        sue = await staff(app, boss, "Sue", max_chats=1)
        await chat_up(app)
        v, conv = await chat_up(app)
        await v.recv("queued")
        await v.close()
        await gone(app, conv)
        await advance(app, clock, 61)
        waiting = await waiting_in(sue, app.demo["department"])
        assert list(waiting.chats) == []
        transcript = await boss.api.conversations.ListMessages(
            control_pb2.ListMessagesRequest(conversation_id=conv), metadata=boss.metadata
        )
        assert transcript.messages[-1].text == "The visitor left before anyone answered"


async def test_a_dropped_operator_keeps_its_chats_in_the_grace_period_then_they_move(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    async with running(tmp_path, clock=clock, grace_seconds=30) as app:
        assert app.demo is not None
        boss = await owner(app)
        await boss.api.departments.UpdateDepartment(
            update_department(app.demo["department"], offline_action="forward", offline_seconds=10),
            metadata=boss.metadata,
        )
        ana = await staff(app, boss, "Ana", max_chats=1)
        v, conv = await chat_up(app)
        assert (await ana.recv("assigned")).conversation_id == conv
        await ana.close()
        await dropped(app, ana.id)
        await advance(app, clock, 20)
        back = await Operator(app).login("ana@routing.test", "a long password")
        await back.open()
        assert (await back.recv("assigned")).conversation_id == conv  # still hers
        ben = await staff(app, boss, "Ben", max_chats=1)
        await back.close()
        await dropped(app, ana.id)
        await advance(app, clock, 30 + 10 + 1, step=10)  # grace, then offline_seconds
        assert (await ben.recv("assigned")).conversation_id == conv
        notices = []
        while not any("went offline" in t for t in notices):
            notices.append((await v.recv("msg"))["text"])
        assert [(await v.recv("joined"))["operator"] for _ in range(2)] == ["Ana", "Ben"]


async def test_a_returning_visitor_gets_the_operator_it_spoke_to(tmp_path: Path) -> None:
    clock = FakeClock()
    async with running(tmp_path, clock=clock) as app:
        boss = await owner(app)
        ana = await staff(app, boss, "Ana", max_chats=3)
        await advance(app, clock, 1)
        ben = await staff(app, boss, "Ben", max_chats=3)
        # Ana is longest idle, so the first chat is hers; a second visitor goes to Ben.
        _, first = await chat_up(app)
        assert (await ana.recv("assigned")).conversation_id == first
        v, second = await chat_up(app)
        assert (await ben.recv("assigned")).conversation_id == second
        v.send({"type": "close"})
        await v.recv("closed")
        await v.close()
        # Back later: Ana and Ben are equally loaded and Ana has been idle longer,
        # but Ben is the one this visitor spoke to.
        back = await Visitor(visitor_url(app)).connect()
        welcome = await back.hello(token=v.welcome["token"])
        assert welcome["visitor"] == v.welcome["visitor"]
        back.send({"type": "msg", "cid": "again", "text": "me again"})
        assigned = await ben.recv("assigned")
        assert assigned.visitor_id == welcome["visitor"] and assigned.conversation_id != second


async def test_out_of_hours_and_disabled_chat_show_offline(tmp_path: Path) -> None:
    monday_noon = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    clock = FakeClock(wall_ms=int(monday_noon.timestamp() * 1000))
    async with running(tmp_path, clock=clock) as app:
        assert app.demo is not None
        boss = await owner(app)
        await staff(app, boss, "Ana")
        dept = app.demo["department"]
        v = await Visitor(visitor_url(app)).connect()
        assert not (await v.hello())["offline"]
        await boss.api.departments.UpdateDepartment(
            update_department(dept, hours="sat-sun 10:00-16:00"), metadata=boss.metadata
        )
        assert (await v.recv("departments"))["offline"]
        v.send({"type": "msg", "cid": "m", "text": "anyone?"})
        assert (await v.recv("error"))["code"] == "offline"
        for change, offline in (
            ({"hours": ""}, False),
            ({"chat_enabled": False}, True),
            ({"chat_enabled": True}, False),
        ):
            await boss.api.departments.UpdateDepartment(
                update_department(dept, **change), metadata=boss.metadata
            )
            assert (await v.recv("departments"))["offline"] is offline, change


async def test_bad_routing_settings_are_refused_and_nothing_is_half_saved(
    tmp_path: Path,
) -> None:
    async with running(tmp_path) as app:
        assert app.demo is not None and app.engine is not None
        boss = await owner(app)
        md = boss.metadata
        dept = app.demo["department"]
        ana = await staff(app, boss, "Ana", online=False)
        other_site = await boss.api.sites.CreateSite(
            control_pb2.CreateSiteRequest(
                site=control_pb2.Site(name="Other", allowed_origins=[], typing_preview=True)
            ),
            metadata=md,
        )
        other_dept = await boss.api.departments.CreateDepartment(
            control_pb2.CreateDepartmentRequest(
                department=control_pb2.Department(site_id=other_site.id, name="Elsewhere")
            ),
            metadata=md,
        )
        other_region = await boss.api.regions.CreateRegion(
            control_pb2.CreateRegionRequest(
                region=control_pb2.Region(department_id=other_dept.id, name="Far")
            ),
            metadata=md,
        )
        departments, operators = boss.api.departments, boss.api.operators
        cases: list[tuple[Any, Any, str]] = [
            (
                departments.UpdateDepartment,
                update_department(dept, hours="mon-fri 09:00-17:00; fri 16:00-18:00"),
                "overlap",
            ),
            (departments.UpdateDepartment, update_department(dept, hours="someday 9-5"), "mon-fri"),
            (
                departments.UpdateDepartment,
                update_department(dept, hours="mon 25:00-26:00"),
                "time of day",
            ),
            (
                departments.UpdateDepartment,
                update_department(dept, timezone="Mars/Olympus"),
                "IANA",
            ),
            (
                departments.UpdateDepartment,
                update_department(dept, fallback_department_id=other_dept.id),
                "department",
            ),
            (
                departments.UpdateDepartment,
                update_department(dept, fallback_department_id=dept),
                "itself",
            ),
            (
                departments.UpdateDepartment,
                update_department("dnothere00", hours=""),
                "dnothere00",
            ),
            (operators.UpdateOperator, update_operator(ana.id, max_chats=5000), "max chats"),
            (
                operators.UpdateOperator,
                update_operator(ana.id, region_ids=[other_region.id], max_chats=1),
                "region",
            ),
            (
                operators.UpdateOperator,
                update_operator(ana.id, schedule="mon 09:00-09:00"),
                "empty",
            ),
            (operators.UpdateOperator, update_operator(ana.id, languages=["english"]), "language"),
            (
                boss.api.regions.CreateRegion,
                control_pb2.CreateRegionRequest(
                    region=control_pb2.Region(department_id="dnothere00", name="X")
                ),
                "dnothere00",
            ),
            (
                boss.api.sites.UpdateSite,
                update_site(app.demo["site"], languages=["en", "x1"]),
                "language",
            ),
        ]
        for method, request, words in cases:
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await method(request, metadata=md)
            assert info.value.code() in (
                grpc.StatusCode.INVALID_ARGUMENT,
                grpc.StatusCode.NOT_FOUND,
            ), request
            assert words in (info.value.details() or ""), (words, info.value.details())
        d = app.engine.directory.departments[dept]
        assert (d.hours, d.timezone, d.fallback_department_id) == ("", "", "")
        op = app.engine.directory.operators[ana.id]
        assert (op.max_chats, op.region_ids, op.schedule, op.languages) == (2, (), "", ())


async def test_the_waiting_line_survives_a_restart(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        assert app.demo is not None
        boss = await owner(app)
        await staff(app, boss, "Sue", max_chats=1)
        await chat_up(app)
        v, conv = await chat_up(app, "still waiting")
        assert (await v.recv("queued"))["position"] == 1
        token = v.welcome["token"]
        await v.close()
    async with running(tmp_path) as app:  # the same data directory
        assert app.demo is not None
        boss = await owner(app)
        waiting = await waiting_in(boss, app.demo["department"])
        assert [c.conversation_id for c in waiting.chats] == [conv]
        ben = await staff(app, boss, "Ben", max_chats=1)
        assert (await ben.recv("assigned")).conversation_id == conv
        back = await Visitor(visitor_url(app)).connect()
        await back.hello(token=token)
        texts = []
        while "Ben joined the chat" not in texts:
            texts.append((await back.recv("msg"))["text"])
        assert texts[0] == "still waiting"


async def test_a_long_offline_delay_outlives_idle_passivation(tmp_path: Path) -> None:
    """The forward after offline_seconds still happens when that is longer than
    the time after which idle actors are put away."""
    clock = FakeClock()
    async with running(tmp_path, clock=clock, grace_seconds=30) as app:
        assert app.demo is not None and app.engine is not None
        boss = await owner(app)
        await boss.api.departments.UpdateDepartment(
            update_department(
                app.demo["department"], offline_action="forward", offline_seconds=900
            ),
            metadata=boss.metadata,
        )
        ana = await staff(app, boss, "Ana", max_chats=1)
        _v, conv = await chat_up(app)
        assert (await ana.recv("assigned")).conversation_id == conv
        ben = await staff(app, boss, "Ben", max_chats=1, online=False)
        await ana.close()
        await dropped(app, ana.id)
        await advance(app, clock, 31, step=31)  # grace over: Ana is offline
        await ben.open()
        passivated = app.engine.system.passivated
        await advance(app, clock, 900, step=60)  # several idle sweeps on the way
        assert app.engine.system.passivated > passivated  # sweeps did put actors away
        assert (await ben.recv("assigned")).conversation_id == conv
