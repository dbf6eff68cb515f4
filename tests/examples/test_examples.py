"""The example bots (examples/python/bot.py, examples/node/bot.js) against a real
``parley serve``: each sets up its site, answers a real websocket visitor, closes
on "bye", and a second run reuses what the first made."""

from __future__ import annotations

import asyncio
import fcntl
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import grpc
import pytest

from parley.v1 import control_pb2, control_pb2_grpc
from tests.integration.helpers import Visitor
from tests.integration.process import Served, serve

ROOT = Path(__file__).resolve().parents[2]
NODE_DIR = ROOT / "examples" / "node"
ORIGIN = "https://shop.example"
SITE_NAME = "Example shop"
BOT_EMAIL = "echo-bot@shop.example"
OWNER_EMAIL = "owner@shop.example"
OWNER_PASSWORD = "owner-password-for-examples"
SCRIPTS = {
    "python": [sys.executable, "examples/python/bot.py"],
    "node": ["node", "examples/node/bot.js"],
}
WAIT = 60.0  # a bound on each wait, never a pause


def _install_node_packages() -> None:
    """``npm ci`` in examples/node, once for every test worker (a file lock;
    skipped while node_modules matches the lock file). A failure fails."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing: the Node example needs Node 20 and npm")
    installed = NODE_DIR / "node_modules" / ".package-lock.json"
    with open(NODE_DIR / ".npm-ci.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        lockfile = NODE_DIR / "package-lock.json"
        if installed.exists() and installed.stat().st_mtime >= lockfile.stat().st_mtime:
            return
        run = subprocess.run(
            ["npm", "ci", "--prefix", str(NODE_DIR), "--no-audit", "--no-fund"],
            capture_output=True,
            text=True,
            timeout=300,
        )
        if run.returncode != 0:
            pytest.fail(f"npm ci failed ({run.returncode}):\n{run.stdout}\n{run.stderr}")


class Bot:
    """An example bot as a child process, its output read line by line."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: asyncio.Queue[str] = asyncio.Queue()
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        assert proc.stdout is not None and proc.stderr is not None
        self._readers = [
            asyncio.create_task(self._keep(proc.stdout, self.stdout, self.lines)),
            asyncio.create_task(self._keep(proc.stderr, self.stderr, None)),
        ]

    @staticmethod
    async def _keep(
        stream: asyncio.StreamReader, lines: list[str], inbox: asyncio.Queue[str] | None
    ) -> None:
        while raw := await stream.readline():
            line = raw.decode(errors="replace").rstrip("\n")
            lines.append(line)
            if inbox is not None:
                inbox.put_nowait(line)
        if inbox is not None:
            inbox.put_nowait("")  # the end

    async def line(self, prefix: str) -> str:
        """The first line from now on that starts with ``prefix``."""
        async with asyncio.timeout(WAIT):
            while line := await self.lines.get():
                if line.startswith(prefix):
                    return line[len(prefix) :].strip()
        raise AssertionError(f"the bot ended before {prefix!r}: {self.output()}")

    async def exit_code(self) -> int:
        async with asyncio.timeout(WAIT):
            code = await self.proc.wait()
            await asyncio.gather(*self._readers)
        return code

    def output(self) -> str:
        return "\n".join(["stdout:", *self.stdout, "stderr:", *self.stderr])


@asynccontextmanager
async def bot(language: str, served: Served, *extra: str) -> AsyncIterator[Bot]:
    script = SCRIPTS[language]
    ws = served.info["ws"]
    proc = await asyncio.create_subprocess_exec(
        *script, "--server", served.info["grpc"], "--email", OWNER_EMAIL,
        "--password", OWNER_PASSWORD, "--site-name", SITE_NAME, "--origin", ORIGIN,
        "--bot-email", BOT_EMAIL, "--chat-url", f"http://{ws}", *extra,
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    running = Bot(proc)
    try:
        yield running
    finally:
        if proc.returncode is None:
            os.kill(proc.pid, signal.SIGKILL)
        await running.exit_code()


async def operator_reply(visitor: Visitor) -> str:
    """The text of the next message from an operator (notices skipped)."""
    while True:
        frame = await visitor.recv("msg", timeout=WAIT)
        if frame["from"] == "operator":
            return str(frame["text"])


async def chat(running: Bot) -> str:
    """A visitor chats with the ready bot: hello, a question, bye. The site id."""
    site = await running.line("site:")  # the lines in the order the bot prints them
    widget = await running.line("widget:")
    assert f'data-site="{site}"' in widget and "/widget.js" in widget
    url = await running.line("visitor websocket:")
    assert url.endswith(f"/v1/visitor?site={site}")
    await running.line("ready:")

    async with asyncio.timeout(WAIT):  # the origin the bot allowed
        visitor = await Visitor(url).connect(origin=ORIGIN)
    try:
        welcome = await visitor.hello(name="Ada")
        assert not welcome["offline"], welcome
        visitor.send({"type": "msg", "cid": "v1", "text": "hello"})
        assert await operator_reply(visitor) == "You said: hello"
        visitor.send({"type": "msg", "cid": "v2", "text": "What are your opening hours?"})
        assert "Monday to Friday" in await operator_reply(visitor)
        visitor.send({"type": "msg", "cid": "v3", "text": "bye"})
        assert await operator_reply(visitor) == "Goodbye!"
        closed = await visitor.recv("closed", timeout=WAIT)
        assert closed["conversation"].startswith(site)
    finally:
        await visitor.close()
    return site


async def owned(served: Served) -> tuple[list[str], list[str], list[str]]:
    """The owner's sites named SITE_NAME, their departments, operators with BOT_EMAIL."""
    async with grpc.aio.insecure_channel(served.info["grpc"]) as channel:
        login = control_pb2.LoginRequest(email=OWNER_EMAIL, password=OWNER_PASSWORD)
        token = (await control_pb2_grpc.AuthStub(channel).Login(login, timeout=WAIT)).token
        meta = [("authorization", f"Bearer {token}")]
        sites = await control_pb2_grpc.SitesStub(channel).ListSites(
            control_pb2.ListSitesRequest(page_size=1000), metadata=meta, timeout=WAIT
        )
        site_ids = [s.id for s in sites.sites if s.name == SITE_NAME]
        departments = []
        for site_id in site_ids:
            listing = control_pb2.ListDepartmentsRequest(site_id=site_id, page_size=1000)
            found = await control_pb2_grpc.DepartmentsStub(channel).ListDepartments(
                listing, metadata=meta, timeout=WAIT
            )
            departments += [d.id for d in found.departments]
        operators = await control_pb2_grpc.OperatorsStub(channel).ListOperators(
            control_pb2.ListOperatorsRequest(page_size=1000), metadata=meta, timeout=WAIT
        )
        bots = [o.id for o in operators.operators if o.email == BOT_EMAIL]
    return site_ids, departments, bots


@pytest.mark.parametrize("language", ["python", "node"])
async def test_example_bot_answers_a_visitor_and_a_second_run_reuses_its_site(
    language: str, tmp_path: Path
) -> None:
    if language == "node":
        await asyncio.to_thread(_install_node_packages)
    served = await serve(
        tmp_path / "data", PARLEY_OWNER_EMAIL=OWNER_EMAIL, PARLEY_OWNER_PASSWORD=OWNER_PASSWORD
    )
    try:
        # The first run makes the site, the department and the bot, answers one
        # chat and stops by itself (--max-chats 1).
        async with bot(language, served, "--max-chats", "1") as first:
            site = await chat(first)
            await first.line("closed")
            assert await first.exit_code() == 0, first.output()
            assert "stopped" in first.stdout, first.output()

        # The second run finds them by name, takes a chat, and ends on SIGTERM.
        async with bot(language, served) as second:
            assert await chat(second) == site
            await second.line("closed")
            second.proc.send_signal(signal.SIGTERM)
            assert await second.exit_code() == 0, second.output()
            assert "stopped" in second.stdout, second.output()

        sites, departments, bots = await owned(served)
        assert sites == [site]
        assert len(departments) == 1 and len(bots) == 1
        assert not re.search(r"refused|Traceback", "\n".join(first.stderr + second.stderr))
    finally:
        await served.stop()
