"""Where a chat goes: departments and their waiting line, regions, groups, link rules.

A visitor's chat is routed to a department of the site (its hours, maximum wait,
fallback and offer time are set here), to operators of a region inside it, or
first to a group of specialists when the page matches one of the site's link
rules. The operators' own routing settings are under ``operators``.
"""

from __future__ import annotations

import click

from control.cli.common import Ctx, pass_ctx, set_given, site_option
from parley.v1 import control_pb2

department_option = click.option(
    "--department", "department_id", required=True, help="Department id"
)


@click.group()
def department() -> None:
    """Departments of a site."""


@department.command("create")
@click.argument("name")
@site_option
@click.option("--description", default="", help="Shown to visitors")
@pass_ctx
def department_create(ctx: Ctx, name: str, site_id: str, description: str) -> None:
    """Create a department."""
    d = ctx.call(
        ctx.client().control.CreateDepartment,
        control_pb2.CreateDepartmentRequest(site_id=site_id, name=name, description=description),
    )
    ctx.out(d, lambda: f"Created department {d.name} with id {d.id}")


@department.command("list")
@site_option
@pass_ctx
def department_list(ctx: Ctx, site_id: str) -> None:
    """List a site's departments."""
    reply = ctx.call(
        ctx.client().control.ListDepartments, control_pb2.ListDepartmentsRequest(site_id=site_id)
    )
    ctx.out_table(
        reply,
        reply.departments,
        lambda d: (
            d.id,
            d.name,
            "on" if d.chat_enabled else "off",
            d.hours or "always",
            d.max_wait_seconds or "-",
            d.fallback_department_id or "-",
            d.description,
        ),
        ("ID", "NAME", "CHAT", "HOURS", "MAX WAIT", "FALLBACK", "DESCRIPTION"),
    )


@department.command("set")
@click.argument("department_id")
@click.option("--name", help="New name")
@click.option("--description", help="Shown to visitors")
@click.option("--chat/--no-chat", "chat_enabled", default=None, help="Chat enabled")
@click.option("--hours", help="Business hours, e.g. 'mon-fri 09:00-17:00' ('' always open)")
@click.option("--timezone", help="IANA time zone of the hours ('' the site's)")
@click.option("--max-wait", type=click.IntRange(0, 86400), help="Seconds in the queue at most")
@click.option("--fallback", help="Department that takes the chat after the maximum wait")
@click.option("--offer-seconds", type=click.IntRange(5, 600), help="Time to accept an offer")
@click.option(
    "--offline-action",
    type=click.Choice(["keep", "forward", "close"]),
    help="An offline operator's open chats: keep, forward or close",
)
@click.option("--offline-seconds", type=click.IntRange(0, 86400), help="... after this long")
@pass_ctx
def department_set(
    ctx: Ctx,
    department_id: str,
    name: str | None,
    description: str | None,
    chat_enabled: bool | None,
    hours: str | None,
    timezone: str | None,
    max_wait: int | None,
    fallback: str | None,
    offer_seconds: int | None,
    offline_action: str | None,
    offline_seconds: int | None,
) -> None:
    """Change a department's settings (only the options given)."""
    request = control_pb2.UpdateDepartmentRequest(department_id=department_id)
    set_given(
        request,
        (
            ("name", name),
            ("description", description),
            ("chat_enabled", chat_enabled),
            ("hours", hours),
            ("timezone", timezone),
            ("max_wait_seconds", max_wait),
            ("fallback_department_id", fallback),
            ("offer_seconds", offer_seconds),
            ("offline_action", offline_action),
            ("offline_seconds", offline_seconds),
        ),
    )
    d = ctx.call(ctx.client().control.UpdateDepartment, request)
    ctx.out(d, lambda: f"Updated department {d.name} ({d.id})")


@department.command("waiting")
@click.argument("department_id")
@pass_ctx
def department_waiting(ctx: Ctx, department_id: str) -> None:
    """The New pool: chats waiting in a department, in order."""
    reply = ctx.call(
        ctx.client().control.ListWaiting,
        control_pb2.ListWaitingRequest(department_id=department_id),
    )
    ctx.out_table(
        reply,
        reply.chats,
        lambda c: (c.position, c.conversation_id, c.visitor_name, c.waited_seconds, c.offered_to),
        ("POS", "CONVERSATION", "VISITOR", "WAITED S", "OFFERED TO"),
    )


@department.command("delete")
@click.argument("department_id")
@pass_ctx
def department_delete(ctx: Ctx, department_id: str) -> None:
    """Delete a department: refused (in_use) while it has open or waiting chats,
    operators who serve only it, or departments falling back to it."""
    ctx.call(
        ctx.client().control.DeleteDepartment,
        control_pb2.DeleteDepartmentRequest(department_id=department_id),
    )
    click.echo(f"Deleted department {department_id}")


@click.group()
def region() -> None:
    """Regions inside a department (operators belong to them)."""


@region.command("create")
@click.argument("name")
@department_option
@pass_ctx
def region_create(ctx: Ctx, name: str, department_id: str) -> None:
    """Create a region."""
    r = ctx.call(
        ctx.client().control.CreateRegion,
        control_pb2.CreateRegionRequest(department_id=department_id, name=name),
    )
    ctx.out(r, lambda: f"Created region {r.name} with id {r.id}")


@region.command("list")
@department_option
@pass_ctx
def region_list(ctx: Ctx, department_id: str) -> None:
    """List a department's regions."""
    reply = ctx.call(
        ctx.client().control.ListRegions,
        control_pb2.ListRegionsRequest(department_id=department_id),
    )
    ctx.out_table(reply, reply.regions, lambda r: (r.id, r.name), ("ID", "NAME"))


@region.command("delete")
@click.argument("region_id")
@pass_ctx
def region_delete(ctx: Ctx, region_id: str) -> None:
    """Delete a region: refused (in_use) while operators belong to it."""
    ctx.call(
        ctx.client().control.DeleteRegion,
        control_pb2.DeleteRegionRequest(region_id=region_id),
    )
    click.echo(f"Deleted region {region_id}")


@click.group()
def group() -> None:
    """Groups of specialists, chosen first by link rules."""


@group.command("create")
@click.argument("name")
@site_option
@pass_ctx
def group_create(ctx: Ctx, name: str, site_id: str) -> None:
    """Create a group."""
    g = ctx.call(
        ctx.client().control.CreateGroup, control_pb2.CreateGroupRequest(site_id=site_id, name=name)
    )
    ctx.out(g, lambda: f"Created group {g.name} with id {g.id}")


@group.command("list")
@site_option
@pass_ctx
def group_list(ctx: Ctx, site_id: str) -> None:
    """List a site's groups."""
    reply = ctx.call(
        ctx.client().control.ListGroups, control_pb2.ListGroupsRequest(site_id=site_id)
    )
    ctx.out_table(reply, reply.groups, lambda g: (g.id, g.name), ("ID", "NAME"))


@group.command("delete")
@click.argument("group_id")
@pass_ctx
def group_delete(ctx: Ctx, group_id: str) -> None:
    """Delete a group: refused (in_use) while operators or link rules use it."""
    ctx.call(
        ctx.client().control.DeleteGroup,
        control_pb2.DeleteGroupRequest(group_id=group_id),
    )
    click.echo(f"Deleted group {group_id}")


@click.group()
def link() -> None:
    """Link rules: visitors on matching pages go to a group first."""


@link.command("add")
@click.argument("pattern")
@site_option
@click.option("--group", "group_id", required=True, help="Group id")
@click.option("--position", default=0, type=click.IntRange(0, 1_000_000), help="Lower first")
@pass_ctx
def link_add(ctx: Ctx, pattern: str, site_id: str, group_id: str, position: int) -> None:
    """Add a rule: PATTERN is a regular expression searched in the page URL."""
    rule = ctx.call(
        ctx.client().control.AddLinkRule,
        control_pb2.AddLinkRuleRequest(
            site_id=site_id, pattern=pattern, group_id=group_id, position=position
        ),
    )
    ctx.out(rule, lambda: f"Added link rule {rule.id}: {rule.pattern} -> {rule.group_id}")


@link.command("list")
@site_option
@pass_ctx
def link_list(ctx: Ctx, site_id: str) -> None:
    """List a site's link rules in the order they are tried."""
    reply = ctx.call(
        ctx.client().control.ListLinkRules, control_pb2.ListLinkRulesRequest(site_id=site_id)
    )
    ctx.out_table(
        reply,
        reply.rules,
        lambda r: (r.position, r.id, r.pattern, r.group_id),
        ("POS", "ID", "PATTERN", "GROUP"),
    )


@link.command("delete")
@click.argument("link_id")
@pass_ctx
def link_delete(ctx: Ctx, link_id: str) -> None:
    """Delete a link rule."""
    ctx.call(
        ctx.client().control.DeleteLinkRule, control_pb2.DeleteLinkRuleRequest(link_id=link_id)
    )
    click.echo(f"Deleted link rule {link_id}")
