"""Creates' request ids against a real store: once per id, refused for another
request, in the create's own commit, and gone with a create that undid itself."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from engine.chat.requests import Requests
from engine.errors import InvalidArgument
from engine.persistence.lmdb_store import LmdbStore
from engine.persistence.schema import REQUESTS, SITES


def thing(store: LmdbStore, made: list[str]) -> Callable[[], Awaitable[str]]:
    async def create() -> str:
        name = f"s{len(made)}"
        await store.write_async([SITES.put(name, {"n": len(made)})])
        made.append(name)
        return name

    return create


async def test_one_create_per_request_id(tmp_path: Path) -> None:
    store = LmdbStore(tmp_path)
    try:
        requests = Requests(store, lambda: 1_000)
        made: list[str] = []
        first, second = await asyncio.gather(
            requests.once("a1", "Create", "r1", b"same", thing(store, made), str),
            requests.once("a1", "Create", "r1", b"same", thing(store, made), str),
        )
        assert made == ["s0"] and (first.id, second.id) == ("s0", "s0")
        assert first.made == "s0" and second.made is None  # the second made nothing
        record = REQUESTS.get(store, "a1", "Create", "r1")
        assert record is not None and record["db"] == SITES.name
        with pytest.raises(InvalidArgument) as refused:
            await requests.once("a1", "Create", "r1", b"other", thing(store, made), str)
        assert refused.value.code == "request_id_reused" and made == ["s0"]
        # Another account's id of the same spelling is its own.
        other = await requests.once("a2", "Create", "r1", b"same", thing(store, made), str)
        assert other.id == "s1"
    finally:
        store.close()


async def test_a_create_that_undoes_itself_leaves_no_record(tmp_path: Path) -> None:
    store = LmdbStore(tmp_path)
    try:
        requests = Requests(store, lambda: 1_000)

        async def half_made() -> str:
            await store.write_async([SITES.put("half", {})])
            await store.write_async([SITES.delete("half")])  # undone, as on a failure
            raise InvalidArgument("invalid_argument", "its second part could not be made")

        with pytest.raises(InvalidArgument):
            await requests.once("a1", "Create", "r9", b"req", half_made, str)
        assert REQUESTS.get(store, "a1", "Create", "r9") is None
        made: list[str] = []
        again = await requests.once("a1", "Create", "r9", b"req", thing(store, made), str)
        assert again.made == "s0"  # the retry ran
    finally:
        store.close()
