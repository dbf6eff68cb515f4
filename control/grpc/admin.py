"""The server administrator's services: Accounts (manage_accounts, which no
account role holds) and Server (the whole server's status, and its backups)."""

from __future__ import annotations

from pathlib import Path

from google.protobuf import empty_pb2

from control import converters
from control.grpc.calls import Ctx, create_once, need, rpc
from control.grpc.masks import changes_of, masked
from control.grpc.paging import page_of
from engine.app import Engine
from engine.chat import account
from engine.chat.auth import Principal
from engine.chat.directory_edits import ACCOUNT_FIELDS
from engine.chat.records import Account
from parley.v1 import control_pb2 as pb
from parley.v1 import control_pb2_grpc as grpc_pb


class AccountsService(grpc_pb.AccountsServicer):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.directory = engine.directory

    def _pb(self, a: Account) -> pb.Account:
        sites = len(self.directory.list_sites(a.id))
        return converters.account_pb(a, sites, len(self.directory.list_operators(a.id)))

    @rpc("Accounts", "GetAccount")
    async def GetAccount(
        self, request: pb.GetAccountRequest, p: Principal, context: Ctx
    ) -> pb.Account:
        return self._pb(self.directory.account(request.account_id))

    @rpc("Accounts", "ListAccounts")
    async def ListAccounts(
        self, request: pb.ListAccountsRequest, p: Principal, context: Ctx
    ) -> pb.ListAccountsResponse:
        page = page_of(request, "accounts", p.account_id)
        accounts, token = page.take(self.directory.list_accounts(), lambda a: (a.id,))
        return pb.ListAccountsResponse(
            accounts=[self._pb(a) for a in accounts], next_page_token=token
        )

    @rpc("Accounts", "CreateAccount")
    async def CreateAccount(
        self, request: pb.CreateAccountRequest, p: Principal, context: Ctx
    ) -> pb.CreateAccountResponse:
        made: dict[str, str] = {}

        async def create() -> Account:
            created, owner, password = await account.create_account(
                self.engine, request.account.name, request.owner_email
            )
            made.update(email=owner.email, password=password)
            return created

        created = await create_once(
            self.engine,
            p,
            "CreateAccount",
            request,
            create,
            lambda a: a.id,
            self.directory.account,
        )
        return pb.CreateAccountResponse(
            account=self._pb(created),
            owner_email=made.get("email", request.owner_email),
            owner_password=made.get("password", ""),
        )

    @rpc("Accounts", "UpdateAccount")
    async def UpdateAccount(
        self, request: pb.UpdateAccountRequest, p: Principal, context: Ctx
    ) -> pb.Account:
        fields = masked(request.update_mask, request.account, ACCOUNT_FIELDS, "account")
        account_id = need(request.account.id, "account.id")
        changes = changes_of(request.account, fields)
        return self._pb(await self.directory.update_account(account_id, changes))

    @rpc("Accounts", "DeleteAccount")
    async def DeleteAccount(
        self, request: pb.DeleteAccountRequest, p: Principal, context: Ctx
    ) -> empty_pb2.Empty:
        await account.delete_account(self.engine, request.account_id)
        return empty_pb2.Empty()

    @rpc("Accounts", "SuspendAccount")
    async def SuspendAccount(
        self, request: pb.SuspendAccountRequest, p: Principal, context: Ctx
    ) -> pb.Account:
        return self._pb(await account.suspend_account(self.engine, request.account_id, True))

    @rpc("Accounts", "ResumeAccount")
    async def ResumeAccount(
        self, request: pb.ResumeAccountRequest, p: Principal, context: Ctx
    ) -> pb.Account:
        return self._pb(await account.suspend_account(self.engine, request.account_id, False))


class ServerService(grpc_pb.ServerServicer):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @rpc("Server", "GetStatus")
    async def GetStatus(
        self, request: pb.GetStatusRequest, p: Principal, context: Ctx
    ) -> pb.ServerStatus:
        return converters.server_status_pb(self.engine.status())

    @rpc("Server", "CreateBackup")
    async def CreateBackup(
        self, request: pb.CreateBackupRequest, p: Principal, context: Ctx
    ) -> pb.Backup:
        path = Path(need(request.path, "path"))
        made = await self.engine.backup(path)
        return pb.Backup(
            path=str(path),
            parley_version=made.parley_version,
            schema_version=made.schema_version,
            commit=made.commit,
            epoch=made.epoch,
            created_ms=made.created_ms,
            sha256=made.sha256,
            size_bytes=made.size,
            files=list(made.files),
        )
