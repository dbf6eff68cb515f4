"""The metrics port: a real server, a real visitor and operator, real HTTP scrapes."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from control.runner import Parley, PortInUse, ServeConfig
from edge.config import EdgeConfig
from tests.integration.helpers import CHEAP_HASHER, Operator, Visitor, visitor_url


def _config(tmp_path: Path, metrics_port: int) -> ServeConfig:
    return ServeConfig(
        data_dir=tmp_path / "data",
        http_port=0,
        grpc_port=0,
        metrics_port=metrics_port,
        demo=True,
        edge=EdgeConfig(port=0),
        password_hasher=CHEAP_HASHER,
    )


async def _scrape(port: int, path: str = "/metrics") -> tuple[str, str]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    data = await reader.read()
    writer.close()
    head, _, body = data.decode().partition("\r\n\r\n")
    return head.split("\r\n")[0], body


def _value(body: str, name: str) -> float:
    for line in body.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in the scrape")


async def test_a_scrape_counts_the_chat(tmp_path: Path) -> None:
    app = Parley(_config(tmp_path, 0))
    await app.start()
    try:
        assert app.metrics_port not in (0, app.http_port, app.grpc_port)
        assert app.demo is not None
        op = Operator(app)
        await op.login(app.demo["email"], app.demo["password"])
        await op.open()
        visitor = await Visitor(visitor_url(app)).connect()
        await visitor.hello()
        visitor.send({"type": "msg", "cid": "m1", "text": "hello"})
        await visitor.recv("ack")
        status, body = await _scrape(app.metrics_port)
        assert status == "HTTP/1.1 200 OK"
        assert _value(body, 'parley_connections{kind="visitor_websocket"}') == 1
        assert _value(body, 'parley_connections{kind="operator_stream"}') == 1
        assert _value(body, 'parley_messages_total{direction="from_visitor"}') == 1
        assert _value(body, "parley_visitor_ack_seconds_count") == 1
        assert _value(body, "parley_store_commits_total") >= 1
        assert _value(body, 'parley_health{state="serving"}') == 1
        assert _value(body, 'parley_connections{kind="edge_link"}') == 0  # one process
        assert _value(body, "parley_visitor_cuts_total") == 0
        dept = app.demo["department"]
        assert f'parley_assignments_total{{department="{dept}"}}' in body
        assert "visitor=" not in body and "conversation=" not in body
        assert (await _scrape(app.metrics_port, "/other"))[0].startswith("HTTP/1.1 404")
        await visitor.close()
        await op.close()
    finally:
        await app.stop()


async def test_a_taken_metrics_port_names_it(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        app = Parley(_config(tmp_path, port))
        with pytest.raises(PortInUse) as error:
            await app.start()
        await app.stop()
    assert error.value.service == "metrics"
    assert f"cannot listen for metrics on 127.0.0.1:{port}" in str(error.value)
