"""The hello guard every session command goes through, written once."""

from __future__ import annotations

import pytest

from engine.chat.events import CommandFailed, Event
from engine.chat.sessions.common import after_hello


class Sink:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def push(self, event: Event) -> None:
        self.events.append(event)


class Session:
    def __init__(self) -> None:
        self.sink = Sink()
        self.ready = False
        self.ran: list[str] = []

    @after_hello("conversation_id", "client_msg_id")
    def send(self, conversation_id: str, client_msg_id: str, text: str) -> None:
        self.ran.append(text)

    @after_hello()
    async def act(self, conversation_id: str) -> None:
        self.ran.append(conversation_id)


async def test_before_hello_a_command_is_refused_with_its_ids_and_does_not_run() -> None:
    session = Session()
    session.send("s1", "c1", "hi")
    session.send("s2", client_msg_id="c2", text="hi")
    await session.act("s3")
    assert session.ran == []
    assert session.sink.events == [
        CommandFailed("no_hello", "send hello first", False, "c1", "s1"),
        CommandFailed("no_hello", "send hello first", False, "c2", "s2"),
        CommandFailed("no_hello", "send hello first", False, "", ""),
    ]
    session.ready = True
    session.send("s1", "c1", "hi")
    await session.act("s3")
    assert session.ran == ["hi", "s3"]
    assert len(session.sink.events) == 3


def test_the_guard_names_only_ids_it_knows() -> None:
    with pytest.raises(ValueError, match="client_msg_id or conversation_id"):
        after_hello("text")
