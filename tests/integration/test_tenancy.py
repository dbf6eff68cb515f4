"""Tenant isolation: an operator of account A reaches nothing of account B, by
any RPC or frame; visitor tokens are bound to their site."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import symbol_database

from control.permissions import RPC_PERMISSIONS
from control.runner import Parley
from engine.chat.permissions import MANAGE_ACCOUNTS
from parley.v1 import control_pb2, operator_pb2
from tests.control.test_permissions import contract_methods
from tests.integration.helpers import Operator, Visitor, owner, running, visitor_url


async def account_b(app: Parley) -> tuple[str, str]:
    """Account B, made as a customer's is: by the server administrator, with
    its owner; B's id and its owner's one-time password."""
    assert app.admin is not None
    admin = await Operator(app).login(app.admin["email"], app.admin["password"])
    reply = await admin.control.CreateAccount(
        control_pb2.CreateAccountRequest(name="other co", owner_email="b@other.test"),
        metadata=admin.metadata,
    )
    await admin.close()
    return reply.account.id, reply.owner_password


async def b_owner_serves(app: Parley, account_id: str, dept_id: str) -> Any:
    """B's owner serves B's department (five chats at once); its record."""
    assert app.engine is not None
    d = app.engine.directory
    b_op = d.operator_by_email("b@other.test")
    assert b_op is not None
    return await d.update_operator(
        account_id, b_op.id, {"department_ids": [dept_id], "max_chats": 5}
    )


async def test_one_account_cannot_reach_another(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        assert app.engine is not None and app.demo is not None
        directory = app.engine.directory
        other_id, b_password = await account_b(app)
        b_site = await directory.create_site(other_id, "B shop", [])
        b_dept = await directory.create_department(other_id, b_site.id, "B support")
        b_op = await b_owner_serves(app, other_id, b_dept.id)
        a_owner = await owner(app)
        md = a_owner.metadata

        sites = await a_owner.control.ListSites(control_pb2.ListSitesRequest(), metadata=md)
        assert b_site.id not in {s.id for s in sites.sites}
        ops = await a_owner.control.ListOperators(control_pb2.ListOperatorsRequest(), metadata=md)
        assert b_op.id not in {o.id for o in ops.operators}

        refused = [
            a_owner.control.ListDepartments(
                control_pb2.ListDepartmentsRequest(site_id=b_site.id), metadata=md
            ),
            a_owner.control.CreateDepartment(
                control_pb2.CreateDepartmentRequest(site_id=b_site.id, name="sneaky"), metadata=md
            ),
            a_owner.control.AddOperator(
                control_pb2.AddOperatorRequest(
                    email="spy@a.test",
                    password="spy-password",
                    display_name="Spy",
                    department_ids=[b_dept.id],
                ),
                metadata=md,
            ),
            a_owner.control.ResetPassword(
                control_pb2.ResetPasswordRequest(operator_id=b_op.id, new_password="taken-over-1"),
                metadata=md,
            ),
        ]
        for call in refused:
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await call
            assert info.value.code() is grpc.StatusCode.NOT_FOUND, info.value.details()

        # B's conversation is invisible to A.
        b = await Operator(app).login("b@other.test", b_password)
        await b.open()  # someone must be online for B's site to take a chat
        b_visitor = await Visitor(visitor_url(app, site=b_site.id)).connect()
        await b_visitor.hello()
        b_visitor.send({"type": "msg", "cid": "1", "text": "B's secret"})
        conv = (await b_visitor.recv("ack"))["conversation"]
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await a_owner.control.GetTranscript(
                control_pb2.GetTranscriptRequest(conversation_id=conv), metadata=md
            )
        assert info.value.code() is grpc.StatusCode.NOT_FOUND
        got = await b.control.GetTranscript(
            control_pb2.GetTranscriptRequest(conversation_id=conv), metadata=b.metadata
        )
        assert got.messages[0].text == "B's secret"

        # A's operator cannot write into B's conversation either.
        a_op = await Operator(app).login(app.demo["email"], app.demo["password"])
        await a_op.open()
        a_op.say(conv, "x", "hello B")
        assert (await a_op.recv("error")).code == "unknown_conversation"  # as a made-up id
        for client in (a_owner, b, a_op):
            await client.close()


async def test_a_visitor_token_is_bound_to_its_site(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        assert app.engine is not None and app.owner is not None
        directory = app.engine.directory
        account_id = next(iter(directory.accounts))
        other_site = await directory.create_site(account_id, "Second site", [])
        await directory.create_department(account_id, other_site.id, "Help")
        v = await Visitor(visitor_url(app)).connect()
        first = await v.hello()
        elsewhere = await Visitor(visitor_url(app, site=other_site.id)).connect()
        second = await elsewhere.hello(token=first["token"])
        assert second["visitor"] != first["visitor"] and second["token"] != first["token"]
        forged = await Visitor(visitor_url(app)).connect()
        third = await forged.hello(token="A" * 43)
        assert third["visitor"] != first["visitor"]


async def test_routing_and_chat_calls_never_cross_accounts(tmp_path: Path) -> None:
    """Every call that names a site, department, region, group, link, operator,
    template, block or conversation answers NOT_FOUND for another account's."""
    async with running(tmp_path) as app:
        assert app.engine is not None
        d = app.engine.directory
        other_id, b_password = await account_b(app)
        b_site = await d.create_site(other_id, "B shop", [])
        b_dept = await d.create_department(other_id, b_site.id, "B support")
        b_region = await d.create_region(other_id, b_dept.id, "B north")
        b_group = await d.create_group(other_id, b_site.id, "B group")
        b_link = await d.add_link(other_id, b_site.id, "/b", b_group.id, 0)
        b_op = await b_owner_serves(app, other_id, b_dept.id)
        b_template = await d.add_template(other_id, "", "bhello", "Hello from B")
        b_block = await d.add_block(other_id, b_site.id, "ip", "10.9.9.9", "", 1)
        b = await Operator(app).login("b@other.test", b_password)
        await b.open()
        b_visitor = await Visitor(visitor_url(app, site=b_site.id)).connect()
        await b_visitor.hello()
        b_visitor.send({"type": "msg", "cid": "1", "text": "B's secret"})
        conv = (await b_visitor.recv("ack"))["conversation"]

        a = await owner(app)
        c = a.control
        calls: list[tuple[Any, Any]] = [
            (c.UpdateDepartment, control_pb2.UpdateDepartmentRequest(department_id=b_dept.id)),
            (c.CreateRegion, control_pb2.CreateRegionRequest(department_id=b_dept.id, name="x")),
            (c.ListRegions, control_pb2.ListRegionsRequest(department_id=b_dept.id)),
            (c.CreateGroup, control_pb2.CreateGroupRequest(site_id=b_site.id, name="x")),
            (c.ListGroups, control_pb2.ListGroupsRequest(site_id=b_site.id)),
            (
                c.AddLinkRule,
                control_pb2.AddLinkRuleRequest(site_id=b_site.id, pattern="x", group_id=b_group.id),
            ),
            (c.ListLinkRules, control_pb2.ListLinkRulesRequest(site_id=b_site.id)),
            (c.DeleteLinkRule, control_pb2.DeleteLinkRuleRequest(link_id=b_link.id)),
            (c.SetSiteLanguages, control_pb2.SetSiteLanguagesRequest(site_id=b_site.id)),
            (c.UpdateOperator, control_pb2.UpdateOperatorRequest(operator_id=b_op.id, max_chats=1)),
            (c.ListWaiting, control_pb2.ListWaitingRequest(department_id=b_dept.id)),
            (c.ListTickets, control_pb2.ListTicketsRequest(site_id=b_site.id)),
            (c.GetVisitorInfo, control_pb2.GetVisitorInfoRequest(conversation_id=conv)),
            (c.DeleteTemplate, control_pb2.DeleteTemplateRequest(template_id=b_template.id)),
            (
                c.ListDirectMessages,
                control_pb2.ListDirectMessagesRequest(with_operator_id=b_op.id),
            ),
            (c.GetStatistics, control_pb2.GetStatisticsRequest(site_id=b_site.id)),
            (c.AddBlock, control_pb2.AddBlockRequest(site_id=b_site.id, ip="10.0.0.1")),
            (c.ListBlocks, control_pb2.ListBlocksRequest(site_id=b_site.id)),
            (c.RemoveBlock, control_pb2.RemoveBlockRequest(block_id=b_block.id)),
            (c.ListTemplates, control_pb2.ListTemplatesRequest(conversation_id=conv)),
        ]
        for method, request in calls:
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await method(request, metadata=a.metadata)
            assert info.value.code() is grpc.StatusCode.NOT_FOUND, (request, info.value.details())
        # Nothing of B's changed; A's lists show none of it; B's region is still there.
        assert d.links[b_link.id] and d.blocks[b_block.id] and d.templates[b_template.id]
        assert d.regions[b_region.id].department_id == b_dept.id
        mine = await c.ListTemplates(control_pb2.ListTemplatesRequest(), metadata=a.metadata)
        assert list(mine.templates) == []
        # Nor can A's operator act on B's chat over its session.
        await a.open()
        a.send_commands(
            operator_pb2.OperatorCommand(
                action=operator_pb2.ChatAction(
                    conversation_id=conv, join=operator_pb2.JoinChat(invisible=True)
                )
            )
        )
        assert (await a.recv("error")).code == "unknown_conversation"
        for client in (a, b):
            await client.close()


# Calls that name nothing of an account's by id, or are checked another way.
NO_TENANT_IDS = {
    "/parley.v1.OperatorSession/Connect": "a stream: B's chat over it is refused above",
    "/parley.v1.VisitorChannel/Connect": "a stream: its hello names a site (unknown_site)",
}


async def test_every_call_naming_another_accounts_thing_finds_nothing(tmp_path: Path) -> None:
    """Generated from the contract: every RPC whose request has an id field is
    called by A's owner with B's ids in every such field, and answers NOT_FOUND
    (or, for a list, nothing of B's). A new RPC, or a new id field, cannot skip
    this: an id field this test has no value of B's for fails it."""
    async with running(tmp_path) as app:
        assert app.engine is not None
        d = app.engine.directory
        other_id, b_password = await account_b(app)
        b_site = await d.create_site(other_id, "B shop", [])
        b_dept = await d.create_department(other_id, b_site.id, "B support")
        b_region = await d.create_region(other_id, b_dept.id, "B north")
        b_group = await d.create_group(other_id, b_site.id, "B group")
        b_link = await d.add_link(other_id, b_site.id, "/b", b_group.id, 0)
        b_op = await b_owner_serves(app, other_id, b_dept.id)
        b_template = await d.add_template(other_id, "", "bhello", "Hello from B")
        b_block = await d.add_block(other_id, b_site.id, "ip", "10.9.9.9", "", 1)
        b = await Operator(app).login("b@other.test", b_password)
        await b.open()  # online: B's site takes chats
        b_visitor = await Visitor(visitor_url(app, site=b_site.id)).connect()
        welcome = await b_visitor.hello()
        b_visitor.send({"type": "msg", "cid": "1", "text": "B's secret"})
        conv = (await b_visitor.recv("ack"))["conversation"]
        (b_session,) = app.engine.auth.sessions(b_op.id)
        b_ids = {
            "site_id": b_site.id,
            "department_id": b_dept.id,
            "fallback_department_id": b_dept.id,
            "department_ids": b_dept.id,
            "region_id": b_region.id,
            "region_ids": b_region.id,
            "group_id": b_group.id,
            "group_ids": b_group.id,
            "link_id": b_link.id,
            "operator_id": b_op.id,
            "with_operator_id": b_op.id,
            "conversation_id": conv,
            "visitor_id": welcome["visitor"],
            "template_id": b_template.id,
            "block_id": b_block.id,
            "session_id": b_session["id"],
            "account_id": other_id,
        }
        secrets = set(b_ids.values()) | {"B's secret", "b@other.test"}
        a = await owner(app)
        db = symbol_database.Default()
        called, problems = [], []
        for path, method in sorted(contract_methods().items()):
            request_cls = db.GetSymbol(method.input_type.full_name)
            request = request_cls()
            named = []
            for field in request.DESCRIPTOR.fields:
                if not (field.name.endswith(("_id", "_ids")) or field.name == "id"):
                    continue
                if field.name not in b_ids:
                    problems.append(f"{path}: no value of B's for {field.name}")
                    continue
                named.append(field.name)
                value = b_ids[field.name]
                if field.message_type is not None:  # a StringList
                    getattr(request, field.name).values.append(value)
                elif field.is_repeated:
                    getattr(request, field.name).append(value)
                else:
                    setattr(request, field.name, value)
            if not named or path in NO_TENANT_IDS:
                continue
            response_cls = db.GetSymbol(method.output_type.full_name)
            stub = a.channel.unary_unary(
                path,
                request_serializer=request_cls.SerializeToString,
                response_deserializer=response_cls.FromString,
            )
            called.append(path)
            try:
                reply = await stub(request, metadata=a.metadata)
            except grpc.aio.AioRpcError as error:
                # The account RPCs are the server administrator's alone: an
                # account's owner is refused them outright, B's account or not.
                expected = (
                    grpc.StatusCode.PERMISSION_DENIED
                    if RPC_PERMISSIONS[path] == MANAGE_ACCOUNTS
                    else grpc.StatusCode.NOT_FOUND
                )
                if error.code() is not expected:
                    problems.append(f"{path} {named}: {error.code().name} {error.details()}")
                continue
            leaked = [s for s in secrets if s in str(reply)]
            if leaked:
                problems.append(f"{path} {named}: answered with B's {leaked}")
        assert not problems, problems
        assert len(called) >= 25, called
        # Nothing of B's changed.
        assert d.links[b_link.id] and d.blocks[b_block.id] and d.templates[b_template.id]
        assert d.operators[b_op.id].max_chats == 5 and d.operators[b_op.id].role == "owner"
        assert app.engine.auth.sessions(b_op.id)
        await b_visitor.close()
        for client in (a, b):
            await client.close()
