"""Offboarding an operator through the real server: disabled or deleted, its
open chats follow the department's offline rule at once, its history keeps its
name, and its email is free only once it is deleted."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from engine.chat import account
from engine.chat.auth import Principal
from engine.chat.messages import GetOperatorState
from engine.errors import FailedPrecondition
from engine.runtime import FakeClock
from parley.v1 import control_pb2, operator_pb2
from tests.control.test_cli import cli
from tests.integration.helpers import Operator, owner, running, settled
from tests.integration.test_routing import chat_up, staff


async def offline_rule(boss: Operator, department_id: str, action: str) -> None:
    """The department's rule, with a delay far longer than any test waits."""
    await boss.api.departments.UpdateDepartment(
        control_pb2.UpdateDepartmentRequest(
            department=control_pb2.Department(
                id=department_id, offline_action=action, offline_seconds=900
            ),
            update_mask=FieldMask(paths=["offline_action", "offline_seconds"]),
        ),
        metadata=boss.metadata,
    )


async def refused(call: object, code: grpc.StatusCode) -> str:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call  # type: ignore[misc]
    assert info.value.code() is code, info.value.details()
    return str(info.value.details())


async def test_a_disabled_operators_chats_are_forwarded_at_once(tmp_path: Path) -> None:
    clock = FakeClock()  # never moved: nothing waits for offline_seconds
    async with running(tmp_path, clock=clock) as app:
        assert app.demo is not None
        boss = await owner(app)
        await offline_rule(boss, app.demo["department"], "forward")
        ana = await staff(app, boss, "Ana", max_chats=1)
        _v, conv = await chat_up(app)
        assert (await ana.recv("assigned")).conversation_id == conv
        ben = await staff(app, boss, "Ben", max_chats=1)
        await boss.api.operators.UpdateOperator(
            control_pb2.UpdateOperatorRequest(
                operator=control_pb2.Operator(id=ana.id, disabled=True),
                update_mask=FieldMask(paths=["disabled"]),
            ),
            metadata=boss.metadata,
        )
        assert (await ben.recv("assigned")).conversation_id == conv
        # Disabled, its email stays taken.
        detail = await refused(
            boss.api.operators.CreateOperator(
                control_pb2.CreateOperatorRequest(
                    operator=control_pb2.Operator(email="ana@routing.test", display_name="Ana 2"),
                    password="another password",
                ),
                metadata=boss.metadata,
            ),
            grpc.StatusCode.ALREADY_EXISTS,
        )
        assert "already_exists" in detail
        for client in (boss, ana, ben):
            await client.close()


async def test_a_chat_on_hold_follows_the_rule_too(tmp_path: Path) -> None:
    async with running(tmp_path, clock=FakeClock()) as app:
        assert app.demo is not None and app.engine is not None
        boss = await owner(app)
        await offline_rule(boss, app.demo["department"], "forward")
        ana = await staff(app, boss, "Ana", max_chats=1)
        _v, conv = await chat_up(app)
        assert (await ana.recv("assigned")).conversation_id == conv
        ana.send_commands(
            operator_pb2.OperatorCommand(
                action=operator_pb2.ChatAction(conversation_id=conv, chat_status="on_hold")
            )
        )
        await settled(app, ana)
        state = await app.engine.system.ref("operator", ana.id).ask(GetOperatorState())
        assert state.extra == (conv,)  # on hold: not counted
        ben = await staff(app, boss, "Ben", max_chats=1)
        await boss.api.operators.DeleteOperator(
            control_pb2.DeleteOperatorRequest(operator_id=ana.id), metadata=boss.metadata
        )
        assert (await ben.recv("assigned")).conversation_id == conv
        for client in (boss, ana, ben):
            await client.close()


async def test_a_deleted_operator_leaves_its_name_and_frees_its_email(tmp_path: Path) -> None:
    clock = FakeClock()
    async with running(tmp_path, clock=clock) as app:
        assert app.demo is not None and app.engine is not None
        boss = await owner(app)
        await offline_rule(boss, app.demo["department"], "close")
        ana = await staff(app, boss, "Ana", max_chats=1)
        v, conv = await chat_up(app)
        assert (await ana.recv("assigned")).conversation_id == conv
        ana.say(conv, "a1", "Hello, Ana here")
        await ana.recv("ack")
        await boss.api.operators.DeleteOperator(
            control_pb2.DeleteOperatorRequest(operator_id=ana.id), metadata=boss.metadata
        )
        assert (await v.recv("closed"))["conversation"] == conv
        listed = await boss.api.operators.ListOperators(
            control_pb2.ListOperatorsRequest(), metadata=boss.metadata
        )
        assert ana.id not in {o.id for o in listed.operators}
        transcript = await boss.api.conversations.ListMessages(
            control_pb2.ListMessagesRequest(conversation_id=conv), metadata=boss.metadata
        )
        assert [m.author_name for m in transcript.messages if m.text == "Hello, Ana here"] == [
            "Ana"
        ]
        # Its sessions are gone; its email is free for a new operator.
        await refused(
            Operator(app).login("ana@routing.test", "a long password"),
            grpc.StatusCode.UNAUTHENTICATED,
        )
        again = await boss.api.operators.CreateOperator(
            control_pb2.CreateOperatorRequest(
                operator=control_pb2.Operator(email="ana@routing.test", display_name="Ana again"),
                password="a new password",
            ),
            metadata=boss.metadata,
        )
        assert again.id != ana.id
        await refused(
            boss.api.operators.DeleteOperator(
                control_pb2.DeleteOperatorRequest(operator_id=ana.id), metadata=boss.metadata
            ),
            grpc.StatusCode.NOT_FOUND,
        )
        for client in (boss, ana):
            await client.close()
        await v.close()


async def test_a_kept_chat_stays_and_a_refused_delete_changes_nothing(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        assert app.demo is not None and app.engine is not None and app.owner is not None
        boss = await owner(app)
        me = boss_id = (
            await boss.api.auth.GetMe(control_pb2.GetMeRequest(), metadata=boss.metadata)
        ).id
        detail = await refused(
            boss.api.operators.DeleteOperator(
                control_pb2.DeleteOperatorRequest(operator_id=me), metadata=boss.metadata
            ),
            grpc.StatusCode.PERMISSION_DENIED,
        )
        assert "yourself" in detail
        # An admin may not delete an owner, nor one holding what it lacks.
        adm = await staff(app, boss, "Adm", role="admin", online=False)
        await refused(
            adm.api.operators.DeleteOperator(
                control_pb2.DeleteOperatorRequest(operator_id=boss_id), metadata=adm.metadata
            ),
            grpc.StatusCode.PERMISSION_DENIED,
        )
        assert boss_id in app.engine.directory.operators
        await boss.api.auth.GetMe(
            control_pb2.GetMeRequest(), metadata=boss.metadata
        )  # its session still works
        # The last enabled owner stays, whoever asks (the engine's own rule).
        as_owner = Principal(
            adm.id, app.engine.directory.operators[adm.id].account_id, "owner", b""
        )
        with pytest.raises(FailedPrecondition) as info:
            await account.delete_operator(app.engine, as_owner, boss_id)
        assert info.value.code == "last_owner"
        assert boss_id in app.engine.directory.operators
        # A department that keeps an offline operator's chats keeps a deleted one's.
        ana = await staff(app, boss, "Ana", max_chats=1)
        v, conv = await chat_up(app)
        assert (await ana.recv("assigned")).conversation_id == conv
        r = await cli(app, tmp_path, "login", "--email", app.owner["email"], "--password",
                      app.owner["password"])  # fmt: skip
        assert r.exit_code == 0, r.output
        r = await cli(app, tmp_path, "operator", "delete", ana.id)
        assert r.exit_code == 0 and f"Deleted operator {ana.id}" in r.output, r.output
        await settled(app, v)
        assert "closed" not in {f["type"] for f in v.frames()}
        r = await cli(app, tmp_path, "operator", "delete", ana.id)
        assert r.exit_code != 0 and "unknown_operator" in r.output, r.output
        for client in (boss, adm, ana):
            await client.close()
        await v.close()
