"""The serve runner: bootstrap once, refuse what is taken."""

from __future__ import annotations

from pathlib import Path

import pytest

from control.runner import Parley, ServeConfig
from edge.config import EdgeConfig
from tests.conftest import CHEAP_HASHER
from tests.integration.helpers import running


async def test_a_taken_grpc_port_is_refused(tmp_path: Path) -> None:
    async with running(tmp_path / "one") as first:
        second = Parley(
            ServeConfig(
                data_dir=tmp_path / "two",
                http_port=0,
                grpc_port=first.grpc_port,
                edge=EdgeConfig(port=0),
                password_hasher=CHEAP_HASHER,
            )
        )
        with pytest.raises(OSError, match="cannot listen for gRPC"):
            await second.start()
        await second.stop()


async def test_bootstrap_happens_once(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        assert app.owner is not None and app.demo is not None
        demo = dict(app.demo)
    async with running(tmp_path) as again:
        assert again.owner is None  # the owner exists: no new password printed
        assert again.demo is not None
        assert {k: again.demo[k] for k in ("site", "department", "email", "password")} == {
            k: demo[k] for k in ("site", "department", "email", "password")
        }
        assert "Owner account created" not in again.banner()
        assert demo["password"] in again.banner()


def test_bad_settings_name_the_field() -> None:
    with pytest.raises(ValueError, match="grpc port"):
        ServeConfig(grpc_port=70000)
    with pytest.raises(ValueError, match="port"):
        EdgeConfig(port=-1)
    with pytest.raises(ValueError, match="stream backlog"):
        ServeConfig(stream_backlog=1)
