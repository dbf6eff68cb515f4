"""What machine a benchmark ran on, for its table."""

from __future__ import annotations

import os
import platform
import random
import socket
import sys


def describe() -> str:
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            kib = int(f.readline().split()[1])
            mem = f", {kib / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return (
        f"{os.cpu_count()} cores ({cpu}){mem}, {platform.system()} {platform.release()}, "
        f"Python {sys.version.split()[0]}"
    )


def table(rows: list[list[str]], headers: list[str]) -> str:
    cells = [headers] + rows
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    out = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in cells
    ]
    out.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(out)


def pin(cpu: int) -> None:
    """Run this process on one core, where the machine has it."""
    if hasattr(os, "sched_setaffinity") and cpu < (os.cpu_count() or 1):
        os.sched_setaffinity(0, {cpu})


def free_ports(span: int, low: int = 20_000, high: int = 30_000) -> int:
    """A first port such that it and the ``span`` after it are free on
    127.0.0.1 now (each bound and let go): for the smoke runs, which the suite
    starts on a machine whose fixed ports another program may hold. Racy, as
    any probe is, but far less often wrong than a fixed port."""
    for _ in range(200):
        base = random.randrange(low, high - span)
        try:
            for port in range(base, base + span + 1):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError(f"no {span + 1} free ports in a row between {low} and {high}")
