"""Start ``parley serve`` as a child process and read its banner (for the
benchmarks and the kill -9 test)."""

from __future__ import annotations

import asyncio
import os
import re
import resource
import sys
from dataclasses import dataclass, field
from pathlib import Path

PATTERNS = {
    "ws": r"ws://(127\.0\.0\.1:\d+)/(?:v1/visitor)?",
    "grpc": r"gRPC[^(]*\(.*\): (\S+:\d+)",
    "site": r"Demo site id: (\S+)",
    "department": r"department id: (\S+)",
    "demo_email": r"Demo operator: (\S+) /",
    "demo_password": r"Demo operator: \S+ / (\S+)",
    "owner_email": r"Owner account created: (\S+) /",
    "owner_password": r"Owner account created: \S+ / (\S+)",
}
REQUIRED = ("ws", "grpc", "site", "department")


@dataclass
class Server:
    proc: asyncio.subprocess.Process
    info: dict[str, str] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def visitor_url(self) -> str:
        return f"ws://{self.info['ws']}/v1/visitor?site={self.info['site']}"

    async def stop(self) -> None:
        if self.proc.returncode is None:
            self.proc.terminate()
            try:
                async with asyncio.timeout(10):
                    await self.proc.wait()
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


async def start(
    data: Path,
    *args: str,
    cpu: int | None = None,
    command: list[str] | None = None,
    required: tuple[str, ...] = REQUIRED,
) -> Server:
    """Start Parley (or ``command``) on ``data``; wait for its banner."""
    # PARLEY_BENCH_PORT=N: listen on N (websockets, pages) and N+1 (gRPC)
    # rather than on ports the kernel picks, on a machine whose ports are shared out.
    base = int(os.environ.get("PARLEY_BENCH_PORT", "0"))
    argv = command or [
        sys.executable,
        "-m",
        "control.cli",
        "serve",
        "--demo",
        "--data",
        str(data),
        "--http-port",
        str(base),
        "--grpc-port",
        str(base + 1 if base else 0),
        *args,
    ]
    if cpu is not None and cpu < (os.cpu_count() or 1):
        argv = ["taskset", "-c", str(cpu), *argv]
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        limit=1 << 20,
        preexec_fn=_more_descriptors,
    )
    server = Server(proc)
    assert proc.stdout is not None
    lines: list[str] = []
    async with asyncio.timeout(60):
        while not all(k in server.info for k in required):
            raw = await proc.stdout.readline()
            if not raw:
                raise RuntimeError("server exited before it was ready:\n" + "".join(lines))
            line = raw.decode(errors="replace")
            lines.append(line)
            for key, pattern in PATTERNS.items():
                if m := re.search(pattern, line):
                    server.info[key] = m.group(1)
    # Keep draining its output so a chatty server never blocks on a full pipe.
    asyncio.get_running_loop().create_task(_drain(proc))
    return server


def _more_descriptors() -> None:
    """In the child: allow enough sockets for the large benchmarks (root may raise
    the hard limit; others keep theirs)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (65536, max(hard, 65536)))
    except (ValueError, PermissionError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def _drain(proc: asyncio.subprocess.Process) -> None:
    assert proc.stdout is not None
    while await proc.stdout.read(65536):
        pass
