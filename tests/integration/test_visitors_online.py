"""Visitors on the site now and proactive invitations (PRODUCT.md C13): the
list pages and filters, the coalesced count, an invitation accepted (the chat
goes to the inviter), declined, the refusals and another account's visitor."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import grpc
import orjson
import pytest
from google.protobuf import field_mask_pb2

from engine.chat.lobby import LEAVE_GRACE
from engine.runtime import FakeClock
from parley.v1 import common_pb2
from parley.v1 import control_pb2 as pb
from tests.control.test_cli import cli
from tests.integration.helpers import (
    Operator,
    Visitor,
    error_info,
    on_duty,
    owner,
    running,
    settled,
    visitor_url,
)
from tests.integration.test_routing import advance
from tests.integration.test_tenancy import account_b


async def refused(call: object) -> str:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call  # type: ignore[misc]
    return error_info(caught.value).reason.lower()


async def test_online_visitors_are_listed_in_pages_and_invited(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        assert app.demo is not None
        op = await on_duty(app)
        api, md = op.api.visitors, op.metadata
        url = visitor_url(app)
        first = await Visitor(url).connect()
        w1 = await first.hello(page="https://shop.example/", referrer="https://search.example/")
        second = await Visitor(url).connect()
        await second.hello(page="https://shop.example/a", language="de-DE")
        tab = await Visitor(url).connect()  # the first visitor's other tab
        await tab.hello(token=w1["token"], page="https://shop.example/b")
        await tab.round_trip()
        # The count comes coalesced (a second at most), whatever came and went.
        while (await op.recv("visitors_online", timeout=10)).visitors != 2:
            pass
        page1 = await api.ListOnlineVisitors(pb.ListOnlineVisitorsRequest(page_size=1), metadata=md)
        page2 = await api.ListOnlineVisitors(
            pb.ListOnlineVisitorsRequest(page_size=1, page_token=page1.next_page_token),
            metadata=md,
        )
        assert not page2.next_page_token
        (a,), (b,) = page1.visitors, page2.visitors
        assert a.visitor_id == w1["visitor"] and a.connections == 2 and a.returning
        assert a.page_url == "https://shop.example/b" and a.referrer == "https://search.example/"
        assert b.language == "de" and not b.returning and b.arrived_ms >= a.arrived_ms
        filtered = pb.ListOnlineVisitorsRequest(site_id=app.demo["site"])
        assert len((await api.ListOnlineVisitors(filtered, metadata=md)).visitors) == 2
        assert (
            await refused(
                api.ListOnlineVisitors(pb.ListOnlineVisitorsRequest(site_id="snope"), metadata=md)
            )
            == "unknown_site"
        )
        assert await refused(
            api.ListOnlineVisitors(
                pb.ListOnlineVisitorsRequest(page_token=page1.next_page_token, site_id="x"),
                metadata=md,
            )
        ) in ("invalid_page_token", "unknown_site")

        # Invited: both tabs show it; the answer opens the chat with the inviter.
        invite = pb.InviteVisitorRequest(visitor_id=a.visitor_id, text="Can I help?")
        invitation = (await api.InviteVisitor(invite, metadata=md)).invitation_id
        shown = await first.recv("invitation")
        assert shown["text"] == "Can I help?" and shown["invitation"] == invitation
        assert shown["operator"]
        await tab.recv("invitation")
        assert await refused(api.InviteVisitor(invite, metadata=md)) == "already_invited"
        first.send({"type": "msg", "cid": "c1", "text": "yes please"})
        conv = (await first.recv("ack"))["conversation"]
        ended = await op.recv("invitation_ended")
        assert (ended.invitation_id, ended.outcome) == (invitation, "accepted")
        assert (await op.recv("assigned")).conversation_id == conv
        assert (await tab.recv("invitation_ended"))["outcome"] == "accepted"
        assert await refused(api.InviteVisitor(invite, metadata=md)) == "visitor_in_chat"

        # Declined by the other visitor; then gone: offline.
        other = pb.InviteVisitorRequest(visitor_id=b.visitor_id, text="Hello!")
        await api.InviteVisitor(other, metadata=md)
        await second.recv("invitation")
        second.send({"type": "decline_invitation"})
        assert (await op.recv("invitation_ended")).outcome == "declined"
        second.send({"type": "decline_invitation"})
        assert (await second.recv("error"))["code"] == "no_invitation"
        empty = pb.InviteVisitorRequest(visitor_id=b.visitor_id, text=" ")
        assert await refused(api.InviteVisitor(empty, metadata=md)) == "empty_message"
        for v in (first, tab, second):
            await v.close()


async def until_no_connection(api: Any, md: Any, visitor_id: str) -> None:
    """Until the lobby has seen the visitor's last connection go (it is listed,
    with none, for the grace): each look a round trip, no clock involved."""
    async with asyncio.timeout(5):
        while True:
            listed = await api.ListOnlineVisitors(pb.ListOnlineVisitorsRequest(), metadata=md)
            rows = [v for v in listed.visitors if v.visitor_id == visitor_id]
            if rows and rows[0].connections == 0:
                return


async def test_an_invitation_follows_the_visitor_to_its_next_page(tmp_path: Path) -> None:
    """A page change closes one websocket and opens the next: the invitation is
    shown again there and its answer still goes to the inviter; a visitor whose
    last connection stays gone past the grace has left."""
    clock = FakeClock()
    async with running(tmp_path, clock=clock) as app:
        op = await on_duty(app)
        api, md = op.api.visitors, op.metadata
        page = await Visitor(visitor_url(app)).connect()
        welcome = await page.hello(page="https://shop.example/")
        invite = pb.InviteVisitorRequest(visitor_id=welcome["visitor"], text="Need a hand?")
        invitation = (await api.InviteVisitor(invite, metadata=md)).invitation_id
        await page.recv("invitation")
        await page.close()  # to the next page
        await until_no_connection(api, md, welcome["visitor"])
        await advance(app, clock, LEAVE_GRACE / 2, step=LEAVE_GRACE / 2)
        following = await Visitor(visitor_url(app)).connect()
        await following.hello(token=welcome["token"], page="https://shop.example/cart")
        shown = await following.recv("invitation")
        assert (shown["invitation"], shown["text"]) == (invitation, "Need a hand?")
        following.send({"type": "msg", "cid": "c1", "text": "yes, the cart"})
        conv = (await following.recv("ack"))["conversation"]
        assert (await op.recv("invitation_ended")).outcome == "accepted"
        assert (await op.recv("assigned")).conversation_id == conv

        # Another visitor, invited, then gone for good: it has left after the grace.
        gone = await Visitor(visitor_url(app)).connect()
        left = await gone.hello(page="https://shop.example/")
        await api.InviteVisitor(
            pb.InviteVisitorRequest(visitor_id=left["visitor"], text="Hi"), metadata=md
        )
        await gone.recv("invitation")
        await gone.close()
        await until_no_connection(api, md, left["visitor"])  # the grace has begun
        await advance(app, clock, LEAVE_GRACE + 1, step=LEAVE_GRACE + 1)
        assert (await op.recv("invitation_ended")).outcome == "left"
        again = pb.InviteVisitorRequest(visitor_id=left["visitor"], text="Hi")
        assert await refused(api.InviteVisitor(again, metadata=md)) == "visitor_offline"
        await following.close()


async def test_another_accounts_visitor_is_unknown(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        assert app.engine is not None
        other_id, _password = await account_b(app)
        b_site = await app.engine.directory.create_site(other_id, "B shop", [])
        op = await on_duty(app)
        b_visitor = await Visitor(visitor_url(app, site=b_site.id)).connect()
        welcome = await b_visitor.hello()
        await b_visitor.round_trip()
        invite = pb.InviteVisitorRequest(visitor_id=welcome["visitor"], text="Hi")
        assert await refused(op.api.visitors.InviteVisitor(invite, metadata=op.metadata)) == (
            "unknown_visitor"
        )
        listed = await op.api.visitors.ListOnlineVisitors(
            pb.ListOnlineVisitorsRequest(), metadata=op.metadata
        )
        assert welcome["visitor"] not in [v.visitor_id for v in listed.visitors]
        await b_visitor.close()


async def test_the_invitation_words_open_the_transcript_once(tmp_path: Path) -> None:
    """The words of an answered invitation are the chat's first message, the
    inviter's under its display name: to the visitor, the operator's stream,
    ListMessages and `parley transcript`, each once, and so after a restart."""
    async with running(tmp_path) as app:
        op = await on_duty(app)
        me = await op.api.auth.GetMe(pb.GetMeRequest(), metadata=op.metadata)
        visitor = await Visitor(visitor_url(app)).connect()
        welcome = await visitor.hello(page="https://shop.example/")
        invite = pb.InviteVisitorRequest(visitor_id=welcome["visitor"], text="Can I <b>help</b>?")
        await op.api.visitors.InviteVisitor(invite, metadata=op.metadata)
        await visitor.recv("invitation")
        visitor.send({"type": "msg", "cid": "c1", "text": "yes please"})
        words = await visitor.recv("msg")
        assert (words["seq"], words["from"], words["text"]) == (1, "operator", "Can I <b>help</b>?")
        assert words["name"] == me.display_name and words["name"]
        ack = await visitor.recv("ack")
        conv = ack["conversation"]
        assert (ack["seq"], words["conversation"]) == (2, conv)
        assert (await op.recv("assigned")).conversation_id == conv
        streamed = [await op.recv("message"), await op.recv("message")]
        assert [(m.seq, m.author_id, m.text) for m in streamed] == [
            (1, me.id, "Can I <b>help</b>?"),
            (2, welcome["visitor"], "yes please"),
        ]
        await settled(app, visitor, op)
        said = [f for f in visitor.frames() if f["type"] == "msg" and f["from"] != "system"]
        assert said == [words]  # then the notice that the inviter joined
        before = await transcript(op, conv)
        assert before[:2] == [
            (1, common_pb2.AUTHOR_KIND_OPERATOR, me.display_name, "Can I <b>help</b>?"),
            (2, common_pb2.AUTHOR_KIND_VISITOR, before[1][2], "yes please"),
        ]
        await visitor.close()

    async with running(tmp_path) as app:  # the same data, a new process's engine
        op = await on_duty(app)
        assert await transcript(op, conv) == before
        back = await Visitor(visitor_url(app)).connect()
        again = await back.hello(token=welcome["token"], page="https://shop.example/")
        assert again["conversation"] == conv
        await settled(app, back)
        replayed = [(f["seq"], f["text"]) for f in back.frames() if f["type"] == "msg"]
        assert replayed == [(seq, text) for seq, _kind, _name, text in before]
        creds = orjson.loads((tmp_path / "data" / "owner-credentials.json").read_bytes())
        login = ("login", "--email", creds["email"], "--password", creds["password"])
        assert (await cli(app, tmp_path, *login)).exit_code == 0
        printed = await cli(app, tmp_path, "transcript", conv)
        assert printed.exit_code == 0, printed.output
        lines = [ln for ln in printed.output.splitlines() if "Can I <b>help</b>?" in ln]
        assert len(lines) == 1 and "operator" in lines[0] and me.display_name in lines[0]
        await back.close()


async def transcript(op: Any, conv: str) -> list[tuple[int, int, str, str]]:
    """(seq, author kind, author name, text) of every stored message, through the API."""
    reply = await op.api.conversations.ListMessages(
        pb.ListMessagesRequest(conversation_id=conv), metadata=op.metadata
    )
    return [(m.seq, m.author_kind, m.author_name, m.text) for m in reply.messages]


async def test_a_custom_role_invites_visitors_only_once_given_it(tmp_path: Path) -> None:
    """A custom role holds what it was given and nothing added later: one made
    before invite_visitors existed (or without it) sees the visitors but its
    invitation is refused, saying why; given the permission, the holder's open
    session may invite at once."""
    async with running(tmp_path) as app:
        assert app.demo is not None
        boss = await owner(app)
        role = pb.Role(name="trainee", permissions=["chat", "view_config"])
        await boss.api.roles.CreateRole(pb.CreateRoleRequest(role=role), metadata=boss.metadata)
        trainee = pb.Operator(
            email="tia@parley.local",
            display_name="Tia",
            role="trainee",
            department_ids=[app.demo["department"]],
        )
        await boss.api.operators.CreateOperator(
            pb.CreateOperatorRequest(operator=trainee, password="trainee-pass", max_chats=3),
            metadata=boss.metadata,
        )
        tia = await Operator(app).login("tia@parley.local", "trainee-pass")
        await tia.open()
        visitor = await Visitor(visitor_url(app)).connect()
        welcome = await visitor.hello(page="https://shop.example/")
        api, md = tia.api.visitors, tia.metadata
        listed = await api.ListOnlineVisitors(pb.ListOnlineVisitorsRequest(), metadata=md)
        assert [v.visitor_id for v in listed.visitors] == [welcome["visitor"]]
        invite = pb.InviteVisitorRequest(visitor_id=welcome["visitor"], text="Hello!")
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await api.InviteVisitor(invite, metadata=md)
        assert caught.value.code() is grpc.StatusCode.PERMISSION_DENIED
        assert error_info(caught.value).reason.lower() == "permission_denied"
        assert "trainee role may not invite visitors" in (caught.value.details() or "")

        given = pb.Role(name="trainee", permissions=["chat", "view_config", "invite_visitors"])
        await boss.api.roles.UpdateRole(
            pb.UpdateRoleRequest(
                role=given, update_mask=field_mask_pb2.FieldMask(paths=["permissions"])
            ),
            metadata=boss.metadata,
        )
        await api.InviteVisitor(invite, metadata=md)
        assert (await visitor.recv("invitation"))["operator"] == "Tia"
        await visitor.close()
