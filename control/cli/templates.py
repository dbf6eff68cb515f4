"""Quick replies: short texts an operator sends by their shortcut.

A quick reply is the operator's own or, with ``--shared``, the whole account's
(editing or deleting a shared one needs ``manage_templates``). Its text may name the
visitor, the operator, the site and the department; the server fills them in
for a conversation, as ``template list --conversation`` shows and the console's
``/q`` sends.
"""

from __future__ import annotations

import click

from control.cli.common import Ctx, mask, pass_ctx, require_some, set_given
from parley.v1 import control_pb2


@click.group()
def template() -> None:
    """Quick replies: the account's (shared) and your own."""


@template.command("add")
@click.argument("shortcut")
@click.argument("text")
@click.option("--shared", is_flag=True, help="For every operator of the account")
@pass_ctx
def template_add(ctx: Ctx, shortcut: str, text: str, shared: bool) -> None:
    """Add a quick reply; TEXT may use {visitor_name}, {operator_name},
    {site_name} and {department_name}."""
    t = ctx.create(
        ctx.client().templates.CreateTemplate,
        control_pb2.CreateTemplateRequest(
            template=control_pb2.Template(shortcut=shortcut, text=text, shared=shared)
        ),
    )
    ctx.out(t, lambda: f"Added /{t.shortcut} with id {t.id}")


@template.command("list")
@click.argument("prefix", default="")
@click.option("--conversation", "conversation_id", default="", help="Fill in its variables")
@pass_ctx
def template_list(ctx: Ctx, prefix: str, conversation_id: str) -> None:
    """The quick replies you can use, whose shortcut starts with PREFIX."""
    reply = ctx.list(
        ctx.client().templates.ListTemplates,
        control_pb2.ListTemplatesRequest(prefix=prefix, conversation_id=conversation_id),
        "templates",
    )
    ctx.out_table(
        reply,
        reply.templates,
        lambda t: (
            t.id,
            "/" + t.shortcut,
            "mine" if t.operator_id else "shared",
            t.rendered or t.text,
        ),
        ("ID", "SHORTCUT", "OWNER", "TEXT"),
    )


@template.command("edit")
@click.argument("template_id")
@click.option("--shortcut", help="Another shortcut")
@click.option("--text", help="Another text (the same variables as 'template add')")
@pass_ctx
def template_edit(ctx: Ctx, template_id: str, shortcut: str | None, text: str | None) -> None:
    """Change a quick reply's shortcut or text (a shared one needs manage_templates)."""
    changes = control_pb2.Template(id=template_id)
    paths = set_given(changes, (("shortcut", shortcut), ("text", text)))
    require_some(paths, "--shortcut and --text")
    t = ctx.call(
        ctx.client().templates.UpdateTemplate,
        control_pb2.UpdateTemplateRequest(template=changes, update_mask=mask(paths)),
    )
    ctx.out(t, lambda: f"Updated /{t.shortcut} ({t.id})")


@template.command("delete")
@click.argument("template_id")
@pass_ctx
def template_delete(ctx: Ctx, template_id: str) -> None:
    """Delete a quick reply (a shared one needs manage_templates)."""
    request = control_pb2.DeleteTemplateRequest(template_id=template_id)
    ctx.call(ctx.client().templates.DeleteTemplate, request)
    click.echo(f"Deleted quick reply {template_id}")
