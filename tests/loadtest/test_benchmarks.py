"""Every benchmark in ``loadtest/`` runs once at its smoke size, as a separate
process the way it is run by hand, so none can rot unnoticed: it ends well,
prints its table, and the numbers in it are sane (their size means nothing)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.conftest import CHEAP_SERVER_ENV

ROOT = Path(__file__).resolve().parent.parent.parent


def run_smoke(name: str, *extra: str) -> subprocess.CompletedProcess[str]:
    """Run ``loadtest.<name> --smoke`` (and ``extra``). The servers it starts
    hash passwords cheaply (what they cost is bench_logins' to measure, at the
    default, and so not there). Its temporary files go to a folder of its own,
    which must be empty when it is done: a benchmark leaves no store behind."""
    env = {**os.environ, **({} if name == "bench_logins" else CHEAP_SERVER_ENV)}
    with tempfile.TemporaryDirectory(prefix="parley-smoke-") as scratch:
        done = subprocess.run(
            [sys.executable, "-m", f"loadtest.{name}", "--smoke", *extra],
            cwd=ROOT,
            env={**env, "TMPDIR": scratch},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        left = sorted(p.name for p in Path(scratch).iterdir())
        assert not left, f"loadtest.{name} left behind in its temporary folder: {left}"
    return done


def smoke(name: str, *extra: str) -> tuple[str, list[dict[str, str]]]:
    """Run ``loadtest.<name> --smoke`` (and ``extra``); its output and its table's rows."""
    done = run_smoke(name, *extra)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("|")]
    assert len(lines) >= 3, done.stdout  # a header, a rule, and rows
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    rows = [
        dict(zip(header, (cell.strip() for cell in line.strip("|").split("|")), strict=True))
        for line in lines[2:]
    ]
    return done.stdout, rows


def number(cell: str) -> float:
    """The first number in a cell: '1.28M/s' -> 1280000, '2,867/s' -> 2867."""
    found = re.search(r"(\d[\d,]*(?:\.\d+)?)\s*([kM]?)", cell)
    assert found, f"no number in {cell!r}"
    scale = {"": 1, "k": 1e3, "M": 1e6}[found.group(2)]
    return float(found.group(1).replace(",", "")) * scale


def test_bench_actors() -> None:
    _, rows = smoke("bench_actors")
    assert [r["benchmark"].split(" (")[0] for r in rows] == [
        "ping-pong",
        "fan-in",
        "bytes per idle actor",
    ]
    for row in rows[:2]:
        assert all(number(row[c]) > 0 for c in ("parley", "task+Queue", "pykka")), row
    assert 100 < number(rows[2]["parley"]) < 100_000, rows[2]


def test_bench_routing() -> None:
    out, rows = smoke("bench_routing")
    assert "200 visitors" in out
    engine, bare = rows
    assert number(engine["assignments/s"]) > 0 and number(engine["seconds"]) > 0
    wait_p50, wait_p99 = (float(x) for x in engine["wait p50 / p99 ms"].split(" / "))
    assert 0 <= wait_p50 <= wait_p99
    assert number(bare["assignments/s"]) > number(engine["assignments/s"])


def test_bench_idle() -> None:
    out, (one, split) = smoke("bench_idle")
    assert "Machine: " in out and "failed to connect" not in out
    assert one["mode"] == "one process" and split["mode"] == "engine + 2 edges"
    assert one["visitors (hello done)"] == "20" and split["visitors (hello done)"] == "30"
    # Every visitor connected still answers a ping through the whole path.
    assert one["answered ping at the end"] == "20" and split["answered ping at the end"] == "30"
    for row in (one, split):
        assert number(row["time to connect all"]) >= 0
        assert number(row["RSS before (all)"]) > 10 and number(row["RSS after (all)"]) > 10


def test_bench_overload() -> None:
    out, rows = smoke("bench_overload")
    assert "Machine: " in out
    assert [r["mode"] for r in rows] == ["one process", "engine + 1 edge"]
    for row in rows:
        # Every message answered, and nothing acknowledged missing from the transcripts.
        assert row["unanswered"] == "0", row
        checked, missing = (number(x) for x in row["acked checked / missing"].split(" / "))
        assert checked > 0 and missing == 0, row
        assert row["refused otherwise"] == "0", row
        # Every overloaded refusal is retryable.
        refused, retryable = (number(x) for x in row["refused overloaded (all)"].split(" (")[:2])
        assert refused == retryable, row
        # Every message sent in the overload was acknowledged or refused.
        sent, acked, refused = (
            number(row[c]) for c in ("sent in overload", "of which acked", "of which refused")
        )
        assert sent > 0 and acked + refused == sent, row
        assert number(row["capacity"]) > 0 and number(row["anon RSS at half load"]) > 10


def test_bench_soak() -> None:
    out, rows = smoke("bench_soak")
    assert "Machine: " in out and "refused: {}" in out and "unanswered at the end: 0" in out
    assert [r["minute"] for r in rows] == ["1", "2", "3"]
    assert sum(number(r["chats opened"]) for r in rows) > 0  # chats close and open again
    for row in rows:
        assert number(row["acked"]) > 0 and number(row["store per message"]) > 0, row
        assert number(row["p50"]) <= number(row["p99"]), row
    assert "from minute 3 to minute 3: anonymous RSS" in out


def test_bench_e2e() -> None:
    out, rows = smoke("bench_e2e")
    assert "errors seen: 0" in out
    cpu_lines = [line for line in out.splitlines() if line.startswith("CPU a message, ")]
    assert len(cpu_lines) == 3 and all("; load generator " in line for line in cpu_lines)
    names = [r["run"].split(",")[0].split(" (")[0] for r in rows]
    parley = [
        "parley visitor->operator",
        "parley visitor->operator",
        "parley operator->visitor",
        "parley operator->visitor",
        "parley visitor->operator",  # saturated again, with the history index off
    ]
    # ejabberd is a peer when installed; the suite never needs it.
    if "ejabberd not installed" in out:
        assert names == ["bare picows echo", *parley]
    else:
        assert names == [
            "bare picows echo",
            *parley,
            "ejabberd 1 scheduler",
            "ejabberd 1 scheduler",
        ]
    assert all(number(r["messages/s"]) > 0 for r in rows), rows
    for row in rows[1:]:
        p50, p99, p999 = number(row["p50"]), number(row["p99"]), number(row["p99.9"])
        assert 0 < p50 <= p99 <= p999, row


def test_bench_e2e_split() -> None:
    out, rows = smoke("bench_e2e", "--split")
    assert "errors seen: 0" in out and "Machine: " in out
    assert [r["mode"] for r in rows] == ["parley serve (one process)", "parley engine + 1 edge"]
    for row in rows:
        assert number(row["messages/s"]) > 0, row
        p50, p99, p999 = (number(row[c]) for c in ("p50", "p99", "p99.9"))
        assert 0 < p50 <= p99 <= p999, row
    # CPU per message, read from /proc for each process: the server, then the
    # engine and the edge apart.
    assert rows[0]["CPU per message"].startswith("server ")
    assert "engine " in rows[1]["CPU per message"] and " + edge " in rows[1]["CPU per message"]
    # And the load generator's own, apart from the server's.
    assert all(number(r["CPU per message"].split("; load generator ")[1]) > 0 for r in rows)


def test_bench_resume() -> None:
    out, rows = smoke("bench_resume")
    assert "Machine: " in out and "replayed from seq 0" in out
    assert [r["replay"] for r in rows] == [
        "bare picows echo, all written at once",
        "parley serve, 64 KiB bound",
        "parley engine + 1 edge, 64 KiB bound",
    ]
    for row in rows:
        assert number(row["time"]) > 0 and number(row["messages/s"]) > 0, row


def test_bench_journal() -> None:
    # Two tables (activation, replay): read as text, not through smoke()'s one table.
    done = run_smoke("bench_journal")
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "Machine:" in out and "| conversation" in out and "| replay from seq 0" in out
    assert "Resend of the last client id after activation: seq " in out
    replays = [line for line in out.splitlines() if line.startswith("| this (pages")]
    assert replays and number(replays[0].split("|")[2]) > 0


def test_bench_logins() -> None:
    out, rows = smoke("bench_logins")
    assert "chat errors seen: 0" in out
    assert [r["phase"].split(",")[0] for r in rows] == [
        "no logins",
        "4 clients logging in",
        "4 clients logging in",
    ]
    for row in rows:
        assert number(row["messages/s"]) > 0, row
        p50, p99 = number(row["p50 send->operator"]), number(row["p99 send->operator"])
        assert 0 < p50 <= p99, row
    assert all(number(r["logins/s"]) >= 0 for r in rows[1:]), rows  # a rate, maybe 0 when busy


def test_bench_bridge() -> None:
    # Three tables (relay latency, encodings, many consoles): read as text.
    done = run_smoke("bench_bridge")
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "Machine:" in out and "Added by the bridge: p50" in out
    rows = {
        line.split("|")[1].strip(): [c.strip() for c in line.strip("|").split("|")]
        for line in out.splitlines()
        if line.startswith("| ")
    }
    for client in ("direct gRPC session", "console over the bridge"):
        _, _, received, p50, p99 = rows[client]
        assert number(received) > 0 and 0 < number(p50) <= number(p99), rows[client]
    assert number(rows["binary protobuf (the bridge)"][1]) > 0
    assert number(rows["JSON (json_format.MessageToJson)"][1]) > 0
    assert number(rows["10"][3]) > 0  # events delivered to the 10 consoles


def test_every_benchmark_is_smoked() -> None:
    names = sorted(path.stem for path in (ROOT / "loadtest").glob("bench_*.py"))
    assert names, "no benchmarks found"
    missing = [name for name in names if f"test_{name}" not in globals()]
    assert not missing, f"benchmarks without a smoke test here: {missing}"


def test_bench_history() -> None:
    out, rows = smoke("bench_history")
    assert "Machine:" in out
    assert all(number(row["value"]) > 0 for row in rows)


def test_bench_console(chromium_path: str) -> None:
    """Needs Chromium (the page tests' own, installed on first use): skipped
    only where it is missing and cannot be installed."""
    assert chromium_path
    out, rows = smoke("bench_console")
    assert "Machine:" in out and "10 chats of 5 visitor messages" in out
    assert all(number(row["p50 (or once)"]) > 0 for row in rows), rows
    assert "Bridge latency at ~1,000 events/s" in out  # run at full size only
