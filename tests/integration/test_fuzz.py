"""Random and mutated frames thrown at a real server: each is answered with a
frame or a close code, the server never falls over, and other visitors' chats go
on."""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import uvloop
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from control.runner import Parley
from tests.integration.helpers import Visitor, on_duty, running, visitor_url

VALID = [
    orjson.dumps({"type": "hello", "v": 1, "name": "fuzz"}),
    orjson.dumps({"type": "msg", "cid": "c1", "text": "hello"}),
    orjson.dumps({"type": "ping"}),
    orjson.dumps({"type": "close"}),
    orjson.dumps({"type": "rate", "score": 4, "comment": "ok"}),
    orjson.dumps({"type": "choose", "department": "dabcdefghi", "region": ""}),
    orjson.dumps({"type": "page", "url": "https://shop.test/a", "title": "A"}),
    orjson.dumps({"type": "ticket", "name": "F", "email": "f@z.test", "text": "call"}),
    orjson.dumps({"type": "hello", "v": 1, "page": "https://x.test/", "tz": 60, "language": "en"}),
]


def mutate(data: bytes, position: int, value: int) -> bytes:
    if not data:
        return bytes([value])
    position %= len(data)
    return data[:position] + bytes([value]) + data[position + 1 :]


frame = st.one_of(
    st.binary(max_size=200),
    st.builds(mutate, st.sampled_from(VALID), st.integers(0, 200), st.integers(0, 255)),
    st.sampled_from(VALID),
    st.builds(
        lambda d: orjson.dumps(d),
        st.dictionaries(
            st.sampled_from(["type", "cid", "text", "v", "last_seq", "token", "department"]),
            st.one_of(
                st.text(max_size=20),
                st.integers(-5, 2**62),
                st.none(),
                st.booleans(),
                st.sampled_from(["hello", "msg", "ping", "close"]),
            ),
            max_size=6,
        ),
    ),
)


class Background:
    """A Parley server running on its own loop in a thread."""

    def __init__(self, tmp_path: Path) -> None:
        self.ready = threading.Event()
        self.stop: asyncio.Event | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.app: Parley | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(tmp_path,), daemon=True)
        self.thread.start()
        assert self.ready.wait(30), "server did not start"

    def _run(self, tmp_path: Path) -> None:
        async def main() -> None:
            self.loop = asyncio.get_running_loop()
            self.stop = asyncio.Event()
            async with running(
                tmp_path, visitor_rate=1e6, visitor_burst=1e6, ip_rate=1e9, ip_burst=1e9
            ) as app:
                self.app = app
                self.ready.set()
                await self.stop.wait()

        try:
            uvloop.run(main())
        except BaseException as error:  # reported by the test
            self.error = error
            self.ready.set()

    def close(self) -> None:
        assert self.loop is not None and self.stop is not None
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(30)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Background]:
    bg = Background(tmp_path_factory.mktemp("fuzz"))
    yield bg
    bg.close()
    assert bg.error is None, bg.error


async def exchange(url: str, frames: list[tuple[bytes, bool]]) -> list[dict[str, Any]]:
    v = await Visitor(url).connect()
    got: list[dict[str, Any]] = []
    try:
        for payload, binary in frames:
            v.send_raw(payload, binary=binary)
        v.send({"type": "ping"})  # every frame before it has been answered by now
        while True:
            answer = await v.recv(timeout=10)
            got.append(answer)
            if answer["type"] in ("pong", "_disconnected"):
                return got
    finally:
        await v.close()


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(st.tuples(frame, st.booleans()), min_size=1, max_size=25))
def test_fuzzed_frames_get_answers_and_the_server_lives(
    server: Background, frames: list[tuple[bytes, bool]]
) -> None:
    assert server.app is not None
    url = visitor_url(server.app)
    answers = uvloop.run(exchange(url, frames))
    final = answers[-1]
    assert final["type"] == "pong" or final["type"] == "_disconnected"
    if final["type"] == "_disconnected":
        assert final["code"] is not None, "closed without a close code"
    for answer in answers[:-1]:
        assert answer["type"] in {
            "welcome",
            "msg",
            "ack",
            "error",
            "queued",
            "joined",
            "closed",
            "rated",
            "departments",
            "ticket_saved",
            "pong",
        }
        if answer["type"] == "error":
            assert answer["code"] and answer["message"]


def test_a_chat_goes_on_through_the_fuzzing(server: Background) -> None:
    """A chat open before a burst of bad frames from other connections carries
    on after it, both ways (whether or not the fuzz test above has run)."""
    assert server.app is not None
    app = server.app
    rng = random.Random(7)
    burst = [
        (mutate(valid, rng.randrange(200), rng.randrange(256)), rng.random() < 0.1)
        for valid in VALID
        for _ in range(8)
    ] + [(rng.randbytes(rng.randrange(1, 200)), rng.random() < 0.5) for _ in range(40)]

    async def chat() -> None:
        op = await on_duty(app)
        v = await Visitor(visitor_url(app)).connect()
        await v.hello()
        v.send({"type": "msg", "cid": "before", "text": "are you there?"})
        conv = (await v.recv("ack"))["conversation"]
        assert (await op.recv("assigned")).conversation_id == conv
        for start in range(0, len(burst), 10):
            answers = await exchange(visitor_url(app), burst[start : start + 10])
            assert answers[-1]["type"] in ("pong", "_disconnected")
        v.send({"type": "msg", "cid": "after", "text": "still working?"})
        assert (await v.recv("ack"))["seq"] >= 2
        texts = []
        while "still working?" not in texts:
            texts.append((await op.recv("message")).text)
        op.say(conv, "r1", "Yes, still here.")
        reply = await v.recv("msg")
        while reply["from"] != "operator":
            reply = await v.recv("msg")
        assert reply["text"] == "Yes, still here."
        await v.close()
        await op.close()

    uvloop.run(chat())
