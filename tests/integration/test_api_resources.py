"""The resource API's shared behaviour, tried as an integrator would: lists paged
while things come and go, creates retried with a request id, updates limited
to their mask, and a structured reason on every refusal."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from google.rpc import error_details_pb2, status_pb2

from control.errors import DETAILS_KEY, DOMAIN
from parley.v1 import control_pb2 as pb
from tests.control.test_error_codes import known_reasons
from tests.integration.helpers import Operator, owner, running


def info_of(error: grpc.aio.AioRpcError) -> error_details_pb2.ErrorInfo:
    """The ErrorInfo a refusal carries (the test fails when there is none)."""
    for key, value in error.trailing_metadata() or ():
        if key == DETAILS_KEY:
            status = status_pb2.Status.FromString(value)
            assert status.code == error.code().value[0]
            info = error_details_pb2.ErrorInfo()
            assert status.details and status.details[0].Unpack(info)
            assert info.domain == DOMAIN
            assert info.reason in known_reasons()
            return info
    raise AssertionError(f"no status details in {error!r}")


async def refused(call: Any, reason: str, field: str | None = None) -> grpc.aio.AioRpcError:
    """Await ``call``: it must be refused for ``reason`` (and name ``field``)."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    info = info_of(caught.value)
    assert info.reason == reason, caught.value.details()
    assert caught.value.details().startswith(f"{reason.lower()}: ")
    if field is not None:
        assert info.metadata["field"] == field
    return caught.value


async def all_pages(op: Operator, size: int) -> list[str]:
    ids: list[str] = []
    token = ""
    while True:
        page = await op.api.sites.ListSites(
            pb.ListSitesRequest(page_size=size, page_token=token), metadata=op.metadata
        )
        ids += [s.id for s in page.sites]
        token = page.next_page_token
        if not token:
            return ids


async def test_paging_while_sites_come_and_go(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        op = await owner(app)
        md = op.metadata
        sites = op.api.sites
        for n in range(20):
            await sites.CreateSite(pb.CreateSiteRequest(site=pb.Site(name=f"s{n:02}")), metadata=md)
        before = await all_pages(op, 1000)
        assert len(before) == 21  # the demo site too
        assert await all_pages(op, 3) == before  # pages put together are the list

        # Page through 4 at a time; between pages, delete two sites not yet seen
        # and create two (ids land anywhere in the order).
        seen: list[str] = []
        deleted: set[str] = set()
        token = ""
        while True:
            page = await sites.ListSites(
                pb.ListSitesRequest(page_size=4, page_token=token), metadata=md
            )
            seen += [s.id for s in page.sites]
            token = page.next_page_token
            if not token:
                break
            demo = app.demo["site"] if app.demo else ""
            ahead = [s for s in before if s not in seen and s not in deleted and s != demo]
            for victim in ahead[-2:]:
                await sites.DeleteSite(pb.DeleteSiteRequest(site_id=victim), metadata=md)
                deleted.add(victim)
            for _ in range(2):
                await sites.CreateSite(
                    pb.CreateSiteRequest(site=pb.Site(name=f"new {len(seen)} {_}")), metadata=md
                )
        assert deleted  # the list changed under the reader
        stayed = [s for s in before if s not in deleted]
        assert len(seen) == len(set(seen))  # nothing twice
        assert set(stayed) <= set(seen)  # nothing that stayed was skipped
        assert not deleted & set(seen)  # deleted before their page came


async def test_page_size_and_token_are_checked(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        op = await owner(app)
        md = op.metadata
        assert app.demo is not None
        for size in (0, -1, 1001, 1_000_000):
            await refused(
                op.api.sites.ListSites(pb.ListSitesRequest(page_size=size), metadata=md),
                "INVALID_PAGE_SIZE",
                "page_size",
            )
        for n in range(3):
            await op.api.groups.CreateGroup(
                pb.CreateGroupRequest(group=pb.Group(site_id=app.demo["site"], name=f"g{n}")),
                metadata=md,
            )
        groups = await op.api.groups.ListGroups(
            pb.ListGroupsRequest(site_id=app.demo["site"], page_size=1), metadata=md
        )
        token = groups.next_page_token
        assert token and len(groups.groups) == 1
        # A token of another list, of the same list with another filter, or garbage.
        await refused(
            op.api.sites.ListSites(pb.ListSitesRequest(page_token=token), metadata=md),
            "INVALID_PAGE_TOKEN",
            "page_token",
        )
        other = await op.api.sites.CreateSite(
            pb.CreateSiteRequest(site=pb.Site(name="other")), metadata=md
        )
        await refused(
            op.api.groups.ListGroups(
                pb.ListGroupsRequest(site_id=other.id, page_token=token), metadata=md
            ),
            "INVALID_PAGE_TOKEN",
        )
        for junk in ("x", token[:-3], "e30", "W10", "A" * 3000):
            await refused(
                op.api.groups.ListGroups(
                    pb.ListGroupsRequest(site_id=app.demo["site"], page_token=junk), metadata=md
                ),
                "INVALID_PAGE_TOKEN",
            )
        # Another account's caller with this token: refused, nothing of ours shown.
        admin = await Operator(app).login(app.admin["email"], app.admin["password"])
        made = await admin.api.accounts.CreateAccount(
            pb.CreateAccountRequest(account=pb.Account(name="b co"), owner_email="b@b.test"),
            metadata=admin.metadata,
        )
        b = await Operator(app).login("b@b.test", made.owner_password)
        listed = await op.api.sites.ListSites(pb.ListSitesRequest(page_size=1), metadata=md)
        await refused(
            b.api.sites.ListSites(
                pb.ListSitesRequest(page_token=listed.next_page_token), metadata=b.metadata
            ),
            "INVALID_PAGE_TOKEN",
        )
        # The next page with the right token still works after all that.
        rest = await op.api.groups.ListGroups(
            pb.ListGroupsRequest(site_id=app.demo["site"], page_size=5, page_token=token),
            metadata=md,
        )
        assert len(rest.groups) == 2 and not rest.next_page_token


async def test_a_retried_create_makes_one_thing(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        op = await owner(app)
        md = op.metadata
        assert app.demo is not None
        site_id = app.demo["site"]
        creates: list[tuple[Any, Any]] = [
            (op.api.sites.CreateSite, pb.CreateSiteRequest(site=pb.Site(name="shop"))),
            (
                op.api.departments.CreateDepartment,
                pb.CreateDepartmentRequest(department=pb.Department(site_id=site_id, name="d")),
            ),
            (
                op.api.groups.CreateGroup,
                pb.CreateGroupRequest(group=pb.Group(site_id=site_id, name="vip")),
            ),
            (
                op.api.operators.CreateOperator,
                pb.CreateOperatorRequest(
                    operator=pb.Operator(email="bot@shop.test", display_name="Bot"),
                    password="a long password 1",
                ),
            ),
            (
                op.api.roles.CreateRole,
                pb.CreateRoleRequest(role=pb.Role(name="helper", permissions=["chat"])),
            ),
            (
                op.api.templates.CreateTemplate,
                pb.CreateTemplateRequest(template=pb.Template(shortcut="hi", text="Hello")),
            ),
            (
                op.api.blocks.CreateBlock,
                pb.CreateBlockRequest(
                    block=pb.Block(site_id=site_id, kind="ip", value="10.0.0.0/24")
                ),
            ),
        ]
        for n, (create, request) in enumerate(creates):
            request.request_id = f"retry-{n}"
            # Two at once and one after: one thing, the same answer each time.
            first, second = await asyncio.gather(
                create(request, metadata=md), create(request, metadata=md)
            )
            third = await create(request, metadata=md)
            key = "name" if isinstance(first, pb.Role) else "id"
            assert getattr(first, key) == getattr(second, key) == getattr(third, key)
            # The same id with another request is refused and makes nothing.
            changed = type(request)()
            changed.CopyFrom(request)
            resource = changed.ListFields()[0][1]
            field = "name" if "name" in resource.DESCRIPTOR.fields_by_name else "shortcut"
            if isinstance(resource, pb.Block):
                field = "value"
            elif isinstance(resource, pb.Operator):
                field = "email"
            setattr(resource, field, getattr(resource, field) + "x")
            await refused(create(changed, metadata=md), "REQUEST_ID_REUSED", "request_id")
        sites = await op.api.sites.ListSites(pb.ListSitesRequest(), metadata=md)
        assert [s.name for s in sites.sites].count("shop") == 1
        groups = await op.api.groups.ListGroups(pb.ListGroupsRequest(site_id=site_id), metadata=md)
        assert [g.name for g in groups.groups] == ["vip"]
        blocks = await op.api.blocks.ListBlocks(pb.ListBlocksRequest(site_id=site_id), metadata=md)
        assert len(blocks.blocks) == 1
        ops = await op.api.operators.ListOperators(pb.ListOperatorsRequest(), metadata=md)
        assert [o.email for o in ops.operators].count("bot@shop.test") == 1
        await refused(
            op.api.sites.CreateSite(
                pb.CreateSiteRequest(site=pb.Site(name="z"), request_id="r" * 65), metadata=md
            ),
            "INVALID_ARGUMENT",
            "request_id",
        )
        await refused(
            op.api.sites.CreateSite(
                pb.CreateSiteRequest(site=pb.Site(name="z"), request_id="a\tb"), metadata=md
            ),
            "INVALID_REQUEST_ID",
            "request_id",
        )


async def test_a_request_id_outlives_a_restart(tmp_path: Path) -> None:
    request = pb.CreateSiteRequest(site=pb.Site(name="kept"), request_id="once")
    async with running(tmp_path) as app:
        op = await owner(app)
        first = await op.api.sites.CreateSite(request, metadata=op.metadata)
    async with running(tmp_path) as app:
        op = await owner(app)
        again = await op.api.sites.CreateSite(request, metadata=op.metadata)
        assert again.id == first.id
        sites = await op.api.sites.ListSites(pb.ListSitesRequest(), metadata=op.metadata)
        assert [s.name for s in sites.sites].count("kept") == 1


async def test_an_update_changes_only_what_its_mask_names(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        op = await owner(app)
        md = op.metadata
        site = await op.api.sites.CreateSite(
            pb.CreateSiteRequest(
                site=pb.Site(
                    name="shop",
                    allowed_origins=["https://shop.test"],
                    timezone="Europe/Paris",
                    typing_preview=True,
                    languages=["en", "fr"],
                    quota_mb=100,
                )
            ),
            metadata=md,
        )
        # The request carries other values for every field; only the name is named.
        updated = await op.api.sites.UpdateSite(
            pb.UpdateSiteRequest(
                site=pb.Site(id=site.id, name="big shop", timezone="UTC", quota_mb=1),
                update_mask=FieldMask(paths=["name"]),
            ),
            metadata=md,
        )
        expected = pb.Site()
        expected.CopyFrom(site)
        expected.name = "big shop"
        assert updated == expected
        got = await op.api.sites.GetSite(pb.GetSiteRequest(site_id=site.id), metadata=md)
        assert got == expected
        # A list named in the mask is replaced; emptied when given empty.
        cleared = await op.api.sites.UpdateSite(
            pb.UpdateSiteRequest(
                site=pb.Site(id=site.id), update_mask=FieldMask(paths=["languages"])
            ),
            metadata=md,
        )
        assert list(cleared.languages) == [] and cleared.timezone == "Europe/Paris"

        dept = await op.api.departments.CreateDepartment(
            pb.CreateDepartmentRequest(department=pb.Department(site_id=site.id, name="d")),
            metadata=md,
        )
        changed = await op.api.departments.UpdateDepartment(
            pb.UpdateDepartmentRequest(
                department=pb.Department(id=dept.id, max_wait_seconds=90, name="ignored"),
                update_mask=FieldMask(paths=["max_wait_seconds"]),
            ),
            metadata=md,
        )
        assert changed.max_wait_seconds == 90 and changed.name == "d"

        # Bad masks: a clear reason, nothing changed.
        for paths, reason, field in [
            ([], "UPDATE_MASK_REQUIRED", "update_mask"),
            (["nonsense"], "UNKNOWN_FIELD", "update_mask.nonsense"),
            (["id"], "FIELD_NOT_WRITABLE", "site.id"),
            (["account_id"], "FIELD_NOT_WRITABLE", "site.account_id"),
            (["name", "account_id"], "FIELD_NOT_WRITABLE", "site.account_id"),
        ]:
            await refused(
                op.api.sites.UpdateSite(
                    pb.UpdateSiteRequest(
                        site=pb.Site(id=site.id, name="nope", account_id="x"),
                        update_mask=FieldMask(paths=paths),
                    ),
                    metadata=md,
                ),
                reason,
                field,
            )
        await refused(
            op.api.departments.UpdateDepartment(
                pb.UpdateDepartmentRequest(
                    department=pb.Department(id=dept.id, site_id=site.id),
                    update_mask=FieldMask(paths=["site_id"]),
                ),
                metadata=md,
            ),
            "FIELD_NOT_WRITABLE",
            "department.site_id",
        )
        # A bad value in a named field saves nothing either.
        await refused(
            op.api.sites.UpdateSite(
                pb.UpdateSiteRequest(
                    site=pb.Site(id=site.id, name="fine", timezone="Mars/Olympus"),
                    update_mask=FieldMask(paths=["name", "timezone"]),
                ),
                metadata=md,
            ),
            "INVALID_TIMEZONE",
        )
        final = await op.api.sites.GetSite(pb.GetSiteRequest(site_id=site.id), metadata=md)
        assert final.name == "big shop" and final.timezone == "Europe/Paris"


async def test_get_and_update_of_each_resource(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        op = await owner(app)
        md = op.metadata
        assert app.demo is not None
        site_id = app.demo["site"]
        api = op.api
        group = await api.groups.CreateGroup(
            pb.CreateGroupRequest(group=pb.Group(site_id=site_id, name="a")), metadata=md
        )
        renamed = await api.groups.UpdateGroup(
            pb.UpdateGroupRequest(
                group=pb.Group(id=group.id, name="b"), update_mask=FieldMask(paths=["name"])
            ),
            metadata=md,
        )
        assert renamed.name == "b"
        assert (
            await api.groups.GetGroup(pb.GetGroupRequest(group_id=group.id), metadata=md) == renamed
        )
        rule = await api.link_rules.CreateLinkRule(
            pb.CreateLinkRuleRequest(
                link_rule=pb.LinkRule(site_id=site_id, pattern="/pricing", group_id=group.id)
            ),
            metadata=md,
        )
        moved = await api.link_rules.UpdateLinkRule(
            pb.UpdateLinkRuleRequest(
                link_rule=pb.LinkRule(id=rule.id, pattern="/plans", position=3),
                update_mask=FieldMask(paths=["pattern", "position"]),
            ),
            metadata=md,
        )
        assert (moved.pattern, moved.position, moved.group_id) == ("/plans", 3, group.id)
        await refused(
            api.link_rules.UpdateLinkRule(
                pb.UpdateLinkRuleRequest(
                    link_rule=pb.LinkRule(id=rule.id, pattern="(unclosed"),
                    update_mask=FieldMask(paths=["pattern"]),
                ),
                metadata=md,
            ),
            "INVALID_PATTERN",
        )
        template = await api.templates.CreateTemplate(
            pb.CreateTemplateRequest(template=pb.Template(shortcut="bye", text="Bye!")),
            metadata=md,
        )
        edited = await api.templates.UpdateTemplate(
            pb.UpdateTemplateRequest(
                template=pb.Template(id=template.id, text="Goodbye!"),
                update_mask=FieldMask(paths=["text"]),
            ),
            metadata=md,
        )
        assert (edited.shortcut, edited.text) == ("bye", "Goodbye!")
        role = await api.roles.GetRole(pb.GetRoleRequest(name="operator"), metadata=md)
        assert role.builtin and "chat" in role.permissions
        await refused(
            api.roles.GetRole(pb.GetRoleRequest(name="nobody"), metadata=md), "UNKNOWN_ROLE"
        )
        me = await api.auth.UpdateMe(
            pb.UpdateMeRequest(
                operator=pb.Operator(display_name="Boss", email="ignored@x.test"),
                update_mask=FieldMask(paths=["display_name"]),
            ),
            metadata=md,
        )
        assert me.display_name == "Boss" and me.email != "ignored@x.test"
        await refused(
            api.auth.UpdateMe(
                pb.UpdateMeRequest(
                    operator=pb.Operator(role="owner"), update_mask=FieldMask(paths=["role"])
                ),
                metadata=md,
            ),
            "FIELD_NOT_WRITABLE",
            "operator.role",
        )
