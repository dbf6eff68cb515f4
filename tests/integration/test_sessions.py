"""Self-service passwords, session lists and revocation, and resets by admins."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from parley.v1 import control_pb2
from tests.integration.helpers import Operator, demo_operator, owner, running


async def expect(code: grpc.StatusCode, awaitable: object) -> str:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await awaitable  # type: ignore[misc]
    assert info.value.code() is code, info.value.details()
    return info.value.details() or ""


def update_me(**fields: Any) -> control_pb2.UpdateMeRequest:
    """An UpdateMe of ``fields`` of the caller's own, the mask naming them."""
    return control_pb2.UpdateMeRequest(
        operator=control_pb2.Operator(**fields), update_mask=FieldMask(paths=list(fields))
    )


async def test_change_own_password_and_sessions(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        assert app.demo is not None
        email, old = app.demo["email"], app.demo["password"]
        laptop = await demo_operator(app)
        phone = await demo_operator(app)

        listed = await laptop.auth.ListSessions(
            control_pb2.ListSessionsRequest(), metadata=laptop.metadata
        )
        assert len(listed.sessions) == 2
        assert [s.current for s in listed.sessions].count(True) == 1
        assert all(laptop.token not in s.id and phone.token not in s.id for s in listed.sessions)

        details = await expect(
            grpc.StatusCode.UNAUTHENTICATED,
            laptop.auth.ChangePassword(
                control_pb2.ChangePasswordRequest(current_password="nope", new_password="x" * 12),
                metadata=laptop.metadata,
            ),
        )
        assert "bad_credentials" in details
        details = await expect(
            grpc.StatusCode.INVALID_ARGUMENT,
            laptop.auth.ChangePassword(
                control_pb2.ChangePasswordRequest(current_password=old, new_password="short"),
                metadata=laptop.metadata,
            ),
        )
        assert "weak_password" in details

        await laptop.auth.ChangePassword(
            control_pb2.ChangePasswordRequest(
                current_password=old, new_password="a much better password"
            ),
            metadata=laptop.metadata,
        )
        # The phone's session ended; the laptop's goes on.
        await expect(
            grpc.StatusCode.UNAUTHENTICATED,
            phone.auth.GetMe(control_pb2.GetMeRequest(), metadata=phone.metadata),
        )
        me = await laptop.auth.GetMe(control_pb2.GetMeRequest(), metadata=laptop.metadata)
        assert me.email == email
        await expect(grpc.StatusCode.UNAUTHENTICATED, Operator(app).login(email, old))
        tablet = await Operator(app).login(email, "a much better password")

        listed = await laptop.auth.ListSessions(
            control_pb2.ListSessionsRequest(), metadata=laptop.metadata
        )
        other = next(s.id for s in listed.sessions if not s.current)
        await laptop.auth.DeleteSession(
            control_pb2.DeleteSessionRequest(session_id=other), metadata=laptop.metadata
        )
        await expect(
            grpc.StatusCode.UNAUTHENTICATED,
            tablet.auth.GetMe(control_pb2.GetMeRequest(), metadata=tablet.metadata),
        )
        await expect(
            grpc.StatusCode.NOT_FOUND,
            laptop.auth.DeleteSession(
                control_pb2.DeleteSessionRequest(session_id="0123456789abcdef"),
                metadata=laptop.metadata,
            ),
        )
        for client in (laptop, phone, tablet):
            await client.close()


async def test_reset_by_admin_and_its_limits(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        assert app.demo is not None and app.owner is not None
        boss = await owner(app)
        await boss.api.operators.CreateOperator(
            control_pb2.CreateOperatorRequest(
                operator=control_pb2.Operator(
                    email="ad@parley.local", display_name="Ad", role="admin"
                ),
                password="admin-password",
            ),
            metadata=boss.metadata,
        )
        admin = await Operator(app).login("ad@parley.local", "admin-password")
        victim = await demo_operator(app)

        await admin.api.operators.ResetPassword(
            control_pb2.ResetPasswordRequest(
                operator_id=app.demo["operator"], new_password="reset-by-admin"
            ),
            metadata=admin.metadata,
        )
        await expect(
            grpc.StatusCode.UNAUTHENTICATED,
            victim.auth.GetMe(control_pb2.GetMeRequest(), metadata=victim.metadata),
        )
        again = await Operator(app).login(app.demo["email"], "reset-by-admin")

        me = await boss.auth.GetMe(control_pb2.GetMeRequest(), metadata=boss.metadata)
        details = await expect(
            grpc.StatusCode.PERMISSION_DENIED,
            admin.api.operators.ResetPassword(
                control_pb2.ResetPasswordRequest(operator_id=me.id, new_password="taken over!"),
                metadata=admin.metadata,
            ),
        )
        assert "only an owner may act on an owner" in details
        await expect(
            grpc.StatusCode.NOT_FOUND,
            admin.api.operators.ResetPassword(
                control_pb2.ResetPasswordRequest(
                    operator_id="onosuchone", new_password="whatever1"
                ),
                metadata=admin.metadata,
            ),
        )
        await expect(
            grpc.StatusCode.INVALID_ARGUMENT,
            boss.api.operators.ResetPassword(
                control_pb2.ResetPasswordRequest(
                    operator_id=app.demo["operator"], new_password="short"
                ),
                metadata=boss.metadata,
            ),
        )
        for client in (boss, admin, victim, again):
            await client.close()


async def test_api_tokens_for_scripts(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        boss = await owner(app)
        reply = await boss.auth.CreateApiToken(
            control_pb2.CreateApiTokenRequest(name="ci", days=30), metadata=boss.metadata
        )
        assert reply.expires_at_ms > 0 and reply.operator.role == "owner"
        script = [("authorization", f"Bearer {reply.token}")]
        sites = await boss.api.sites.ListSites(control_pb2.ListSitesRequest(), metadata=script)
        assert len(sites.sites) == 1
        listed = await boss.auth.ListSessions(
            control_pb2.ListSessionsRequest(), metadata=boss.metadata
        )
        named = [s for s in listed.sessions if s.name == "ci"]
        assert len(named) == 1 and named[0].expires_at_ms == reply.expires_at_ms
        await boss.auth.DeleteSession(
            control_pb2.DeleteSessionRequest(session_id=named[0].id), metadata=boss.metadata
        )
        await expect(
            grpc.StatusCode.UNAUTHENTICATED,
            boss.api.sites.ListSites(control_pb2.ListSitesRequest(), metadata=script),
        )
        for bad in (
            control_pb2.CreateApiTokenRequest(name="", days=5),
            control_pb2.CreateApiTokenRequest(name="x" * 65, days=5),
            control_pb2.CreateApiTokenRequest(name="long", days=366),
        ):
            await expect(
                grpc.StatusCode.INVALID_ARGUMENT,
                boss.auth.CreateApiToken(bad, metadata=boss.metadata),
            )
        await boss.close()


async def test_own_display_name_and_avatar(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        boss = await owner(app)
        op = await demo_operator(app)
        me = await op.auth.UpdateMe(update_me(display_name="  Nina  "), metadata=op.metadata)
        assert me.display_name == "Nina"
        me = await op.auth.UpdateMe(
            update_me(avatar_url="https://cdn.example/nina.png"), metadata=op.metadata
        )
        assert me.avatar_url == "https://cdn.example/nina.png" and me.display_name == "Nina"
        for bad in (
            "http://cdn.example/x.png",
            "javascript:alert(1)",
            "https://" + "a" * 600,
            "https://user@cdn.example/x.png",
        ):
            await expect(
                grpc.StatusCode.INVALID_ARGUMENT,
                op.auth.UpdateMe(update_me(avatar_url=bad), metadata=op.metadata),
            )
        await expect(
            grpc.StatusCode.INVALID_ARGUMENT,
            op.auth.UpdateMe(update_me(display_name="   "), metadata=op.metadata),
        )
        me = await op.auth.UpdateMe(update_me(avatar_url=""), metadata=op.metadata)
        assert me.avatar_url == ""
        # A role without change_display_name may not rename itself.
        await boss.api.roles.CreateRole(
            control_pb2.CreateRoleRequest(
                role=control_pb2.Role(name="quiet", permissions=["chat"])
            ),
            metadata=boss.metadata,
        )
        await boss.api.operators.CreateOperator(
            control_pb2.CreateOperatorRequest(
                operator=control_pb2.Operator(
                    email="q@parley.local", display_name="Q", role="quiet"
                ),
                password="quiet-pass",
            ),
            metadata=boss.metadata,
        )
        q = await Operator(app).login("q@parley.local", "quiet-pass")
        await expect(
            grpc.StatusCode.PERMISSION_DENIED,
            q.auth.UpdateMe(update_me(display_name="Queen"), metadata=q.metadata),
        )
        await q.auth.UpdateMe(
            update_me(avatar_url="https://cdn.example/q.png"), metadata=q.metadata
        )
        for client in (boss, op, q):
            await client.close()


async def test_internal_name_for_colleagues(tmp_path: Path) -> None:
    """The name colleagues see, apart from the one visitors see: set by the
    operator itself, or by who manages operators; empty means the display name."""
    async with running(tmp_path) as app:
        assert app.demo is not None
        boss = await owner(app)
        op = await demo_operator(app)
        me = await op.auth.GetMe(control_pb2.GetMeRequest(), metadata=op.metadata)
        assert me.internal_name == ""
        me = await op.auth.UpdateMe(update_me(internal_name="  Nina (L2)  "), metadata=op.metadata)
        assert (me.internal_name, me.display_name) == ("Nina (L2)", "Demo operator")
        await expect(
            grpc.StatusCode.INVALID_ARGUMENT,
            op.auth.UpdateMe(update_me(internal_name="x" * 201), metadata=op.metadata),
        )
        listed = await boss.api.operators.ListOperators(
            control_pb2.ListOperatorsRequest(), metadata=boss.metadata
        )
        assert {o.id: o.internal_name for o in listed.operators}[me.id] == "Nina (L2)"
        changed = await boss.api.operators.UpdateOperator(
            control_pb2.UpdateOperatorRequest(
                operator=control_pb2.Operator(id=me.id, internal_name="Nina B."),
                update_mask=FieldMask(paths=["internal_name"]),
            ),
            metadata=boss.metadata,
        )
        assert (changed.internal_name, changed.display_name) == ("Nina B.", "Demo operator")
        made = await boss.api.operators.CreateOperator(
            control_pb2.CreateOperatorRequest(
                operator=control_pb2.Operator(
                    email="kim@parley.local", display_name="Kim", internal_name="Kim (sales)"
                ),
                password="kim-password",
            ),
            metadata=boss.metadata,
        )
        assert made.internal_name == "Kim (sales)"
        # A colleague without manage_operators may not rename another.
        await expect(
            grpc.StatusCode.PERMISSION_DENIED,
            op.api.operators.UpdateOperator(
                control_pb2.UpdateOperatorRequest(
                    operator=control_pb2.Operator(id=made.id, internal_name="K"),
                    update_mask=FieldMask(paths=["internal_name"]),
                ),
                metadata=op.metadata,
            ),
        )
        # Kept across a restart of the record (stored with the operator).
        again = app.engine.directory.operator(me.id)
        assert again.internal_name == "Nina B."
        for client in (boss, op):
            await client.close()
