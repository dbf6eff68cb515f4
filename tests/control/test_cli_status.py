"""``parley status`` through the real CLI against a real server: the live
connections, the store and its last commit, as a table and as JSON, and only
for who may manage sites."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson

from engine.status import version
from tests.control.test_cli_ops import Cli
from tests.integration.helpers import Operator, Visitor, running, visitor_url


async def test_status_counts_connections_and_the_store(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        assert app.owner is not None and app.demo is not None and app.engine is not None
        cli = Cli(tmp_path)
        cli.env["PARLEY_SERVER"] = f"127.0.0.1:{app.grpc_port}"
        r = await cli(
            "login", "--email", app.owner["email"], "--password-stdin",
            stdin=app.owner["password"] + "\n",
        )  # fmt: skip
        assert r.exit_code == 0, r.output

        operator = await Operator(app).login(app.demo["email"], app.demo["password"])
        await operator.open()
        visitor = await Visitor(visitor_url(app)).connect()
        await visitor.hello(name="Bob")
        visitor.send({"type": "msg", "cid": "c1", "text": "hello"})
        await visitor.recv("ack")  # acked after its commit

        r = await cli("status", "--json")
        assert r.exit_code == 0, r.output
        doc = orjson.loads(r.stdout)
        assert doc["health"] == "serving"
        assert doc["version"] == version() != ""
        assert doc["visitor_websockets"] == 1
        assert doc["operator_streams"] == 1
        assert 0 < doc["store_used_bytes"] <= doc["map_size_bytes"]
        assert doc["store_left_bytes"] > 0 and doc["disk_free_bytes"] > 0
        assert doc["last_commit_ms"] > 0 and doc["commits"] > 0
        assert doc["uptime_seconds"] >= 0

        r = await cli("status")
        assert r.exit_code == 0, r.output
        lines = {line.split("  ")[0]: line for line in r.stdout.splitlines()}
        assert "serving" in lines["health"]
        assert lines["visitor websockets"].split()[-1] == "1"
        assert lines["operator streams"].split()[-1] == "1"
        assert "of the map" in lines["store used"]
        assert "UTC" in lines["last commit"]

        await visitor.close()
        await operator.close()

        # An operator (no manage_sites) is refused with the reason.
        r = await cli("status", PARLEY_TOKEN=operator.token)
        assert r.exit_code == 1 and "permission_denied" in r.stderr, r.output


async def test_status_counts_what_closed(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        assert app.demo is not None and app.engine is not None
        engine = app.engine
        visitor = await Visitor(visitor_url(app)).connect()
        await visitor.hello()
        operator = await Operator(app).login(app.demo["email"], app.demo["password"])
        await operator.open()
        assert (engine.status().visitor_websockets, engine.status().operator_streams) == (1, 1)
        await visitor.close()
        await operator.close()
        # The server learns of each close on its own: wait until it has counted both.
        async with asyncio.timeout(5.0):
            while (engine.status().visitor_websockets, engine.status().operator_streams) != (0, 0):
                await asyncio.sleep(0.01)
