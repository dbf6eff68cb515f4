"""Deleting sites, departments, regions, groups and roles through the real
server: refused with ``in_use`` (naming what uses it, and how many) while
something does, and then nothing changed; deleted once nothing does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
import orjson
import pytest

from parley.v1 import control_pb2
from tests.control.test_cli import cli
from tests.integration.helpers import owner, running
from tests.integration.test_routing import chat_up, staff, update_department, update_operator


async def refused(call: Any, code: grpc.StatusCode) -> str:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    assert info.value.code() is code, info.value.details()
    return str(info.value.details())


async def in_use(call: Any) -> str:
    detail = await refused(call, grpc.StatusCode.FAILED_PRECONDITION)
    assert detail.startswith("in_use: "), detail
    return detail


async def test_a_role_goes_once_nobody_holds_it(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        boss = await owner(app)
        roles, md = boss.api.roles, boss.metadata
        await roles.CreateRole(
            control_pb2.CreateRoleRequest(
                role=control_pb2.Role(name="trainee", permissions=["chat"])
            ),
            metadata=md,
        )
        ana = await staff(app, boss, "Ana", role="trainee", online=False)
        detail = await in_use(
            roles.DeleteRole(control_pb2.DeleteRoleRequest(name="trainee"), metadata=md)
        )
        assert "role 'trainee'" in detail and "1 operators" in detail
        listed = await roles.ListRoles(control_pb2.ListRolesRequest(), metadata=md)
        assert "trainee" in {r.name for r in listed.roles}
        await refused(
            roles.DeleteRole(control_pb2.DeleteRoleRequest(name="admin"), metadata=md),
            grpc.StatusCode.PERMISSION_DENIED,
        )
        await boss.api.operators.UpdateOperator(
            update_operator(ana.id, role="operator"), metadata=md
        )
        await roles.DeleteRole(control_pb2.DeleteRoleRequest(name="trainee"), metadata=md)
        listed = await roles.ListRoles(control_pb2.ListRolesRequest(), metadata=md)
        assert "trainee" not in {r.name for r in listed.roles}
        await refused(
            roles.DeleteRole(control_pb2.DeleteRoleRequest(name="trainee"), metadata=md),
            grpc.StatusCode.NOT_FOUND,
        )
        # Another account's role is not found either.
        assert app.engine is not None
        d = app.engine.directory
        other = await d.create_account("other co")
        await d.create_role(other.id, "their-role", ["chat"], frozenset({"chat", "self"}))
        await refused(
            roles.DeleteRole(control_pb2.DeleteRoleRequest(name="their-role"), metadata=md),
            grpc.StatusCode.NOT_FOUND,
        )
        assert "their-role" in d.roles[other.id]
        for client in (boss, ana):
            await client.close()


async def test_a_department_goes_once_nothing_uses_it(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        assert app.demo is not None and app.engine is not None
        d = app.engine.directory
        boss = await owner(app)
        depts, md = boss.api.departments, boss.metadata
        site, demo_dept = app.demo["site"], app.demo["department"]
        two = await depts.CreateDepartment(
            control_pb2.CreateDepartmentRequest(
                department=control_pb2.Department(site_id=site, name="Two")
            ),
            metadata=md,
        )
        north = await boss.api.regions.CreateRegion(
            control_pb2.CreateRegionRequest(
                region=control_pb2.Region(department_id=two.id, name="North")
            ),
            metadata=md,
        )
        three = await depts.CreateDepartment(
            control_pb2.CreateDepartmentRequest(
                department=control_pb2.Department(site_id=site, name="Three")
            ),
            metadata=md,
        )
        await depts.UpdateDepartment(
            update_department(three.id, fallback_department_id=two.id), metadata=md
        )
        ana = await staff(app, boss, "Ana", departments=[demo_dept, two.id], region_ids=[north.id])
        ben = await staff(app, boss, "Ben", departments=[two.id], online=False)
        delete = control_pb2.DeleteDepartmentRequest(department_id=two.id)
        detail = await in_use(depts.DeleteDepartment(delete, metadata=md))
        assert "1 operators who serve only it" in detail, detail
        assert "1 departments falling back to it" in detail, detail
        # Refused: nothing changed, Ana keeps Two and its region.
        assert d.operators[ana.id].department_ids == (demo_dept, two.id)
        assert d.operators[ana.id].region_ids == (north.id,) and north.id in d.regions
        assert two.id in d.departments

        # A department with a chat open is in use.
        _v, conv = await chat_up(app, department=demo_dept)
        assert (await ana.recv("assigned")).conversation_id == conv
        await app.engine.settle()
        detail = await in_use(
            depts.DeleteDepartment(
                control_pb2.DeleteDepartmentRequest(department_id=demo_dept), metadata=md
            )
        )
        assert "1 open or waiting chats" in detail, detail

        await boss.api.operators.UpdateOperator(
            update_operator(ben.id, department_ids=[demo_dept]), metadata=md
        )
        await depts.UpdateDepartment(
            update_department(three.id, fallback_department_id=""), metadata=md
        )
        await depts.DeleteDepartment(delete, metadata=md)
        listed = await depts.ListDepartments(
            control_pb2.ListDepartmentsRequest(site_id=site), metadata=md
        )
        assert two.id not in {x.id for x in listed.departments}
        assert d.operators[ana.id].department_ids == (demo_dept,)
        assert d.operators[ana.id].region_ids == () and north.id not in d.regions
        await refused(depts.DeleteDepartment(delete, metadata=md), grpc.StatusCode.NOT_FOUND)
        for client in (boss, ana, ben):
            await client.close()


async def test_regions_groups_and_sites_go_once_unused(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        assert app.demo is not None and app.engine is not None
        d = app.engine.directory
        boss = await owner(app)
        api, md = boss.api, boss.metadata
        site = await api.sites.CreateSite(
            control_pb2.CreateSiteRequest(
                site=control_pb2.Site(name="Second", typing_preview=True)
            ),
            metadata=md,
        )
        dept = await api.departments.CreateDepartment(
            control_pb2.CreateDepartmentRequest(
                department=control_pb2.Department(site_id=site.id, name="Help")
            ),
            metadata=md,
        )
        region = await api.regions.CreateRegion(
            control_pb2.CreateRegionRequest(
                region=control_pb2.Region(department_id=dept.id, name="South")
            ),
            metadata=md,
        )
        group = await api.groups.CreateGroup(
            control_pb2.CreateGroupRequest(
                group=control_pb2.Group(site_id=site.id, name="Billing")
            ),
            metadata=md,
        )
        link = await api.link_rules.CreateLinkRule(
            control_pb2.CreateLinkRuleRequest(
                link_rule=control_pb2.LinkRule(site_id=site.id, pattern="/pay", group_id=group.id)
            ),
            metadata=md,
        )
        ana = await staff(
            app, boss, "Ana", departments=[dept.id], region_ids=[region.id], online=False
        )
        detail = await in_use(
            api.regions.DeleteRegion(
                control_pb2.DeleteRegionRequest(region_id=region.id), metadata=md
            )
        )
        assert "region 'South' is still used by 1 operators" in detail, detail
        detail = await in_use(
            api.groups.DeleteGroup(control_pb2.DeleteGroupRequest(group_id=group.id), metadata=md)
        )
        assert "1 link rules" in detail, detail
        detail = await in_use(
            api.sites.DeleteSite(control_pb2.DeleteSiteRequest(site_id=site.id), metadata=md)
        )
        assert "1 departments" in detail, detail
        assert region.id in d.regions and group.id in d.groups and site.id in d.sites

        await api.operators.UpdateOperator(
            update_operator(ana.id, region_ids=[], department_ids=[app.demo["department"]]),
            metadata=md,
        )
        await api.regions.DeleteRegion(
            control_pb2.DeleteRegionRequest(region_id=region.id), metadata=md
        )
        assert region.id not in d.regions
        await api.departments.DeleteDepartment(
            control_pb2.DeleteDepartmentRequest(department_id=dept.id), metadata=md
        )
        # The site goes with its group and link rule (a group with a rule on a
        # site going away is no refusal: they go together).
        await api.sites.DeleteSite(control_pb2.DeleteSiteRequest(site_id=site.id), metadata=md)
        assert site.id not in d.sites and group.id not in d.groups and link.id not in d.links
        sites = await api.sites.ListSites(control_pb2.ListSitesRequest(), metadata=md)
        assert site.id not in {s.id for s in sites.sites}
        for client in (boss, ana):
            await client.close()


async def test_the_cli_deletes_and_says_what_is_in_use(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        assert app.owner is not None and app.demo is not None
        r = await cli(app, tmp_path, "login", "--email", app.owner["email"], "--password",
                      app.owner["password"])  # fmt: skip
        assert r.exit_code == 0, r.output
        r = await cli(app, tmp_path, "site", "delete", app.demo["site"])
        assert r.exit_code != 0 and "in_use" in r.output and "1 departments" in r.output, r.output
        r = await cli(app, tmp_path, "department", "delete", app.demo["department"])
        assert r.exit_code != 0 and "operators who serve only it" in r.output, r.output
        r = await cli(app, tmp_path, "--json", "group", "create", "G", "--site", app.demo["site"])
        assert r.exit_code == 0, r.output
        group_id = orjson.loads(r.output)["id"]
        r = await cli(app, tmp_path, "group", "delete", group_id)
        assert r.exit_code == 0 and f"Deleted group {group_id}" in r.output, r.output
        r = await cli(app, tmp_path, "role", "create", "temp", "--permission", "chat")
        assert r.exit_code == 0, r.output
        r = await cli(app, tmp_path, "role", "delete", "temp")
        assert r.exit_code == 0 and "Deleted role temp" in r.output, r.output
        boss = await owner(app)
        roles = await boss.api.roles.ListRoles(
            control_pb2.ListRolesRequest(), metadata=boss.metadata
        )
        assert "temp" not in {x.name for x in roles.roles}
        await boss.close()
