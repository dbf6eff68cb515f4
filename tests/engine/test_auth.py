"""Authentication: throttling with an injected clock, tokens, and passwords that
never appear in clear."""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path

import argon2
import pytest
from argon2 import PasswordHasher

from control.runner import ServeConfig
from engine.app import Engine
from engine.chat.auth import FAILURE_WINDOW, MAX_FAILURES_PER_IP, Auth
from engine.chat.directory import Directory
from engine.chat.hashing import GATE
from engine.errors import InvalidArgument, Unauthenticated, Unavailable
from engine.persistence import LmdbStore
from engine.runtime import FakeClock
from tests.conftest import CHEAP_HASHER

SECRET = "correct horse battery staple"


async def make(tmp_path: Path) -> tuple[LmdbStore, Directory, Auth, FakeClock]:
    store = LmdbStore(tmp_path)
    directory = Directory(store, CHEAP_HASHER)
    account = await directory.create_account("acme")
    await directory.add_operator(
        account.id, email="ana@acme.test", password=SECRET, display_name="Ana"
    )
    clock = FakeClock()
    return store, directory, Auth(directory, clock), clock


async def test_sixth_wrong_password_in_a_minute_is_throttled(tmp_path: Path) -> None:
    store, _, auth, clock = await make(tmp_path)
    try:
        for _ in range(5):
            with pytest.raises(Unauthenticated):
                await auth.login("ana@acme.test", "wrong", "10.0.0.1")
        with pytest.raises(Unavailable) as info:
            await auth.login("ana@acme.test", "wrong", "10.0.0.2")
        assert info.value.code == "throttled"
        # Even the right password waits out the window.
        with pytest.raises(Unavailable):
            await auth.login("ANA@acme.test ", SECRET, "10.0.0.3")
        clock.advance(FAILURE_WINDOW + 1)
        token, _, op = await auth.login("ana@acme.test", SECRET, "10.0.0.3")
        assert auth.authenticate(token).operator_id == op.id
    finally:
        store.close()


async def test_one_address_guessing_many_emails_is_throttled(tmp_path: Path) -> None:
    store, _, auth, _ = await make(tmp_path)
    try:
        for i in range(MAX_FAILURES_PER_IP):
            with pytest.raises(Unauthenticated):
                await auth.login(f"user{i}@acme.test", "guess", "192.0.2.7")
        with pytest.raises(Unavailable):
            await auth.login("ana@acme.test", SECRET, "192.0.2.7")
        # Another address is not affected.
        await auth.login("ana@acme.test", SECRET, "192.0.2.8")
    finally:
        store.close()


async def test_tokens_expire_and_can_be_revoked(tmp_path: Path) -> None:
    store, _, auth, clock = await make(tmp_path)
    try:
        token, _, _ = await auth.login("ana@acme.test", SECRET)
        principal = auth.authenticate(token)
        await auth.logout(principal)
        with pytest.raises(Unauthenticated) as info:
            auth.authenticate(token)
        assert info.value.code == "bad_token"
        token, _, _ = await auth.login("ana@acme.test", SECRET)
        clock.advance(13 * 3600)
        with pytest.raises(Unauthenticated) as info:
            auth.authenticate(token)
        assert info.value.code == "token_expired"
        for bad in ("", None, "x" * 5000):
            with pytest.raises(Unauthenticated):
                auth.authenticate(bad)
    finally:
        store.close()


async def test_passwords_never_appear_in_clear(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    store, directory, auth, _ = await make(tmp_path)
    try:
        errors = []
        for attempt in ("wrong-" + SECRET, SECRET + "!"):
            with pytest.raises(Unauthenticated) as info:
                await auth.login("ana@acme.test", attempt)
            errors.append(str(info.value) + repr(info.value))
        with pytest.raises(InvalidArgument) as weak:
            await directory.add_operator(
                directory.operators[next(iter(directory.operators))].account_id,
                email="bo@acme.test",
                password="short",
                display_name="Bo",
            )
        errors.append(str(weak.value))
        op = directory.operator_by_email("ana@acme.test")
        assert op is not None and SECRET not in repr(op)
        assert op.password_hash.startswith("$argon2id$")
    finally:
        store.close()
    data = b"".join(p.read_bytes() for p in (tmp_path / "lmdb").iterdir())
    assert SECRET.encode() not in data
    assert all(SECRET not in e and "short" not in e for e in errors)
    assert SECRET not in caplog.text


async def test_the_engine_hashes_with_argon2_defaults_unless_given_a_hasher(
    tmp_path: Path,
) -> None:
    """Production hashes at the library's defaults; only a hasher passed in
    explicitly (the tests' cheap one) changes the settings."""
    defaults = PasswordHasher()
    engine = Engine(tmp_path / "default")
    try:
        assert ServeConfig().password_hasher is None
        account = await engine.directory.create_account("acme")
        op = await engine.directory.add_operator(
            account.id, email="ana@acme.test", password=SECRET, display_name="Ana"
        )
        params = argon2.extract_parameters(op.password_hash)
        assert (params.time_cost, params.memory_cost, params.parallelism) == (
            defaults.time_cost,
            defaults.memory_cost,
            defaults.parallelism,
        )
    finally:
        await engine.close()
    store, directory, auth, _ = await make(tmp_path / "cheap")
    try:
        op = directory.operator_by_email("ana@acme.test")
        assert op is not None
        assert argon2.extract_parameters(op.password_hash).memory_cost == CHEAP_HASHER.memory_cost
        await auth.login("ana@acme.test", SECRET)
        with pytest.raises(Unauthenticated):
            await auth.login("nobody@acme.test", SECRET)
    finally:
        store.close()


async def test_a_busy_refusal_is_not_counted_as_an_attempt(tmp_path: Path) -> None:
    """When the hash gate is full a login is refused ``busy`` before any check,
    and gives its reserved attempt back: it costs the email nothing."""
    store, _, auth, _ = await make(tmp_path)
    release = threading.Event()
    holders = [asyncio.ensure_future(GATE.run(lambda: release.wait(5))) for _ in range(GATE.limit)]
    try:
        await asyncio.sleep(0)
        for _ in range(10):
            with pytest.raises(Unavailable) as info:
                await auth.login("ana@acme.test", "wrong", "10.0.0.1")
            assert info.value.code == "busy" and info.value.retryable
    finally:
        release.set()
        await asyncio.gather(*holders)
    try:
        for _ in range(4):  # ten busy refusals later, the email still has its five
            with pytest.raises(Unauthenticated):
                await auth.login("ana@acme.test", "wrong", "10.0.0.1")
        await auth.login("ana@acme.test", SECRET, "10.0.0.1")
    finally:
        store.close()
