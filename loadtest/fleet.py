"""The server side of the capacity benchmarks, on ports chosen by the caller:
``parley serve`` alone, or ``parley engine`` with any number of ``parley edge``
processes sharing one port (SO_REUSEPORT), started and stopped together.

Ports are given, never left to the kernel: edges sharing a port need one known
in advance, and on a shared machine each benchmark keeps to its own range. The
layout from ``base``: one process listens on ``base`` (websockets) and
``base + 1`` (gRPC); in split mode the engine's gRPC is on ``base + 1`` and the
edges share ``base``. Memory and CPU are read from ``/proc`` for every process.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from loadtest import server as parley_server
from loadtest.split_mode import EDGE_FLAGS, cpu_seconds

CLI = [sys.executable, "-m", "control.cli"]


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    """Resident memory of process ``pid`` in KiB (0 once it is gone); ``field``
    "RssAnon" for its anonymous part alone: the heap, without the pages of files
    it maps (LMDB's map is such a file, resident as far as it was touched, and
    the kernel may drop those pages under pressure)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def loadavg() -> str:
    """The machine's load average (1, 5, 15 minutes), for the record."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.1f} / {five:.1f} / {fifteen:.1f}"


@dataclass
class Fleet:
    """A running Parley: one process, or an engine and its edges."""

    procs: dict[str, parley_server.Server]
    info: dict[str, str] = field(default_factory=dict)
    mode: str = "one"

    @property
    def pids(self) -> dict[str, int]:
        return {name: s.pid for name, s in self.procs.items()}

    def visitor_url(self) -> str:
        return f"ws://{self.info['ws']}/v1/visitor?site={self.info['site']}"

    def rss_kib(self) -> dict[str, int]:
        return {name: rss_kib(pid) for name, pid in self.pids.items()}

    def total_rss_kib(self) -> int:
        return sum(self.rss_kib().values())

    def total_anon_kib(self) -> int:
        """The anonymous part of every process's RSS, summed (see ``rss_kib``)."""
        return sum(rss_kib(pid, "RssAnon") for pid in self.pids.values())

    def cpu_seconds(self) -> dict[str, float]:
        return {name: cpu_seconds(pid) for name, pid in self.pids.items()}

    async def stop(self) -> None:
        # Edges first: the engine then sees its links end, not fail.
        for name in sorted(self.procs, key=lambda n: n == "engine"):
            await self.procs[name].stop()


def _split_flags(args: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """``parley serve``'s flags shared out: the visitor limits to the edges."""
    engine_args: list[str] = []
    edge_args: list[str] = []
    rest = list(args)
    while rest:
        flag = rest.pop(0)
        takes_value = bool(rest) and not rest[0].startswith("--")
        into = edge_args if flag in EDGE_FLAGS else engine_args
        into.append(flag)
        if takes_value:
            into.append(rest.pop(0))
    return engine_args, edge_args


async def start(
    data: Path,
    *args: str,
    base: int,
    edges: int = 0,
    cpu: int | None = 0,
    edge_extra: tuple[str, ...] = (),
) -> Fleet:
    """``parley serve`` (``edges`` 0) or an engine and ``edges`` edges on ``data``,
    listening from port ``base``; ``args`` are ``parley serve``'s flags."""
    required = (*parley_server.REQUIRED, "owner_password")
    if edges == 0:
        srv = await parley_server.start(
            data,
            cpu=cpu,
            command=[
                *CLI, "serve", "--demo", "--data", str(data),
                "--http-port", str(base), "--grpc-port", str(base + 1), *args,
            ],
            required=required,
        )  # fmt: skip
        return Fleet({"server": srv}, dict(srv.info), "one")
    engine_args, edge_args = _split_flags(args)
    engine = await parley_server.start(
        data,
        cpu=cpu,
        command=[*CLI, "engine", "--demo", "--data", str(data), "--grpc-port", str(base + 1),
                 *engine_args],
        required=("grpc", "site", "department", "owner_password"),
    )  # fmt: skip
    fleet = Fleet({"engine": engine}, dict(engine.info), "split")
    try:
        for i in range(edges):
            edge = await parley_server.start(
                data,
                cpu=cpu,
                command=[
                    *CLI, "edge", "--engine", engine.info["grpc"],
                    "--link-secret-file", str(data / "link-secret"), "--port", str(base),
                    *edge_args, *edge_extra,
                ],
                required=("ws",),
            )  # fmt: skip
            fleet.procs[f"edge{i + 1}"] = edge
            fleet.info["ws"] = edge.info["ws"]
    except BaseException:
        await fleet.stop()
        raise
    return fleet


# parley serve's flags that lift the per-visitor and per-address limits, so the
# benchmark's own load is what it measures.
UNLIMITED = (
    "--max-visitors-per-ip", "1000000",
    "--visitor-ip-rate", "100000000",
    "--visitor-rate", "1000000",
    "--visitor-burst", "1000000",
)  # fmt: skip
