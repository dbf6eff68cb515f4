"""The journal benchmark at its smoke size, so that it cannot rot."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_bench_journal_smoke() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "loadtest.bench_journal", "--smoke"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "| conversation" in run.stdout and "| replay from seq 0" in run.stdout
    assert "Machine:" in run.stdout
