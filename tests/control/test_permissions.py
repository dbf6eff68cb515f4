"""The permission matrix, generated from the one table: every RPC of every
service in the contract is in the table, and for every built-in role a call
without the permission is refused with PERMISSION_DENIED and a call with it
is not."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import symbol_database

from control.grpc.auth import ME_PERMISSIONS
from control.permissions import ROLE_PERMISSIONS, RPC_CONDITIONAL, RPC_PERMISSIONS, allowed
from engine.chat.permissions import (
    BUILTIN_ROLES,
    CHAT_ACTIONS,
    MANAGE_ACCOUNTS,
    PERMISSIONS,
    SERVER_ROLES,
    TYPING_PREVIEW,
    VIEW_SCOPES,
    check_appoint,
    check_role,
)
from engine.errors import InvalidArgument, PermissionDenied
from parley.v1 import common_pb2, control_pb2, operator_pb2, visitor_pb2
from parley.v1 import control_pb2 as pb
from tests.integration.helpers import error_info, owner, running

FILES = (common_pb2, control_pb2, operator_pb2, visitor_pb2)
REVOKING = {"/parley.v1.Auth/Logout"}  # calls that end the session of their token


def contract_methods() -> dict[str, Any]:
    methods = {}
    for module in FILES:
        for service in module.DESCRIPTOR.services_by_name.values():
            for method in service.methods:
                methods[f"/{service.full_name}/{method.name}"] = method
    return methods


def test_every_rpc_of_the_contract_is_in_the_table() -> None:
    methods = contract_methods()
    assert methods, "no services found"
    missing = sorted(set(methods) - set(RPC_PERMISSIONS))
    assert not missing, f"RPCs without a permission in control/permissions.py: {missing}"
    stale = sorted(set(RPC_PERMISSIONS) - set(methods))
    assert not stale, f"permission table names RPCs the contract lacks: {stale}"


def test_every_permission_in_the_table_belongs_to_some_role() -> None:
    granted = set().union(*ROLE_PERMISSIONS.values())
    needed = {p for p in RPC_PERMISSIONS.values() if p is not None}
    assert needed <= granted


async def call(
    channel: grpc.aio.Channel, method: Any, path: str, token: str
) -> grpc.aio.AioRpcError | None:
    """Call ``path`` with an empty request; the error it ends with, or None.

    A stream the server refuses at once (before reading) can race the
    client's write of the request: grpc's asyncio client then reports its own
    failed write, INTERNAL "Failed execute_batch", over the status the server
    sent (grpc/grpc issue 36066). That is the client library's, not the
    server's answer (the server's INTERNAL names a request id): asked again."""
    for _ in range(3):
        error = await _call(channel, method, path, token)
        if not (
            error is not None
            and error.code() is grpc.StatusCode.INTERNAL
            and 'Failed "execute_batch"' in (error.debug_error_string() or "")
        ):
            break
    return error


async def _call(
    channel: grpc.aio.Channel, method: Any, path: str, token: str
) -> grpc.aio.AioRpcError | None:
    db = symbol_database.Default()
    request_cls = db.GetSymbol(method.input_type.full_name)
    response_cls = db.GetSymbol(method.output_type.full_name)
    metadata = [("authorization", f"Bearer {token}")]
    try:
        async with asyncio.timeout(10):
            if method.client_streaming:
                stub = channel.stream_stream(
                    path,
                    request_serializer=request_cls.SerializeToString,
                    response_deserializer=response_cls.FromString,
                )
                # One batch holding an empty command: an allowed stream answers it
                # (unknown_command); a refused one ends with its status first.
                command_cls = db.GetSymbol(
                    request_cls.DESCRIPTOR.fields_by_name["commands"].message_type.full_name
                )
                stream = stub(iter([request_cls(commands=[command_cls()])]), metadata=metadata)
                try:
                    reply = await stream.read()
                finally:
                    stream.cancel()
                assert reply is not grpc.aio.EOF, f"{path} ended without an answer"
                (event,) = reply.events
                assert event.error.code == "unknown_command", event
                return None
            stub = channel.unary_unary(
                path,
                request_serializer=request_cls.SerializeToString,
                response_deserializer=response_cls.FromString,
            )
            await stub(request_cls(), metadata=metadata)
            return None
    except grpc.aio.AioRpcError as error:
        return error


NOBODY = "nobody"  # a custom role given no permission


async def test_permission_matrix(tmp_path: Path) -> None:
    """Every method of every service, called for real by every built-in role and
    by a custom role holding nothing: refused with PERMISSION_DENIED (and its
    ErrorInfo) exactly where the table says."""
    async with running(tmp_path) as app:
        assert app.demo is not None and app.owner is not None and app.admin is not None
        boss = await owner(app)
        md = boss.metadata
        await boss.api.operators.CreateOperator(
            pb.CreateOperatorRequest(
                operator=pb.Operator(
                    email="admin@parley.local", display_name="Admin", role="admin"
                ),
                password="admin-password",
            ),
            metadata=md,
        )
        await boss.api.roles.CreateRole(
            pb.CreateRoleRequest(role=pb.Role(name=NOBODY, permissions=[])), metadata=md
        )
        await boss.api.operators.CreateOperator(
            pb.CreateOperatorRequest(
                operator=pb.Operator(email="nobody@parley.local", display_name="No", role=NOBODY),
                password="nobody-password",
            ),
            metadata=md,
        )
        logins = {
            "owner": (app.owner["email"], app.owner["password"]),
            "admin": ("admin@parley.local", "admin-password"),
            "operator": (app.demo["email"], app.demo["password"]),
            "server_admin": (app.admin["email"], app.admin["password"]),
            NOBODY: ("nobody@parley.local", "nobody-password"),
        }
        assert set(logins) - {NOBODY} == set(ROLE_PERMISSIONS), "a built-in role has no login"
        methods = contract_methods()
        assert set(methods) == set(RPC_PERMISSIONS)  # and so every method is called below
        failures = []

        # A custom role created with nothing still holds what every role does.
        nothing = check_role(NOBODY, [])

        def holds(role: str, permission: str) -> bool:
            return permission in nothing if role == NOBODY else allowed(role, permission)

        async def login(email: str, password: str) -> str:
            request = pb.LoginRequest(email=email, password=password)
            return str((await boss.api.auth.Login(request)).token)

        async with grpc.aio.insecure_channel(f"127.0.0.1:{app.grpc_port}") as channel:
            for role, (email, password) in logins.items():
                token = await login(email, password)  # one login per role
                for path, method in sorted(methods.items()):
                    permission = RPC_PERMISSIONS[path]
                    # Logout revokes the token it is given: it gets one of its own.
                    own = await login(email, password) if path in REVOKING else token
                    error = await call(channel, method, path, own)
                    status = grpc.StatusCode.OK if error is None else error.code()
                    denied = status is grpc.StatusCode.PERMISSION_DENIED
                    if (permission is None or holds(role, permission)) == denied:
                        failures.append(f"{role} {path}: {status.name}")
                    if denied:
                        assert error is not None
                        info = error_info(error)
                        if (info.domain, info.reason) != ("parley", "PERMISSION_DENIED"):
                            failures.append(f"{role} {path}: {info}")
                    # The shared token still works: no call was judged on a dead one.
                    await boss.api.auth.GetMe(
                        pb.GetMeRequest(), metadata=[("authorization", f"Bearer {token}")]
                    )
        assert not failures, failures
        await boss.close()


@pytest.mark.parametrize("role", sorted(ROLE_PERMISSIONS))
def test_roles_grant_known_permissions_only(role: str) -> None:
    assert ROLE_PERMISSIONS[role] <= PERMISSIONS | {MANAGE_ACCOUNTS}


def test_no_account_role_may_manage_accounts() -> None:
    """Only the server administrator's role holds MANAGE_ACCOUNTS: no built-in
    role of an account, and no custom role (an unknown permission there)."""
    assert all(MANAGE_ACCOUNTS not in held for held in BUILTIN_ROLES.values())
    assert MANAGE_ACCOUNTS not in PERMISSIONS
    with pytest.raises(InvalidArgument):
        check_role("landlord", [MANAGE_ACCOUNTS])
    with pytest.raises(PermissionDenied):
        check_appoint("owner", PERMISSIONS, "server_admin", SERVER_ROLES["server_admin"])


def test_every_permission_gates_something() -> None:
    """Each permission is needed by an RPC (or a part of one), by a chat action of the operator
    session, is a scope of what chats it sees, or is the typing preview (which
    filters events rather than refusing a call)."""
    by_rpc = {p for p in RPC_PERMISSIONS.values() if p is not None}
    by_rpc |= {p for _part, p in RPC_CONDITIONAL.values()}
    by_rpc |= set(ME_PERMISSIONS.values())  # what UpdateMe checks field by field
    by_session = set(CHAT_ACTIONS.values()) | set(VIEW_SCOPES.values()) | {TYPING_PREVIEW}
    assert MANAGE_ACCOUNTS in by_rpc
    assert PERMISSIONS - by_rpc == by_session - by_rpc
