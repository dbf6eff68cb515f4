"""Split mode beside one process, for ``python -m loadtest.bench_e2e --split``
(its smoke test: test_bench_e2e_split).

The same load as ``bench_e2e``'s saturation phase (visitors on websockets keep
WINDOW messages in flight; operators receive them on gRPC session streams;
every message is stored with a synced commit before its ack) against
``parley serve`` and against ``parley engine`` plus one ``parley edge`` linked
by the batched gRPC stream. The server side gets core 0 in both runs (the
engine and the edge share it in split mode), the load generator core 1, so the
rows compare the same CPU budget. CPU per message is each process's user and
system time from ``/proc/PID/stat`` over the measured window, divided by the
messages acknowledged in it.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from loadtest import server as parley_server
from loadtest.machine import describe, table

# parley serve's flags that are an edge's in split mode.
EDGE_FLAGS = frozenset(
    (
        "--max-visitors-per-ip",
        "--visitor-ip-rate",
        "--visitor-rate",
        "--visitor-burst",
        "--visitor-send-buffer-kib",
        "--listen-backlog",
    )
)
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of process ``pid`` so far, from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        # The command name may hold spaces: the fields follow its closing ")".
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime (fields 14, 15)


@dataclass
class SplitServer:
    """An engine and one edge, started and stopped together."""

    engine: parley_server.Server
    edge: parley_server.Server
    info: dict[str, str] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.engine.pid

    @property
    def pids(self) -> dict[str, int]:
        return {"engine": self.engine.pid, "edge": self.edge.pid}

    def visitor_url(self) -> str:
        return f"ws://{self.info['ws']}/v1/visitor?site={self.info['site']}"

    async def stop(self) -> None:
        await self.edge.stop()
        await self.engine.stop()


async def start_split(
    data: Path, *args: str, cpu: int | None = 0, required: tuple[str, ...] = ()
) -> SplitServer:
    """``parley engine`` on ``data`` and one ``parley edge`` linked to it, both on
    ``cpu``; returns once both banners are read. ``args`` are ``parley serve``'s
    flags, as bench_e2e starts it: the visitor limits go to the edge, the rest
    to the engine (``required`` is serve's banner, read from both)."""
    cli = [sys.executable, "-m", "control.cli"]
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
    engine = await parley_server.start(
        data,
        cpu=cpu,
        command=[
            *cli, "engine", "--demo", "--data", str(data), "--grpc-port", "0", *engine_args,
        ],
        required=("grpc", "site", "department", "owner_password"),
    )  # fmt: skip
    try:
        edge = await parley_server.start(
            data,
            cpu=cpu,
            command=[
                *cli, "edge", "--engine", engine.info["grpc"],
                "--link-secret-file", str(data / "link-secret"), "--port", "0", *edge_args,
            ],
            required=("ws",),
        )  # fmt: skip
    except BaseException:
        await engine.stop()
        raise
    return SplitServer(engine, edge, {**engine.info, "ws": edge.info["ws"]})


def ms(x: float) -> str:
    return f"{x * 1000:.1f} ms"


async def run(args: argparse.Namespace) -> None:
    """Both modes, one after the other, and the table."""
    from loadtest.bench_e2e import parley_phases, percentile

    one = await parley_phases(args.visitors, args.operators, args.window, args.seconds, args.warmup)
    split = await parley_phases(
        args.visitors,
        args.operators,
        args.window,
        args.seconds,
        args.warmup,
        server_start=start_split,
    )
    print(
        f"Split mode beside one process; the server side on core 0 (engine and edge share it "
        f"in split mode), the load generator on core 1. Machine: {describe()}"
    )
    print(
        f"{args.visitors} visitors, {args.operators} operators, {args.window} in flight per "
        f"visitor, {args.seconds:.0f} s saturated; errors seen: {one['errors'] + split['errors']}"
    )
    rows = []
    for name, r in (("parley serve (one process)", one), ("parley engine + 1 edge", split)):
        lat, acks = r["sat_lat"], max(r["sat_acks"], 1)
        cpu = " + ".join(f"{who} {1e6 * s / acks:.0f} µs" for who, s in r["cpu"].items())
        cpu += f"; load generator {1e6 * r['generator_cpu'] / acks:.0f} µs"
        rows.append(
            [
                name,
                f"{r['sat_rate']:,.0f}/s",
                ms(percentile(lat, 0.5)),
                ms(percentile(lat, 0.99)),
                ms(percentile(lat, 0.999)),
                cpu,
            ]
        )
    headers = ["mode", "messages/s", "p50", "p99", "p99.9", "CPU per message"]
    print(table(rows, headers))
