"""Accounts, for the server administrator: create one with its owner, list,
suspend, resume and delete them.

Each account is a customer of the server, with its own sites, operators and
chats; the server administrator (made at the first start, its password in
``admin-credentials.json`` of the data directory) manages the accounts and
sees nothing inside them. A new account's owner gets a one-time password,
printed once here.
"""

from __future__ import annotations

import click

from control.cli.common import Ctx, pass_ctx
from parley.v1 import common_pb2, control_pb2


@click.group()
def account() -> None:
    """Accounts (the server administrator's): each with its owner."""


@account.command("create")
@click.argument("name")
@click.option("--owner-email", required=True, help="The new account's owner logs in with this")
@pass_ctx
def account_create(ctx: Ctx, name: str, owner_email: str) -> None:
    """Create an account and its owner; print the owner's one-time password."""
    reply = ctx.call(
        ctx.client().control.CreateAccount,
        control_pb2.CreateAccountRequest(name=name, owner_email=owner_email),
    )
    ctx.out(
        reply,
        lambda: (
            f"Created account {reply.account.name} with id {reply.account.id}\n"
            f"Owner: {reply.owner_email} / {reply.owner_password} (shown once)"
        ),
    )


@account.command("list")
@pass_ctx
def account_list(ctx: Ctx) -> None:
    """List the accounts."""
    reply = ctx.call(ctx.client().control.ListAccounts, common_pb2.Empty())
    ctx.out_table(
        reply,
        reply.accounts,
        lambda a: (a.id, a.name, "suspended" if a.suspended else "active", a.sites, a.operators),
        ("ID", "NAME", "STATE", "SITES", "OPERATORS"),
    )


@account.command("suspend")
@click.argument("account_id")
@pass_ctx
def account_suspend(ctx: Ctx, account_id: str) -> None:
    """Suspend an account: its visitors and operators are refused, its
    operators' open sessions end, until it is resumed."""
    a = ctx.call(
        ctx.client().control.SuspendAccount, control_pb2.AccountRequest(account_id=account_id)
    )
    ctx.out(a, lambda: f"Suspended account {a.name} ({a.id})")


@account.command("resume")
@click.argument("account_id")
@pass_ctx
def account_resume(ctx: Ctx, account_id: str) -> None:
    """Resume a suspended account: its visitors and operators are let back."""
    a = ctx.call(
        ctx.client().control.ResumeAccount, control_pb2.AccountRequest(account_id=account_id)
    )
    ctx.out(a, lambda: f"Resumed account {a.name} ({a.id})")


@account.command("delete")
@click.argument("account_id")
@pass_ctx
def account_delete(ctx: Ctx, account_id: str) -> None:
    """Delete an account with no site left (refused with in_use otherwise);
    its operators, their sessions, roles and quick replies go with it."""
    ctx.call(ctx.client().control.DeleteAccount, control_pb2.AccountRequest(account_id=account_id))
    click.echo(f"Deleted account {account_id}")
