"""Custom roles: a trainee who may chat but not see or change the setup."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import orjson
import pytest
from click.testing import CliRunner

from control.cli import main
from parley.v1 import control_pb2
from tests.integration.helpers import Operator, Visitor, owner, running, visitor_url


async def test_a_trainee_role(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        assert app.demo is not None and app.owner is not None
        env = {
            "PARLEY_CONFIG_DIR": str(tmp_path / "cfg"),
            "PARLEY_SERVER": f"127.0.0.1:{app.grpc_port}",
        }
        runner = CliRunner()

        async def cli(*args: str) -> tuple[int, str]:
            r = await asyncio.to_thread(runner.invoke, main, list(args), env=env)
            return r.exit_code, r.output

        assert (
            await cli("login", "--email", app.owner["email"], "--password", app.owner["password"])
        )[0] == 0
        code, out = await cli("role", "create", "trainee", "--permission", "chat")
        assert code == 0, out
        code, out = await cli("role", "create", "trainee", "--permission", "chat")
        assert code == 1 and "already_exists" in out
        code, out = await cli("role", "create", "admin", "--permission", "chat")
        assert code == 1 and "already_exists" in out
        code, out = await cli("role", "create", "wizard", "--permission", "fly")
        assert code == 1 and "unknown_permission" in out
        code, out = await cli("role", "create", "Bad Name!", "--permission", "chat")
        assert code == 1 and "role name" in out
        code, out = await cli("--json", "role", "list")
        roles = {r["name"]: r for r in orjson.loads(out)["roles"]}
        assert roles["trainee"]["permissions"] == ["chat", "self"]
        assert "builtin" not in roles["trainee"] and roles["owner"]["builtin"]
        code, out = await cli(
            "operator",
            "add",
            "--email",
            "tim@parley.local",
            "--name",
            "Tim",
            "--password",
            "trainee-pass",
            "--role",
            "trainee",
            "--department",
            app.demo["department"],
        )
        assert code == 0, out
        code, out = await cli(
            "operator",
            "add",
            "--email",
            "x@parley.local",
            "--name",
            "X",
            "--password",
            "whatever-1",
            "--role",
            "ghost",
        )
        assert code == 1 and "unknown_role" in out

        tim = await Operator(app).login("tim@parley.local", "trainee-pass")
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await tim.api.operators.ListOperators(
                control_pb2.ListOperatorsRequest(), metadata=tim.metadata
            )
        assert info.value.code() is grpc.StatusCode.PERMISSION_DENIED
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await tim.api.roles.ListRoles(control_pb2.ListRolesRequest(), metadata=tim.metadata)
        assert info.value.code() is grpc.StatusCode.PERMISSION_DENIED
        await tim.open()  # the trainee may chat
        v = await Visitor(visitor_url(app)).connect()
        await v.hello()
        v.send({"type": "msg", "cid": "1", "text": "hello trainee"})
        assert (await tim.recv("message")).text == "hello trainee"
        await tim.close()


async def test_no_one_grants_more_than_they_hold(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        boss = await owner(app)
        await boss.api.roles.CreateRole(
            control_pb2.CreateRoleRequest(
                role=control_pb2.Role(
                    name="lead", permissions=["chat", "manage_roles", "manage_operators"]
                )
            ),
            metadata=boss.metadata,
        )
        await boss.api.operators.CreateOperator(
            control_pb2.CreateOperatorRequest(
                operator=control_pb2.Operator(
                    email="lea@parley.local", display_name="Lea", role="lead"
                ),
                password="lead-password",
            ),
            metadata=boss.metadata,
        )
        lea = await Operator(app).login("lea@parley.local", "lead-password")
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await lea.api.roles.CreateRole(
                control_pb2.CreateRoleRequest(
                    role=control_pb2.Role(name="sneaky", permissions=["manage_sites"])
                ),
                metadata=lea.metadata,
            )
        assert info.value.code() is grpc.StatusCode.PERMISSION_DENIED
        await lea.api.roles.CreateRole(
            control_pb2.CreateRoleRequest(
                role=control_pb2.Role(name="helper", permissions=["chat"])
            ),
            metadata=lea.metadata,
        )
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await lea.api.operators.CreateOperator(
                control_pb2.CreateOperatorRequest(
                    operator=control_pb2.Operator(
                        email="ad2@parley.local", display_name="Ad", role="admin"
                    ),
                    password="admin-pass-2",
                ),
                metadata=lea.metadata,
            )
        assert info.value.code() is grpc.StatusCode.PERMISSION_DENIED
        await lea.api.operators.CreateOperator(
            control_pb2.CreateOperatorRequest(
                operator=control_pb2.Operator(
                    email="hel@parley.local", display_name="Hel", role="helper"
                ),
                password="helper-pass",
            ),
            metadata=lea.metadata,
        )
        await asyncio.gather(boss.close(), lea.close())
