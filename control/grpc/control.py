"""The Control service: an account's administration (sites, departments,
operators, roles, regions, groups, link rules, quick replies, blocks) and its
read-outs (waiting lines, visitor info, transcripts, tickets, statistics, usage).
"""

from __future__ import annotations

import grpc

from control import converters
from control.grpc.calls import rpc
from engine.app import Engine
from engine.chat import account
from engine.chat.auth import Principal
from engine.chat.records import Account
from parley.v1 import common_pb2, control_pb2, control_pb2_grpc


class ControlService(control_pb2_grpc.ControlServicer):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.directory = engine.directory

    @rpc("Control", "CreateSite")
    async def CreateSite(
        self,
        request: control_pb2.CreateSiteRequest,
        p: Principal,
        context: grpc.aio.ServicerContext[control_pb2.CreateSiteRequest, control_pb2.Site],
    ) -> control_pb2.Site:
        site = await self.directory.create_site(
            p.account_id,
            request.name,
            list(request.allowed_origins),
            request.timezone or "UTC",
            typing_preview=not request.no_typing_preview,
        )
        return converters.site_pb(site)

    @rpc("Control", "ListSites")
    async def ListSites(
        self,
        request: control_pb2.ListSitesRequest,
        p: Principal,
        context: grpc.aio.ServicerContext[control_pb2.ListSitesRequest, control_pb2.ListSitesReply],
    ) -> control_pb2.ListSitesReply:
        return control_pb2.ListSitesReply(
            sites=[converters.site_pb(s) for s in self.directory.list_sites(p.account_id)]
        )

    @rpc("Control", "CreateDepartment")
    async def CreateDepartment(
        self,
        request: control_pb2.CreateDepartmentRequest,
        p: Principal,
        context: grpc.aio.ServicerContext[
            control_pb2.CreateDepartmentRequest, control_pb2.Department
        ],
    ) -> control_pb2.Department:
        dept = await self.directory.create_department(
            p.account_id, request.site_id, request.name, request.description
        )
        return converters.department_pb(dept)

    @rpc("Control", "ListDepartments")
    async def ListDepartments(
        self,
        request: control_pb2.ListDepartmentsRequest,
        p: Principal,
        context: grpc.aio.ServicerContext[
            control_pb2.ListDepartmentsRequest, control_pb2.ListDepartmentsReply
        ],
    ) -> control_pb2.ListDepartmentsReply:
        depts = self.directory.list_departments(p.account_id, request.site_id)
        return control_pb2.ListDepartmentsReply(
            departments=[converters.department_pb(d) for d in depts]
        )

    @rpc("Control", "DeleteSite")
    async def DeleteSite(
        self,
        request: control_pb2.DeleteSiteRequest,
        p: Principal,
        context: grpc.aio.ServicerContext[control_pb2.DeleteSiteRequest, common_pb2.Empty],
    ) -> common_pb2.Empty:
        await self.directory.delete_site(p.account_id, request.site_id)
        return common_pb2.Empty()

    @rpc("Control", "DeleteDepartment")
    async def DeleteDepartment(
        self,
        request: control_pb2.DeleteDepartmentRequest,
        p: Principal,
        context: grpc.aio.ServicerContext[control_pb2.DeleteDepartmentRequest, common_pb2.Empty],
    ) -> common_pb2.Empty:
        await account.delete_department(self.engine, p, request.department_id)
        return common_pb2.Empty()

    @rpc("Control", "DeleteRegion")
    async def DeleteRegion(
        self,
        request: control_pb2.DeleteRegionRequest,
        p: Principal,
        context: grpc.aio.ServicerContext[control_pb2.DeleteRegionRequest, common_pb2.Empty],
    ) -> common_pb2.Empty:
        await self.directory.delete_region(p.account_id, request.region_id)
        return common_pb2.Empty()

    @rpc("Control", "DeleteGroup")
    async def DeleteGroup(
        self,
        request: control_pb2.DeleteGroupRequest,
        p: Principal,
        context: grpc.aio.ServicerContext[control_pb2.DeleteGroupRequest, common_pb2.Empty],
    ) -> common_pb2.Empty:
        await self.directory.delete_group(p.account_id, request.group_id)
        return common_pb2.Empty()

    @rpc("Control", "DeleteRole")
    async def DeleteRole(
        self,
        request: control_pb2.DeleteRoleRequest,
        p: Principal,
        context: grpc.aio.ServicerContext[control_pb2.DeleteRoleRequest, common_pb2.Empty],
    ) -> common_pb2.Empty:
        await account.delete_role(self.engine, p, request.name)
        return common_pb2.Empty()

    @rpc("Control", "AddOperator")
    async def AddOperator(
        self,
        request: control_pb2.AddOperatorRequest,
        p: Principal,
        context: grpc.aio.ServicerContext[control_pb2.AddOperatorRequest, control_pb2.Operator],
    ) -> control_pb2.Operator:
        op = await account.add_operator(
            self.engine,
            p,
            email=request.email,
            password=request.password,
            display_name=request.display_name,
            role=request.role or "operator",
            department_ids=list(request.department_ids),
            max_chats=request.max_chats if request.HasField("max_chats") else 5,
        )
        return converters.operator_pb(op)

    @rpc("Control", "ListOperators")
    async def ListOperators(
        self,
        request: control_pb2.ListOperatorsRequest,
        p: Principal,
        context: grpc.aio.ServicerContext[
            control_pb2.ListOperatorsRequest, control_pb2.ListOperatorsReply
        ],
    ) -> control_pb2.ListOperatorsReply:
        listed = await account.operators_with_status(self.engine, p)
        return control_pb2.ListOperatorsReply(
            operators=[converters.operator_pb(o, status) for o, status in listed]
        )

    @rpc("Control", "UpdateOperator")
    async def UpdateOperator(
        self,
        request: control_pb2.UpdateOperatorRequest,
        p: Principal,
        context: grpc.aio.ServicerContext[control_pb2.UpdateOperatorRequest, control_pb2.Operator],
    ) -> control_pb2.Operator:
        changes = converters.operator_changes(request)
        op = await account.update_operator(self.engine, p, request.operator_id, changes)
        return converters.operator_pb(op)

    @rpc("Control", "UpdateDepartment")
    async def UpdateDepartment(
        self,
        request: control_pb2.UpdateDepartmentRequest,
        p: Principal,
        context: grpc.aio.ServicerContext[
            control_pb2.UpdateDepartmentRequest, control_pb2.Department
        ],
    ) -> control_pb2.Department:
        changes = converters.department_changes(request)
        dept = await account.update_department(self.engine, p, request.department_id, changes)
        return converters.department_pb(dept)

    @rpc("Control", "CreateRegion")
    async def CreateRegion(
        self,
        request: control_pb2.CreateRegionRequest,
        p: Principal,
        context: grpc.aio.ServicerContext[control_pb2.CreateRegionRequest, control_pb2.Region],
    ) -> control_pb2.Region:
        region = await self.directory.create_region(
            p.account_id, request.department_id, request.name
        )
        return converters.region_pb(region)

    @rpc("Control", "ListRegions")
    async def ListRegions(
        self,
        request: control_pb2.ListRegionsRequest,
        p: Principal,
        context: grpc.aio.ServicerContext[
            control_pb2.ListRegionsRequest, control_pb2.ListRegionsReply
        ],
    ) -> control_pb2.ListRegionsReply:
        regions = self.directory.list_regions(p.account_id, request.department_id)
        return control_pb2.ListRegionsReply(regions=[converters.region_pb(r) for r in regions])

    @rpc("Control", "CreateGroup")
    async def CreateGroup(
        self,
        request: control_pb2.CreateGroupRequest,
        p: Principal,
        context: grpc.aio.ServicerContext[control_pb2.CreateGroupRequest, control_pb2.Group],
    ) -> control_pb2.Group:
        group = await self.directory.create_group(p.account_id, request.site_id, request.name)
        return converters.group_pb(group)

    @rpc("Control", "ListGroups")
    async def ListGroups(
        self,
        request: control_pb2.ListGroupsRequest,
        p: Principal,
        context: grpc.aio.ServicerContext[
            control_pb2.ListGroupsRequest, control_pb2.ListGroupsReply
        ],
    ) -> control_pb2.ListGroupsReply:
        groups = self.directory.list_groups(p.account_id, request.site_id)
        return control_pb2.ListGroupsReply(groups=[converters.group_pb(g) for g in groups])

    @rpc("Control", "AddLinkRule")
    async def AddLinkRule(
        self,
        request: control_pb2.AddLinkRuleRequest,
        p: Principal,
        context: grpc.aio.ServicerContext[control_pb2.AddLinkRuleRequest, control_pb2.LinkRule],
    ) -> control_pb2.LinkRule:
        link = await self.directory.add_link(
            p.account_id, request.site_id, request.pattern, request.group_id, request.position
        )
        return converters.link_pb(link)

    @rpc("Control", "ListLinkRules")
    async def ListLinkRules(
        self,
        request: control_pb2.ListLinkRulesRequest,
        p: Principal,
        context: grpc.aio.ServicerContext[
            control_pb2.ListLinkRulesRequest, control_pb2.ListLinkRulesReply
        ],
    ) -> control_pb2.ListLinkRulesReply:
        links = self.directory.list_links(p.account_id, request.site_id)
        return control_pb2.ListLinkRulesReply(rules=[converters.link_pb(x) for x in links])

    @rpc("Control", "DeleteLinkRule")
    async def DeleteLinkRule(
        self,
        request: control_pb2.DeleteLinkRuleRequest,
        p: Principal,
        context: grpc.aio.ServicerContext[control_pb2.DeleteLinkRuleRequest, common_pb2.Empty],
    ) -> common_pb2.Empty:
        await self.directory.delete_link(p.account_id, request.link_id)
        return common_pb2.Empty()

    @rpc("Control", "SetSiteLanguages")
    async def SetSiteLanguages(
        self,
        request: control_pb2.SetSiteLanguagesRequest,
        p: Principal,
        context: grpc.aio.ServicerContext[control_pb2.SetSiteLanguagesRequest, control_pb2.Site],
    ) -> control_pb2.Site:
        site = await self.directory.set_site_languages(
            p.account_id, request.site_id, list(request.languages)
        )
        return converters.site_pb(site)

    @rpc("Control", "SetSiteQuota")
    async def SetSiteQuota(
        self,
        request: control_pb2.SetSiteQuotaRequest,
        p: Principal,
        context: grpc.aio.ServicerContext[control_pb2.SetSiteQuotaRequest, control_pb2.Site],
    ) -> control_pb2.Site:
        site = await self.directory.set_site_quota(p.account_id, request.site_id, request.quota_mb)
        return converters.site_pb(site)

    @rpc("Control", "ListWaiting")
    async def ListWaiting(
        self,
        request: control_pb2.ListWaitingRequest,
        p: Principal,
        context: grpc.aio.ServicerContext[
            control_pb2.ListWaitingRequest, control_pb2.ListWaitingReply
        ],
    ) -> control_pb2.ListWaitingReply:
        waiting = await account.waiting_line(self.engine, p, request.department_id)
        return control_pb2.ListWaitingReply(
            chats=[control_pb2.WaitingChat(**chat._asdict()) for chat in waiting]
        )

    @rpc("Control", "GetVisitorInfo")
    async def GetVisitorInfo(
        self,
        request: control_pb2.GetVisitorInfoRequest,
        p: Principal,
        context: grpc.aio.ServicerContext[
            control_pb2.GetVisitorInfoRequest, control_pb2.VisitorInfo
        ],
    ) -> control_pb2.VisitorInfo:
        info = await account.visitor_info(self.engine, p, request.conversation_id)
        return converters.visitor_info_pb(info, self.engine.clock.wall_ms())

    @rpc("Control", "AddTemplate")
    async def AddTemplate(
        self,
        request: control_pb2.AddTemplateRequest,
        p: Principal,
        context: grpc.aio.ServicerContext[control_pb2.AddTemplateRequest, control_pb2.Template],
    ) -> control_pb2.Template:
        template = await account.add_template(
            self.engine, p, request.shortcut, request.text, request.shared
        )
        return converters.template_pb(template)

    @rpc("Control", "ListTemplates")
    async def ListTemplates(
        self,
        request: control_pb2.ListTemplatesRequest,
        p: Principal,
        context: grpc.aio.ServicerContext[
            control_pb2.ListTemplatesRequest, control_pb2.ListTemplatesReply
        ],
    ) -> control_pb2.ListTemplatesReply:
        found, values = await account.templates(
            self.engine, p, request.prefix, request.conversation_id
        )
        return control_pb2.ListTemplatesReply(
            templates=[converters.template_pb(t, values) for t in found]
        )

    @rpc("Control", "DeleteTemplate")
    async def DeleteTemplate(
        self,
        request: control_pb2.DeleteTemplateRequest,
        p: Principal,
        context: grpc.aio.ServicerContext[control_pb2.DeleteTemplateRequest, common_pb2.Empty],
    ) -> common_pb2.Empty:
        await account.delete_template(self.engine, p, request.template_id)
        return common_pb2.Empty()

    @rpc("Control", "ListDirectMessages")
    async def ListDirectMessages(
        self,
        request: control_pb2.ListDirectMessagesRequest,
        p: Principal,
        context: grpc.aio.ServicerContext[
            control_pb2.ListDirectMessagesRequest, control_pb2.ListDirectMessagesReply
        ],
    ) -> control_pb2.ListDirectMessagesReply:
        messages = account.direct_messages(
            self.engine,
            p,
            request.with_operator_id,
            request.after_seq,
            min(request.limit or 100, 1000),
        )
        return control_pb2.ListDirectMessagesReply(
            messages=[converters.direct_pb(m) for m in messages]
        )

    @rpc("Control", "GetStatistics")
    async def GetStatistics(
        self,
        request: control_pb2.GetStatisticsRequest,
        p: Principal,
        context: grpc.aio.ServicerContext[control_pb2.GetStatisticsRequest, control_pb2.Statistics],
    ) -> control_pb2.Statistics:
        rows = await account.statistics(self.engine, p, request.site_id)
        return control_pb2.Statistics(
            departments=[
                control_pb2.DepartmentStatistics(
                    department_id=d.id, name=d.name, operators_online=online, **counts
                )
                for d, online, counts in rows
            ]
        )

    @rpc("Control", "AddBlock")
    async def AddBlock(
        self,
        request: control_pb2.AddBlockRequest,
        p: Principal,
        context: grpc.aio.ServicerContext[control_pb2.AddBlockRequest, control_pb2.Block],
    ) -> control_pb2.Block:
        target = request.WhichOneof("target")
        block = await account.add_block(
            self.engine,
            p,
            request.site_id,
            {"ip": "ip", "visitor_id": "visitor"}.get(target or "", ""),
            getattr(request, target) if target else "",
            request.reason,
            request.expires_in_seconds,
        )
        return converters.block_pb(block)

    @rpc("Control", "ListBlocks")
    async def ListBlocks(
        self,
        request: control_pb2.ListBlocksRequest,
        p: Principal,
        context: grpc.aio.ServicerContext[
            control_pb2.ListBlocksRequest, control_pb2.ListBlocksReply
        ],
    ) -> control_pb2.ListBlocksReply:
        blocks = self.directory.list_blocks(p.account_id, request.site_id)
        return control_pb2.ListBlocksReply(blocks=[converters.block_pb(b) for b in blocks])

    @rpc("Control", "RemoveBlock")
    async def RemoveBlock(
        self,
        request: control_pb2.RemoveBlockRequest,
        p: Principal,
        context: grpc.aio.ServicerContext[control_pb2.RemoveBlockRequest, common_pb2.Empty],
    ) -> common_pb2.Empty:
        await self.directory.remove_block(p.account_id, request.block_id)
        return common_pb2.Empty()

    @rpc("Control", "GetUsage")
    async def GetUsage(
        self,
        request: common_pb2.Empty,
        p: Principal,
        context: grpc.aio.ServicerContext[common_pb2.Empty, control_pb2.Usage],
    ) -> control_pb2.Usage:
        return control_pb2.Usage(**await account.usage(self.engine, p))

    @rpc("Control", "Status")
    async def Status(
        self,
        request: common_pb2.Empty,
        p: Principal,
        context: grpc.aio.ServicerContext[common_pb2.Empty, control_pb2.ServerStatus],
    ) -> control_pb2.ServerStatus:
        return converters.server_status_pb(self.engine.status())

    @rpc("Control", "ListTickets")
    async def ListTickets(
        self,
        request: control_pb2.ListTicketsRequest,
        p: Principal,
        context: grpc.aio.ServicerContext[
            control_pb2.ListTicketsRequest, control_pb2.ListTicketsReply
        ],
    ) -> control_pb2.ListTicketsReply:
        tickets = account.tickets(self.engine, p, request.site_id, min(request.limit or 100, 1000))
        return control_pb2.ListTicketsReply(tickets=[converters.ticket_pb(t) for t in tickets])

    @rpc("Control", "ResetPassword")
    async def ResetPassword(
        self,
        request: control_pb2.ResetPasswordRequest,
        p: Principal,
        context: grpc.aio.ServicerContext[control_pb2.ResetPasswordRequest, common_pb2.Empty],
    ) -> common_pb2.Empty:
        await self.engine.auth.reset_password(p, request.operator_id, request.new_password)
        return common_pb2.Empty()

    @rpc("Control", "CreateRole")
    async def CreateRole(
        self,
        request: control_pb2.CreateRoleRequest,
        p: Principal,
        context: grpc.aio.ServicerContext[control_pb2.CreateRoleRequest, control_pb2.Role],
    ) -> control_pb2.Role:
        perms = await account.create_role(self.engine, p, request.name, list(request.permissions))
        return control_pb2.Role(name=request.name, permissions=sorted(perms), builtin=False)

    @rpc("Control", "UpdateRole")
    async def UpdateRole(
        self,
        request: control_pb2.UpdateRoleRequest,
        p: Principal,
        context: grpc.aio.ServicerContext[control_pb2.UpdateRoleRequest, control_pb2.Role],
    ) -> control_pb2.Role:
        perms = await account.update_role(self.engine, p, request.name, list(request.permissions))
        return control_pb2.Role(name=request.name, permissions=sorted(perms), builtin=False)

    @rpc("Control", "RevokeOperatorSessions")
    async def RevokeOperatorSessions(
        self,
        request: control_pb2.RevokeOperatorSessionsRequest,
        p: Principal,
        context: grpc.aio.ServicerContext[
            control_pb2.RevokeOperatorSessionsRequest, control_pb2.RevokeOperatorSessionsReply
        ],
    ) -> control_pb2.RevokeOperatorSessionsReply:
        revoked = await account.revoke_operator_sessions(self.engine, p, request.operator_id)
        return control_pb2.RevokeOperatorSessionsReply(revoked=revoked)

    @rpc("Control", "DeleteOperator")
    async def DeleteOperator(
        self,
        request: control_pb2.DeleteOperatorRequest,
        p: Principal,
        context: grpc.aio.ServicerContext[control_pb2.DeleteOperatorRequest, common_pb2.Empty],
    ) -> common_pb2.Empty:
        await account.delete_operator(self.engine, p, request.operator_id)
        return common_pb2.Empty()

    @rpc("Control", "ListRoles")
    async def ListRoles(
        self,
        request: common_pb2.Empty,
        p: Principal,
        context: grpc.aio.ServicerContext[common_pb2.Empty, control_pb2.ListRolesReply],
    ) -> control_pb2.ListRolesReply:
        return control_pb2.ListRolesReply(
            roles=[
                control_pb2.Role(name=name, permissions=sorted(perms), builtin=builtin)
                for name, perms, builtin in self.directory.list_roles(p.account_id)
            ]
        )

    @rpc("Control", "GetTranscript")
    async def GetTranscript(
        self,
        request: control_pb2.GetTranscriptRequest,
        p: Principal,
        context: grpc.aio.ServicerContext[control_pb2.GetTranscriptRequest, control_pb2.Transcript],
    ) -> control_pb2.Transcript:
        conv_id = request.conversation_id
        limit = min(request.limit or 1000, 10_000)
        events = account.transcript(self.engine, p, conv_id, request.after_seq, limit)
        return control_pb2.Transcript(
            conversation_id=conv_id, messages=[converters.message_pb(e) for e in events]
        )

    # -- accounts (the server administrator's) ----------------------------------------

    def _account_pb(self, a: Account) -> control_pb2.Account:
        sites = len(self.directory.list_sites(a.id))
        return converters.account_pb(a, sites, len(self.directory.list_operators(a.id)))

    @rpc("Control", "CreateAccount")
    async def CreateAccount(
        self,
        request: control_pb2.CreateAccountRequest,
        p: Principal,
        context: grpc.aio.ServicerContext[
            control_pb2.CreateAccountRequest, control_pb2.CreateAccountReply
        ],
    ) -> control_pb2.CreateAccountReply:
        created, owner, password = await account.create_account(
            self.engine, request.name, request.owner_email
        )
        return control_pb2.CreateAccountReply(
            account=self._account_pb(created), owner_email=owner.email, owner_password=password
        )

    @rpc("Control", "ListAccounts")
    async def ListAccounts(
        self,
        request: common_pb2.Empty,
        p: Principal,
        context: grpc.aio.ServicerContext[common_pb2.Empty, control_pb2.ListAccountsReply],
    ) -> control_pb2.ListAccountsReply:
        found = self.directory.list_accounts()
        return control_pb2.ListAccountsReply(accounts=[self._account_pb(a) for a in found])

    @rpc("Control", "SuspendAccount")
    async def SuspendAccount(
        self,
        request: control_pb2.AccountRequest,
        p: Principal,
        context: grpc.aio.ServicerContext[control_pb2.AccountRequest, control_pb2.Account],
    ) -> control_pb2.Account:
        return self._account_pb(
            await account.suspend_account(self.engine, request.account_id, True)
        )

    @rpc("Control", "ResumeAccount")
    async def ResumeAccount(
        self,
        request: control_pb2.AccountRequest,
        p: Principal,
        context: grpc.aio.ServicerContext[control_pb2.AccountRequest, control_pb2.Account],
    ) -> control_pb2.Account:
        return self._account_pb(
            await account.suspend_account(self.engine, request.account_id, False)
        )

    @rpc("Control", "DeleteAccount")
    async def DeleteAccount(
        self,
        request: control_pb2.AccountRequest,
        p: Principal,
        context: grpc.aio.ServicerContext[control_pb2.AccountRequest, common_pb2.Empty],
    ) -> common_pb2.Empty:
        await account.delete_account(self.engine, request.account_id)
        return common_pb2.Empty()
