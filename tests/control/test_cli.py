"""The admin CLI against a real server: tables, --json, errors and exit codes."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
from click.testing import CliRunner, Result

from control.cli import main
from tests.integration.helpers import running


async def cli(app: Any, tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    runner = CliRunner()
    full_env = {
        "PARLEY_CONFIG_DIR": str(tmp_path / "cfg"),
        "PARLEY_SERVER": f"127.0.0.1:{app.grpc_port}",
        **(env or {}),
    }
    return await asyncio.to_thread(runner.invoke, main, list(args), env=full_env)


async def test_admin_flow(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        r = await cli(app, tmp_path, "site", "list")
        assert r.exit_code == 4 and "not logged in" in r.output

        r = await cli(app, tmp_path, "login", "--email", app.owner["email"], "--password", "nope")
        assert r.exit_code == 1 and "bad_credentials" in r.output

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
        assert "Logged in as Owner" in r.output

        r = await cli(
            app,
            tmp_path,
            "--json",
            "site",
            "create",
            "Shop",
            "--origin",
            "https://shop.example",
            "--timezone",
            "Europe/Paris",
        )
        assert r.exit_code == 0, r.output
        site = orjson.loads(r.output)
        assert site["allowed_origins"] == ["https://shop.example"]

        r = await cli(app, tmp_path, "site", "create", "Bad", "--timezone", "Mars/Olympus")
        assert r.exit_code == 1 and "timezone" in r.output

        r = await cli(
            app, tmp_path, "--json", "department", "create", "Sales", "--site", site["id"]
        )
        dept = orjson.loads(r.output)
        r = await cli(app, tmp_path, "department", "create", "Sales", "--site", "snosuchsit")
        assert r.exit_code == 1 and "unknown_site" in r.output

        r = await cli(
            app,
            tmp_path,
            "operator",
            "add",
            "--email",
            "kim@shop.example",
            "--name",
            "Kim",
            "--password",
            "kim-password-1",
            "--department",
            dept["id"],
            "--max-chats",
            "3",
        )
        assert r.exit_code == 0, r.output
        r = await cli(
            app,
            tmp_path,
            "operator",
            "add",
            "--email",
            "kim@shop.example",
            "--name",
            "Kim",
            "--password",
            "kim-password-1",
        )
        assert r.exit_code == 1 and "already_exists" in r.output
        r = await cli(
            app,
            tmp_path,
            "operator",
            "add",
            "--email",
            "lee@shop.example",
            "--name",
            "Lee",
            "--password",
            "short",
        )
        assert r.exit_code == 1 and "weak_password" in r.output

        r = await cli(app, tmp_path, "operator", "list")
        assert r.exit_code == 0
        assert "kim@shop.example" in r.output and "EMAIL" in r.output

        r = await cli(app, tmp_path, "--json", "operator", "list")
        emails = {o["email"] for o in orjson.loads(r.output)["operators"]}
        assert "kim@shop.example" in emails

        r = await cli(app, tmp_path, "transcript", "snosuchsit-aaaaaaaaaaaa")
        assert r.exit_code == 1 and "unknown_conversation" in r.output

        r = await cli(app, tmp_path, "logout")
        assert r.exit_code == 0
        r = await cli(app, tmp_path, "site", "list")
        assert r.exit_code == 4


async def test_unreachable_server(tmp_path: Path) -> None:
    class Nowhere:
        grpc_port = 1

    r = await cli(Nowhere(), tmp_path, "--token", "x", "site", "list")
    assert r.exit_code == 3 and "cannot reach" in r.output


async def test_password_and_sessions_from_the_cli(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        assert app.demo is not None
        email, old = app.demo["email"], app.demo["password"]
        r = await cli(app, tmp_path, "login", "--email", email, "--password", old)
        assert r.exit_code == 0, r.output
        r = await cli(app, tmp_path, "session", "list")
        assert r.exit_code == 0 and "THIS ONE" in r.output and "yes" in r.output
        r = await cli(
            app,
            tmp_path,
            "password",
            "change",
            env={"PARLEY_PASSWORD": "wrong", "PARLEY_NEW_PASSWORD": "new-password-1"},
        )
        assert r.exit_code == 1 and "bad_credentials" in r.output
        r = await cli(
            app,
            tmp_path,
            "password",
            "change",
            env={"PARLEY_PASSWORD": old, "PARLEY_NEW_PASSWORD": "new-password-1"},
        )
        assert r.exit_code == 0, r.output
        r = await cli(app, tmp_path, "login", "--email", email, "--password", "new-password-1")
        assert r.exit_code == 0
        r = await cli(
            app,
            tmp_path,
            "password",
            "reset",
            app.demo["operator"],
            env={"PARLEY_NEW_PASSWORD": "whatever-123"},
        )
        assert r.exit_code == 1 and "PERMISSION_DENIED" in r.output
        r = await cli(app, tmp_path, "session", "revoke", "ffffffffffffffff")
        assert r.exit_code == 1 and "unknown_session" in r.output


async def test_api_token_and_profile_from_the_cli(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        assert app.owner is not None
        r = await cli(
            app,
            tmp_path,
            "login",
            "--email",
            app.owner["email"],
            "--password",
            app.owner["password"],
        )
        assert r.exit_code == 0
        r = await cli(app, tmp_path, "token", "create", "ci", "--days", "7")
        assert r.exit_code == 0
        api_token = r.output.strip()
        r = await cli(app, tmp_path, "logout")
        assert r.exit_code == 0
        r = await cli(app, tmp_path, "whoami", env={"PARLEY_TOKEN": api_token})
        assert r.exit_code == 0 and app.owner["email"] in r.output
        r = await cli(app, tmp_path, "profile", "--name", "Boss", env={"PARLEY_TOKEN": api_token})
        assert r.exit_code == 0 and "Boss" in r.output
        r = await cli(
            app, tmp_path, "profile", "--avatar", "ftp://x", env={"PARLEY_TOKEN": api_token}
        )
        assert r.exit_code == 1 and "https" in r.output
        r = await cli(app, tmp_path, "profile", env={"PARLEY_TOKEN": api_token})
        assert r.exit_code == 2
        r = await cli(
            app, tmp_path, "token", "create", "x", "--days", "400", env={"PARLEY_TOKEN": api_token}
        )
        assert r.exit_code == 2
