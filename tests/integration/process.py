"""``parley serve`` as a child process with its banner read and its log kept, for
the tests of what only a real process shows: its log lines, signals, exit code."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

from loadtest.server import PATTERNS, REQUIRED
from tests.conftest import CHEAP_SERVER_ENV


@dataclass
class Served:
    proc: asyncio.subprocess.Process
    info: dict[str, str] = field(default_factory=dict)
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    _readers: list[asyncio.Task[None]] = field(default_factory=list)

    def visitor_url(self) -> str:
        return f"ws://{self.info['ws']}/v1/visitor?site={self.info['site']}"

    async def stop(self, sig: signal.Signals | None = signal.SIGTERM) -> int:
        """Send SIG (None: it was sent) and wait for the exit; the exit code,
        every line read by then."""
        if sig is not None and self.proc.returncode is None:
            self.proc.send_signal(sig)
        async with asyncio.timeout(30):
            code = await self.proc.wait()
            await asyncio.gather(*self._readers)
        return code


async def _keep(stream: asyncio.StreamReader, lines: list[str]) -> None:
    while line := await stream.readline():
        lines.append(line.decode(errors="replace"))


async def serve(data: Path, *args: str, **env: str) -> Served:
    """Start ``parley serve --demo`` on DATA with ARGS and ENV; return once its
    banner is read (its log goes on being read into ``stderr``)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "control.cli", "serve", "--demo", "--data", str(data),
        "--http-port", "0", "--grpc-port", "0", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **CHEAP_SERVER_ENV, **env},
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    served = Served(proc)
    served._readers.append(asyncio.create_task(_keep(proc.stderr, served.stderr)))
    try:
        async with asyncio.timeout(60):
            while not all(k in served.info for k in REQUIRED):
                raw = await proc.stdout.readline()
                if not raw:
                    await proc.wait()
                    raise RuntimeError(
                        "server exited before it was ready: " + "".join(served.stderr)
                    )
                line = raw.decode(errors="replace")
                served.stdout.append(line)
                for key, pattern in PATTERNS.items():
                    if m := re.search(pattern, line):
                        served.info[key] = m.group(1)
    except BaseException:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        raise
    served._readers.append(asyncio.create_task(_keep(proc.stdout, served.stdout)))
    return served
