"""Accounts through the real server: the server administrator (made at the
first start) creates accounts with their owners over the CLI, each owner sees
only its own account; a suspended account's visitors and operators are
refused with ``account_suspended`` and its operators' open streams end at
once, until it is resumed; an account with sites cannot be deleted; and no
account's owner can call the account RPCs."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path
from typing import Any

import grpc
import orjson
import pytest
from click.testing import CliRunner

from control.cli import main
from control.runner import Parley
from parley.v1 import control_pb2
from tests.integration.helpers import Operator, Visitor, owner, running, settled, visitor_url
from tests.integration.test_revocation import ended


async def refused(call: Any, status: grpc.StatusCode) -> str:
    """The call's refusal, with ``status``; its details."""
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    assert info.value.code() is status, info.value
    return info.value.details() or ""


async def server_admin(app: Parley) -> Operator:
    assert app.admin is not None
    return await Operator(app).login(app.admin["email"], app.admin["password"])


async def new_account(app: Parley, admin: Operator, name: str, email: str) -> tuple[str, Operator]:
    """An account made by the server administrator; its id and logged-in owner."""
    reply = await admin.api.accounts.CreateAccount(
        control_pb2.CreateAccountRequest(account=control_pb2.Account(name=name), owner_email=email),
        metadata=admin.metadata,
    )
    assert reply.owner_email == email and len(reply.owner_password) >= 16
    boss = await Operator(app).login(email, reply.owner_password)
    return reply.account.id, boss


async def test_the_server_admin_makes_accounts_and_each_owner_sees_its_own(
    tmp_path: Path,
) -> None:
    async with running(tmp_path) as app:
        assert app.admin is not None and app.owner is not None
        creds = app.config.data_dir / "admin-credentials.json"
        assert stat.S_IMODE(creds.stat().st_mode) == 0o600
        assert orjson.loads(creds.read_bytes()) == app.admin
        env = {
            "PARLEY_CONFIG_DIR": str(tmp_path / "cfg"),
            "PARLEY_SERVER": f"127.0.0.1:{app.grpc_port}",
        }
        runner = CliRunner()

        async def cli(*args: str) -> tuple[int, str]:
            r = await asyncio.to_thread(runner.invoke, main, list(args), env=env)
            return r.exit_code, r.output

        code, out = await cli(
            "login", "--email", app.admin["email"], "--password", app.admin["password"]
        )
        assert code == 0, out
        made = {}
        for name, email in (("Acme", "boss@acme.test"), ("Bolt", "boss@bolt.test")):
            code, out = await cli("--json", "account", "create", name, "--owner-email", email)
            assert code == 0, out
            made[name] = orjson.loads(out)
        code, out = await cli("--json", "account", "list")
        assert code == 0, out
        listed = {a["name"]: a for a in orjson.loads(out)["accounts"]}
        assert set(listed) == {"default", "Acme", "Bolt"}  # never the server's own
        assert listed["Acme"]["id"] == made["Acme"]["account"]["id"]
        code, out = await cli("account", "create", "Acme", "--owner-email", "other@acme.test")
        assert code == 1 and "already_exists" in out
        # The server administrator sees nothing inside an account.
        code, out = await cli("site", "list")
        assert code == 1 and "permission_denied" in out

        owners = {}
        for name, reply in made.items():
            boss = await Operator(app).login(reply["owner_email"], reply["owner_password"])
            me = await boss.auth.GetMe(control_pb2.GetMeRequest(), metadata=boss.metadata)
            assert me.account_id == reply["account"]["id"] and me.role == "owner"
            await boss.api.sites.CreateSite(
                control_pb2.CreateSiteRequest(
                    site=control_pb2.Site(name=f"{name} shop", typing_preview=True)
                ),
                metadata=boss.metadata,
            )
            owners[name] = boss
        for name, boss in owners.items():
            sites = await boss.api.sites.ListSites(
                control_pb2.ListSitesRequest(), metadata=boss.metadata
            )
            assert [s.name for s in sites.sites] == [f"{name} shop"]
            ops = await boss.api.operators.ListOperators(
                control_pb2.ListOperatorsRequest(), metadata=boss.metadata
            )
            assert [o.email for o in ops.operators] == [made[name]["owner_email"]]
            # No owner may call the account RPCs.
            await refused(
                boss.api.accounts.ListAccounts(
                    control_pb2.ListAccountsRequest(), metadata=boss.metadata
                ),
                grpc.StatusCode.PERMISSION_DENIED,
            )
            await refused(
                boss.api.accounts.SuspendAccount(
                    control_pb2.SuspendAccountRequest(account_id=made[name]["account"]["id"]),
                    metadata=boss.metadata,
                ),
                grpc.StatusCode.PERMISSION_DENIED,
            )

        # Emails are global: an address taken in another account gets the same
        # refusal as one taken in the caller's own, naming neither.
        acme = owners["Acme"]

        async def add(email: str) -> str:
            request = control_pb2.CreateOperatorRequest(
                operator=control_pb2.Operator(email=email, display_name="X"),
                password="a long password",
            )
            detail = await refused(
                acme.api.operators.CreateOperator(request, metadata=acme.metadata),
                grpc.StatusCode.ALREADY_EXISTS,
            )
            return detail.replace(email, "EMAIL")

        assert await add("boss@bolt.test") == await add("boss@acme.test")
        for client in owners.values():
            await client.close()


async def test_suspension_refuses_visitors_and_operators_until_resumed(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        admin = await server_admin(app)
        account_id, boss = await new_account(app, admin, "Acme", "boss@acme.test")
        md = boss.metadata
        site = await boss.api.sites.CreateSite(
            control_pb2.CreateSiteRequest(site=control_pb2.Site(name="Shop", typing_preview=True)),
            metadata=md,
        )
        await boss.api.departments.CreateDepartment(
            control_pb2.CreateDepartmentRequest(
                department=control_pb2.Department(site_id=site.id, name="Help")
            ),
            metadata=md,
        )
        reply = await admin.api.accounts.CreateAccount(
            control_pb2.CreateAccountRequest(
                account=control_pb2.Account(name="Bolt"), owner_email="boss@bolt.test"
            ),
            metadata=admin.metadata,
        )
        bolt = await Operator(app).login("boss@bolt.test", reply.owner_password)
        await bolt.open()
        await boss.open()
        await settled(app, boss, bolt)
        before = await Visitor(visitor_url(app, site=site.id)).connect()
        assert (await before.hello())["visitor"]

        await admin.api.accounts.SuspendAccount(
            control_pb2.SuspendAccountRequest(account_id=account_id), metadata=admin.metadata
        )
        # The open stream ends within a second, on the same stream.
        await ended(boss, "account_suspended", grpc.StatusCode.PERMISSION_DENIED)
        # A visitor whose hello came before is refused on its own connection.
        before.send({"type": "msg", "cid": "late", "text": "still there?"})
        late = await before.recv("error")
        assert (late["code"], late.get("cid")) == ("account_suspended", "late"), late
        detail = await refused(
            Operator(app).login("boss@acme.test", "anything at all"),
            grpc.StatusCode.UNAUTHENTICATED,
        )
        assert detail.startswith("bad_credentials:")  # a wrong password says no more
        listed = await admin.api.accounts.ListAccounts(
            control_pb2.ListAccountsRequest(), metadata=admin.metadata
        )
        assert [a.suspended for a in listed.accounts if a.id == account_id] == [True]
        visitor = await Visitor(visitor_url(app, site=site.id)).connect()
        visitor.send({"type": "hello", "v": 1})
        assert (await visitor.recv("error"))["code"] == "account_suspended"
        # Another account goes on: its stream answers and its visitors chat.
        await settled(app, bolt)
        other = await Visitor(visitor_url(app)).connect()
        assert (await other.hello())["visitor"]
        await Operator(app).login("boss@bolt.test", reply.owner_password)  # and logs in

        await admin.api.accounts.ResumeAccount(
            control_pb2.ResumeAccountRequest(account_id=account_id), metadata=admin.metadata
        )
        me = await boss.auth.GetMe(control_pb2.GetMeRequest(), metadata=md)  # its token works again
        assert me.account_id == account_id
        back = await Visitor(visitor_url(app, site=site.id)).connect()
        assert (await back.hello())["visitor"]
        for client in (admin, boss, bolt):
            await client.close()


async def test_a_suspended_owner_is_refused_at_login_with_a_clear_code(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        admin = await server_admin(app)
        reply = await admin.api.accounts.CreateAccount(
            control_pb2.CreateAccountRequest(
                account=control_pb2.Account(name="Acme"), owner_email="boss@acme.test"
            ),
            metadata=admin.metadata,
        )
        await admin.api.accounts.SuspendAccount(
            control_pb2.SuspendAccountRequest(account_id=reply.account.id), metadata=admin.metadata
        )
        detail = await refused(
            Operator(app).login("boss@acme.test", reply.owner_password),
            grpc.StatusCode.PERMISSION_DENIED,
        )
        assert detail.startswith("account_suspended:"), detail
        await admin.close()


async def test_an_account_with_sites_cannot_be_deleted(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        assert app.engine is not None
        admin = await server_admin(app)
        account_id, boss = await new_account(app, admin, "Acme", "boss@acme.test")
        await boss.api.sites.CreateSite(
            control_pb2.CreateSiteRequest(site=control_pb2.Site(name="Shop", typing_preview=True)),
            metadata=boss.metadata,
        )
        request = control_pb2.DeleteAccountRequest(account_id=account_id)
        detail = await refused(
            admin.api.accounts.DeleteAccount(request, metadata=admin.metadata),
            grpc.StatusCode.FAILED_PRECONDITION,
        )
        assert detail.startswith("in_use:") and "1 sites" in detail, detail
        assert account_id in app.engine.directory.accounts  # nothing half-deleted
        await boss.auth.GetMe(control_pb2.GetMeRequest(), metadata=boss.metadata)

        # An account without sites goes, with its owner and its sessions; the
        # owner's email is free again.
        empty_id, empty_boss = await new_account(app, admin, "Empty", "boss@empty.test")
        await admin.api.accounts.DeleteAccount(
            control_pb2.DeleteAccountRequest(account_id=empty_id), metadata=admin.metadata
        )
        await refused(
            empty_boss.auth.GetMe(control_pb2.GetMeRequest(), metadata=empty_boss.metadata),
            grpc.StatusCode.UNAUTHENTICATED,
        )
        listed = await admin.api.accounts.ListAccounts(
            control_pb2.ListAccountsRequest(), metadata=admin.metadata
        )
        assert empty_id not in {a.id for a in listed.accounts}
        again = await admin.api.accounts.CreateAccount(
            control_pb2.CreateAccountRequest(
                account=control_pb2.Account(name="Empty again"), owner_email="boss@empty.test"
            ),
            metadata=admin.metadata,
        )
        assert again.account.id != empty_id
        await refused(
            admin.api.accounts.DeleteAccount(
                control_pb2.DeleteAccountRequest(account_id="a-made-up"), metadata=admin.metadata
            ),
            grpc.StatusCode.NOT_FOUND,
        )
        # An owner that cannot be made leaves no account behind.
        before = len(app.engine.directory.accounts)
        await refused(
            admin.api.accounts.CreateAccount(
                control_pb2.CreateAccountRequest(
                    account=control_pb2.Account(name="Broken"), owner_email="not an email"
                ),
                metadata=admin.metadata,
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
        )
        assert len(app.engine.directory.accounts) == before
        for client in (admin, boss):
            await client.close()


async def test_the_server_admin_survives_a_restart_and_is_made_once(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        assert app.admin is not None
        first = dict(app.admin)
    async with running(tmp_path) as app:
        assert app.admin is None and app.owner is None  # made once, at the first start
        admin = await Operator(app).login(first["email"], first["password"])
        listed = await admin.api.accounts.ListAccounts(
            control_pb2.ListAccountsRequest(), metadata=admin.metadata
        )
        assert [a.name for a in listed.accounts] == ["default"]
        boss = await owner(app)
        me = await boss.auth.GetMe(control_pb2.GetMeRequest(), metadata=boss.metadata)
        assert me.account_id == listed.accounts[0].id
        for client in (admin, boss):
            await client.close()
