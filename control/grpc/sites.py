"""The services of a site's configuration: Sites, Departments, Regions, Groups
and LinkRules (standard methods; proto/parley/v1/control.proto says how lists,
creates and updates behave)."""

from __future__ import annotations

from typing import Any

from google.protobuf import empty_pb2

from control import converters
from control.grpc.calls import Ctx, create_once, need, rpc
from control.grpc.masks import changes_of, masked
from control.grpc.paging import page_of
from engine.app import Engine
from engine.chat import account
from engine.chat.auth import Principal
from engine.chat.directory_edits import (
    GROUP_FIELDS,
    LINK_FIELDS,
    REGION_FIELDS,
    RETENTION_FIELDS,
    SITE_FIELDS,
)
from engine.chat.records import DEPARTMENT_SETTINGS, Site, check_retention
from parley.v1 import control_pb2 as pb
from parley.v1 import control_pb2_grpc as grpc_pb

EMPTY = empty_pb2.Empty


def by_id(item: object) -> tuple[str]:
    return (str(getattr(item, "id")),)  # noqa: B009 (any record with an id)


class SitesService(grpc_pb.SitesServicer):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.directory = engine.directory

    @rpc("Sites", "GetSite")
    async def GetSite(self, request: pb.GetSiteRequest, p: Principal, context: Ctx) -> pb.Site:
        return converters.site_pb(self.directory.site(request.site_id, p.account_id))

    @rpc("Sites", "ListSites")
    async def ListSites(
        self, request: pb.ListSitesRequest, p: Principal, context: Ctx
    ) -> pb.ListSitesResponse:
        page = page_of(request, "sites", p.account_id)
        sites, token = page.take(self.directory.list_sites(p.account_id), by_id)
        return pb.ListSitesResponse(
            sites=[converters.site_pb(s) for s in sites], next_page_token=token
        )

    @rpc("Sites", "CreateSite")
    async def CreateSite(
        self, request: pb.CreateSiteRequest, p: Principal, context: Ctx
    ) -> pb.Site:
        given = request.site
        site = await create_once(
            self.engine,
            p,
            "CreateSite",
            request,
            lambda: self._create(p, given),
            lambda s: s.id,
            lambda site_id: self.directory.site(site_id, p.account_id),
        )
        return converters.site_pb(site)

    async def _create(self, p: Principal, given: pb.Site) -> Site:
        retention = retention_of(given, RETENTION_FIELDS)
        for name, days in retention.items():
            check_retention(name, days)
        site = await self.directory.create_site(
            p.account_id,
            given.name,
            list(given.allowed_origins),
            given.timezone or "UTC",
            typing_preview=given.typing_preview,
        )
        look = ("widget_color", "widget_position", "prechat_name", "prechat_email")
        rest = {
            k: v
            for k, v in changes_of(
                given, ("languages", "quota_mb", *look, "prechat_question")
            ).items()
            if v
        }
        if given.widget_texts:
            rest["widget_texts"] = converters.widget_texts_of(given.widget_texts)
        rest.update({k: v for k, v in retention.items() if v is not None})
        if rest:
            site = await self.directory.update_site(p.account_id, site.id, rest)
        return site

    @rpc("Sites", "UpdateSite")
    async def UpdateSite(
        self, request: pb.UpdateSiteRequest, p: Principal, context: Ctx
    ) -> pb.Site:
        fields = masked(request.update_mask, request.site, SITE_FIELDS, "site")
        changes = changes_of(request.site, fields)
        changes.update(retention_of(request.site, [f for f in fields if f in RETENTION_FIELDS]))
        if "widget_texts" in changes:
            changes["widget_texts"] = converters.widget_texts_of(request.site.widget_texts)
        site_id = need(request.site.id, "site.id")
        return converters.site_pb(await self.directory.update_site(p.account_id, site_id, changes))

    @rpc("Sites", "DeleteSite")
    async def DeleteSite(
        self, request: pb.DeleteSiteRequest, p: Principal, context: Ctx
    ) -> empty_pb2.Empty:
        await self.directory.delete_site(p.account_id, request.site_id)
        return EMPTY()


def retention_of(site: pb.Site, fields: list[str] | tuple[str, ...]) -> dict[str, int | None]:
    """The retention fields named, as given (unset: None, keep everything)."""
    given: Any = site  # HasField by a name from the list
    return {name: getattr(site, name) if given.HasField(name) else None for name in fields}


class DepartmentsService(grpc_pb.DepartmentsServicer):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.directory = engine.directory

    @rpc("Departments", "GetDepartment")
    async def GetDepartment(
        self, request: pb.GetDepartmentRequest, p: Principal, context: Ctx
    ) -> pb.Department:
        dept = self.directory.department_of_account(request.department_id, p.account_id)
        return converters.department_pb(dept)

    @rpc("Departments", "ListDepartments")
    async def ListDepartments(
        self, request: pb.ListDepartmentsRequest, p: Principal, context: Ctx
    ) -> pb.ListDepartmentsResponse:
        page = page_of(request, "departments", p.account_id, request.site_id)
        if request.site_id:
            found = self.directory.list_departments(p.account_id, request.site_id)
        else:
            found = [
                d
                for site in self.directory.list_sites(p.account_id)
                for d in self.directory.list_departments(p.account_id, site.id)
            ]
        depts, token = page.take(found, by_id)
        return pb.ListDepartmentsResponse(
            departments=[converters.department_pb(d) for d in depts], next_page_token=token
        )

    @rpc("Departments", "CreateDepartment")
    async def CreateDepartment(
        self, request: pb.CreateDepartmentRequest, p: Principal, context: Ctx
    ) -> pb.Department:
        given = request.department
        need(given.site_id, "department.site_id")
        dept = await create_once(
            self.engine,
            p,
            "CreateDepartment",
            request,
            lambda: self.directory.create_department(
                p.account_id, given.site_id, given.name, given.description
            ),
            lambda d: d.id,
            lambda dept_id: self.directory.department_of_account(dept_id, p.account_id),
        )
        return converters.department_pb(dept)

    @rpc("Departments", "UpdateDepartment")
    async def UpdateDepartment(
        self, request: pb.UpdateDepartmentRequest, p: Principal, context: Ctx
    ) -> pb.Department:
        given = request.department
        fields = masked(request.update_mask, given, DEPARTMENT_SETTINGS, "department")
        dept_id = need(given.id, "department.id")
        changes = changes_of(given, fields)
        dept = await account.update_department(self.engine, p, dept_id, changes)
        return converters.department_pb(dept)

    @rpc("Departments", "DeleteDepartment")
    async def DeleteDepartment(
        self, request: pb.DeleteDepartmentRequest, p: Principal, context: Ctx
    ) -> empty_pb2.Empty:
        await account.delete_department(self.engine, p, request.department_id)
        return EMPTY()


class RegionsService(grpc_pb.RegionsServicer):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.directory = engine.directory

    @rpc("Regions", "GetRegion")
    async def GetRegion(
        self, request: pb.GetRegionRequest, p: Principal, context: Ctx
    ) -> pb.Region:
        return converters.region_pb(
            self.directory.region_of_account(request.region_id, p.account_id)
        )

    @rpc("Regions", "ListRegions")
    async def ListRegions(
        self, request: pb.ListRegionsRequest, p: Principal, context: Ctx
    ) -> pb.ListRegionsResponse:
        page = page_of(request, "regions", p.account_id, request.department_id)
        found = self.directory.list_regions(p.account_id, request.department_id)
        regions, token = page.take(found, by_id)
        return pb.ListRegionsResponse(
            regions=[converters.region_pb(r) for r in regions], next_page_token=token
        )

    @rpc("Regions", "CreateRegion")
    async def CreateRegion(
        self, request: pb.CreateRegionRequest, p: Principal, context: Ctx
    ) -> pb.Region:
        given = request.region
        need(given.department_id, "region.department_id")
        region = await create_once(
            self.engine,
            p,
            "CreateRegion",
            request,
            lambda: self.directory.create_region(p.account_id, given.department_id, given.name),
            lambda r: r.id,
            lambda region_id: self.directory.region_of_account(region_id, p.account_id),
        )
        return converters.region_pb(region)

    @rpc("Regions", "UpdateRegion")
    async def UpdateRegion(
        self, request: pb.UpdateRegionRequest, p: Principal, context: Ctx
    ) -> pb.Region:
        fields = masked(request.update_mask, request.region, REGION_FIELDS, "region")
        region_id = need(request.region.id, "region.id")
        changes = changes_of(request.region, fields)
        return converters.region_pb(
            await self.directory.update_region(p.account_id, region_id, changes)
        )

    @rpc("Regions", "DeleteRegion")
    async def DeleteRegion(
        self, request: pb.DeleteRegionRequest, p: Principal, context: Ctx
    ) -> empty_pb2.Empty:
        await self.directory.delete_region(p.account_id, request.region_id)
        return EMPTY()


class GroupsService(grpc_pb.GroupsServicer):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.directory = engine.directory

    @rpc("Groups", "GetGroup")
    async def GetGroup(self, request: pb.GetGroupRequest, p: Principal, context: Ctx) -> pb.Group:
        return converters.group_pb(self.directory.group_of_account(request.group_id, p.account_id))

    @rpc("Groups", "ListGroups")
    async def ListGroups(
        self, request: pb.ListGroupsRequest, p: Principal, context: Ctx
    ) -> pb.ListGroupsResponse:
        page = page_of(request, "groups", p.account_id, request.site_id)
        groups, token = page.take(self.directory.list_groups(p.account_id, request.site_id), by_id)
        return pb.ListGroupsResponse(
            groups=[converters.group_pb(g) for g in groups], next_page_token=token
        )

    @rpc("Groups", "CreateGroup")
    async def CreateGroup(
        self, request: pb.CreateGroupRequest, p: Principal, context: Ctx
    ) -> pb.Group:
        given = request.group
        need(given.site_id, "group.site_id")
        group = await create_once(
            self.engine,
            p,
            "CreateGroup",
            request,
            lambda: self.directory.create_group(p.account_id, given.site_id, given.name),
            lambda g: g.id,
            lambda group_id: self.directory.group_of_account(group_id, p.account_id),
        )
        return converters.group_pb(group)

    @rpc("Groups", "UpdateGroup")
    async def UpdateGroup(
        self, request: pb.UpdateGroupRequest, p: Principal, context: Ctx
    ) -> pb.Group:
        fields = masked(request.update_mask, request.group, GROUP_FIELDS, "group")
        group_id = need(request.group.id, "group.id")
        changes = changes_of(request.group, fields)
        return converters.group_pb(
            await self.directory.update_group(p.account_id, group_id, changes)
        )

    @rpc("Groups", "DeleteGroup")
    async def DeleteGroup(
        self, request: pb.DeleteGroupRequest, p: Principal, context: Ctx
    ) -> empty_pb2.Empty:
        await self.directory.delete_group(p.account_id, request.group_id)
        return EMPTY()


class LinkRulesService(grpc_pb.LinkRulesServicer):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.directory = engine.directory

    @rpc("LinkRules", "GetLinkRule")
    async def GetLinkRule(
        self, request: pb.GetLinkRuleRequest, p: Principal, context: Ctx
    ) -> pb.LinkRule:
        return converters.link_pb(self.directory.link(request.link_rule_id, p.account_id))

    @rpc("LinkRules", "ListLinkRules")
    async def ListLinkRules(
        self, request: pb.ListLinkRulesRequest, p: Principal, context: Ctx
    ) -> pb.ListLinkRulesResponse:
        page = page_of(request, "link_rules", p.account_id, request.site_id)
        found = self.directory.list_links(p.account_id, request.site_id)
        rules, token = page.take(found, lambda link: (link.position, link.id))
        return pb.ListLinkRulesResponse(
            link_rules=[converters.link_pb(x) for x in rules], next_page_token=token
        )

    @rpc("LinkRules", "CreateLinkRule")
    async def CreateLinkRule(
        self, request: pb.CreateLinkRuleRequest, p: Principal, context: Ctx
    ) -> pb.LinkRule:
        given = request.link_rule
        need(given.site_id, "link_rule.site_id")
        need(given.group_id, "link_rule.group_id")
        link = await create_once(
            self.engine,
            p,
            "CreateLinkRule",
            request,
            lambda: self.directory.add_link(
                p.account_id, given.site_id, given.pattern, given.group_id, given.position
            ),
            lambda link: link.id,
            lambda link_id: self.directory.link(link_id, p.account_id),
        )
        return converters.link_pb(link)

    @rpc("LinkRules", "UpdateLinkRule")
    async def UpdateLinkRule(
        self, request: pb.UpdateLinkRuleRequest, p: Principal, context: Ctx
    ) -> pb.LinkRule:
        fields = masked(request.update_mask, request.link_rule, LINK_FIELDS, "link_rule")
        link_id = need(request.link_rule.id, "link_rule.id")
        changes = changes_of(request.link_rule, fields)
        return converters.link_pb(await self.directory.update_link(p.account_id, link_id, changes))

    @rpc("LinkRules", "DeleteLinkRule")
    async def DeleteLinkRule(
        self, request: pb.DeleteLinkRuleRequest, p: Principal, context: Ctx
    ) -> empty_pb2.Empty:
        await self.directory.delete_link(p.account_id, request.link_rule_id)
        return EMPTY()
