"""`parley chat`: a terminal operator console over the real session stream."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

from google.protobuf.field_mask_pb2 import FieldMask

from control.runner import Parley
from parley.v1 import control_pb2
from tests.integration.helpers import (
    Visitor,
    demo_operator,
    owner,
    running,
    settled,
    visitor_url,
)
from tests.integration.test_routing import staff


class Terminal:
    """`parley chat` in a subprocess, as the demo operator: typed lines in, the
    printed lines read until one says what is awaited."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None and proc.stdin is not None
        self.proc = proc
        self.stdout = proc.stdout
        self.stdin = proc.stdin
        self.lines: list[str] = []

    @classmethod
    async def start(cls, app: Parley, token: str, tmp_path: Path) -> Terminal:
        env = {
            **os.environ,
            "PARLEY_SERVER": f"127.0.0.1:{app.grpc_port}",
            "PARLEY_TOKEN": token,
            "PARLEY_CONFIG_DIR": str(tmp_path / "cfg"),
        }
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "control.cli",
            "chat",
            env=env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        terminal = cls(proc)
        await terminal.line_with("waiting for chats")
        return terminal

    def type(self, line: str) -> None:
        self.stdin.write(line.encode() + b"\n")

    async def line_with(self, text: str) -> str:
        try:
            async with asyncio.timeout(5):
                while True:
                    line = (await self.stdout.readline()).decode()
                    assert line, f"parley chat ended early after {self.lines[-5:]}"
                    self.lines.append(line.rstrip("\n"))
                    if text in line:
                        return line.rstrip("\n")
        except TimeoutError:
            raise AssertionError(f"no line with {text!r} after {self.lines[-8:]}") from None

    async def quit(self) -> None:
        self.type("/quit")
        await self.stdin.drain()
        async with asyncio.timeout(10):
            assert await self.proc.wait() == 0

    async def stop(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


async def from_operator(v: Visitor) -> dict[str, Any]:
    """The next message the visitor gets from an operator."""
    got = await v.recv("msg")
    while got["from"] != "operator":
        got = await v.recv("msg")
    return got


async def test_terminal_operator_answers_a_visitor(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        assert app.demo is not None
        op = await demo_operator(app)  # only for its token
        term = await Terminal.start(app, op.token, tmp_path)
        try:
            term.type("too early")
            await term.line_with("no chat open yet")
            term.type("/help")
            await term.line_with("/transfer N NAME")
            v = await Visitor(visitor_url(app)).connect()
            await v.hello(name="Ola")
            v.send({"type": "msg", "cid": "1", "text": "Is anyone there?"})
            await term.line_with("[1 Ola] Ola: Is anyone there?")
            term.type("Yes, how can I help?")  # the only chat: no /to needed
            assert await term.line_with("> Yes") == "[1 Ola] > Yes, how can I help?"
            assert (await from_operator(v))["text"] == "Yes, how can I help?"
            term.type("/close")
            await v.recv("closed")
            await term.line_with("[1 Ola] closed by you")
            v.send({"type": "rate", "score": 4})
            await term.line_with("[1 Ola] rated the chat 4/5")
            # Status, offers and their answers from the console.
            term.type("/status away")
            await term.line_with("Demo operator is away")
            term.type("/status online")
            await term.line_with("Demo operator is online")
            boss = await owner(app)
            await boss.api.operators.UpdateOperator(
                control_pb2.UpdateOperatorRequest(
                    operator=control_pb2.Operator(id=app.demo["operator"], auto_accept=False),
                    update_mask=FieldMask(paths=["auto_accept"]),
                ),
                metadata=boss.metadata,
            )
            v2 = await Visitor(visitor_url(app)).connect()
            await v2.hello(name="Kari")
            v2.send({"type": "msg", "cid": "1", "text": "Hello?"})
            await term.line_with("[2 Kari] offer: chat")
            term.type("/accept")
            assert (await v2.recv("joined"))["operator"] == "Demo operator"
            await term.line_with("[2 Kari] Kari: Hello?")
            # The visitor typing is shown; a quick reply is filled in for this chat.
            v2.send({"type": "typing", "active": True})
            await term.line_with("[2 Kari] (Kari is typing)")
            demo = await demo_operator(app)
            await demo.api.templates.CreateTemplate(
                control_pb2.CreateTemplateRequest(
                    template=control_pb2.Template(shortcut="hi", text="Hi {visitor_name}!")
                ),
                metadata=demo.metadata,
            )
            term.type("//hi")
            assert await term.line_with("> Hi") == "[2 Kari] > Hi Kari!   (quick reply hi)"
            assert (await from_operator(v2))["text"] == "Hi Kari!"
            term.type("/q nothing-like-it")
            await term.line_with("no quick reply nothing-like-it")
            await term.quit()
        finally:
            await term.stop()
            await op.close()


async def test_two_chats_each_line_to_the_chat_chosen(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        assert app.demo is not None
        op = await demo_operator(app)  # only for its token
        term = await Terminal.start(app, op.token, tmp_path)
        try:
            ada = await Visitor(visitor_url(app)).connect()
            await ada.hello(name="Ada")
            ada.send({"type": "msg", "cid": "1", "text": "Hi, Ada here"})
            await term.line_with("[1 Ada] Ada: Hi, Ada here")
            bob = await Visitor(visitor_url(app)).connect()
            await bob.hello(name="Bob")
            bob.send({"type": "msg", "cid": "1", "text": "Bob here"})
            await term.line_with("[2 Bob] Bob: Bob here")
            # Two chats open, none chosen: a plain line is refused, not guessed.
            term.type("Which one of you?")
            await term.line_with("not sent: 2 chats are open")
            term.type("/to 9")
            await term.line_with("no chat 9; /chats lists them")
            term.type("/chats")
            await term.line_with("your chats:")
            # (The operator's join notice in Bob's chat, "[2 Bob] * ...", may
            # come before or after the list: only the list's row is looked for.)
            assert await term.line_with("2  Bob") == "     2  Bob"
            term.type("/to 2")
            await term.line_with("plain lines go to [2 Bob] now")
            term.type("For Bob")
            assert await term.line_with("For Bob") == "[2 Bob] > For Bob"
            term.type("/to 1")
            term.type("For Ada")
            assert await term.line_with("For Ada") == "[1 Ada] > For Ada"
            assert (await from_operator(ada))["text"] == "For Ada"
            assert (await from_operator(bob))["text"] == "For Bob"
            # A note stays with the operators: stored in order before the next
            # line, which Ada gets; after that nothing more reaches her.
            term.type("/note Ada seems upset")
            assert await term.line_with("upset") == "[1 Ada] (note) > Ada seems upset"
            term.type("Still there?")
            assert (await from_operator(ada))["text"] == "Still there?"
            await settled(app, ada, bob)
            ada_got = [f.get("text") for f in ada.frames() if f["type"] == "msg"]
            bob_got = [f.get("text") for f in bob.frames() if f["type"] == "msg"]
            assert "Ada seems upset" not in ada_got + bob_got
            assert "For Bob" not in ada_got and "For Ada" not in bob_got
            # A refused action shows the server's reason, on the chat named.
            term.type("/join 1")
            await term.line_with("[1 Ada] refused: already_in_chat")
            term.type("/transfer 7 Kim")
            await term.line_with("no chat 7")
            # Transfer by name: unknown and ambiguous names are errors at once.
            boss = await owner(app)
            await staff(app, boss, "Kim")
            kimberly = await staff(app, boss, "Kimberly")
            term.type("/transfer 1 Nobody")
            await term.line_with("no colleague or department called Nobody")
            term.type("/transfer 1 ki")
            await term.line_with("ki is ambiguous: Kim (colleague), Kimberly (colleague)")
            term.type("/transfer 1 kimberly")
            await term.line_with("[1 Ada] transferring to Kimberly (colleague)")
            await term.line_with("[1 Ada] is no longer yours")
            assigned = await kimberly.recv("assigned")
            assert assigned.visitor_name == "Ada"
            while (await ada.recv("joined"))["operator"] != "Kimberly":
                pass
            # Lines went to Ada; she is gone: the next line waits for a choice,
            # though Bob's is the only chat left.
            term.type("Are you still there?")
            await term.line_with("[1 Ada] is no longer yours; choose where lines go with /to N")
            term.type("/to 1")
            await term.line_with("[1 Ada] is not one of your chats")
            # Bob ends his chat while lines go to him.
            term.type("/to 2")
            await term.line_with("plain lines go to [2 Bob] now")
            bob.send({"type": "close"})
            await term.line_with("[2 Bob] closed by the visitor")
            term.type("Hello?")
            await term.line_with("[2 Bob] was closed by the visitor; choose where lines go")
            await term.quit()
        finally:
            await term.stop()
            await op.close()
