"""The CLI as people type it, against a real server: global options on either
side of the command, passwords without a terminal, readable lists, completion."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
from click.testing import CliRunner, Result

from control.cli import main
from tests.integration.helpers import Visitor, running, visitor_url


def invoke(args: list[str], env: dict[str, str], stdin: str | None = None) -> Result:
    return CliRunner().invoke(main, args, env=env, input=stdin, prog_name="parley")


class Cli:
    """The real ``parley`` command in this process, with its own config folder and,
    unless a test says otherwise, no server address from the environment."""

    def __init__(self, tmp_path: Path) -> None:
        self.env = {"PARLEY_CONFIG_DIR": str(tmp_path / "cfg"), "PARLEY_SERVER": "127.0.0.1:1"}

    async def __call__(self, *args: str, stdin: str | None = None, **env: str) -> Result:
        return await asyncio.to_thread(invoke, list(args), {**self.env, **env}, stdin)


async def test_global_options_after_the_command(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        assert app.owner is not None
        cli, address = Cli(tmp_path), f"127.0.0.1:{app.grpc_port}"
        # The banner's own line: --server after login (PARLEY_SERVER points nowhere).
        r = await cli(
            "login",
            "--server",
            address,
            "--email",
            app.owner["email"],
            "--password-stdin",
            stdin=app.owner["password"] + "\n",
        )
        assert r.exit_code == 0, r.output
        token = orjson.loads((tmp_path / "cfg" / "credentials.json").read_bytes())["token"]
        cli.env.pop("PARLEY_SERVER")  # from here the saved login's server
        r = await cli("operator", "list", "--json")
        assert r.exit_code == 0, r.output
        assert app.owner["email"] in {o["email"] for o in orjson.loads(r.stdout)["operators"]}
        r = await cli("--json", "operator", "list")  # the old place still works
        assert r.exit_code == 0 and orjson.loads(r.stdout)["operators"]
        r = await cli("operator", "--json", "list")  # and on the group
        assert r.exit_code == 0 and orjson.loads(r.stdout)["operators"]
        # After the command it wins, as before it: over the variable and the saved login.
        r = await cli("whoami", "--server", "127.0.0.1:1", PARLEY_SERVER=address)
        assert r.exit_code == 3 and "127.0.0.1:1" in r.stderr
        r = await cli("--server", "127.0.0.1:1", "whoami", "--server", address)
        assert r.exit_code == 0, r.output
        r = await cli("whoami", "--token", "not-a-token", PARLEY_TOKEN=token)
        assert r.exit_code == 4
        # The server's message says to log in again; the CLI does not repeat it.
        assert r.stderr == "error: bad_token: the token is not valid (log in again)\n"
        r = await cli("whoami", "--token", token, "--json")
        assert r.exit_code == 0 and orjson.loads(r.stdout)["email"] == app.owner["email"]
        r = await cli("operator", "list", "--help")
        assert r.exit_code == 0
        for option in ("--server", "--token", "--json", "--tls-ca", "PARLEY_SERVER"):
            assert option in r.stdout, option
        r = await cli("serve", "--json")  # serve calls no server: it has none of them
        assert r.exit_code == 2 and "No such option '--json'" in r.stderr


async def test_passwords_without_a_terminal(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        assert app.owner is not None and app.demo is not None
        cli = Cli(tmp_path)
        cli.env["PARLEY_SERVER"] = f"127.0.0.1:{app.grpc_port}"
        email = app.owner["email"]
        # No password, no terminal: bad usage naming the ways, never a hang or exit 1.
        for args, env_name in (
            (["login", "--email", email], "PARLEY_PASSWORD"),
            (["operator", "add", "--email", "a@shop.example", "--name", "A"], "NEW_PASSWORD"),
            (["password", "reset", app.demo["operator"]], "PARLEY_NEW_PASSWORD"),
            (["password", "change"], "PARLEY_PASSWORD"),
        ):
            r = await cli(*args, "--token", "unused")
            assert r.exit_code == 2, (args, r.output)
            assert "no terminal to ask on: use --password-stdin, --password-file" in r.stderr
            assert env_name in r.stderr
        owner_file = tmp_path / "owner.txt"
        owner_file.write_text(app.owner["password"] + "\n")
        r = await cli("login", "--email", email, "--password-file", str(owner_file))
        assert r.exit_code == 0, r.output
        # Each bad way to give one is bad usage too, and names what is wrong.
        r = await cli("login", "--email", email, "--password-stdin", stdin="")
        assert r.exit_code == 2 and "standard input (--password-stdin): expected a password" in (
            r.stderr
        )
        r = await cli("login", "--email", email, "--password", "x", "--password-stdin", stdin="y\n")
        assert r.exit_code == 2 and "give only one of --password and --password-stdin" in r.stderr
        missing = tmp_path / "missing.txt"
        r = await cli("password", "reset", app.demo["operator"], "--password-file", str(missing))
        assert r.exit_code == 2 and f"cannot read --password-file {missing}" in r.stderr
        r = await cli("password", "change", "--password-stdin", stdin="only-one-line\n")
        assert r.exit_code == 2 and "expected 2 passwords, one per line" in r.stderr
        # A refusal by the server stays exit 1.
        r = await cli("login", "--email", email, "--password-stdin", stdin="wrong-password\n")
        assert r.exit_code == 1 and "bad_credentials" in r.stderr
        # Given right: on standard input, in a file, in the environment.
        r = await cli(
            "operator",
            "add",
            "--email",
            "lee@shop.example",
            "--name",
            "Lee",
            "--password-stdin",
            stdin="lee-password-1\n",
        )
        assert r.exit_code == 0, r.output
        new_file = tmp_path / "new.txt"
        new_file.write_text("demo-password-2\n")
        r = await cli("password", "reset", app.demo["operator"], "--password-file", str(new_file))
        assert r.exit_code == 0, r.output
        r = await cli(
            "password",
            "change",
            "--password-stdin",
            stdin=f"{app.owner['password']}\nowner-password-2\n",
        )
        assert r.exit_code == 0, r.output
        r = await cli(
            "login",
            "--email",
            "lee@shop.example",
            PARLEY_PASSWORD="lee-password-1",
        )
        assert r.exit_code == 0, r.output
        r = await cli("login", "--email", email, "--password-stdin", stdin="owner-password-2\n")
        assert r.exit_code == 0, r.output
        r = await cli("login", "--help")
        for text in ("--password-stdin", "--password-file", "PARLEY_PASSWORD"):
            assert text in r.stdout, text


async def test_lists_for_people(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        assert app.owner is not None and app.demo is not None
        cli = Cli(tmp_path)
        cli.env["PARLEY_SERVER"] = f"127.0.0.1:{app.grpc_port}"
        r = await cli(
            "login", "--email", app.owner["email"], "--password-stdin", stdin=app.owner["password"]
        )
        assert r.exit_code == 0, r.output
        site = app.demo["site"]
        # Nobody is online: the visitor leaves a request on the offline form.
        v = await Visitor(visitor_url(app)).connect()
        try:
            welcome = await v.hello(name="Ola")
            v.send({"type": "ticket", "name": "Ola", "email": "ola@x.test", "text": "Call me"})
            await v.recv("ticket_saved")
        finally:
            await v.close()
        visitor = welcome["visitor"]

        r = await cli("ticket", "list", "--site", site)
        assert r.exit_code == 0, r.output
        header, _, row = r.stdout.splitlines()[:3]
        assert header.split() == [
            "CREATED", "NAME", "EMAIL", "DEPARTMENT", "VISITOR", "STATUS", "CHAT", "MESSAGE"
        ]  # fmt: skip
        r = await cli("ticket", "list", "--site", site, "--json")
        ticket: dict[str, Any] = orjson.loads(r.stdout)["tickets"][0]
        assert (
            ticket["created_ms"] and "UTC" in row and row.startswith("20")
        )  # a date, not milliseconds
        assert "Support" in row and ticket["department_id"] not in row  # the name, not the id
        assert visitor in row and "Call me" in row
        r = await cli("ticket", "show", ticket["id"])
        assert r.exit_code == 0 and "Call me" in r.stdout and "ola@x.test" in r.stdout
        r = await cli("ticket", "list", "--site", site, "--limit", "1", "--json")
        assert [t["id"] for t in orjson.loads(r.stdout)["tickets"]] == [ticket["id"]]

        # Who may read tickets but not the departments sees their ids instead
        # (tickets follow the chats' scope: this desk sees every chat's).
        r = await cli(
            "role",
            "create",
            "desk",
            "--permission",
            "view_tickets",
            "--permission",
            "view_all_chats",
        )
        assert r.exit_code == 0, r.output
        r = await cli(
            "operator",
            "add",
            "--email",
            "desk@shop.example",
            "--name",
            "Desk",
            "--role",
            "desk",
            "--password-stdin",
            stdin="desk-password-1\n",
        )
        assert r.exit_code == 0, r.output
        desk = Cli(tmp_path / "desk")
        desk.env["PARLEY_SERVER"] = cli.env["PARLEY_SERVER"]
        r = await desk(
            "login", "--email", "desk@shop.example", "--password-stdin", stdin="desk-password-1"
        )
        assert r.exit_code == 0, r.output
        r = await desk("ticket", "list", "--site", site)
        assert r.exit_code == 0, r.output
        assert ticket["department_id"] in r.stdout and visitor in r.stdout

        r = await cli("block", "add", "--site", site, "--visitor", visitor, "--hours", "2")
        assert r.exit_code == 0, r.output
        r = await cli("block", "list", "--site", site)
        lines = r.stdout.splitlines()
        assert lines[0].split()[:4] == ["ID", "KIND", "ADDRESS", "OR"]
        assert visitor in lines[2] and "visitor" in lines[2] and "never" not in lines[2]

        r = await cli("role", "list")
        assert r.exit_code == 0, r.output
        lines = r.stdout.splitlines()
        assert max(len(line) for line in lines) <= 100, r.stdout
        assert lines[0].split() == ["ROLE", "KIND", "PERMISSIONS"]
        roles = [line.split()[0] for line in lines[2:] if line and not line.startswith(" ")]
        # The built-in roles first, then the account's (each by name).
        assert sorted(roles[:3]) == ["admin", "operator", "owner"] and roles[3:] == ["desk"], roles
        # The owner's permissions, every one, on its continuation lines.
        listed = orjson.loads((await cli("role", "list", "--json")).stdout)["roles"][0]
        rows = lines[2:]
        end = rows.index("")  # the empty line before the next role
        shown = " ".join(rows[:end])
        assert end > 1  # wrapped over several lines
        for permission in listed["permissions"]:
            assert permission in shown, permission


def test_shell_completion_completes_commands_and_global_options() -> None:
    def complete(words: str) -> list[str]:
        env = {
            "_PARLEY_COMPLETE": "bash_complete",
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1)),
        }
        result = CliRunner().invoke(main, [], env=env, prog_name="parley")
        assert result.exit_code == 0, result.output
        return [line.split(",", 1)[1] for line in result.stdout.splitlines()]

    assert complete("parley oper") == ["operator"]
    assert complete("parley operator l") == ["list"]
    assert "--json" in complete("parley operator list --")
    assert "--password-stdin" in complete("parley login --")
