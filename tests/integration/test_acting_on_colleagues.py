"""A narrow custom role never takes over a wider one, through the real server:
every action on another operator (reset its password, update it, change its
role, revoke its sessions, disable it) is allowed only when the target's
permissions are all the caller's own, the rule CreateOperator uses; and one's own
password is changed with the current one, never reset."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from parley.v1 import control_pb2
from tests.integration.helpers import Operator, owner, running
from tests.integration.test_routing import update_operator

Action = Callable[[Operator, str], Awaitable[Any]]


def actions() -> dict[str, Action]:
    def reset(hr: Operator, target: str) -> Awaitable[Any]:
        return hr.api.operators.ResetPassword(
            control_pb2.ResetPasswordRequest(operator_id=target, new_password="taken over!"),
            metadata=hr.metadata,
        )

    def update(hr: Operator, target: str) -> Awaitable[Any]:
        return hr.api.operators.UpdateOperator(
            update_operator(target, max_chats=0), metadata=hr.metadata
        )

    def change_role(hr: Operator, target: str) -> Awaitable[Any]:
        return hr.api.operators.UpdateOperator(
            update_operator(target, role="hr"), metadata=hr.metadata
        )

    def revoke(hr: Operator, target: str) -> Awaitable[Any]:
        return hr.api.operators.RevokeSessions(
            control_pb2.RevokeSessionsRequest(operator_id=target), metadata=hr.metadata
        )

    def disable(hr: Operator, target: str) -> Awaitable[Any]:
        return hr.api.operators.UpdateOperator(
            update_operator(target, disabled=True), metadata=hr.metadata
        )

    return {
        "reset": reset,
        "update": update,
        "change_role": change_role,
        "revoke": revoke,
        "disable": disable,
    }


async def add(boss: Operator, email: str, role: str) -> str:
    op = await boss.api.operators.CreateOperator(
        control_pb2.CreateOperatorRequest(
            operator=control_pb2.Operator(email=email, display_name=email[:3], role=role),
            password="a long password",
        ),
        metadata=boss.metadata,
    )
    return str(op.id)


async def refused(call: Awaitable[Any]) -> str:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    assert info.value.code() is grpc.StatusCode.PERMISSION_DENIED, info.value
    return info.value.details() or ""


@pytest.mark.parametrize("action", sorted(actions()))
async def test_a_narrow_role_acts_only_on_roles_within_its_own(tmp_path: Path, action: str) -> None:
    async with running(tmp_path) as app:
        assert app.demo is not None
        boss = await owner(app)
        me = await boss.auth.GetMe(control_pb2.GetMeRequest(), metadata=boss.metadata)
        for name, perms in (("hr", ["manage_operators"]), ("greeter", [])):
            await boss.api.roles.CreateRole(
                control_pb2.CreateRoleRequest(role=control_pb2.Role(name=name, permissions=perms)),
                metadata=boss.metadata,
            )
        await add(boss, "hr@parley.local", "hr")
        admin = await add(boss, "admin@parley.local", "admin")
        greeter = await add(boss, "greeter@parley.local", "greeter")
        hr = await Operator(app).login("hr@parley.local", "a long password")
        do = actions()[action]
        # An owner, an admin, even a plain operator hold what hr lacks.
        assert "only an owner may act on an owner" in await refused(do(hr, me.id))
        assert "holds more than yours" in await refused(do(hr, admin))
        assert "holds more than yours" in await refused(do(hr, app.demo["operator"]))
        # Nothing changed: the owner still logs in with its password, the
        # operator still has its limit.
        await owner(app)
        listed = await boss.api.operators.ListOperators(
            control_pb2.ListOperatorsRequest(), metadata=boss.metadata
        )
        assert {o.id: (o.max_chats, o.role, o.disabled) for o in listed.operators}[admin] == (
            5,
            "admin",
            False,
        )
        # A role holding nothing beyond hr's own (only "self") is within reach.
        await do(hr, greeter)


async def test_ones_own_password_is_changed_with_the_current_one(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        boss = await owner(app)
        await add(boss, "admin@parley.local", "admin")
        admin = await Operator(app).login("admin@parley.local", "a long password")
        me = await admin.auth.GetMe(control_pb2.GetMeRequest(), metadata=admin.metadata)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await admin.api.operators.ResetPassword(
                control_pb2.ResetPasswordRequest(operator_id=me.id, new_password="no current!"),
                metadata=admin.metadata,
            )
        assert info.value.code() is grpc.StatusCode.PERMISSION_DENIED
        assert (info.value.details() or "").startswith("own_password:")
        await Operator(app).login("admin@parley.local", "a long password")  # unchanged
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await admin.auth.ChangePassword(
                control_pb2.ChangePasswordRequest(
                    current_password="a wrong one", new_password="a new long one"
                ),
                metadata=admin.metadata,
            )
        assert info.value.code() is grpc.StatusCode.UNAUTHENTICATED
        await admin.auth.ChangePassword(
            control_pb2.ChangePasswordRequest(
                current_password="a long password", new_password="a new long one"
            ),
            metadata=admin.metadata,
        )
        await Operator(app).login("admin@parley.local", "a new long one")


async def test_a_role_is_edited_only_within_the_editors_permissions(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        boss = await owner(app)
        for name, perms in (("roles", ["manage_roles", "chat"]), ("wide", ["chat", "billing"])):
            await boss.api.roles.CreateRole(
                control_pb2.CreateRoleRequest(role=control_pb2.Role(name=name, permissions=perms)),
                metadata=boss.metadata,
            )
        await add(boss, "ro@parley.local", "roles")
        ro = await Operator(app).login("ro@parley.local", "a long password")
        for name, perms in (("wide", ["chat"]), ("roles", ["billing"]), ("admin", ["chat"])):
            await refused(
                ro.api.roles.UpdateRole(
                    control_pb2.UpdateRoleRequest(
                        role=control_pb2.Role(name=name, permissions=perms),
                        update_mask=FieldMask(paths=["permissions"]),
                    ),
                    metadata=ro.metadata,
                )
            )
        roles = await boss.api.roles.ListRoles(
            control_pb2.ListRolesRequest(), metadata=boss.metadata
        )
        assert {r.name: list(r.permissions) for r in roles.roles}["wide"] == [
            "billing",
            "chat",
            "self",
        ]


async def test_nobody_changes_their_own_role_or_disables_themselves(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        boss = await owner(app)
        me = await boss.auth.GetMe(control_pb2.GetMeRequest(), metadata=boss.metadata)
        for request in (
            update_operator(me.id, role="operator"),
            update_operator(me.id, disabled=True),
        ):
            assert "your own role" in await refused(
                boss.api.operators.UpdateOperator(request, metadata=boss.metadata)
            )
        # Its own routing settings it may change.
        await boss.api.operators.UpdateOperator(
            update_operator(me.id, max_chats=3), metadata=boss.metadata
        )
        assert (
            await boss.auth.GetMe(control_pb2.GetMeRequest(), metadata=boss.metadata)
        ).role == "owner"
