"""The people who answer chats: operators, their routing settings, and roles.

An operator is added with a role and departments, then tuned with ``operator set``
(capacity, departments, languages, regions, groups, reception hours, auto-accept).
A role is a named set of permissions: the three built in, or the account's own;
the server refuses a grant of more than the caller holds.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import click

from control.cli.common import (
    Ctx,
    fields_table,
    id_list,
    mask,
    pass_ctx,
    require_some,
    set_given,
)
from control.cli.passwords import Secret, secret_options, secrets
from parley.v1 import control_pb2


@click.group()
def operator() -> None:
    """Operators (people who answer chats)."""


@operator.command("add")
@click.option("--email", required=True, help="Login email")
@click.option("--name", "display_name", required=True, help="Name shown to visitors")
@secret_options("the first password", plain=True)
@click.option(
    "--role",
    default="operator",
    show_default=True,
    help="owner, admin, operator, or a custom role (parley role list)",
)
@click.option("--department", "departments", multiple=True, help="Department id (repeatable)")
@click.option(
    "--max-chats", default=5, show_default=True, type=click.IntRange(0, 1000), help="Chats at once"
)
@pass_ctx
def operator_add(
    ctx: Ctx,
    email: str,
    display_name: str,
    password: str | None,
    password_stdin: bool,
    password_file: Path | None,
    role: str,
    departments: tuple[str, ...],
    max_chats: int,
) -> None:
    """Add an operator.

    The first password comes from --password, --password-stdin, --password-file
    or the environment variable PARLEY_NEW_PASSWORD; else it is asked on the
    terminal. The operator changes it with 'parley password change'."""
    (password,) = secrets(
        [Secret("First password: ", "PARLEY_NEW_PASSWORD", new=True)],
        from_stdin=password_stdin,
        from_file=password_file,
        given=password,
    )
    op = ctx.create(
        ctx.client().operators.CreateOperator,
        control_pb2.CreateOperatorRequest(
            operator=control_pb2.Operator(
                email=email,
                display_name=display_name,
                role=role,
                department_ids=list(departments),
            ),
            password=password,
            max_chats=max_chats,
        ),
    )
    ctx.out(op, lambda: f"Added operator {op.display_name} <{op.email}> with id {op.id}")


@operator.command("list")
@click.option("--department", "department_id", default="", help="Only those serving it")
@pass_ctx
def operator_list(ctx: Ctx, department_id: str) -> None:
    """List the account's operators and whether they are online."""
    reply = ctx.list(
        ctx.client().operators.ListOperators,
        control_pb2.ListOperatorsRequest(department_id=department_id),
        "operators",
    )
    ctx.out_table(
        reply,
        reply.operators,
        lambda o: (
            o.id,
            o.email,
            o.display_name,
            o.role,
            o.max_chats,
            o.status or "offline",
            ",".join(o.department_ids) or "-",
            ",".join(o.languages) or "any",
        ),
        ("ID", "EMAIL", "NAME", "ROLE", "MAX", "STATUS", "DEPARTMENTS", "LANGUAGES"),
    )


@operator.command("show")
@click.argument("operator_id")
@pass_ctx
def operator_show(ctx: Ctx, operator_id: str) -> None:
    """Show one operator's settings and status."""
    o = ctx.call(
        ctx.client().operators.GetOperator, control_pb2.GetOperatorRequest(operator_id=operator_id)
    )
    ctx.out(
        o,
        lambda: fields_table(
            (
                ("id", o.id),
                ("email", o.email),
                ("name", o.display_name),
                ("internal name", o.internal_name or o.display_name),
                ("role", o.role),
                ("status", "disabled" if o.disabled else o.status or "offline"),
                ("max chats", o.max_chats),
                ("departments", ",".join(o.department_ids)),
                ("languages", ",".join(o.languages) or "any"),
                ("regions", ",".join(o.region_ids)),
                ("groups", ",".join(o.group_ids)),
                ("schedule", o.schedule or "any time"),
                ("timezone", o.timezone or "UTC"),
                ("auto distribution", "on" if o.auto_distribution else "off"),
                ("auto accept", "on" if o.auto_accept else "off"),
                ("avatar", o.avatar_url),
            )
        ),
    )


@operator.command("set")
@click.argument("operator_id")
@click.option("--max-chats", type=click.IntRange(0, 1000), help="Chats at once")
@click.option("--internal-name", help="The name colleagues see ('' for the display name)")
@click.option("--departments", help="Department ids, comma-separated ('' for none)")
@click.option("--languages", help="Language codes spoken, e.g. en,de ('' takes any)")
@click.option("--regions", help="Region ids, comma-separated")
@click.option("--groups", help="Group ids, comma-separated")
@click.option("--schedule", help="Reception hours, e.g. 'mon-fri 09:00-17:00' ('' any time)")
@click.option("--timezone", help="IANA time zone of the schedule")
@click.option(
    "--auto-distribution/--no-auto-distribution", default=None, help="Receives queued chats"
)
@click.option("--auto-accept/--no-auto-accept", default=None, help="Else chats come as offers")
@click.option("--role", help="Another role (its open sessions narrow at once)")
@click.option(
    "--disabled/--enabled",
    default=None,
    help="A disabled operator cannot log in; its sessions end at once",
)
@pass_ctx
def operator_set(
    ctx: Ctx,
    operator_id: str,
    max_chats: int | None,
    internal_name: str | None,
    departments: str | None,
    languages: str | None,
    regions: str | None,
    groups: str | None,
    schedule: str | None,
    timezone: str | None,
    auto_distribution: bool | None,
    auto_accept: bool | None,
    role: str | None,
    disabled: bool | None,
) -> None:
    """Change an operator's routing settings, role or standing (only the options
    given; only for an operator whose permissions are all your own)."""
    changes = control_pb2.Operator(id=operator_id)
    paths = set_given(
        changes,
        (
            ("max_chats", max_chats),
            ("internal_name", internal_name),
            ("department_ids", id_list(departments)),
            ("languages", id_list(languages)),
            ("region_ids", id_list(regions)),
            ("group_ids", id_list(groups)),
            ("schedule", schedule),
            ("timezone", timezone),
            ("auto_distribution", auto_distribution),
            ("auto_accept", auto_accept),
            ("role", role),
            ("disabled", disabled),
        ),
    )
    require_some(paths, "the options (parley operator set --help)")
    op = ctx.call(
        ctx.client().operators.UpdateOperator,
        control_pb2.UpdateOperatorRequest(operator=changes, update_mask=mask(paths)),
    )
    ctx.out(op, lambda: f"Updated operator {op.display_name} ({op.id})")


@operator.command("revoke-sessions")
@click.argument("operator_id")
@pass_ctx
def operator_revoke_sessions(ctx: Ctx, operator_id: str) -> None:
    """Log an operator out everywhere: its sessions and open streams end at once."""
    reply = ctx.call(
        ctx.client().operators.RevokeSessions,
        control_pb2.RevokeSessionsRequest(operator_id=operator_id),
    )
    ctx.out(reply, lambda: f"Revoked {reply.revoked} session(s) of {operator_id}")


@operator.command("delete")
@click.argument("operator_id")
@pass_ctx
def operator_delete(ctx: Ctx, operator_id: str) -> None:
    """Delete an operator: it is logged out everywhere, its open chats follow
    each department's offline rule at once, and its email is free again. Its
    chats keep its name. (To keep the record, disable it: operator set --disabled.)"""
    ctx.call(
        ctx.client().operators.DeleteOperator,
        control_pb2.DeleteOperatorRequest(operator_id=operator_id),
    )
    click.echo(f"Deleted operator {operator_id}")


@click.group()
def role() -> None:
    """Roles: built-in (owner, admin, operator) and the account's own."""


@role.command("create")
@click.argument("name")
@click.option(
    "--permission",
    "perms",
    multiple=True,
    required=True,
    help="A permission the role holds (repeatable; parley role list shows them)",
)
@pass_ctx
def role_create(ctx: Ctx, name: str, perms: tuple[str, ...]) -> None:
    """Create a custom role, e.g. a trainee who may chat only."""
    r = ctx.create(
        ctx.client().roles.CreateRole,
        control_pb2.CreateRoleRequest(role=control_pb2.Role(name=name, permissions=list(perms))),
    )
    ctx.out(r, lambda: f"Created role {r.name}: {', '.join(r.permissions)}")


@role.command("update")
@click.argument("name")
@click.option(
    "--permission",
    "perms",
    multiple=True,
    required=True,
    help="A permission the role holds from now on (repeatable; replaces the old ones)",
)
@pass_ctx
def role_update(ctx: Ctx, name: str, perms: tuple[str, ...]) -> None:
    """Change a custom role's permissions; its holders' sessions follow at once."""
    r = ctx.call(
        ctx.client().roles.UpdateRole,
        control_pb2.UpdateRoleRequest(
            role=control_pb2.Role(name=name, permissions=list(perms)),
            update_mask=mask(["permissions"]),
        ),
    )
    ctx.out(r, lambda: f"Updated role {r.name}: {', '.join(r.permissions)}")


@role.command("list")
@pass_ctx
def role_list(ctx: Ctx) -> None:
    """List roles and their permissions."""
    reply = ctx.list(ctx.client().roles.ListRoles, control_pb2.ListRolesRequest(), "roles")
    ctx.out_table(
        reply,
        reply.roles,
        lambda r: (
            r.name,
            "built in" if r.builtin else "custom",
            # A role holds up to thirty permissions: wrapped, the table stays
            # within a terminal's width.
            "\n".join(textwrap.wrap(", ".join(r.permissions), 60)) or "-",
        ),
        ("ROLE", "KIND", "PERMISSIONS"),
    )


@role.command("show")
@click.argument("name")
@pass_ctx
def role_show(ctx: Ctx, name: str) -> None:
    """Show one role and its permissions."""
    r = ctx.call(ctx.client().roles.GetRole, control_pb2.GetRoleRequest(name=name))
    ctx.out(
        r,
        lambda: fields_table(
            (
                ("role", r.name),
                ("kind", "built in" if r.builtin else "custom"),
                ("permissions", "\n".join(textwrap.wrap(", ".join(r.permissions), 60))),
            )
        ),
    )


@role.command("delete")
@click.argument("name")
@pass_ctx
def role_delete(ctx: Ctx, name: str) -> None:
    """Delete a custom role: refused (in_use) while operators hold it."""
    ctx.call(
        ctx.client().roles.DeleteRole,
        control_pb2.DeleteRoleRequest(name=name),
    )
    click.echo(f"Deleted role {name}")
