"""Visitor info and quick replies, on the real server."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from parley.v1 import control_pb2, operator_pb2
from tests.integration.helpers import Visitor, owner, running, visitor_url
from tests.integration.test_routing import staff

FIREFOX = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


async def test_operators_see_who_the_visitor_is_and_where_it_has_been(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        assert app.demo is not None
        boss = await owner(app)
        ana = await staff(app, boss, "Ana")
        v = await Visitor(visitor_url(app)).connect(user_agent=FIREFOX)
        await v.hello(
            name="Ingrid",
            email="ingrid@example.test",
            page="https://shop.test/boots",
            title="Boots",
            referrer="https://search.test/?q=boots",
            language="nb-NO",
            tz=60,
        )
        v.send({"type": "page", "url": "https://shop.test/boots/42", "title": "Hiking boot 42"})
        v.send({"type": "page", "url": 7})
        assert (await v.recv("error"))["code"] == "bad_frame"
        v.send({"type": "msg", "cid": "1", "text": "Do these run small?"})
        conv = (await v.recv("ack"))["conversation"]
        assert (await ana.recv("assigned")).conversation_id == conv
        info = await ana.api.conversations.GetVisitorInfo(
            control_pb2.GetVisitorInfoRequest(conversation_id=conv), metadata=ana.metadata
        )
        assert (info.name, info.email, info.language) == ("Ingrid", "ingrid@example.test", "nb")
        assert (info.browser, info.os) == ("Firefox 128", "Ubuntu")
        assert info.ip == "127.0.0.1" and info.referrer == "https://search.test/?q=boots"
        assert [(p.url, p.title) for p in info.pages] == [
            ("https://shop.test/boots", "Boots"),
            ("https://shop.test/boots/42", "Hiking boot 42"),
        ]
        assert info.tz_offset_minutes == 60 and info.visits == 1
        assert abs(info.local_time_ms - info.last_seen_ms - 3_600_000) < 60_000
        assert list(info.conversation_ids) == [conv]
        # A second visit is counted; the chats stay listed.
        again = await Visitor(visitor_url(app)).connect(user_agent=FIREFOX)
        await again.hello(token=v.welcome["token"])
        info = await ana.api.conversations.GetVisitorInfo(
            control_pb2.GetVisitorInfoRequest(conversation_id=conv), metadata=ana.metadata
        )
        assert info.visits == 2 and list(info.conversation_ids) == [conv]
        # Someone who may not see the chat learns nothing, not even that it exists.
        sales = await boss.api.departments.CreateDepartment(
            control_pb2.CreateDepartmentRequest(
                department=control_pb2.Department(site_id=app.demo["site"], name="Sales")
            ),
            metadata=boss.metadata,
        )
        bo = await staff(app, boss, "Bo", departments=[sales.id], online=False)
        for conversation_id in (conv, "snotthere0-aaaaaaaaaaaa", "../etc"):
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await bo.api.conversations.GetVisitorInfo(
                    control_pb2.GetVisitorInfoRequest(conversation_id=conversation_id),
                    metadata=bo.metadata,
                )
            assert refused.value.code() is grpc.StatusCode.NOT_FOUND
        # The owner sees every chat.
        info = await boss.api.conversations.GetVisitorInfo(
            control_pb2.GetVisitorInfoRequest(conversation_id=conv), metadata=boss.metadata
        )
        assert info.visitor_id == v.welcome["visitor"]


async def test_quick_replies_own_and_shared(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        assert app.demo is not None
        boss = await owner(app)
        ana = await staff(app, boss, "Ana")
        v = await Visitor(visitor_url(app)).connect()
        await v.hello(name="Ola")
        v.send({"type": "msg", "cid": "1", "text": "hi"})
        conv = (await v.recv("ack"))["conversation"]
        md = ana.metadata
        mine = await ana.api.templates.CreateTemplate(
            control_pb2.CreateTemplateRequest(
                template=control_pb2.Template(
                    shortcut="hello", text="Hello {visitor_name}, {operator_name} here."
                )
            ),
            metadata=md,
        )
        assert mine.operator_id
        for request, code in (
            (
                control_pb2.CreateTemplateRequest(
                    template=control_pb2.Template(shortcut="x", text="hi", shared=True)
                ),
                "PERMISSION",
            ),
            (
                control_pb2.CreateTemplateRequest(
                    template=control_pb2.Template(shortcut="hello", text="again")
                ),
                "ALREADY_EXISTS",
            ),
            (
                control_pb2.CreateTemplateRequest(
                    template=control_pb2.Template(shortcut="bad one", text="hi")
                ),
                "INVALID",
            ),
            (
                control_pb2.CreateTemplateRequest(
                    template=control_pb2.Template(shortcut="v", text="{password}")
                ),
                "INVALID",
            ),
            (
                control_pb2.CreateTemplateRequest(
                    template=control_pb2.Template(shortcut="e", text="   ")
                ),
                "INVALID",
            ),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await ana.api.templates.CreateTemplate(request, metadata=md)
            assert refused.value.code().name.startswith(code), request
        shared = await boss.api.templates.CreateTemplate(
            control_pb2.CreateTemplateRequest(
                template=control_pb2.Template(
                    shortcut="hours", text="We are open 9-17 ({site_name}).", shared=True
                )
            ),
            metadata=boss.metadata,
        )
        await boss.api.templates.CreateTemplate(
            control_pb2.CreateTemplateRequest(
                template=control_pb2.Template(shortcut="hello", text="Shared hello", shared=True)
            ),
            metadata=boss.metadata,
        )
        found = await ana.api.templates.ListTemplates(
            control_pb2.ListTemplatesRequest(prefix="/h", conversation_id=conv), metadata=md
        )
        assert [(t.shortcut, t.rendered) for t in found.templates] == [
            ("hello", "Hello Ola, Ana here."),  # her own before the account's
            ("hello", "Shared hello"),
            ("hours", f"We are open 9-17 ({app.engine.directory.sites[app.demo['site']].name})."),  # type: ignore[union-attr]
        ]
        only = await ana.api.templates.ListTemplates(
            control_pb2.ListTemplatesRequest(prefix="ho"), metadata=md
        )
        assert [t.rendered for t in only.templates] == [""]  # no chat: nothing filled in
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await ana.api.templates.DeleteTemplate(
                control_pb2.DeleteTemplateRequest(template_id=shared.id), metadata=md
            )
        assert refused.value.code() is grpc.StatusCode.PERMISSION_DENIED
        await ana.api.templates.DeleteTemplate(
            control_pb2.DeleteTemplateRequest(template_id=mine.id), metadata=md
        )
        left = await ana.api.templates.ListTemplates(
            control_pb2.ListTemplatesRequest(), metadata=md
        )
        assert [t.text for t in left.templates] == ["Shared hello", shared.text]


async def test_operators_chat_between_themselves(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        boss = await owner(app)
        ana = await staff(app, boss, "Ana")
        cy = await staff(app, boss, "Cy", online=False)
        # The operators list shows who is there: Ana sees Cy come online.
        await cy.open()
        presence = await ana.recv("presence")
        while presence.display_name != "Cy" or presence.status != "online":
            presence = await ana.recv("presence")

        def direct(to: str, cid: str, text: str) -> operator_pb2.OperatorCommand:
            return operator_pb2.OperatorCommand(
                direct=operator_pb2.DirectSend(to_operator_id=to, client_msg_id=cid, text=text)
            )

        ana.send_commands(direct(cy.id, "d1", "Can you take the Spanish chats today?"))
        got = await cy.recv("direct")
        assert (got.from_name, got.text, got.seq) == (
            "Ana",
            "Can you take the Spanish chats today?",
            1,
        )
        assert (await ana.recv("direct")).seq == 1  # stored: it comes back to the sender
        ana.send_commands(direct(cy.id, "d1", "Can you take the Spanish chats today?"))  # resent
        cy.send_commands(direct(ana.id, "c1", "Sure"))
        assert (await ana.recv("direct")).text == "Sure"
        for command, code in (
            (direct(ana.id, "x", "me"), "invalid_argument"),
            (direct("onobody000", "y", "hi"), "unknown_operator"),
            (direct(cy.id, "z", ""), "empty_message"),
        ):
            ana.send_commands(command)
            refused = await ana.recv("error")
            assert refused.code == code, command
        history = await cy.api.direct_messages.ListDirectMessages(
            control_pb2.ListDirectMessagesRequest(with_operator_id=ana.id), metadata=cy.metadata
        )
        assert [(m.seq, m.from_name, m.text) for m in history.messages] == [
            (1, "Ana", "Can you take the Spanish chats today?"),
            (2, "Cy", "Sure"),
        ]
        # Another account's operator is nobody to talk to.
        other = await app.engine.directory.create_account("other")  # type: ignore[union-attr]
        stranger = await app.engine.directory.add_operator(  # type: ignore[union-attr]
            other.id, email="x@other.test", password="long enough", display_name="X"
        )
        ana.send_commands(direct(stranger.id, "s", "hello?"))
        assert (await ana.recv("error")).code == "unknown_operator"
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await ana.api.direct_messages.ListDirectMessages(
                control_pb2.ListDirectMessagesRequest(with_operator_id=stranger.id),
                metadata=ana.metadata,
            )
        assert refused.value.code() is grpc.StatusCode.NOT_FOUND
