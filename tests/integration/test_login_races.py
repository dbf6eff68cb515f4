"""The login throttle holds under parallel attempts, through the real server:
an attempt is counted before its slow hash, so fifty parallel guesses for one
email get five checks, and a right password among them is refused like the
rest (Login and ChangePassword alike)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import grpc
from argon2 import PasswordHasher

from engine.chat.auth import MAX_FAILURES
from parley.v1 import control_pb2
from tests.integration.helpers import Operator, running

# Slow enough (a few ms a hash) that every attempt arrives before the first
# check ends, as with the production hasher; cheaper than production.
SLOWER = PasswordHasher(time_cost=2, memory_cost=4096, parallelism=1)


def outcome(result: Any) -> str:
    """The refusal's code, or "ok"."""
    if isinstance(result, grpc.aio.AioRpcError):
        return (result.details() or "").split(":")[0]
    assert not isinstance(result, BaseException), result
    return "ok"


async def test_fifty_parallel_logins_get_five_checks(tmp_path: Path) -> None:
    async with running(tmp_path, password_hasher=SLOWER) as app:
        assert app.demo is not None
        op = Operator(app)
        email, right = app.demo["email"], app.demo["password"]
        attempts = [
            op.auth.Login(control_pb2.LoginRequest(email=email, password=f"guess {i}"))
            for i in range(50)
        ]
        attempts.insert(45, op.auth.Login(control_pb2.LoginRequest(email=email, password=right)))
        results = await asyncio.gather(*attempts, return_exceptions=True)
        codes = [outcome(r) for r in results]
        assert set(codes) <= {"bad_credentials", "throttled", "ok"}, codes
        if codes[45] == "ok":
            # The right one was among the first checked (the server decides the
            # order): it got in and cleared the count, so the guesses around it
            # had at most two windows' worth of checks, the rest throttled.
            assert codes.count("bad_credentials") <= 2 * MAX_FAILURES - 1, codes
            assert codes.count("throttled") >= 51 - 2 * MAX_FAILURES, codes
        else:
            checked = codes.count("bad_credentials")
            assert checked <= MAX_FAILURES, codes
            assert codes.count("throttled") >= 51 - MAX_FAILURES, codes
            assert codes[45] == "throttled"


async def test_fifty_parallel_password_changes_get_five_checks(tmp_path: Path) -> None:
    async with running(tmp_path, password_hasher=SLOWER) as app:
        assert app.demo is not None
        op = await Operator(app).login(app.demo["email"], app.demo["password"])
        results = await asyncio.gather(
            *(
                op.auth.ChangePassword(
                    control_pb2.ChangePasswordRequest(
                        current_password=f"guess {i}", new_password="a new long password"
                    ),
                    metadata=op.metadata,
                )
                for i in range(50)
            ),
            return_exceptions=True,
        )
        codes = [outcome(r) for r in results]
        assert codes.count("bad_credentials") <= MAX_FAILURES, codes
        assert codes.count("throttled") >= 50 - MAX_FAILURES, codes
        # The right password waits out the window like a login would.
        (right,) = await asyncio.gather(
            op.auth.ChangePassword(
                control_pb2.ChangePasswordRequest(
                    current_password=app.demo["password"], new_password="a new long password"
                ),
                metadata=op.metadata,
            ),
            return_exceptions=True,
        )
        assert outcome(right) == "throttled"
