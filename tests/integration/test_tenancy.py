"""Tenant isolation: an operator of account A reaches nothing of account B, by
any RPC or frame; visitor tokens are bound to their site."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import symbol_database
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.message import Message

from control.permissions import RPC_PERMISSIONS
from control.runner import Parley
from engine.chat.permissions import MANAGE_ACCOUNTS
from parley.v1 import control_pb2 as pb
from parley.v1 import operator_pb2
from tests.control.test_permissions import contract_methods
from tests.integration.helpers import Operator, Visitor, owner, running, visitor_url


async def account_b(app: Parley) -> tuple[str, str]:
    """Account B, made as a customer's is: by the server administrator, with
    its owner; B's id and its owner's one-time password."""
    assert app.admin is not None
    admin = await Operator(app).login(app.admin["email"], app.admin["password"])
    reply = await admin.api.accounts.CreateAccount(
        pb.CreateAccountRequest(account=pb.Account(name="other co"), owner_email="b@other.test"),
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

        api = a_owner.api
        sites = await api.sites.ListSites(pb.ListSitesRequest(), metadata=md)
        assert b_site.id not in {s.id for s in sites.sites}
        ops = await api.operators.ListOperators(pb.ListOperatorsRequest(), metadata=md)
        assert b_op.id not in {o.id for o in ops.operators}

        refused = [
            api.departments.ListDepartments(
                pb.ListDepartmentsRequest(site_id=b_site.id), metadata=md
            ),
            api.departments.CreateDepartment(
                pb.CreateDepartmentRequest(
                    department=pb.Department(site_id=b_site.id, name="sneaky")
                ),
                metadata=md,
            ),
            api.operators.CreateOperator(
                pb.CreateOperatorRequest(
                    operator=pb.Operator(
                        email="spy@a.test", display_name="Spy", department_ids=[b_dept.id]
                    ),
                    password="spy-password",
                ),
                metadata=md,
            ),
            api.operators.ResetPassword(
                pb.ResetPasswordRequest(operator_id=b_op.id, new_password="taken-over-1"),
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
            await api.conversations.ListMessages(
                pb.ListMessagesRequest(conversation_id=conv), metadata=md
            )
        assert info.value.code() is grpc.StatusCode.NOT_FOUND
        got = await b.api.conversations.ListMessages(
            pb.ListMessagesRequest(conversation_id=conv), metadata=b.metadata
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
        api = a.api
        calls: list[tuple[Any, Any]] = [
            (
                api.departments.UpdateDepartment,
                pb.UpdateDepartmentRequest(
                    department=pb.Department(id=b_dept.id, description="mine"),
                    update_mask=FieldMask(paths=["description"]),
                ),
            ),
            (
                api.regions.CreateRegion,
                pb.CreateRegionRequest(region=pb.Region(department_id=b_dept.id, name="x")),
            ),
            (api.regions.ListRegions, pb.ListRegionsRequest(department_id=b_dept.id)),
            (
                api.groups.CreateGroup,
                pb.CreateGroupRequest(group=pb.Group(site_id=b_site.id, name="x")),
            ),
            (api.groups.ListGroups, pb.ListGroupsRequest(site_id=b_site.id)),
            (
                api.link_rules.CreateLinkRule,
                pb.CreateLinkRuleRequest(
                    link_rule=pb.LinkRule(site_id=b_site.id, pattern="x", group_id=b_group.id)
                ),
            ),
            (api.link_rules.ListLinkRules, pb.ListLinkRulesRequest(site_id=b_site.id)),
            (api.link_rules.DeleteLinkRule, pb.DeleteLinkRuleRequest(link_rule_id=b_link.id)),
            (
                api.sites.UpdateSite,
                pb.UpdateSiteRequest(
                    site=pb.Site(id=b_site.id), update_mask=FieldMask(paths=["languages"])
                ),
            ),
            (
                api.operators.UpdateOperator,
                pb.UpdateOperatorRequest(
                    operator=pb.Operator(id=b_op.id, max_chats=1),
                    update_mask=FieldMask(paths=["max_chats"]),
                ),
            ),
            (
                api.conversations.ListWaitingConversations,
                pb.ListWaitingConversationsRequest(department_id=b_dept.id),
            ),
            (api.tickets.ListTickets, pb.ListTicketsRequest(site_id=b_site.id)),
            (api.conversations.GetVisitorInfo, pb.GetVisitorInfoRequest(conversation_id=conv)),
            (api.templates.DeleteTemplate, pb.DeleteTemplateRequest(template_id=b_template.id)),
            (
                api.direct_messages.ListDirectMessages,
                pb.ListDirectMessagesRequest(with_operator_id=b_op.id),
            ),
            (api.reports.GetStatistics, pb.GetStatisticsRequest(site_id=b_site.id)),
            (
                api.blocks.CreateBlock,
                pb.CreateBlockRequest(
                    block=pb.Block(site_id=b_site.id, kind="ip", value="10.0.0.1")
                ),
            ),
            (api.blocks.ListBlocks, pb.ListBlocksRequest(site_id=b_site.id)),
            (api.blocks.DeleteBlock, pb.DeleteBlockRequest(block_id=b_block.id)),
            (api.templates.ListTemplates, pb.ListTemplatesRequest(conversation_id=conv)),
        ]
        for method, request in calls:
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await method(request, metadata=a.metadata)
            assert info.value.code() is grpc.StatusCode.NOT_FOUND, (request, info.value.details())
        # Nothing of B's changed; A's lists show none of it; B's region is still there.
        assert d.links[b_link.id] and d.blocks[b_block.id] and d.templates[b_template.id]
        assert d.regions[b_region.id].department_id == b_dept.id
        mine = await api.templates.ListTemplates(pb.ListTemplatesRequest(), metadata=a.metadata)
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
    "/parley.v1.Auth/UpdateMe": "the caller itself: the ids of its operator are not read",
    "/parley.v1.Mail/GetMailSettings": "the caller's account's own: names nothing",
    "/parley.v1.Mail/UpdateMailSettings": "the caller's account's own: names nothing",
    "/parley.v1.Mail/SendTestMail": "the caller's account's own: names an address",
    "/parley.v1.Audit/ListAuditEvents": "actor_id filters the caller's own account's log: "
    "another account's operator lists nothing",
}

# A role is named by its name: in these messages "name" is an id.
NAMED_BY_NAME = {"GetRoleRequest", "DeleteRoleRequest", "Role"}
# The resource field of a create is a new thing: its id (a role's name) and owner
# are not an existing thing's, so they name nothing.
OUTPUT_ONLY = {"id", "account_id", "operator_id", "name"}
# Values a create needs to get as far as looking up the ids it names.
PLAUSIBLE = {("Block", "kind"): "ip", ("Block", "value"): "10.1.2.3"}
# Which of B's things an "id" names, by the message holding it.
ID_OF = {
    "Site": "site_id",
    "Department": "department_id",
    "Region": "region_id",
    "Group": "group_id",
    "LinkRule": "link_rule_id",
    "Operator": "operator_id",
    "Template": "template_id",
    "Block": "block_id",
    "Account": "account_id",
    "Ticket": "ticket_id",
    "Webhook": "webhook_id",
}


def is_id(message: Message, name: str) -> bool:
    if name in ("request_id", "client_msg_id"):
        return False  # the client's own, naming nothing of the server's
    return (
        name.endswith(("_id", "_ids"))
        or name == "id"
        or (name == "name" and message.DESCRIPTOR.name in NAMED_BY_NAME)
    )


def fill_ids(
    message: Message, b_ids: dict[str, str], creating: bool
) -> tuple[list[str], list[str]]:
    """Set every id ``message`` (and the resource it holds) reads to B's; the
    fields set and the problems (an id field with no value of B's)."""
    named: list[str] = []
    problems: list[str] = []
    kind = message.DESCRIPTOR.name
    for field in message.DESCRIPTOR.fields:
        if field.message_type is not None:
            # A list of messages (a ticket's replies) is output only: no ids read.
            if field.message_type.full_name.startswith("parley.v1.") and not field.is_repeated:
                inner, lacking = fill_ids(getattr(message, field.name), b_ids, creating)
                named += [f"{field.name}.{n}" for n in inner]
                problems += lacking
            continue
        if (kind, field.name) in PLAUSIBLE:
            setattr(message, field.name, PLAUSIBLE[kind, field.name])
        if not is_id(message, field.name):
            continue
        if creating and (kind in ID_OF or kind == "Role") and field.name in OUTPUT_ONLY:
            continue  # the server chooses these
        if kind in ID_OF and field.name == "account_id":
            continue  # output only
        key = ID_OF.get(kind, "") if field.name == "id" else field.name
        key = "role" if field.name == "name" else key
        value = b_ids.get(key)
        if value is None:
            problems.append(f"{kind}: no value of B's for {field.name}")
            continue
        named.append(field.name)
        if field.is_repeated:
            getattr(message, field.name).append(value)
        else:
            setattr(message, field.name, value)
    return named, problems


async def test_every_call_naming_another_accounts_thing_finds_nothing(tmp_path: Path) -> None:
    """Generated from the contract: every method whose request names a thing by
    its id (at the top or in the resource it holds) is called by A's owner with
    B's ids in every such field, and answers NOT_FOUND, as for an unknown id. A
    new method, or a new id field, cannot skip this: an id field this test has
    no value of B's for fails it."""
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
        await b.api.roles.CreateRole(
            pb.CreateRoleRequest(role=pb.Role(name="bsecret", permissions=["chat"])),
            metadata=b.metadata,
        )
        await b.open()  # online: B's site takes chats
        b_visitor = await Visitor(visitor_url(app, site=b_site.id)).connect()
        welcome = await b_visitor.hello()
        b_visitor.send({"type": "ticket", "name": "Bo", "email": "bo@b.test", "text": "B's note"})
        await b_visitor.recv("ticket_saved")
        b_visitor.send({"type": "msg", "cid": "1", "text": "B's secret"})
        conv = (await b_visitor.recv("ack"))["conversation"]
        (b_ticket,) = (
            await b.api.tickets.ListTickets(
                pb.ListTicketsRequest(site_id=b_site.id), metadata=b.metadata
            )
        ).tickets
        (b_session,) = app.engine.auth.sessions(b_op.id)
        b_hook = await app.engine.deliveries.add_webhook(other_id, "http://127.0.0.1:9/b", [])
        # A file B's owner has begun to send to B's chat (a first piece of two).
        kind, _ = await b.first("assigned", "offered")
        if kind == "offered":  # B's owner answers offers by hand
            b.send_commands(
                operator_pb2.OperatorCommand(
                    answer=operator_pb2.OfferAnswer(conversation_id=conv, accept=True)
                )
            )
            await b.recv("assigned")
        b_upload = await b.api.attachments.UploadAttachment(
            pb.UploadAttachmentRequest(
                conversation_id=conv, name="b.txt", size=8, client_msg_id="b1", data=b"B's "
            ),
            metadata=b.metadata,
        )
        b_ids = {
            "site_id": b_site.id,
            "department_id": b_dept.id,
            "fallback_department_id": b_dept.id,
            "department_ids": b_dept.id,
            "region_id": b_region.id,
            "region_ids": b_region.id,
            "group_id": b_group.id,
            "group_ids": b_group.id,
            "link_rule_id": b_link.id,
            "operator_id": b_op.id,
            "with_operator_id": b_op.id,
            "conversation_id": conv,
            "visitor_id": welcome["visitor"],
            "template_id": b_template.id,
            "block_id": b_block.id,
            "ticket_id": b_ticket.id,
            "session_id": b_session["id"],
            "account_id": other_id,
            "webhook_id": b_hook.id,
            "assignee_id": b_op.id,
            "role": "bsecret",
            "upload_id": b_upload.upload_id,
        }
        a = await owner(app)
        db = symbol_database.Default()
        called, problems = [], []
        for path, method in sorted(contract_methods().items()):
            if path in NO_TENANT_IDS:
                continue
            request_cls = db.GetSymbol(method.input_type.full_name)
            request = request_cls()
            named, lacking = fill_ids(request, b_ids, method.name.startswith("Create"))
            problems += [f"{path}: {problem}" for problem in lacking]
            if not named:
                continue
            if "update_mask" in request.DESCRIPTOR.fields_by_name:
                # The fields of B's thing it would change: every writable one.
                request.update_mask.paths.append("*")
            if "query" in request.DESCRIPTOR.fields_by_name:
                request.query = "order"  # a search needs words; B's ids are the point
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
                # The account methods are the server administrator's alone: an
                # account's owner is refused them outright, B's account or not.
                expected = (
                    grpc.StatusCode.PERMISSION_DENIED
                    if RPC_PERMISSIONS[path] == MANAGE_ACCOUNTS
                    else grpc.StatusCode.NOT_FOUND
                )
                if error.code() is not expected:
                    problems.append(f"{path} {named}: {error.code().name} {error.details()}")
                continue
            problems.append(f"{path} {named}: answered {str(reply)[:200]!r}")
        assert not problems, problems
        # Every method naming a thing by id took part: the Get, Update and Delete
        # of every resource, and the lists and actions scoped by one.
        takes_id = {
            path
            for path, method in contract_methods().items()
            if path not in NO_TENANT_IDS
            and not method.name.startswith(("Create", "List"))
            and method.name not in ("GetMe", "UpdateMe", "Logout", "ChangePassword", "GetUsage")
            and method.name not in ("GetStatus", "CreateApiToken", "Login")
        }
        assert takes_id <= set(called), sorted(takes_id - set(called))
        assert len(called) >= 50, called
        # Nothing of B's changed.
        assert d.links[b_link.id] and d.blocks[b_block.id] and d.templates[b_template.id]
        assert d.regions[b_region.id].department_id == b_dept.id
        assert d.operators[b_op.id].max_chats == 5 and d.operators[b_op.id].role == "owner"
        assert d.roles[other_id]["bsecret"]
        assert app.engine.auth.sessions(b_op.id)
        await b_visitor.close()
        for client in (a, b):
            await client.close()
