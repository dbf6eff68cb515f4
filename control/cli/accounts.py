"""Accounts, for the server administrator: create one with its owner, list, show,
rename, suspend, resume and delete them.

Each account is a customer of the server, with its own sites, operators and
chats; the server administrator (made at the first start, its password in
``admin-credentials.json`` of the data directory) manages the accounts and
sees nothing inside them. A new account's owner gets a one-time password,
printed once here.
"""

from __future__ import annotations

import click

from control.cli.common import Ctx, fields_table, mask, pass_ctx
from parley.v1 import control_pb2


@click.group()
def account() -> None:
    """Accounts (the server administrator's): each with its owner."""


@account.command("create")
@click.argument("name")
@click.option("--owner-email", required=True, help="The new account's owner logs in with this")
@pass_ctx
def account_create(ctx: Ctx, name: str, owner_email: str) -> None:
    """Create an account and its owner; print the owner's one-time password."""
    reply = ctx.create(
        ctx.client().accounts.CreateAccount,
        control_pb2.CreateAccountRequest(
            account=control_pb2.Account(name=name), owner_email=owner_email
        ),
    )
    # A create retried after a dropped link answers without the password: the
    # first try made it, and it is shown once only.
    password = (
        f"{reply.owner_password} (shown once)"
        if reply.owner_password
        else "(its one-time password was in the answer to the first try, which was lost)"
    )
    ctx.out(
        reply,
        lambda: (
            f"Created account {reply.account.name} with id {reply.account.id}\n"
            f"Owner: {reply.owner_email} / {password}"
        ),
    )


@account.command("list")
@pass_ctx
def account_list(ctx: Ctx) -> None:
    """List the accounts."""
    reply = ctx.list(
        ctx.client().accounts.ListAccounts, control_pb2.ListAccountsRequest(), "accounts"
    )
    ctx.out_table(
        reply,
        reply.accounts,
        lambda a: (a.id, a.name, "suspended" if a.suspended else "active", a.sites, a.operators),
        ("ID", "NAME", "STATE", "SITES", "OPERATORS"),
    )


@account.command("show")
@click.argument("account_id")
@pass_ctx
def account_show(ctx: Ctx, account_id: str) -> None:
    """Show one account."""
    a = ctx.call(
        ctx.client().accounts.GetAccount, control_pb2.GetAccountRequest(account_id=account_id)
    )
    ctx.out(
        a,
        lambda: fields_table(
            (
                ("id", a.id),
                ("name", a.name),
                ("state", "suspended" if a.suspended else "active"),
                ("sites", a.sites),
                ("operators", a.operators),
            )
        ),
    )


@account.command("rename")
@click.argument("account_id")
@click.argument("name")
@pass_ctx
def account_rename(ctx: Ctx, account_id: str, name: str) -> None:
    """Give an account another name."""
    a = ctx.call(
        ctx.client().accounts.UpdateAccount,
        control_pb2.UpdateAccountRequest(
            account=control_pb2.Account(id=account_id, name=name), update_mask=mask(["name"])
        ),
    )
    ctx.out(a, lambda: f"Renamed account {a.id} to {a.name}")


@account.command("suspend")
@click.argument("account_id")
@pass_ctx
def account_suspend(ctx: Ctx, account_id: str) -> None:
    """Suspend an account: its visitors and operators are refused, its
    operators' open sessions end, until it is resumed."""
    a = ctx.call(
        ctx.client().accounts.SuspendAccount,
        control_pb2.SuspendAccountRequest(account_id=account_id),
    )
    ctx.out(a, lambda: f"Suspended account {a.name} ({a.id})")


@account.command("resume")
@click.argument("account_id")
@pass_ctx
def account_resume(ctx: Ctx, account_id: str) -> None:
    """Resume a suspended account: its visitors and operators are let back."""
    a = ctx.call(
        ctx.client().accounts.ResumeAccount,
        control_pb2.ResumeAccountRequest(account_id=account_id),
    )
    ctx.out(a, lambda: f"Resumed account {a.name} ({a.id})")


@account.command("delete")
@click.argument("account_id")
@pass_ctx
def account_delete(ctx: Ctx, account_id: str) -> None:
    """Delete an account with no site left (refused with in_use otherwise);
    its operators, their sessions, roles and quick replies go with it."""
    ctx.call(
        ctx.client().accounts.DeleteAccount,
        control_pb2.DeleteAccountRequest(account_id=account_id),
    )
    click.echo(f"Deleted account {account_id}")
