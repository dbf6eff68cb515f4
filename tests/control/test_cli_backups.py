"""``parley backup`` through the real CLI against a real server, and ``parley
restore`` on its data directory: the refusals' codes and exit codes, and a
restore that a new server starts on."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import orjson

from tests.control.test_cli_ops import Cli
from tests.integration.helpers import running


async def test_backup_and_restore_commands(tmp_path: Path) -> None:
    target = tmp_path / "backup"
    cli = Cli(tmp_path)
    async with running(tmp_path, history=True) as app:
        assert app.admin is not None and app.owner is not None and app.engine is not None
        cli.env["PARLEY_SERVER"] = f"127.0.0.1:{app.grpc_port}"
        r = await cli(
            "login", "--email", app.owner["email"], "--password-stdin",
            stdin=app.owner["password"] + "\n",
        )  # fmt: skip
        assert r.exit_code == 0, r.output
        r = await cli("backup", str(target))  # the owner holds one account, not the server
        assert r.exit_code == 1 and "permission_denied" in r.stderr
        r = await cli(
            "login", "--email", app.admin["email"], "--password-stdin",
            stdin=app.admin["password"] + "\n",
        )  # fmt: skip
        assert r.exit_code == 0, r.output

        r = await cli("backup", "relative/dir")
        assert r.exit_code == 1 and "backup_path_relative" in r.stderr
        r = await cli("backup", str(tmp_path))  # holds the data directory
        assert r.exit_code == 1 and "backup_dir_not_empty" in r.stderr

        r = await cli("backup", str(target), "--json")
        assert r.exit_code == 0, r.output
        made = orjson.loads(r.stdout)
        assert made["path"] == str(target) and made["epoch"] != app.engine.epoch
        assert r.stderr == ""  # not a terminal: no status line
        r = await cli("backup", str(tmp_path / "second-backup"))
        assert r.exit_code == 0, r.output
        assert "sha256" in r.stdout and "epoch" in r.stdout

        r = await cli("restore", str(target), str(tmp_path / "data"), "--force")
        assert r.exit_code == 5 and "data_dir_in_use" in r.stderr

    r = await cli("restore", str(tmp_path / "cfg"), str(tmp_path / "new"))
    assert r.exit_code == 1 and "not_a_backup" in r.stderr
    raw = bytearray((target / "data.mdb").read_bytes())
    raw[100] ^= 0xFF
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    for path in target.iterdir():
        (damaged / path.name).write_bytes(path.read_bytes())
    (damaged / "data.mdb").write_bytes(bytes(raw))
    r = await cli("restore", str(damaged), str(tmp_path / "new"))
    assert r.exit_code == 1 and "backup_corrupt" in r.stderr
    assert not (tmp_path / "new").exists()

    r = await cli("restore", str(target), str(tmp_path / "data"))
    assert r.exit_code == 5 and "data_dir_not_empty" in r.stderr
    r = await cli("restore", str(target), str(tmp_path / "data"), "--force")
    assert r.exit_code == 0, r.output
    assert made["epoch"] in r.stdout and "before-restore" in r.stdout
    assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "data" / "lmdb" / "data.mdb").stat().st_mode) == 0o600
    asides = await asyncio.to_thread(lambda: list(tmp_path.glob("data.before-restore-*")))
    assert len(asides) == 1 and (asides[0] / "history").exists()

    async with running(tmp_path, history=True) as app:  # the restored data, a new epoch
        assert app.engine is not None and app.engine.epoch == made["epoch"]
