"""Split mode as real processes: ``parley engine`` and two ``parley edge`` on one
port (SO_REUSEPORT), visitors over real websockets, an operator over real gRPC.
An edge killed with -9 mid-chat and the engine killed and restarted under an
open socket: every acknowledged message is in the transcript once."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path

from click.testing import CliRunner

from control.cli import main
from parley.v1 import common_pb2, control_pb2
from tests.conftest import CHEAP_SERVER_ENV
from tests.control.test_metrics import _scrape, _value
from tests.integration.helpers import Operator, Visitor

ENGINE_PATTERNS = {
    "grpc": r"gRPC[^(]*\(.*\): (\S+:\d+)",
    "site": r"Demo site id: (\S+)",
    "email": r"Demo operator: (\S+) /",
    "password": r"Demo operator: \S+ / (\S+)",
}


@dataclass
class Proc:
    proc: asyncio.subprocess.Process
    info: dict[str, str] = field(default_factory=dict)
    stderr: list[str] = field(default_factory=list)
    readers: list[asyncio.Task[None]] = field(default_factory=list)

    async def end(self, sig: signal.Signals = signal.SIGTERM) -> int:
        if self.proc.returncode is None:
            self.proc.send_signal(sig)
        async with asyncio.timeout(30):
            code = await self.proc.wait()
            await asyncio.gather(*self.readers, return_exceptions=True)
        return code


async def _keep(stream: asyncio.StreamReader, lines: list[str]) -> None:
    while line := await stream.readline():
        lines.append(line.decode(errors="replace"))


async def start(args: list[str], patterns: dict[str, str]) -> Proc:
    """Start ``parley ARGS``; return once every pattern was read from its
    stdout, or with the exit code when it exits first."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "control.cli", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **CHEAP_SERVER_ENV},
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    p = Proc(proc)
    p.readers.append(asyncio.create_task(_keep(proc.stderr, p.stderr)))
    async with asyncio.timeout(60):
        while not all(k in p.info for k in patterns):
            raw = await proc.stdout.readline()
            if not raw:
                await proc.wait()
                await asyncio.gather(*p.readers)
                return p
            for key, pattern in patterns.items():
                if m := re.search(pattern, raw.decode(errors="replace")):
                    p.info[key] = m.group(1)
    p.readers.append(asyncio.create_task(_keep(proc.stdout, [])))
    return p


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def engine(data: Path, grpc_port: int) -> Proc:
    args = ["engine", "--demo", "--data", str(data), "--grpc-port", str(grpc_port)]
    p = await start(args, ENGINE_PATTERNS)
    assert p.proc.returncode is None, "".join(p.stderr)
    return p


async def edge(engine_at: str, secret_file: Path, port: int, *flags: str) -> Proc:
    args = ["edge", "--engine", engine_at, "--link-secret-file", str(secret_file), *flags]
    # Attaching again after a loss: every 0.2 s, not after a pause doubling to 5 s
    # (the engine restarted here is back in about half a second).
    args += ["--link-retry-max", "0.2"]
    return await start([*args, "--port", str(port)], {"ws": r"ws://(127\.0\.0\.1:\d+)/"})


class Engine:
    """What helpers.Operator needs of a server: its gRPC port."""

    def __init__(self, grpc_port: int) -> None:
        self.grpc_port = grpc_port


async def transcript(op: Operator, conversation: str) -> list[tuple[str, str]]:
    reply = await op.api.conversations.ListMessages(
        control_pb2.ListMessagesRequest(conversation_id=conversation, page_size=100),
        metadata=op.metadata,
    )
    visitor = common_pb2.AuthorKind.Value("AUTHOR_KIND_VISITOR")
    return [(m.client_msg_id, m.text) for m in reply.messages if m.author_kind == visitor]


async def resumed(url: str, token: str, last_seq: int) -> Visitor:
    v = await Visitor(url).connect()
    await v.hello(token=token, last_seq=last_seq)
    return v


def last_seq(v: Visitor) -> int:
    return max((f.get("seq", 0) for f in v.frames() if f["type"] in ("msg", "ack")), default=0)


async def test_split_mode_survives_an_edge_and_the_engine(tmp_path: Path) -> None:
    data, grpc_port, port = tmp_path / "data", free_port(), free_port()
    eng = await engine(data, grpc_port)
    target, secret = eng.info["grpc"], data / "link-secret"
    edges: list[Proc] = []
    ops: list[Operator] = []
    try:
        edges.append(await edge(target, secret, port))
        url = f"ws://127.0.0.1:{port}/v1/visitor?site={eng.info['site']}"
        op = Operator(Engine(grpc_port))  # type: ignore[arg-type]
        ops.append(op)
        await op.login(eng.info["email"], eng.info["password"])
        await op.open()

        # Two visitors on edge A (the only one yet) chat with the operator.
        v1, v2 = await Visitor(url).connect(), await Visitor(url).connect()
        w1, w2 = await v1.hello(name="Ann"), await v2.hello(name="Bo")
        v1.send({"type": "msg", "cid": "a1", "text": "first from Ann"})
        conv1 = (await v1.recv("ack"))["conversation"]
        v2.send({"type": "msg", "cid": "b1", "text": "first from Bo"})
        conv2 = (await v2.recv("ack"))["conversation"]
        op.say(conv1, "o1", "Hello Ann")
        reply = await v1.recv("msg")
        while reply["from"] != "operator":
            reply = await v1.recv("msg")
        assert reply["text"] == "Hello Ann"

        # Edge B on the same port: the kernel shares it (SO_REUSEPORT).
        edges.append(await edge(target, secret, port))
        assert edges[1].proc.returncode is None, "".join(edges[1].stderr)

        # A message acked, one in flight, and edge A dies.
        v1.send({"type": "msg", "cid": "a2", "text": "second from Ann"})
        await v1.recv("ack")
        v1.send({"type": "msg", "cid": "a3", "text": "third from Ann"})
        acked = {f["cid"] for f in v1.frames() if f["type"] == "ack"}
        edges[0].proc.kill()
        await edges[0].end(signal.SIGKILL)
        await v1.recv("_disconnected", timeout=10)
        await v2.recv("_disconnected", timeout=10)

        # They come back through edge B, resume by seq and send again what was
        # not acked, with the same client ids (never doubled).
        r1 = await resumed(url, w1["token"], last_seq(v1))
        r2 = await resumed(url, w2["token"], last_seq(v2))
        for cid, text in (("a2", "second from Ann"), ("a3", "third from Ann")):
            if cid not in acked:
                r1.send({"type": "msg", "cid": cid, "text": text})
                assert (await r1.recv("ack"))["cid"] == cid
        r2.send({"type": "msg", "cid": "b2", "text": "second from Bo"})
        assert (await r2.recv("ack"))["cid"] == "b2"
        op.say(conv2, "o2", "Hello Bo")
        got = await r2.recv("msg")
        while got["from"] != "operator":
            got = await r2.recv("msg")
        assert got["text"] == "Hello Bo"

        # The engine is killed under r1's open socket and restarted.
        await op.close()
        eng.proc.kill()
        await eng.end(signal.SIGKILL)
        told = await r1.recv("service", timeout=10)
        assert told["state"] == "reconnecting" and "reconnecting" in told["message"]
        r1.send({"type": "msg", "cid": "a4", "text": "fourth from Ann"})
        refused = await r1.recv("error")
        assert (refused["code"], refused["cid"], refused["retryable"]) == (
            "reconnecting",
            "a4",
            True,
        )
        assert refused["retry_after_ms"] > 0
        eng = await engine(data, grpc_port)
        assert (await r1.recv("service", timeout=20))["state"] == "connected"
        r1.send({"type": "msg", "cid": "a4", "text": "fourth from Ann"})
        assert (await r1.recv("ack", timeout=10))["cid"] == "a4"

        # Every message acked is in the transcript, once.
        op = Operator(Engine(grpc_port))  # type: ignore[arg-type]
        ops.append(op)
        await op.login(eng.info["email"], eng.info["password"])
        assert await transcript(op, conv1) == [
            ("a1", "first from Ann"),
            ("a2", "second from Ann"),
            ("a3", "third from Ann"),
            ("a4", "fourth from Ann"),
        ]
        assert await transcript(op, conv2) == [("b1", "first from Bo"), ("b2", "second from Bo")]
        for v in (v1, v2, r1, r2):
            await v.close()
    finally:
        for o in ops:
            await o.close()
        for p in edges:
            await p.end(signal.SIGKILL)
        await eng.end()


async def test_an_edge_without_engine_or_secret_says_why(tmp_path: Path) -> None:
    data, grpc_port = tmp_path / "data", free_port()
    wrong = tmp_path / "wrong"
    wrong.write_text("not-the-engines-secret-at-all\n")
    nobody = await edge(f"127.0.0.1:{free_port()}", wrong, free_port())
    assert await nobody.end() == 1
    assert "cannot reach the engine" in "".join(nobody.stderr)
    eng = await engine(data, grpc_port)
    try:
        refused = await edge(eng.info["grpc"], wrong, free_port())
        assert await refused.end() == 1
        assert "refused this edge's link secret" in "".join(refused.stderr)
        # The right one attaches, and serves its metrics on a port of its own.
        metrics_port = free_port()
        ok = await edge(
            eng.info["grpc"],
            data / "link-secret",
            free_port(),
            "--visitor-send-buffer-kib",
            "64",
            "--listen-backlog",
            "64",
            "--metrics-port",
            str(metrics_port),
        )
        assert ok.proc.returncode is None and "ws" in ok.info
        status, body = await _scrape(metrics_port)
        assert status == "HTTP/1.1 200 OK" and _value(body, "parley_link_up") == 1
        assert await ok.end() == 0
    finally:
        await eng.end()


def test_an_edges_taken_metrics_port_is_named_before_it_attaches(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("a link secret long enough\n")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        args = ["edge", "--engine", "127.0.0.1:1", "--link-secret-file", str(secret)]
        result = CliRunner().invoke(main, [*args, "--metrics-port", str(port)], prog_name="parley")
    assert result.exit_code == 1, result.output
    assert f"cannot listen for metrics on 127.0.0.1:{port}: the port is in use" in result.output
    assert "choose another with --metrics-port" in result.output
    assert "cannot reach the engine" not in result.output  # said before it tried
    # An address that is not this machine's (TEST-NET-1): said, and before attaching.
    result = CliRunner().invoke(
        main, [*args, "--metrics-host", "192.0.2.1", "--metrics-port", "9100"], prog_name="parley"
    )
    assert result.exit_code == 1, result.output
    assert "cannot start the edge:" in result.output and "192.0.2.1" in result.output
    assert "cannot reach the engine" not in result.output
    result = CliRunner().invoke(main, [*args, "--metrics-port", "70000"], prog_name="parley")
    assert result.exit_code == 2 and "Invalid value for '--metrics-port'" in result.output
    for host in ("127.0.0.1", "0.0.0.0"):  # the metrics on 127.0.0.1, the edge on HOST
        same = ["--host", host, "--port", "9100", "--metrics-port", "9100"]
        result = CliRunner().invoke(main, [*args, *same], prog_name="parley")
        assert result.exit_code == 2, result.output
        assert "the metrics port must differ from the edge's --port" in result.output


def test_an_edges_socket_limits_out_of_bounds_are_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("a link secret long enough\n")
    args = ["edge", "--engine", "127.0.0.1:1", "--link-secret-file", str(secret)]
    for flag, bad in (("--visitor-send-buffer-kib", "63"), ("--listen-backlog", "0")):
        result = CliRunner().invoke(main, [*args, flag, bad], prog_name="parley")
        assert result.exit_code == 2, result.output
        assert f"Invalid value for '{flag}'" in result.output, result.output


def test_a_link_retry_pause_out_of_bounds_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("a link secret long enough\n")
    args = ["edge", "--engine", "127.0.0.1:1", "--link-secret-file", str(secret)]
    for bad in ("0", "-1", "3601"):
        result = CliRunner().invoke(main, [*args, "--link-retry-max", bad], prog_name="parley")
        assert result.exit_code == 2, result.output
        assert "link_retry_max must be above 0 and at most 3600 seconds" in result.output
