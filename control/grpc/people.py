"""The Operators and Roles services: who works in an account, and what each
may do. Acting on a colleague needs every permission its role holds (the rule
lives in engine/chat/account.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from google.protobuf import empty_pb2

from control import converters
from control.grpc.calls import Ctx, create_once, need, rpc
from control.grpc.masks import changes_of, masked
from control.grpc.paging import page_of
from engine.app import Engine
from engine.chat import account
from engine.chat.auth import Principal
from engine.chat.records import OPERATOR_SETTINGS, Operator
from engine.errors import NotFound
from parley.v1 import control_pb2 as pb
from parley.v1 import control_pb2_grpc as grpc_pb

EMPTY = empty_pb2.Empty
DEFAULT_MAX_CHATS = 5


class OperatorsService(grpc_pb.OperatorsServicer):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.directory = engine.directory

    async def _with_status(self, p: Principal, op: Operator) -> pb.Operator:
        for listed, status in await account.operators_with_status(self.engine, p):
            if listed.id == op.id:
                return converters.operator_pb(listed, status)
        return converters.operator_pb(op)

    @rpc("Operators", "GetOperator")
    async def GetOperator(
        self, request: pb.GetOperatorRequest, p: Principal, context: Ctx
    ) -> pb.Operator:
        return await self._with_status(
            p, self.directory.operator(request.operator_id, p.account_id)
        )

    @rpc("Operators", "ListOperators")
    async def ListOperators(
        self, request: pb.ListOperatorsRequest, p: Principal, context: Ctx
    ) -> pb.ListOperatorsResponse:
        dept = request.department_id
        page = page_of(request, "operators", p.account_id, dept)
        if dept:
            self.directory.department_of_account(dept, p.account_id)
        listed = [
            (op, status)
            for op, status in await account.operators_with_status(self.engine, p)
            if not dept or dept in op.department_ids
        ]
        taken, token = page.take(listed, lambda pair: (pair[0].id,))
        return pb.ListOperatorsResponse(
            operators=[converters.operator_pb(o, status) for o, status in taken],
            next_page_token=token,
        )

    @rpc("Operators", "CreateOperator")
    async def CreateOperator(
        self, request: pb.CreateOperatorRequest, p: Principal, context: Ctx
    ) -> pb.Operator:
        given = request.operator
        max_chats = request.max_chats if request.HasField("max_chats") else DEFAULT_MAX_CHATS
        op = await create_once(
            self.engine,
            p,
            "CreateOperator",
            request,
            lambda: account.add_operator(
                self.engine,
                p,
                email=given.email,
                password=request.password,
                display_name=given.display_name,
                role=given.role or "operator",
                department_ids=list(given.department_ids),
                max_chats=max_chats,
                internal_name=given.internal_name,
            ),
            lambda o: o.id,
            lambda op_id: self.directory.operator(op_id, p.account_id),
        )
        return converters.operator_pb(op)

    @rpc("Operators", "UpdateOperator")
    async def UpdateOperator(
        self, request: pb.UpdateOperatorRequest, p: Principal, context: Ctx
    ) -> pb.Operator:
        given = request.operator
        fields = masked(request.update_mask, given, OPERATOR_SETTINGS, "operator")
        op_id = need(given.id, "operator.id")
        op = await account.update_operator(self.engine, p, op_id, changes_of(given, fields))
        return await self._with_status(p, op)

    @rpc("Operators", "DeleteOperator")
    async def DeleteOperator(
        self, request: pb.DeleteOperatorRequest, p: Principal, context: Ctx
    ) -> empty_pb2.Empty:
        await account.delete_operator(self.engine, p, request.operator_id)
        return EMPTY()

    @rpc("Operators", "ResetPassword")
    async def ResetPassword(
        self, request: pb.ResetPasswordRequest, p: Principal, context: Ctx
    ) -> empty_pb2.Empty:
        await self.engine.auth.reset_password(p, request.operator_id, request.new_password)
        return EMPTY()

    @rpc("Operators", "RevokeSessions")
    async def RevokeSessions(
        self, request: pb.RevokeSessionsRequest, p: Principal, context: Ctx
    ) -> pb.RevokeSessionsResponse:
        revoked = await account.revoke_operator_sessions(self.engine, p, request.operator_id)
        return pb.RevokeSessionsResponse(revoked=revoked)


class RolesService(grpc_pb.RolesServicer):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.directory = engine.directory

    def _role(self, p: Principal, name: str) -> pb.Role:
        for role, perms, builtin in self.directory.list_roles(p.account_id):
            if role == name:
                return pb.Role(name=role, permissions=sorted(perms), builtin=builtin)
        raise NotFound("unknown_role", f"no role {name[:40]!r}", field="name")

    @rpc("Roles", "GetRole")
    async def GetRole(self, request: pb.GetRoleRequest, p: Principal, context: Ctx) -> pb.Role:
        return self._role(p, need(request.name, "name"))

    @rpc("Roles", "ListRoles")
    async def ListRoles(
        self, request: pb.ListRolesRequest, p: Principal, context: Ctx
    ) -> pb.ListRolesResponse:
        page = page_of(request, "roles", p.account_id)
        roles, token = page.take(
            self.directory.list_roles(p.account_id), lambda r: (0 if r[2] else 1, r[0])
        )
        return pb.ListRolesResponse(
            roles=[
                pb.Role(name=name, permissions=sorted(perms), builtin=builtin)
                for name, perms, builtin in roles
            ],
            next_page_token=token,
        )

    @rpc("Roles", "CreateRole")
    async def CreateRole(
        self, request: pb.CreateRoleRequest, p: Principal, context: Ctx
    ) -> pb.Role:
        given = request.role
        name = await create_once(
            self.engine,
            p,
            "CreateRole",
            request,
            self._create(p, given.name, list(given.permissions)),
            lambda role_name: role_name,
            lambda role_name: role_name,
        )
        return self._role(p, name)

    def _create(
        self, p: Principal, name: str, permissions: list[str]
    ) -> Callable[[], Awaitable[str]]:
        async def create() -> str:
            await account.create_role(self.engine, p, name, permissions)
            return name

        return create

    @rpc("Roles", "UpdateRole")
    async def UpdateRole(
        self, request: pb.UpdateRoleRequest, p: Principal, context: Ctx
    ) -> pb.Role:
        masked(request.update_mask, request.role, ("permissions",), "role")
        name = need(request.role.name, "role.name")
        await account.update_role(self.engine, p, name, list(request.role.permissions))
        return self._role(p, name)

    @rpc("Roles", "DeleteRole")
    async def DeleteRole(
        self, request: pb.DeleteRoleRequest, p: Principal, context: Ctx
    ) -> empty_pb2.Empty:
        await account.delete_role(self.engine, p, request.name)
        return EMPTY()
