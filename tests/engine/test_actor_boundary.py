"""The typed actor boundary at run time: a message outside an actor's union is a
bug (UnhandledMessage), logged and supervised, never a refusal to a user; the
actor goes on with its state."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from engine.app import Engine
from engine.chat.events import OperatorPresence
from engine.chat.messages import GetConversation, PresenceUpdate, WatchOperators
from engine.errors import Refused
from engine.runtime import (
    Actor,
    ActorStopped,
    ActorSystem,
    Context,
    FakeClock,
    InlineScheduler,
    Request,
    UnhandledMessage,
    unhandled,
)
from engine.runtime.system import Props


class Add(Request[int]):
    __slots__ = ("n",)

    def __init__(self, n: int) -> None:
        self.n = n


class Total(Actor[Add, object]):
    """Adds what it is sent; takes nothing else."""

    def __init__(self, key: str, snapshot: bytes | None) -> None:
        self.total = 0

    def receive(self, message: Add, ctx: Context[object]) -> object:
        match message:
            case Add(n=n):
                self.total += n
                return self.total
        unhandled(message)


def unhandled_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.levelno == logging.ERROR
        and r.exc_info is not None
        and isinstance(r.exc_info[1], UnhandledMessage)
    ]


def test_an_unhandled_message_is_logged_and_the_actor_resumes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    system = ActorSystem(scheduler=InlineScheduler(), clock=FakeClock())
    system.register("total", Props(factory=Total))
    ref = system.ref("total", "a")
    replies: list[tuple[Any, BaseException | None]] = []
    ref.tell(Add(2), lambda v, e: replies.append((v, e)))
    with caplog.at_level(logging.ERROR, logger="parley.runtime"):
        ref.tell("not an Add", lambda v, e: replies.append((v, e)))
    ref.tell(Add(3), lambda v, e: replies.append((v, e)))
    assert replies[0] == (2, None)
    value, error = replies[1]
    assert value is None and isinstance(error, ActorStopped)
    assert "not an Add" in str(error)
    assert replies[2] == (5, None)  # resumed with its state: 2 + 3
    assert system.restarts == 0 and system.is_active("total", "a")
    (record,) = unhandled_records(caplog)
    assert "total/a" in record.getMessage()


async def test_a_wrong_message_to_a_chat_actor_fails_the_ask_as_a_bug(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = Engine(tmp_path)
    try:
        account = await engine.directory.create_account("acme")
        op = await engine.directory.add_operator(
            account.id,
            email="ana@acme.test",
            password="correct horse",
            display_name="Ana",
            department_ids=[],
        )
        presence = engine.system.ref("presence", account.id)
        events: list[Any] = []

        class Sink:
            def push(self, event: Any) -> None:
                events.append(event)

        assert await presence.ask(WatchOperators(Sink())) == [(op.id, "Ana", "offline")]
        # A conversation's request sent to the presence actor: a bug of the
        # sender, not the user error unknown_command.
        with (
            caplog.at_level(logging.ERROR, logger="parley.runtime"),
            pytest.raises(ActorStopped) as failed,
        ):
            await presence.ask(GetConversation())
        assert not isinstance(failed.value, Refused)
        (record,) = unhandled_records(caplog)
        assert "GetConversation" in record.getMessage()
        # Resumed, not restarted: the watcher it had before is still told.
        presence.tell(PresenceUpdate(op.id, "online", True, (), ()))
        await engine.settle()
        assert events == [OperatorPresence(op.id, "Ana", "online")]
        assert engine.system.restarts == 0
    finally:
        await engine.close()


ROOT = Path(__file__).resolve().parents[2]

CHECKED = """
from __future__ import annotations

from engine.chat.kinds import BOARD
from engine.chat.messages import GetCard, GetConversation
from engine.runtime import Actor, ActorSystem, Context, unhandled


class Two(Actor[int | str, object]):
    def receive(self, message: int | str, ctx: Context[object]) -> object:
        match message:
            case int():
                return 1
            %s
        unhandled(message)


def send(system: ActorSystem) -> None:
    system.ref(BOARD, "acme").tell(%s)
"""


def mypy_errors(tmp_path: Path, sources: dict[str, str]) -> dict[str, list[str]]:
    """mypy --strict's errors on each of ``sources`` (module name to text, each a
    module using the engine), by module. One run checks them all: most of a
    run is reading the engine, which the modules share."""
    paths = []
    for name, source in sources.items():
        path = tmp_path / f"{name}.py"
        path.write_text(source)
        paths.append(path)
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "cache"), *paths],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    # 0 or 1 (no errors, errors); 2 is mypy failing, which proves nothing.
    assert result.returncode in (0, 1), result.stdout + result.stderr
    errors: dict[str, list[str]] = {name: [] for name in sources}
    for line in result.stdout.splitlines():
        if ": error:" in line:  # each names its file: a KeyError for any other
            errors[Path(line.split(":", 1)[0]).stem].append(line)
    return errors


def test_mypy_proves_each_receive_handles_its_union_and_each_tell_fits_its_kind(
    tmp_path: Path,
) -> None:
    handles_str = "case str():\n                return 2"
    errors = mypy_errors(
        tmp_path,
        {
            "checked": CHECKED % (handles_str, 'GetCard("c")'),
            # str forgotten, and a conversation's command sent to a board.
            "wrong": CHECKED % ("", "GetConversation()"),
        },
    )
    assert errors["checked"] == []
    missing, foreign = errors["wrong"]
    assert '"unhandled" has incompatible type "str"; expected "Never"' in missing
    assert '"tell" of "Ref" has incompatible type "GetConversation"' in foreign
