"""Revocation reaches open streams, through the real server: every way a token
ends (a password reset or changed, sessions revoked, a logout, the operator
disabled, the token's expiry) ends the operator's open streams with
UNAUTHENTICATED and a clear code, and a role changed or edited narrows them at
once: a command that worked is refused afterwards, on the same stream."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from engine.runtime import FakeClock
from parley.v1 import control_pb2, operator_pb2, visitor_pb2
from tests.integration.helpers import Operator, owner, running, settled
from tests.integration.test_chat_actions import act, listed, unlisted
from tests.integration.test_grpc_extras import next_event, visitor_stream
from tests.integration.test_routing import chat_up, staff, update_operator

PASSWORD = "a long password"  # staff()'s


async def ended(op: Operator, code: str, status: grpc.StatusCode) -> None:
    """The stream ends, within a second, with ``status`` and ``code``."""
    with pytest.raises(grpc.aio.AioRpcError) as info:
        async with asyncio.timeout(1.0):
            while True:
                await op.recv(timeout=1.0)
    assert info.value.code() is status, info.value
    assert (info.value.details() or "").startswith(f"{code}:"), info.value.details()


async def login(app: Any, email: str, password: str = PASSWORD) -> Operator:
    return await Operator(app).login(email, password)


def revocations() -> dict[str, Callable[[Any, Operator, Operator], Awaitable[str]]]:
    """Each way to end Ana's token; each returns the code her stream ends with."""

    async def reset(app: Any, boss: Operator, ana: Operator) -> str:
        await boss.api.operators.ResetPassword(
            control_pb2.ResetPasswordRequest(operator_id=ana.id, new_password="a new password"),
            metadata=boss.metadata,
        )
        return "bad_token"

    async def revoke_all(app: Any, boss: Operator, ana: Operator) -> str:
        reply = await boss.api.operators.RevokeSessions(
            control_pb2.RevokeSessionsRequest(operator_id=ana.id), metadata=boss.metadata
        )
        assert reply.revoked == 1
        return "bad_token"

    async def revoke_one(app: Any, boss: Operator, ana: Operator) -> str:
        other = await login(app, "ana@routing.test")
        sessions = await other.auth.ListSessions(
            control_pb2.ListSessionsRequest(), metadata=other.metadata
        )
        (streams,) = [s for s in sessions.sessions if not s.current]
        await other.auth.DeleteSession(
            control_pb2.DeleteSessionRequest(session_id=streams.id), metadata=other.metadata
        )
        return "bad_token"

    async def change_password(app: Any, boss: Operator, ana: Operator) -> str:
        other = await login(app, "ana@routing.test")
        await other.auth.ChangePassword(
            control_pb2.ChangePasswordRequest(
                current_password=PASSWORD, new_password="another long one"
            ),
            metadata=other.metadata,
        )
        return "bad_token"

    async def logout(app: Any, boss: Operator, ana: Operator) -> str:
        await ana.auth.Logout(control_pb2.LogoutRequest(), metadata=ana.metadata)
        return "bad_token"

    async def disable(app: Any, boss: Operator, ana: Operator) -> str:
        await boss.api.operators.UpdateOperator(
            update_operator(ana.id, disabled=True), metadata=boss.metadata
        )
        return "bad_token"  # its sessions revoked; a new login is refused

    return {
        "reset": reset,
        "revoke_all": revoke_all,
        "revoke_one": revoke_one,
        "change_password": change_password,
        "logout": logout,
        "disable": disable,
    }


@pytest.mark.parametrize("path", sorted(revocations()))
async def test_a_revoked_token_ends_the_open_stream(tmp_path: Path, path: str) -> None:
    async with running(tmp_path) as app:
        boss = await owner(app)
        ana = await staff(app, boss, "Ana")
        ana.id = (await ana.auth.GetMe(control_pb2.GetMeRequest(), metadata=ana.metadata)).id
        await ana.round_trip()  # the stream answers
        code = await revocations()[path](app, boss, ana)
        await ended(ana, code, grpc.StatusCode.UNAUTHENTICATED)
        if path == "disable":
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await login(app, "ana@routing.test")
            assert "operator_disabled" in (info.value.details() or "")


async def test_a_visitor_channel_ends_with_its_operator_token(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        assert app.demo is not None
        boss = await owner(app)
        call, outbox = await visitor_stream(app, boss.token)
        outbox.put_nowait(
            visitor_pb2.VisitorCommand(
                hello=visitor_pb2.VisitorHello(site_id=app.demo["site"], name="App user")
            )
        )
        await next_event(call, "welcome")
        await boss.auth.Logout(control_pb2.LogoutRequest(), metadata=boss.metadata)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            async with asyncio.timeout(1.0):
                await next_event(call, "ack")
        assert info.value.code() is grpc.StatusCode.UNAUTHENTICATED
        assert (info.value.details() or "").startswith("bad_token:")
        outbox.put_nowait(None)
        call.cancel()


async def test_the_token_expiry_ends_the_stream(tmp_path: Path) -> None:
    clock = FakeClock()
    async with running(tmp_path, clock=clock) as app:
        boss = await owner(app)
        ana = await staff(app, boss, "Ana")
        await ana.round_trip()
        clock.advance(12 * 3600 - 1)
        await settled(app, ana)  # not yet
        clock.advance(1)
        await ended(ana, "token_expired", grpc.StatusCode.UNAUTHENTICATED)


async def lead_role(boss: Operator, permissions: list[str]) -> None:
    await boss.api.roles.CreateRole(
        control_pb2.CreateRoleRequest(role=control_pb2.Role(name="lead", permissions=permissions)),
        metadata=boss.metadata,
    )


def edit_lead(permissions: list[str]) -> control_pb2.UpdateRoleRequest:
    """The lead role's permissions edited to ``permissions``."""
    return control_pb2.UpdateRoleRequest(
        role=control_pb2.Role(name="lead", permissions=permissions),
        update_mask=FieldMask(paths=["permissions"]),
    )


LEAD = ["chat", "view_department_chats", "join", "accept"]


def narrowings() -> dict[str, Callable[[Operator, Operator], Awaitable[str]]]:
    """Each way to take Bo's sight of his department's chats away: his role
    changed, his custom role's permissions edited, his departments changed.
    Each returns what a join on a chat he no longer sees answers."""

    async def change_role(boss: Operator, bo: Operator) -> str:
        await boss.api.operators.UpdateOperator(
            update_operator(bo.id, role="trainee"), metadata=boss.metadata
        )
        return "permission_denied"

    async def edit_role(boss: Operator, bo: Operator) -> str:
        await boss.api.roles.UpdateRole(edit_lead(["chat"]), metadata=boss.metadata)
        return "permission_denied"

    async def change_departments(boss: Operator, bo: Operator) -> str:
        site = (
            await boss.api.sites.ListSites(control_pb2.ListSitesRequest(), metadata=boss.metadata)
        ).sites[0]
        sales = await boss.api.departments.CreateDepartment(
            control_pb2.CreateDepartmentRequest(
                department=control_pb2.Department(site_id=site.id, name="Sales")
            ),
            metadata=boss.metadata,
        )
        await boss.api.operators.UpdateOperator(
            update_operator(bo.id, department_ids=[sales.id]), metadata=boss.metadata
        )
        return "unknown_conversation"  # out of sight: as a made-up id

    return {
        "change_role": change_role,
        "edit_role": edit_role,
        "change_departments": change_departments,
    }


@pytest.mark.parametrize("path", sorted(narrowings()))
async def test_a_narrowed_role_narrows_the_open_stream(tmp_path: Path, path: str) -> None:
    async with running(tmp_path) as app:
        boss = await owner(app)
        await lead_role(boss, LEAD)
        await boss.api.roles.CreateRole(
            control_pb2.CreateRoleRequest(
                role=control_pb2.Role(name="trainee", permissions=["chat"])
            ),
            metadata=boss.metadata,
        )
        await staff(app, boss, "Ana", max_chats=5)  # takes both chats
        visitors = []
        for i in range(2):
            v, conv = await chat_up(app, f"visitor {i}")
            await v.recv("joined")
            visitors.append((v, conv))
        (_, first), (_, second) = visitors
        bo = await staff(app, boss, "Bo", role="lead", auto_distribution=False)
        bo.id = (await bo.auth.GetMe(control_pb2.GetMeRequest(), metadata=bo.metadata)).id
        await listed(bo, first, "others")
        await listed(bo, second, "others")
        bo.send_commands(act(first, join=operator_pb2.JoinChat()))  # works
        await listed(bo, first, "mine")
        code = await narrowings()[path](boss, bo)
        await unlisted(bo, second)  # out of sight now, at once
        bo.send_commands(act(second, join=operator_pb2.JoinChat()))  # refused now
        refused = await bo.recv("error")
        assert refused.code == code and refused.conversation_id == second
        await settled(app, bo)
        # The chat it is in stays in sight; the stream is still open.
        assert not any(
            kind == "unlisted" and e.conversation_id == first for kind, e in bo.received()
        )
        for v, _ in visitors:
            await v.close()


async def test_losing_the_chat_permission_ends_the_stream(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        boss = await owner(app)
        await lead_role(boss, LEAD)
        bo = await staff(app, boss, "Bo", role="lead")
        await bo.round_trip()
        await boss.api.roles.UpdateRole(edit_lead(["view_config"]), metadata=boss.metadata)
        await ended(bo, "permission_denied", grpc.StatusCode.PERMISSION_DENIED)
