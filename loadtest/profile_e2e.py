"""Where the server's time goes under the end-to-end load: py-spy samples the
server (pinned to core 0) through each saturated phase of ``bench_e2e``, one
direction at a time, and the top functions are printed by own time and by
time inclusive of their callees.

    python -m loadtest.profile_e2e [--direction in|out|both] [--seconds 15]
                                   [--top 25] [--perf] [--cpu-only] [--out DIR]
                                   [--split]

``--split``: ``parley engine`` and one ``parley edge`` (both on core 0), the
engine sampled, the edge's CPU a message printed beside it.

Needs py-spy (in the ``bench`` extra) and the permission to attach to a child
process. The raw samples stay in ``--out`` (one collapsed-stack file per
phase) for a flame graph.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import uvloop

from loadtest import bench_e2e, split_mode
from loadtest import server as parley_server
from loadtest.machine import describe, pin


def cpu_by_thread(pid: int) -> dict[str, float]:
    """CPU seconds (user + system) each thread of ``pid`` has used, by name."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = collections.defaultdict(float)
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name = "loop" if task.name == str(pid) else (task / "comm").read_text().strip()
            name = name if name != "python" else f"thread {task.name}"
            fields = (task / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        out[name] += (int(fields[11]) + int(fields[12])) / tick
    return out


def summarise(path: Path, top: int) -> str:
    """The top functions of a collapsed-stack file, by own and inclusive samples."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        total += n
        frames = [
            f.split(" (")[0] + " " + f.split(" (")[-1].split(":")[0].rstrip(")")
            for f in stack.split(";")
        ]
        own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    out = [f"{total} samples"]
    out.append("own time:")
    out += [f"  {100 * n / total:5.1f}%  {name}" for name, n in own.most_common(top)]
    out.append("inclusive:")
    out += [f"  {100 * n / total:5.1f}%  {name}" for name, n in inclusive.most_common(top)]
    return "\n".join(out)


async def run(args: argparse.Namespace) -> None:
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    pids: list[int] = []
    start = parley_server.start

    async def started(*a: Any, **kw: Any) -> parley_server.Server:
        srv = await start(*a, **kw)
        pids.append(srv.pid)
        return srv

    parley_server.start = started  # type: ignore[assignment]
    measure = bench_e2e.measure
    phases: list[str] = []
    # In split mode the engine starts first, then its edge: sample the engine.
    engine_at = -2 if args.split else -1

    async def profiled(*a: Any, **kw: Any) -> dict[str, Any]:
        name = ["in", "out"][len(phases)] if args.direction == "both" else args.direction
        phases.append(name)
        raw = args.out / f"{name}.txt"
        cmd = [spy, "record", "--pid", str(pids[engine_at]), "--rate", "250", "--nonblocking"]
        cmd += ["--format", "raw", "--output", str(raw)]
        cmd += ["--duration", str(int(args.seconds + 1))]
        if args.cpu_only:
            cmd = ["sleep", str(int(args.seconds + 1))]
        elif args.perf:
            # The native side (kernel, uvloop, picows, LMDB, the interpreter)
            # by shared object: perf samples the whole process.
            cmd = ["perf", "record", "-F", "499", "-p", str(pids[engine_at])]
            cmd += ["-o", str(raw) + ".perf"]
            cmd += ["--", "sleep", str(int(args.seconds + 1))]
        proc = await asyncio.create_subprocess_exec(
            *cmd, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
        )
        load = a[0]
        before = cpu_by_thread(pids[engine_at])
        edge_before = cpu_by_thread(pids[-1]) if args.split else {}
        acks_before = load.all_acks
        mine = time.process_time()
        t0 = time.perf_counter()
        result = await measure(*a, **kw)
        await proc.wait()
        # Over the whole call (saturated, half rate and the pauses): the
        # server's CPU time per acknowledged message, which holds up better on
        # a shared machine than a rate does.
        after = cpu_by_thread(pids[engine_at])
        edge_after = cpu_by_thread(pids[-1]) if args.split else {}
        mine = time.process_time() - mine
        wall = time.perf_counter() - t0
        acks = load.all_acks - acks_before
        used = {k: after[k] - before.get(k, 0.0) for k in after}
        total = sum(used.values())
        print(f"\n== {name}: {result['sat_rate']:,.0f} msgs/s saturated ==")
        print(
            f"server CPU {total:.1f} s for {acks:,} messages: "
            f"{1e6 * total / max(1, acks):.1f} us per message; by thread: "
            + ", ".join(
                f"{k} {1e6 * v / max(1, acks):.1f} us"
                for k, v in sorted(used.items(), key=lambda kv: -kv[1])
                if v >= 0.05
            )
            + f"; load generator {100 * mine / wall:.0f}% of a core"
        )
        if args.split:
            edge = sum(edge_after.values()) - sum(edge_before.values())
            print(f"(the engine's; the edge's: {1e6 * edge / max(1, acks):.1f} us per message)")
        if args.cpu_only:
            return result
        if args.perf:
            report = await asyncio.create_subprocess_exec(
                "perf",
                "report",
                "-i",
                str(raw) + ".perf",
                "--sort",
                "dso",
                "--stdio",
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL,
            )
            text = (await report.communicate())[0].decode()
            print("\n".join(line for line in text.splitlines() if "%" in line)[:3000])
            return result
        print(summarise(raw, args.top))
        return result

    bench_e2e.measure = profiled  # type: ignore[assignment]
    print(f"Server on core 0, load on core 1. Machine: {describe()}")
    await bench_e2e.parley_phases(
        200,
        4,
        args.window,
        args.seconds,
        1.0,
        history=False,
        direction=args.direction,
        server_start=split_mode.start_split if args.split else None,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--direction", choices=("in", "out", "both"), default="both")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--window", type=int, default=8)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--cpu-only", action="store_true", help="no sampler: CPU per message only")
    parser.add_argument("--perf", action="store_true", help="perf by shared object, not py-spy")
    parser.add_argument("--split", action="store_true", help="engine + 1 edge; the engine sampled")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    args.out = args.out or Path(tempfile.mkdtemp(prefix="parley-profile-"))
    args.out.mkdir(parents=True, exist_ok=True)
    pin(1)
    gc.freeze()
    uvloop.run(run(args))


if __name__ == "__main__":
    main()
