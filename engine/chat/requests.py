"""Creates that are safe to retry: a client's request id, kept with what it made.

A create called with a request id runs at most once per (account, method,
request id): :func:`once` looks the id up; if a create with it is on record and
the request is the same (its fingerprint), the caller gets the id of what that
create made, and nothing runs; if the request differs, the call is refused
(``request_id_reused``). Otherwise the create runs, and its first write to the
store carries the record (:data:`engine.persistence.lmdb_store.JOIN`), so the
thing and its request id are one commit: a crash leaves both or neither.

Two calls with the same id at once are queued on a lock of that id, so the
second finds the first's record. A record older than :data:`KEPT_MS` is
forgotten (the id may be used again). A create that fails after its first write
(and undoes it, as an account whose owner cannot be made does) takes its record
away with it.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from engine.errors import InvalidArgument
from engine.persistence.codec import SEP
from engine.persistence.lmdb_store import JOIN, LmdbStore
from engine.persistence.schema import REQUESTS, Op

T = TypeVar("T")

KEPT_MS = 7 * 24 * 3600 * 1000
MAX_REQUEST_ID = 64


@dataclass
class Made(Generic[T]):
    """What a create made: its id (the last part of its first write's key), and
    the thing when this call made it (None: an earlier call with the same
    request id made it)."""

    id: str
    made: T | None


def check_request_id(request_id: str) -> None:
    if len(request_id) > MAX_REQUEST_ID or not request_id.isprintable():
        raise InvalidArgument(
            "invalid_request_id",
            f"a request id is up to {MAX_REQUEST_ID} printable characters",
            field="request_id",
        )


def fingerprint(request_bytes: bytes) -> str:
    return hashlib.sha256(request_bytes).hexdigest()[:32]


@dataclass
class Requests:
    """The request ids of one store's creates."""

    store: LmdbStore
    wall_ms: Callable[[], int]
    _locks: dict[tuple[str, str, str], asyncio.Lock] = field(default_factory=dict)
    _users: dict[tuple[str, str, str], int] = field(default_factory=dict)

    async def once(
        self,
        account_id: str,
        method: str,
        request_id: str,
        request_bytes: bytes,
        create: Callable[[], Awaitable[T]],
        id_of: Callable[[T], str],
    ) -> Made[T]:
        """Run ``create`` unless a create with ``request_id`` already ran (then
        name what it made); ``request_bytes``: the request without its id."""
        check_request_id(request_id)
        key = (account_id, method, request_id)
        self._users[key] = self._users.get(key, 0) + 1
        lock = self._locks.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                return await self._once(key, fingerprint(request_bytes), create, id_of)
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key], self._locks[key]

    async def _once(
        self,
        key: tuple[str, str, str],
        print_: str,
        create: Callable[[], Awaitable[T]],
        id_of: Callable[[T], str],
    ) -> Made[T]:
        now = self.wall_ms()
        record = REQUESTS.get(self.store, *key)
        if record is not None and now - int(record["ms"]) < KEPT_MS:
            if record["f"] != print_:
                raise InvalidArgument(
                    "request_id_reused",
                    "this request id was used for another request: use a new one",
                    field="request_id",
                )
            return Made(str(record["key"]).rsplit(SEP.decode(), 1)[-1], None)
        joined = False

        def join(ops: list[Op]) -> list[Op]:
            nonlocal joined
            JOIN.set(None)
            joined = True
            return [*ops, REQUESTS.put(*key, print_, ops[0], now)]

        token = JOIN.set(join)
        try:
            made = await create()
        except BaseException:
            # A create that failed after its first write (and undid it) leaves
            # no record of its request id: a retry runs it again.
            if joined:
                await self.store.write_async([REQUESTS.delete(*key)])
            raise
        finally:
            JOIN.reset(token)
        if not joined:
            raise RuntimeError(f"{key[1]} wrote nothing to carry its request id")
        return Made(id_of(made), made)
