"""``parley report`` through the real CLI against a real server on a fake clock:
a table with its total, --json, --csv, the busiest hours, and a refusal's reason."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import orjson

from engine.runtime import FakeClock
from parley.v1 import operator_pb2
from tests.control.test_cli_ops import Cli
from tests.integration.helpers import on_duty, running
from tests.integration.test_routing import advance, chat_up

START = datetime(2026, 11, 27, 13, 20, tzinfo=UTC)


async def test_report_prints_a_table_json_and_csv(tmp_path: Path) -> None:
    clock = FakeClock(wall_ms=int(START.timestamp() * 1000))
    async with running(tmp_path, clock=clock, history=True) as app:
        assert app.owner is not None and app.demo is not None and app.engine is not None
        site = app.demo["site"]
        op = await on_duty(app)
        v, conv = await chat_up(app)
        await op.recv("assigned")
        await advance(app, clock, 90)
        op.send_commands(
            operator_pb2.OperatorCommand(close=operator_pb2.CloseConversation(conversation_id=conv))
        )
        await v.recv("closed")
        await app.engine.settle()
        assert await asyncio.to_thread(app.engine.history.wait_current)

        cli = Cli(tmp_path)
        cli.env["PARLEY_SERVER"] = f"127.0.0.1:{app.grpc_port}"
        r = await cli(
            "login", "--email", app.owner["email"], "--password-stdin",
            stdin=app.owner["password"] + "\n",
        )  # fmt: skip
        assert r.exit_code == 0, r.output
        day = ("--site", site, "--from", "2026-11-26", "--to", "2026-11-27")

        r = await cli("report", *day)
        assert r.exit_code == 0, r.output
        lines = r.stdout.splitlines()
        assert lines[0].split()[:3] == ["DAY", "CHATS", "MISSED"]
        rows = {line.split()[0]: line.split() for line in lines[1:] if line[:1].isalnum()}
        assert rows["2026-11-26"][1] == "0" and rows["2026-11-27"][1] == "1"
        assert rows["TOTAL"][1] == "1"
        assert "1 m 30 s" in " ".join(rows["2026-11-27"])  # the duration
        assert "Times of day in UTC." in r.stdout

        r = await cli("report", *day, "--json")
        doc = orjson.loads(r.stdout)
        assert [row.get("chats", 0) for row in doc["rows"]] == [0, 1]
        assert doc["total"]["duration_average_ms"] == "90000"

        r = await cli("report", *day, "--csv")
        assert r.exit_code == 0, r.output
        header, first, second, total = r.stdout.splitlines()
        assert header.startswith("day,chats,missed,abandoned,no_operator,answered,")
        assert second.startswith("2026-11-27,1,0,0,0,0,")
        assert total.split(",")[0] == "total" and "90" in total.split(",")

        r = await cli("report", "--site", site, "--from", "2026-11-27", "--by", "hour")
        assert r.exit_code == 0, r.output
        assert "Busiest hours: 13:00." in r.stdout

        r = await cli("report", "--site", site, "--from", "2026-11-28", "--to", "2026-11-27")
        assert r.exit_code == 1
        assert "invalid_time_range" in r.output
