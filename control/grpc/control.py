"""The Control service: an account's administration (sites, departments,
operators, roles, regions, groups, link rules, quick replies, blocks) and its
read-outs (waiting lines, visitor info, transcripts, tickets, statistics, usage).
"""

from __future__ import annotations

import asyncio
from typing import Any

from control import converters
from control.grpc.calls import rpc
from engine.app import Engine
from engine.chat.auth import Principal
from engine.chat.internal import pair_id
from engine.chat.messages import (
    ConfigChanged,
    GetBoardStats,
    GetPresence,
    GetQueue,
    GetVisitorInfo,
    SettingsChanged,
)
from engine.chat.permissions import MANAGE_DEPARTMENTS, MANAGE_TEMPLATES, may_manage
from engine.chat.records import DEPARTMENT_SETTINGS
from engine.chat.visibility import chat_in_sight
from engine.errors import InvalidArgument, NotFound, PermissionDenied
from parley.v1 import common_pb2, control_pb2, control_pb2_grpc


class ControlService(control_pb2_grpc.ControlServicer):  # type: ignore[misc]
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.directory = engine.directory

    @rpc("Control", "CreateSite")
    async def CreateSite(self, request: Any, p: Principal, context: Any) -> Any:
        site = await self.directory.create_site(
            p.account_id,
            request.name,
            list(request.allowed_origins),
            request.timezone or "UTC",
            typing_preview=not request.no_typing_preview,
        )
        return converters.site_pb(site)

    @rpc("Control", "ListSites")
    async def ListSites(self, request: Any, p: Principal, context: Any) -> Any:
        return control_pb2.ListSitesReply(
            sites=[converters.site_pb(s) for s in self.directory.list_sites(p.account_id)]
        )

    @rpc("Control", "CreateDepartment")
    async def CreateDepartment(self, request: Any, p: Principal, context: Any) -> Any:
        dept = await self.directory.create_department(
            p.account_id, request.site_id, request.name, request.description
        )
        return converters.department_pb(dept)

    @rpc("Control", "ListDepartments")
    async def ListDepartments(self, request: Any, p: Principal, context: Any) -> Any:
        depts = self.directory.list_departments(p.account_id, request.site_id)
        return control_pb2.ListDepartmentsReply(
            departments=[converters.department_pb(d) for d in depts]
        )

    @rpc("Control", "AddOperator")
    async def AddOperator(self, request: Any, p: Principal, context: Any) -> Any:
        role = request.role or "operator"
        if role == "owner" and p.role != "owner":
            raise PermissionDenied("permission_denied", "only an owner may add an owner")
        directory = self.directory
        beyond = directory.role_permissions(p.account_id, role) - directory.role_permissions(
            p.account_id, p.role
        )
        if beyond:
            raise PermissionDenied(
                "permission_denied", f"the {role} role holds more than yours: {sorted(beyond)}"
            )
        op = await self.directory.add_operator(
            p.account_id,
            email=request.email,
            password=request.password,
            display_name=request.display_name,
            role=role,
            department_ids=list(request.department_ids),
            max_chats=request.max_chats if request.HasField("max_chats") else 5,
        )
        return converters.operator_pb(op)

    @rpc("Control", "ListOperators")
    async def ListOperators(self, request: Any, p: Principal, context: Any) -> Any:
        ops = self.directory.list_operators(p.account_id)
        statuses = await self.engine.system.ref("presence", p.account_id).ask(GetPresence())
        return control_pb2.ListOperatorsReply(
            operators=[converters.operator_pb(o, statuses.get(o.id, "offline")) for o in ops]
        )

    @rpc("Control", "UpdateOperator")
    async def UpdateOperator(self, request: Any, p: Principal, context: Any) -> Any:
        target = self.directory.operator(request.operator_id, p.account_id)
        if not may_manage(p.role, target.role):
            raise PermissionDenied("permission_denied", "you may not change a higher role")
        changes: dict[str, Any] = {}
        for name in ("max_chats", "schedule", "timezone", "auto_distribution", "auto_accept"):
            if request.HasField(name):
                changes[name] = getattr(request, name)
        for name in ("department_ids", "languages", "region_ids", "group_ids"):
            if request.HasField(name):
                changes[name] = list(getattr(request, name).values)
        op = await self.directory.update_operator(p.account_id, target.id, changes)
        self.engine.system.ref("operator", op.id).tell(SettingsChanged())
        self._config_changed(p)
        return converters.operator_pb(op)

    def _config_changed(self, p: Principal) -> None:
        self.engine.system.ref("presence", p.account_id).tell(ConfigChanged())

    @rpc("Control", "UpdateDepartment")
    async def UpdateDepartment(self, request: Any, p: Principal, context: Any) -> Any:
        changes = {f: getattr(request, f) for f in DEPARTMENT_SETTINGS if request.HasField(f)}
        dept = await self.directory.update_department(p.account_id, request.department_id, changes)
        self._config_changed(p)
        return converters.department_pb(dept)

    @rpc("Control", "CreateRegion")
    async def CreateRegion(self, request: Any, p: Principal, context: Any) -> Any:
        region = await self.directory.create_region(
            p.account_id, request.department_id, request.name
        )
        return converters.region_pb(region)

    @rpc("Control", "ListRegions")
    async def ListRegions(self, request: Any, p: Principal, context: Any) -> Any:
        regions = self.directory.list_regions(p.account_id, request.department_id)
        return control_pb2.ListRegionsReply(regions=[converters.region_pb(r) for r in regions])

    @rpc("Control", "CreateGroup")
    async def CreateGroup(self, request: Any, p: Principal, context: Any) -> Any:
        group = await self.directory.create_group(p.account_id, request.site_id, request.name)
        return converters.group_pb(group)

    @rpc("Control", "ListGroups")
    async def ListGroups(self, request: Any, p: Principal, context: Any) -> Any:
        groups = self.directory.list_groups(p.account_id, request.site_id)
        return control_pb2.ListGroupsReply(groups=[converters.group_pb(g) for g in groups])

    @rpc("Control", "AddLinkRule")
    async def AddLinkRule(self, request: Any, p: Principal, context: Any) -> Any:
        link = await self.directory.add_link(
            p.account_id, request.site_id, request.pattern, request.group_id, request.position
        )
        return converters.link_pb(link)

    @rpc("Control", "ListLinkRules")
    async def ListLinkRules(self, request: Any, p: Principal, context: Any) -> Any:
        links = self.directory.list_links(p.account_id, request.site_id)
        return control_pb2.ListLinkRulesReply(rules=[converters.link_pb(x) for x in links])

    @rpc("Control", "DeleteLinkRule")
    async def DeleteLinkRule(self, request: Any, p: Principal, context: Any) -> Any:
        await self.directory.delete_link(p.account_id, request.link_id)
        return common_pb2.Empty()

    @rpc("Control", "SetSiteLanguages")
    async def SetSiteLanguages(self, request: Any, p: Principal, context: Any) -> Any:
        site = await self.directory.set_site_languages(
            p.account_id, request.site_id, list(request.languages)
        )
        return converters.site_pb(site)

    @rpc("Control", "ListWaiting")
    async def ListWaiting(self, request: Any, p: Principal, context: Any) -> Any:
        dept = self.directory.department_of_account(request.department_id, p.account_id)
        me = self.directory.operator(p.operator_id)
        if dept.id not in me.department_ids and MANAGE_DEPARTMENTS not in (
            self.directory.role_permissions(p.account_id, p.role)
        ):
            raise PermissionDenied("permission_denied", "you do not serve that department")
        waiting = await self.engine.system.ref("queue", dept.id).ask(GetQueue())
        return control_pb2.ListWaitingReply(
            chats=[control_pb2.WaitingChat(**chat) for chat in waiting]
        )

    @rpc("Control", "GetVisitorInfo")
    async def GetVisitorInfo(self, request: Any, p: Principal, context: Any) -> Any:
        summary = await chat_in_sight(self.engine, p, request.conversation_id)
        visitor = self.engine.system.ref("visitor", summary["visitor_id"])
        info = await visitor.ask(GetVisitorInfo())
        return converters.visitor_info_pb(info, self.engine.clock.wall_ms())

    def _may_share(self, p: Principal) -> None:
        if MANAGE_TEMPLATES not in self.directory.role_permissions(p.account_id, p.role):
            raise PermissionDenied(
                "permission_denied", f"the {p.role} role may not manage the account's replies"
            )

    @rpc("Control", "AddTemplate")
    async def AddTemplate(self, request: Any, p: Principal, context: Any) -> Any:
        if request.shared:
            self._may_share(p)
        template = await self.directory.add_template(
            p.account_id, "" if request.shared else p.operator_id, request.shortcut, request.text
        )
        return converters.template_pb(template)

    @rpc("Control", "ListTemplates")
    async def ListTemplates(self, request: Any, p: Principal, context: Any) -> Any:
        found = self.directory.templates_for(p.account_id, p.operator_id, request.prefix[:40])
        values: dict[str, str] | None = None
        if request.conversation_id:
            summary = await chat_in_sight(self.engine, p, request.conversation_id)
            me = self.directory.operator(p.operator_id)
            site = self.directory.sites[summary["site_id"]]
            dept = self.directory.departments.get(summary["department_id"])
            values = {
                "visitor_name": summary["visitor_name"],
                "operator_name": me.display_name,
                "site_name": site.name,
                "department_name": dept.name if dept is not None else "",
            }
        return control_pb2.ListTemplatesReply(
            templates=[converters.template_pb(t, values) for t in found]
        )

    @rpc("Control", "DeleteTemplate")
    async def DeleteTemplate(self, request: Any, p: Principal, context: Any) -> Any:
        template = self.directory.template(request.template_id, p.account_id)
        if not template.operator_id:
            self._may_share(p)
        elif template.operator_id != p.operator_id:
            raise NotFound("unknown_template", f"no quick reply {request.template_id[:40]!r}")
        await self.directory.delete_template(template.id)
        return common_pb2.Empty()

    @rpc("Control", "ListDirectMessages")
    async def ListDirectMessages(self, request: Any, p: Principal, context: Any) -> Any:
        other = self.directory.operator(request.with_operator_id, p.account_id)
        messages = self.engine.direct_messages(
            pair_id(p.operator_id, other.id), request.after_seq, min(request.limit or 100, 1000)
        )
        return control_pb2.ListDirectMessagesReply(
            messages=[converters.direct_pb(m) for m in messages]
        )

    @rpc("Control", "GetStatistics")
    async def GetStatistics(self, request: Any, p: Principal, context: Any) -> Any:
        site = self.directory.site(request.site_id, p.account_id)
        counts = await self.engine.system.ref("board", p.account_id).ask(GetBoardStats(site.id))
        statuses = await self.engine.system.ref("presence", p.account_id).ask(GetPresence())
        online: dict[str, int] = {}
        for op_id, status in statuses.items():
            op = self.directory.operators.get(op_id)
            if op is not None and status == "online":
                for dept_id in op.department_ids:
                    online[dept_id] = online.get(dept_id, 0) + 1
        empty = {"waiting": 0, "active": 0, "on_hold": 0, "missed": 0, "first_response_ms": 0}
        return control_pb2.Statistics(
            departments=[
                control_pb2.DepartmentStatistics(
                    department_id=d.id,
                    name=d.name,
                    operators_online=online.get(d.id, 0),
                    **counts.get(d.id, empty),
                )
                for d in self.directory.list_departments(p.account_id, site.id)
            ]
        )

    @rpc("Control", "AddBlock")
    async def AddBlock(self, request: Any, p: Principal, context: Any) -> Any:
        kind = request.WhichOneof("target")
        if kind is None:
            raise InvalidArgument("invalid_argument", "block an ip or a visitor_id")
        now = self.engine.clock.wall_ms()
        seconds = request.expires_in_seconds
        if seconds > 366 * 86_400:
            raise InvalidArgument("invalid_argument", "a block expires within a year, or never")
        block = await self.directory.add_block(
            p.account_id,
            request.site_id,
            "ip" if kind == "ip" else "visitor",
            getattr(request, kind),
            request.reason,
            now,
            now + seconds * 1000 if seconds else 0,
        )
        return converters.block_pb(block)

    @rpc("Control", "ListBlocks")
    async def ListBlocks(self, request: Any, p: Principal, context: Any) -> Any:
        blocks = self.directory.list_blocks(p.account_id, request.site_id)
        return control_pb2.ListBlocksReply(blocks=[converters.block_pb(b) for b in blocks])

    @rpc("Control", "RemoveBlock")
    async def RemoveBlock(self, request: Any, p: Principal, context: Any) -> Any:
        await self.directory.remove_block(p.account_id, request.block_id)
        return common_pb2.Empty()

    @rpc("Control", "GetUsage")
    async def GetUsage(self, request: Any, p: Principal, context: Any) -> Any:
        sites = self.directory.list_sites(p.account_id)
        conversations = messages = 0
        for site in sites:
            c, m = await asyncio.to_thread(self.engine.site_usage, site.id)
            conversations, messages = conversations + c, messages + m
        return control_pb2.Usage(
            sites=len(sites),
            departments=sum(
                len(self.directory.list_departments(p.account_id, s.id)) for s in sites
            ),
            operators=len(self.directory.list_operators(p.account_id)),
            conversations=conversations,
            messages=messages,
            store_bytes=self.engine.store.stats()["used_bytes"],
        )

    @rpc("Control", "ListTickets")
    async def ListTickets(self, request: Any, p: Principal, context: Any) -> Any:
        site = self.directory.site(request.site_id, p.account_id)
        tickets = self.engine.list_tickets(site.id, min(request.limit or 100, 1000))
        return control_pb2.ListTicketsReply(tickets=[converters.ticket_pb(t) for t in tickets])

    @rpc("Control", "ResetPassword")
    async def ResetPassword(self, request: Any, p: Principal, context: Any) -> Any:
        await self.engine.auth.reset_password(p, request.operator_id, request.new_password)
        return common_pb2.Empty()

    @rpc("Control", "CreateRole")
    async def CreateRole(self, request: Any, p: Principal, context: Any) -> Any:
        granter = self.directory.role_permissions(p.account_id, p.role)
        perms = await self.directory.create_role(
            p.account_id, request.name, list(request.permissions), granter
        )
        return control_pb2.Role(name=request.name, permissions=sorted(perms), builtin=False)

    @rpc("Control", "ListRoles")
    async def ListRoles(self, request: Any, p: Principal, context: Any) -> Any:
        return control_pb2.ListRolesReply(
            roles=[
                control_pb2.Role(name=name, permissions=sorted(perms), builtin=builtin)
                for name, perms, builtin in self.directory.list_roles(p.account_id)
            ]
        )

    @rpc("Control", "GetTranscript")
    async def GetTranscript(self, request: Any, p: Principal, context: Any) -> Any:
        conv_id = request.conversation_id
        site_id = self.engine.conversation_site(conv_id)
        site = self.directory.sites.get(site_id or "")
        if site is None or site.account_id != p.account_id:
            raise NotFound("unknown_conversation", f"no conversation {conv_id[:40]!r}")
        limit = min(request.limit or 1000, 10_000)
        events = self.engine.transcript(conv_id, request.after_seq, limit)
        return control_pb2.Transcript(
            conversation_id=conv_id, messages=[converters.message_pb(e) for e in events]
        )
