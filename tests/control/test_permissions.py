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

from control.permissions import ROLE_PERMISSIONS, RPC_CONDITIONAL, RPC_PERMISSIONS, allowed
from engine.chat.permissions import CHAT_ACTIONS, PERMISSIONS, TYPING_PREVIEW, VIEW_SCOPES
from parley.v1 import common_pb2, control_pb2, operator_pb2, visitor_pb2
from tests.integration.helpers import owner, running

FILES = (common_pb2, control_pb2, operator_pb2, visitor_pb2)


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


async def call(channel: grpc.aio.Channel, method: Any, path: str, token: str) -> grpc.StatusCode:
    """Call ``path`` with an empty request; the status it ends with."""
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
                stop = asyncio.Event()

                async def requests() -> Any:
                    await stop.wait()
                    if False:  # pragma: no cover - makes this an async generator
                        yield request_cls()

                stream = stub(requests(), metadata=metadata)
                try:
                    # Allowed streams wait for a command; refused ones end at once.
                    await asyncio.wait_for(stream.read(), 0.5)
                except TimeoutError:
                    return grpc.StatusCode.OK
                finally:
                    stop.set()
                    stream.cancel()
                return grpc.StatusCode.OK
            stub = channel.unary_unary(
                path,
                request_serializer=request_cls.SerializeToString,
                response_deserializer=response_cls.FromString,
            )
            await stub(request_cls(), metadata=metadata)
            return grpc.StatusCode.OK
    except grpc.aio.AioRpcError as error:
        return error.code()


async def test_permission_matrix(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        assert app.demo is not None and app.owner is not None
        boss = await owner(app)
        await boss.control.AddOperator(
            control_pb2.AddOperatorRequest(
                email="admin@parley.local",
                password="admin-password",
                display_name="Admin",
                role="admin",
            ),
            metadata=boss.metadata,
        )
        logins = {
            "owner": (app.owner["email"], app.owner["password"]),
            "admin": ("admin@parley.local", "admin-password"),
            "operator": (app.demo["email"], app.demo["password"]),
        }
        assert set(logins) == set(ROLE_PERMISSIONS), "a built-in role has no login here"
        methods = contract_methods()
        failures = []
        async with grpc.aio.insecure_channel(f"127.0.0.1:{app.grpc_port}") as channel:
            for role, (email, password) in logins.items():
                for path, permission in sorted(RPC_PERMISSIONS.items()):
                    if permission is None:
                        continue
                    # A fresh token per call: Logout revokes the one it is given.
                    reply = await boss.auth.Login(
                        control_pb2.LoginRequest(email=email, password=password)
                    )
                    status = await call(channel, methods[path], path, reply.token)
                    denied = status is grpc.StatusCode.PERMISSION_DENIED
                    if allowed(role, permission) == denied:
                        failures.append(f"{role} {path}: {status.name}")
        assert not failures, failures
        await boss.close()


@pytest.mark.parametrize("role", sorted(ROLE_PERMISSIONS))
def test_roles_grant_known_permissions_only(role: str) -> None:
    assert ROLE_PERMISSIONS[role] <= PERMISSIONS


def test_every_permission_gates_something() -> None:
    """Each permission is needed by an RPC, by a chat action of the operator
    session, is a scope of what chats it sees, or is the typing preview (which
    filters events rather than refusing a call)."""
    by_rpc = {p for p in RPC_PERMISSIONS.values() if p is not None}
    by_rpc |= {p for _part, p in RPC_CONDITIONAL.values()}
    by_session = set(CHAT_ACTIONS.values()) | set(VIEW_SCOPES.values()) | {TYPING_PREVIEW}
    assert PERMISSIONS - by_rpc == by_session - by_rpc
