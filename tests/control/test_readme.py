"""Every ``parley`` example in the README's code blocks, run against a live server.

The examples are read from README.md itself, so a changed command or option that
the README still shows fails here. How the test runs them, as a reader would:

- One server on 127.0.0.1 port 0 with a temporary data directory and the demo
  bootstrap; ``PARLEY_SERVER`` is its address, and the address the README shows
  (127.0.0.1:50051) is replaced by it.
- Placeholders are replaced by real ids the test makes before the first example:
  ``SITE_ID``, ``DEPT_ID`` and ``OPERATOR_ID`` are the demo's site, department and
  operator; ``OTHER_DEPT_ID``, ``REGION_ID`` and ``GROUP_ID`` are made with the
  CLI; ``CONVERSATION_ID`` and ``VISITOR_ID`` come from a visitor who chats with
  the demo operator on a real websocket; ``ACCOUNT_ID`` is an account without
  sites made before (the server administrator's examples suspend, resume and
  delete it, logged in with its password, which its login's prompt gets).
- The examples run in order, in one working directory, through the real CLI in
  this process. The prompts' environment variables are set as a script would set
  them (``PARLEY_PASSWORD`` the owner's current password, ``PARLEY_NEW_PASSWORD`` a
  new one); the files the examples read (``< FILE`` or ``--password-file FILE``)
  hold the passwords their names say. Each must exit 0; with ``--json`` its output
  must be JSON.
- ``SKIPPED`` lists the examples that cannot run without a person, with why;
  each must still be found in the README, so the list cannot go stale.
"""

from __future__ import annotations

import asyncio
import re
import shlex
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from control.cli import main
from control.config import ServeSettings, load, read_file
from engine.chat import account
from tests.integration.helpers import Visitor, on_duty, running, visitor_url

README = Path(__file__).resolve().parents[2] / "README.md"

SKIPPED = {
    "parley chat": "an interactive console until /quit (tests/control/test_cli_chat.py "
    "drives it through a pipe)",
    "parley serve": "runs until stopped; this test starts its own server, and "
    "tests/control/test_serve_config.py starts 'parley serve --config'",
    "parley backup": "the server administrator's, into an absolute path on the server's "
    "machine (tests/control/test_cli_backups.py runs it against a real server)",
    "parley restore": "offline, into a stopped server's data directory "
    "(tests/control/test_cli_backups.py runs it)",
}

OWNER_PASSWORD_AFTER_CHANGE = "owner-changed-password-1"
NEW_PASSWORD = "fresh-password-123"


def code_blocks(text: str) -> list[tuple[str, list[str]]]:
    """The README's fenced code blocks: (language, lines), continuations joined."""
    blocks: list[tuple[str, list[str]]] = []
    current: list[str] | None = None
    language = ""
    for line in text.splitlines():
        if line.startswith("```"):
            if current is None:
                language, current = line[3:].strip(), []
            else:
                blocks.append((language, current))
                current = None
        elif current is not None:
            if current and current[-1].endswith("\\"):
                current[-1] = current[-1][:-1] + " " + line.strip()
            else:
                current.append(line)
    assert current is None, "an unclosed code block in README.md"
    return blocks


def examples(text: str) -> list[str]:
    """The lines of code blocks that run ``parley``."""
    return [
        line.strip()
        for _, lines in code_blocks(text)
        for line in lines
        if line.strip().startswith("parley ")
    ]


def skip_reason(example: str) -> str | None:
    for prefix, reason in SKIPPED.items():
        if example == prefix or example.startswith(prefix + " "):
            return reason
    return None


def test_the_readme_has_the_examples_this_test_runs() -> None:
    found = examples(README.read_text())
    # The quick start, the routing commands and the scripts section at least.
    assert len(found) >= 30, found
    for prefix in SKIPPED:
        assert any(skip_reason(e) == SKIPPED[prefix] for e in found), prefix
    commands = " ".join(" ".join(shlex.split(e, comments=True)) for e in found)
    placeholders = set(re.findall(r"\b[A-Z][A-Z_]*_ID\b", commands))
    assert placeholders <= {
        "SITE_ID",
        "DEPT_ID",
        "OTHER_DEPT_ID",
        "OPERATOR_ID",
        "REGION_ID",
        "GROUP_ID",
        "CONVERSATION_ID",
        "VISITOR_ID",
        "ACCOUNT_ID",
    }, placeholders


def test_the_readme_config_file_is_valid(tmp_path: Path) -> None:
    tomls = [lines for language, lines in code_blocks(README.read_text()) if language == "toml"]
    assert tomls, "README.md shows no parley.toml"
    for lines in tomls:
        path = tmp_path / "parley.toml"
        path.write_text("\n".join(lines) + "\n")
        settings = load({}, {}, path)
        assert isinstance(settings, ServeSettings)
        assert read_file(path)  # the example sets something


def test_the_readme_completion_lines_print_a_script() -> None:
    lines = [
        line
        for _, block in code_blocks(README.read_text())
        for line in block
        if "_PARLEY_COMPLETE" in line
    ]
    shells = sorted(re.findall(r"_PARLEY_COMPLETE=(\w+)_source parley", " ".join(lines)))
    assert shells == ["bash", "zsh"], lines
    for shell in shells:
        r = CliRunner().invoke(
            main, [], prog_name="parley", env={"_PARLEY_COMPLETE": f"{shell}_source"}
        )
        assert r.exit_code == 0, r.output
        assert "_parley_completion" in r.output and "_PARLEY_COMPLETE" in r.output


def run_example(words: list[str], env: dict[str, str], stdin: str | None) -> tuple[int, str, str]:
    """One example through the real CLI: (exit code, stdout, stderr)."""
    result = CliRunner().invoke(main, words, env=env, input=stdin, prog_name="parley")
    return result.exit_code, result.stdout, result.stderr


async def test_every_readme_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    async with running(tmp_path, history=True) as app:
        assert app.owner is not None and app.demo is not None and app.admin is not None
        address = f"127.0.0.1:{app.grpc_port}"
        env = {
            "PARLEY_CONFIG_DIR": str(tmp_path / "cfg"),
            "PARLEY_SERVER": address,
            "PARLEY_PASSWORD": app.owner["password"],
            "PARLEY_NEW_PASSWORD": NEW_PASSWORD,
        }

        async def cli(*words: str, stdin: str | None = None) -> tuple[int, str, str]:
            return await asyncio.to_thread(run_example, list(words), env, stdin)

        # The ids the placeholders stand for.
        code, out, err = await cli(
            "login", "--email", app.owner["email"], "--password-stdin", stdin=app.owner["password"]
        )
        assert code == 0, err
        site, dept = app.demo["site"], app.demo["department"]

        async def made(*words: str) -> str:
            code, out, err = await cli("--json", *words)
            assert code == 0, (words, err)
            made_id: str = orjson.loads(out)["id"]
            return made_id

        ids = {
            "SITE_ID": site,
            "DEPT_ID": dept,
            "OPERATOR_ID": app.demo["operator"],
            "OTHER_DEPT_ID": await made("department", "create", "Returns", "--site", site),
            "REGION_ID": await made("region", "create", "South", "--department", dept),
            "GROUP_ID": await made("group", "create", "Specialists", "--site", site),
        }
        assert app.engine is not None
        readers, _owner, _password = await account.create_account(
            app.engine, "Readers", "reader@accounts.test"
        )
        ids["ACCOUNT_ID"] = readers.id
        op = await on_duty(app)
        visitor = await Visitor(visitor_url(app)).connect()
        try:
            welcome = await visitor.hello(name="Reader", department=dept)
            visitor.send({"type": "msg", "cid": "1", "text": "Hello from the README"})
            ack = await visitor.recv("ack")
            ids["CONVERSATION_ID"] = ack["conversation"]
            ids["VISITOR_ID"] = welcome["visitor"]
        finally:
            await visitor.close()
            await op.close()

        files = {
            "owner-password.txt": lambda: env["PARLEY_PASSWORD"],
            "lee-password.txt": lambda: "lee-first-password-1",
            "new-password.txt": lambda: NEW_PASSWORD,
        }
        ran, skipped = [], []
        for example in examples(README.read_text()):
            reason = skip_reason(example)
            if reason is not None:
                skipped.append((example, reason))
                continue
            line = example.replace("127.0.0.1:50051", address)
            for placeholder in sorted(ids, key=len, reverse=True):
                line = re.sub(rf"\b{placeholder}\b", ids[placeholder], line)
            words = shlex.split(line, comments=True)
            assert words[0] == "parley"
            words = words[1:]
            stdin = None
            if len(words) >= 2 and words[-2] == "<":
                stdin = files[words[-1]]() + "\n"
                words = words[:-2]
            for i, word in enumerate(words[:-1]):
                if word == "--password-file":
                    text = files[words[i + 1]]() + "\n"
                    await asyncio.to_thread(Path(words[i + 1]).write_text, text)
            if words[:2] == ["password", "change"]:
                env["PARLEY_NEW_PASSWORD"] = OWNER_PASSWORD_AFTER_CHANGE
            if words[:1] == ["login"] and app.admin["email"] in words:
                # The server administrator's login: the prompt gets its password.
                env["PARLEY_PASSWORD"], owners = app.admin["password"], env["PARLEY_PASSWORD"]
                code, out, err = await cli(*words, stdin=stdin)
                env["PARLEY_PASSWORD"] = owners
            else:
                code, out, err = await cli(*words, stdin=stdin)
            assert code == 0, f"README example failed (exit {code}): {example}\n{out}{err}"
            if "--json" in words:
                orjson.loads(out)
            if words[:2] == ["password", "change"]:
                env["PARLEY_PASSWORD"] = env["PARLEY_NEW_PASSWORD"]
                env["PARLEY_NEW_PASSWORD"] = NEW_PASSWORD
            ran.append(example)
        assert len(ran) >= 25 and len(skipped) >= len(SKIPPED)
