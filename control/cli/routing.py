"""Where a chat goes: departments and their waiting line, regions, groups, link rules.

A visitor's chat is routed to a department of the site (its hours, maximum wait,
fallback and offer time are set here), to operators of a region inside it, or
first to a group of specialists when the page matches one of the site's link
rules. The operators' own routing settings are under ``operators``.
"""

from __future__ import annotations

import click

from control.cli.common import (
    Ctx,
    fields_table,
    mask,
    pass_ctx,
    require_some,
    set_given,
    site_option,
)
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
    d = ctx.create(
        ctx.client().departments.CreateDepartment,
        control_pb2.CreateDepartmentRequest(
            department=control_pb2.Department(site_id=site_id, name=name, description=description)
        ),
    )
    ctx.out(d, lambda: f"Created department {d.name} with id {d.id}")


@department.command("list")
@click.option("--site", "site_id", default="", help="Site id (else every site's)")
@pass_ctx
def department_list(ctx: Ctx, site_id: str) -> None:
    """List a site's departments, or the whole account's."""
    reply = ctx.list(
        ctx.client().departments.ListDepartments,
        control_pb2.ListDepartmentsRequest(site_id=site_id),
        "departments",
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


@department.command("show")
@click.argument("department_id")
@pass_ctx
def department_show(ctx: Ctx, department_id: str) -> None:
    """Show one department's settings."""
    d = ctx.call(
        ctx.client().departments.GetDepartment,
        control_pb2.GetDepartmentRequest(department_id=department_id),
    )
    ctx.out(
        d,
        lambda: fields_table(
            (
                ("id", d.id),
                ("site", d.site_id),
                ("name", d.name),
                ("description", d.description),
                ("chat", "on" if d.chat_enabled else "off"),
                ("hours", d.hours or "always"),
                ("timezone", d.timezone or "the site's"),
                ("max wait", f"{d.max_wait_seconds} s" if d.max_wait_seconds else ""),
                ("fallback", d.fallback_department_id),
                ("offer time", f"{d.offer_seconds} s" if d.offer_seconds else ""),
                ("offline action", d.offline_action),
                ("offline after", f"{d.offline_seconds} s"),
            )
        ),
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
    changes = control_pb2.Department(id=department_id)
    paths = set_given(
        changes,
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
    require_some(paths, "the options (parley department set --help)")
    d = ctx.call(
        ctx.client().departments.UpdateDepartment,
        control_pb2.UpdateDepartmentRequest(department=changes, update_mask=mask(paths)),
    )
    ctx.out(d, lambda: f"Updated department {d.name} ({d.id})")


@department.command("waiting")
@click.argument("department_id")
@pass_ctx
def department_waiting(ctx: Ctx, department_id: str) -> None:
    """The New pool: chats waiting in a department, in order."""
    reply = ctx.list(
        ctx.client().conversations.ListWaitingConversations,
        control_pb2.ListWaitingConversationsRequest(department_id=department_id),
        "chats",
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
        ctx.client().departments.DeleteDepartment,
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
    r = ctx.create(
        ctx.client().regions.CreateRegion,
        control_pb2.CreateRegionRequest(
            region=control_pb2.Region(department_id=department_id, name=name)
        ),
    )
    ctx.out(r, lambda: f"Created region {r.name} with id {r.id}")


@region.command("list")
@department_option
@pass_ctx
def region_list(ctx: Ctx, department_id: str) -> None:
    """List a department's regions."""
    reply = ctx.list(
        ctx.client().regions.ListRegions,
        control_pb2.ListRegionsRequest(department_id=department_id),
        "regions",
    )
    ctx.out_table(reply, reply.regions, lambda r: (r.id, r.name), ("ID", "NAME"))


@region.command("rename")
@click.argument("region_id")
@click.argument("name")
@pass_ctx
def region_rename(ctx: Ctx, region_id: str, name: str) -> None:
    """Give a region another name."""
    r = ctx.call(
        ctx.client().regions.UpdateRegion,
        control_pb2.UpdateRegionRequest(
            region=control_pb2.Region(id=region_id, name=name), update_mask=mask(["name"])
        ),
    )
    ctx.out(r, lambda: f"Renamed region {r.id} to {r.name}")


@region.command("delete")
@click.argument("region_id")
@pass_ctx
def region_delete(ctx: Ctx, region_id: str) -> None:
    """Delete a region: refused (in_use) while operators belong to it."""
    ctx.call(
        ctx.client().regions.DeleteRegion,
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
    g = ctx.create(
        ctx.client().groups.CreateGroup,
        control_pb2.CreateGroupRequest(group=control_pb2.Group(site_id=site_id, name=name)),
    )
    ctx.out(g, lambda: f"Created group {g.name} with id {g.id}")


@group.command("list")
@site_option
@pass_ctx
def group_list(ctx: Ctx, site_id: str) -> None:
    """List a site's groups."""
    reply = ctx.list(
        ctx.client().groups.ListGroups, control_pb2.ListGroupsRequest(site_id=site_id), "groups"
    )
    ctx.out_table(reply, reply.groups, lambda g: (g.id, g.name), ("ID", "NAME"))


@group.command("rename")
@click.argument("group_id")
@click.argument("name")
@pass_ctx
def group_rename(ctx: Ctx, group_id: str, name: str) -> None:
    """Give a group another name."""
    g = ctx.call(
        ctx.client().groups.UpdateGroup,
        control_pb2.UpdateGroupRequest(
            group=control_pb2.Group(id=group_id, name=name), update_mask=mask(["name"])
        ),
    )
    ctx.out(g, lambda: f"Renamed group {g.id} to {g.name}")


@group.command("delete")
@click.argument("group_id")
@pass_ctx
def group_delete(ctx: Ctx, group_id: str) -> None:
    """Delete a group: refused (in_use) while operators or link rules use it."""
    ctx.call(
        ctx.client().groups.DeleteGroup,
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
    rule = ctx.create(
        ctx.client().link_rules.CreateLinkRule,
        control_pb2.CreateLinkRuleRequest(
            link_rule=control_pb2.LinkRule(
                site_id=site_id, pattern=pattern, group_id=group_id, position=position
            )
        ),
    )
    ctx.out(rule, lambda: f"Added link rule {rule.id}: {rule.pattern} -> {rule.group_id}")


@link.command("list")
@site_option
@pass_ctx
def link_list(ctx: Ctx, site_id: str) -> None:
    """List a site's link rules in the order they are tried."""
    reply = ctx.list(
        ctx.client().link_rules.ListLinkRules,
        control_pb2.ListLinkRulesRequest(site_id=site_id),
        "link_rules",
    )
    ctx.out_table(
        reply,
        reply.link_rules,
        lambda r: (r.position, r.id, r.pattern, r.group_id),
        ("POS", "ID", "PATTERN", "GROUP"),
    )


@link.command("update")
@click.argument("link_id")
@click.option("--pattern", help="A regular expression searched in the page URL")
@click.option("--group", "group_id", help="Group id")
@click.option("--position", type=click.IntRange(0, 1_000_000), help="Lower first")
@pass_ctx
def link_update(
    ctx: Ctx, link_id: str, pattern: str | None, group_id: str | None, position: int | None
) -> None:
    """Change a link rule's pattern, group or position (only the options given)."""
    rule = control_pb2.LinkRule(id=link_id)
    paths = set_given(rule, (("pattern", pattern), ("group_id", group_id), ("position", position)))
    require_some(paths, "--pattern, --group and --position")
    r = ctx.call(
        ctx.client().link_rules.UpdateLinkRule,
        control_pb2.UpdateLinkRuleRequest(link_rule=rule, update_mask=mask(paths)),
    )
    ctx.out(r, lambda: f"Updated link rule {r.id}: {r.pattern} -> {r.group_id}")


@link.command("delete")
@click.argument("link_id")
@pass_ctx
def link_delete(ctx: Ctx, link_id: str) -> None:
    """Delete a link rule."""
    ctx.call(
        ctx.client().link_rules.DeleteLinkRule,
        control_pb2.DeleteLinkRuleRequest(link_rule_id=link_id),
    )
    click.echo(f"Deleted link rule {link_id}")
