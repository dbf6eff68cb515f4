"""`parley chat`: a terminal operator console over the real session stream."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from google.protobuf.field_mask_pb2 import FieldMask

from parley.v1 import control_pb2
from tests.integration.helpers import Visitor, demo_operator, owner, running, visitor_url


async def test_terminal_operator_answers_a_visitor(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        assert app.demo is not None
        op = await demo_operator(app)  # only for its token
        env = {
            **os.environ,
            "PARLEY_SERVER": f"127.0.0.1:{app.grpc_port}",
            "PARLEY_TOKEN": op.token,
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
        assert proc.stdout is not None and proc.stdin is not None

        async def line_with(text: str) -> str:
            async with asyncio.timeout(15):
                while True:
                    line = (await proc.stdout.readline()).decode()
                    assert line, "parley chat ended early"
                    if text in line:
                        return line

        try:
            await line_with("waiting for chats")
            proc.stdin.write(b"too early\n")
            await line_with("no conversation yet")
            v = await Visitor(visitor_url(app)).connect()
            await v.hello(name="Ola")
            v.send({"type": "msg", "cid": "1", "text": "Is anyone there?"})
            await line_with("Ola: Is anyone there?")
            proc.stdin.write(b"Yes, how can I help?\n")
            got = await v.recv("msg")
            while got["from"] != "operator":
                got = await v.recv("msg")
            assert got["text"] == "Yes, how can I help?"
            proc.stdin.write(b"/close\n")
            await v.recv("closed")
            # Status, offers and their answers from the console.
            proc.stdin.write(b"/status away\n")
            await line_with("Demo operator is away")
            proc.stdin.write(b"/status online\n")
            await line_with("Demo operator is online")
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
            await line_with("offer: chat")
            proc.stdin.write(b"/accept\n")
            assert (await v2.recv("joined"))["operator"] == "Demo operator"
            await line_with("Kari: Hello?")
            # A quick reply, filled in for this chat.
            demo = await demo_operator(app)
            await demo.api.templates.CreateTemplate(
                control_pb2.CreateTemplateRequest(
                    template=control_pb2.Template(shortcut="hi", text="Hi {visitor_name}!")
                ),
                metadata=demo.metadata,
            )
            proc.stdin.write(b"/q hi\n")
            got = await v2.recv("msg")
            while got["from"] != "operator":
                got = await v2.recv("msg")
            assert got["text"] == "Hi Kari!"
            proc.stdin.write(b"/q nothing-like-it\n")
            await line_with("no quick reply")
            proc.stdin.write(b"/quit\n")
            await proc.stdin.drain()
            async with asyncio.timeout(10):
                assert await proc.wait() == 0
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            await op.close()
