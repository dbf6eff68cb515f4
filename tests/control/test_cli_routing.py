"""The routing commands of the CLI against a real server."""

from __future__ import annotations

from pathlib import Path

import orjson

from tests.control.test_cli import cli
from tests.integration.helpers import running


async def test_routing_commands(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        assert app.owner is not None and app.demo is not None
        r = await cli(
            app,
            tmp_path,
            "login",
            "--email",
            app.owner["email"],
            "--password",
            app.owner["password"],
        )
        assert r.exit_code == 0, r.output
        site, dept, op_id = app.demo["site"], app.demo["department"], app.demo["operator"]

        async def ok(*args: str) -> dict:  # type: ignore[type-arg]
            r = await cli(app, tmp_path, "--json", *args)
            assert r.exit_code == 0, (args, r.output)
            return orjson.loads(r.output) if r.output.strip() else {}

        d = await ok(
            "department",
            "set",
            dept,
            "--hours",
            "mon-fri 09:00-17:00",
            "--timezone",
            "Europe/Oslo",
            "--max-wait",
            "90",
            "--offer-seconds",
            "15",
            "--offline-action",
            "forward",
            "--offline-seconds",
            "30",
            "--no-chat",
        )
        assert (d["hours"], d["timezone"], d["max_wait_seconds"]) == (
            "mon-fri 09:00-17:00",
            "Europe/Oslo",
            90,
        )
        assert d["offline_action"] == "forward" and d.get("chat_enabled", False) is False
        region = await ok("region", "create", "North", "--department", dept)
        group = await ok("group", "create", "Billing", "--site", site)
        rule = await ok("link", "add", "/billing", "--site", site, "--group", group["id"])
        assert rule["pattern"] == "/billing"
        assert (await ok("link", "list", "--site", site))["link_rules"][0]["id"] == rule["id"]
        s = await ok("language", "set", "en", "nb", "--site", site)
        assert s["languages"] == ["en", "nb"]
        o = await ok(
            "operator",
            "set",
            op_id,
            "--max-chats",
            "3",
            "--languages",
            "en,nb",
            "--regions",
            region["id"],
            "--groups",
            group["id"],
            "--schedule",
            "daily 08:00-20:00",
            "--timezone",
            "Europe/Oslo",
            "--no-auto-accept",
            "--internal-name",
            "Nina (L2)",
        )
        assert o["languages"] == ["en", "nb"] and o["region_ids"] == [region["id"]]
        assert o["internal_name"] == "Nina (L2)"
        assert o["schedule"] == "daily 08:00-20:00" and o.get("auto_accept", False) is False
        assert (await ok("department", "waiting", dept)) == {}
        assert (await ok("ticket", "list", "--site", site)) == {}

        t = await ok("template", "add", "bye", "Goodbye {visitor_name}!", "--shared")
        assert (await ok("template", "list", "b"))["templates"][0]["id"] == t["id"]
        r = await cli(app, tmp_path, "template", "add", "x", "{nope}")
        assert r.exit_code == 1 and "unknown variables" in r.output
        r = await cli(app, tmp_path, "template", "delete", t["id"])
        assert r.exit_code == 0 and (await ok("template", "list")) == {}

        b = await ok("block", "add", "--site", site, "--ip", "10.1.0.0/16", "--reason", "spam")
        assert (await ok("block", "list", "--site", site))["blocks"][0]["id"] == b["id"]
        r = await cli(app, tmp_path, "block", "add", "--site", site)
        assert r.exit_code == 2 and "--ip or --visitor" in r.output
        assert (await cli(app, tmp_path, "block", "remove", b["id"])).exit_code == 0
        r = await cli(app, tmp_path, "stats", "--site", site)
        assert r.exit_code == 0 and "WAITING" in r.output and "Support" in r.output
        assert (await ok("usage"))["sites"] == 1

        # Tables for people.
        r = await cli(app, tmp_path, "region", "list", "--department", dept)
        assert "North" in r.output and region["id"] in r.output
        r = await cli(app, tmp_path, "operator", "list")
        assert "STATUS" in r.output and "en,nb" in r.output

        # Bad input: a clear refusal, exit code 1, nothing changed.
        for args, words in (
            (("department", "set", dept, "--hours", "mon 10:00-09:00; mon 08:00-11:00"), "overlap"),
            (("department", "set", dept, "--timezone", "Nowhere/City"), "IANA"),
            (("link", "add", "(", "--site", site, "--group", group["id"]), "does not compile"),
            (("operator", "set", op_id, "--schedule", "mon 9-5"), "mon-fri"),
            (("region", "create", "X", "--department", "dmissing00"), "dmissing00"),
        ):
            r = await cli(app, tmp_path, *args)
            assert r.exit_code == 1 and words in r.output, (args, r.output)
        r = await cli(app, tmp_path, "operator", "set", op_id, "--max-chats", "-1")
        assert r.exit_code == 2  # refused by the CLI itself
        d = await ok("department", "list", "--site", site)
        assert d["departments"][0]["hours"] == "mon-fri 09:00-17:00"
