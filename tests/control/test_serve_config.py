"""``parley serve``'s settings: the file, the environment and the flags, in that
order of strength; every bad key named; a busy port named with its flag; nothing
written before both ports are bound; a banner with real ids."""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner

from control.cli import main
from control.cli.serve import serve_config
from control.config import ConfigError, ServeSettings, load
from control.runner import Parley, ServeConfig
from edge.config import EdgeConfig
from engine.chat.hashing import PASSWORD_HASHER
from tests.conftest import CHEAP_SERVER_ENV
from tests.integration.helpers import running


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def problems(flags: dict[str, object], env: dict[str, str], path: Path | None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(flags, env, path)
    return [str(p) for p in caught.value.problems]


def test_a_flag_beats_the_environment_which_beats_the_file(tmp_path: Path) -> None:
    path = write(
        tmp_path / "parley.toml",
        'http_port = 1111\ngrpc_port = 2222\nhost = "0.0.0.0"\ndata = "store"\ndemo = true\n'
        "visitor_rate = 5\n",
    )
    env = {"PARLEY_HTTP_PORT": "3333", "PARLEY_GRPC_PORT": "4444", "PARLEY_TOKEN": "other"}
    settings = load({"http_port": 5555, "demo": None}, env, path)
    assert settings.http_port == 5555  # flag over variable and file
    assert settings.grpc_port == 4444  # variable over file
    assert settings.host == "0.0.0.0" and settings.demo is True  # file over default
    assert settings.visitor_rate == 5.0 and isinstance(settings.visitor_rate, float)
    assert settings.data == tmp_path / "store"  # the file's paths from its folder
    assert settings.map_size_mb == ServeSettings().map_size_mb  # the default
    assert load({}, {"PARLEY_DATA": "here", "PARLEY_DEMO": "yes"}, None).data == Path("here")
    assert load({}, {"PARLEY_DEMO": "off"}, path).demo is False
    assert load({}, {"PARLEY_HTTP_PORT": ""}, path).http_port == 1111  # empty is unset


def test_every_bad_key_of_a_file_is_named_at_once(tmp_path: Path) -> None:
    path = write(
        tmp_path / "parley.toml",
        'htp_port = 80\ngrpc_port = "50051"\nmap_size_mb = 1.5\ndemo = 1\n'
        "grace_seconds = 7200\nvisitor_rate = nan\n[server]\nport = 1\n",
    )
    found = problems({}, {}, path)
    assert f"'htp_port' in {path}: unknown key (did you mean http_port?)" in found
    assert f"'server' in {path}: unknown key (parley serve --help lists them)" in found
    assert f"grpc_port in {path}: expected an integer, got a string ('50051')" in found
    assert f"map_size_mb in {path}: expected an integer, got a number (1.5)" in found
    assert f"demo in {path}: expected true or false, got an integer (1)" in found
    assert len(found) == 5  # the values' checks come once the types are right
    path = write(tmp_path / "parley.toml", "grace_seconds = 7200\nvisitor_rate = nan\n")
    found = problems({}, {}, path)
    assert found == [
        f"visitor_rate in {path}: must be a finite number, got nan",
        f"grace_seconds in {path}: must be between 0 and 3600, got 7200.0",
    ]


def test_a_file_that_is_not_toml_or_not_there(tmp_path: Path) -> None:
    path = write(tmp_path / "parley.toml", "http_port: 8080\n")
    (found,) = problems({}, {}, path)
    assert found.startswith(f"{path}: is not TOML: ") and "line 1" in found
    missing = tmp_path / "none.toml"
    (found,) = problems({}, {}, missing)
    assert found == f"{missing}: cannot read the config file: No such file or directory"
    bad = tmp_path / "latin1.toml"
    bad.write_bytes(b'host = "caf\xe9"\n')
    assert problems({}, {}, bad) == [f"{bad}: is not TOML: not UTF-8 text"]


def test_bad_variables_and_flags_are_named(tmp_path: Path) -> None:
    env = {"PARLEY_GRPC_PORT": "fifty", "PARLEY_DEMO": "maybe", "PARLEY_GRACE_SECONDS": "x"}
    assert problems({}, env, None) == [
        "PARLEY_GRPC_PORT: expected an integer, got 'fifty'",
        "PARLEY_DEMO: expected true or false, got 'maybe'",
        "PARLEY_GRACE_SECONDS: expected a number, got 'x'",
    ]
    assert problems({"http_port": 70000}, {}, None) == [
        "--http-port: must be between 0 and 65535, got 70000"
    ]
    assert problems({}, {"PARLEY_MAX_VISITORS_PER_IP": "0"}, None) == [
        "PARLEY_MAX_VISITORS_PER_IP: must be at least 1, got 0"
    ]
    assert problems({"tls_cert": Path("c.pem")}, {}, None) == [
        "tls_key (default): tls_cert and tls_key go together"
    ]
    assert problems({"host": ""}, {}, None) == ["--host: must not be empty"]
    assert problems({}, {"PARLEY_HTTP_PORT": "50051"}, None) == [
        "PARLEY_HTTP_PORT: must differ from grpc_port"
    ]


def run_cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env=env or {}, prog_name="parley")
    return result.exit_code, result.stderr


def test_serve_refuses_bad_settings_with_exit_2_before_starting(tmp_path: Path) -> None:
    path = write(tmp_path / "parley.toml", 'grpc_port = "x"\nbogus = 1\n')
    data = tmp_path / "data"
    code, err = run_cli("serve", "--config", str(path), "--data", str(data))
    assert code == 2
    assert err.splitlines() == [
        f"error: grpc_port in {path}: expected an integer, got a string ('x')",
        f"error: 'bogus' in {path}: unknown key (parley serve --help lists them)",
    ]
    code, err = run_cli("serve", "--data", str(data), env={"PARLEY_CONFIG": str(path)})
    assert code == 2 and "bogus" in err  # the file named by the variable
    code, err = run_cli("serve", "--data", str(data), "--grpc-port", "70000")
    assert (code, err) == (2, "error: --grpc-port: must be between 0 and 65535, got 70000\n")
    code, err = run_cli("serve", "--data", str(data), env={"PARLEY_HTTP_PORT": "http"})
    assert (code, err) == (2, "error: PARLEY_HTTP_PORT: expected an integer, got 'http'\n")
    write(path, "[[x]]\n[x\n")
    code, err = run_cli("serve", "--config", str(path), "--data", str(data))
    assert code == 2 and f"{path}: is not TOML" in err
    assert not data.exists()


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port some other program listens on."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        yield other.getsockname()[1]


def parley(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "control.cli", *args],
        cwd=cwd,
        env={**os.environ, **CHEAP_SERVER_ENV, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_busy_port_is_one_line_naming_the_flag_and_writes_nothing(
    tmp_path: Path, taken_port: int
) -> None:
    for flag, other, name in (
        ("--grpc-port", "--http-port", "gRPC"),
        ("--http-port", "--grpc-port", "HTTP"),
    ):
        proc = parley("serve", "--data", "data", flag, str(taken_port), other, "0", cwd=tmp_path)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 1 and out == ""
        assert err == (
            f"error: cannot listen for {name} on 127.0.0.1:{taken_port}: the port is in use; "
            f"choose another with {flag} ({flag[2:].replace('-', '_')} in the config file, "
            f"or PARLEY_{flag[2:].replace('-', '_').upper()})\n"
        )
        assert not (tmp_path / "data").exists()


async def test_a_start_that_cannot_bind_leaves_no_owner_behind(tmp_path: Path) -> None:
    # 192.0.2.1 (TEST-NET-1) is no address of this machine: the store opens, then
    # the gRPC bind fails. The owner must not have been written yet.
    config = ServeConfig(
        data_dir=tmp_path / "data",
        host="192.0.2.1",
        grpc_port=0,
        edge=EdgeConfig(host="192.0.2.1", port=0),
    )
    app = Parley(config)
    with pytest.raises(OSError, match="cannot listen for gRPC on 192.0.2.1"):
        await app.start()
    await app.stop()
    assert app.owner is None
    assert not (tmp_path / "data" / "owner-credentials.json").exists()
    async with running(tmp_path) as again:  # the next start makes the owner and says so
        assert again.owner is not None
        assert "Owner account created" in again.banner()


def test_serve_from_a_file_with_a_variable_and_a_flag_over_it(
    tmp_path: Path, taken_port: int
) -> None:
    folder = tmp_path / "etc"
    folder.mkdir()
    path = write(
        folder / "parley.toml",
        f'data = "store"\ndemo = true\ngrpc_port = {taken_port}\nhttp_port = {taken_port}\n',
    )
    proc = parley(
        "serve",
        "--config",
        str(path),
        "--http-port",
        "0",
        cwd=tmp_path,
        env={"PARLEY_GRPC_PORT": "0"},
    )
    try:
        assert proc.stdout is not None
        banner = [proc.stdout.readline() for _ in range(12)]
        # The banner's line for the operator works as printed (its login part;
        # the console after it is interactive).
        line = next(x for x in banner if "Answer as the operator: " in x)
        login = line.split("Answer as the operator: ")[1].split("&&")[0]
        words = shlex.split(login)
        assert words[0] == ".venv/bin/parley" and words[1] == "login", words
        result = CliRunner().invoke(
            main, words[1:], env={"PARLEY_CONFIG_DIR": str(tmp_path / "cfg")}, prog_name="parley"
        )
        assert result.exit_code == 0, result.output
        assert "Logged in as Demo operator" in result.stdout
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    text = "".join(banner)
    assert banner[0] == "Parley is running.\n", text + err
    assert (folder / "store" / "owner-credentials.json").exists()  # data from the file's folder
    assert "SITE_ID" not in text
    site = text.split("Demo site id: ")[1].split()[0]
    assert f"/v1/visitor?site={site}\n" in text
    assert f"parley ticket list --site {site})" in text
    assert f":{taken_port}" not in text  # the variable and the flag beat the file


async def test_unreadable_tls_files_stop_the_start_before_the_data_directory(
    tmp_path: Path,
) -> None:
    config = ServeConfig(
        data_dir=tmp_path / "data",
        grpc_port=0,
        tls_cert=tmp_path / "missing-cert.pem",
        tls_key=tmp_path / "missing-key.pem",
        edge=EdgeConfig(port=0),
    )
    app = Parley(config)
    with pytest.raises(OSError, match="cannot read the TLS certificate or key"):
        await app.start()
    await app.stop()
    assert not (tmp_path / "data").exists()


def test_console_origins_are_a_list_of_origins() -> None:
    settings = load({"console_origins": "https://ops.example, http://10.0.0.5:8080/"}, {}, None)
    assert settings.console_origin_list() == ("https://ops.example", "http://10.0.0.5:8080")
    assert load({}, {}, None).console_origin_list() == ()
    assert problems({"console_origins": "ops.example,https://a.test/path"}, {}, None) == [
        "--console-origins: 'ops.example' is no origin (https://host[:port])",
        "--console-origins: 'https://a.test/path' is no origin (https://host[:port])",
    ]


async def test_the_password_hash_cost_is_a_setting_and_defaults_to_the_librarys(
    tmp_path: Path,
) -> None:
    """``password_hash_memory_kib`` reaches the hashes a server makes (its demo
    owner's, made as it starts); unset, new hashes cost what the library's
    defaults do (the production hasher's parameters)."""
    default = serve_config(load({}, {}, None)).password_hasher
    assert (default.time_cost, default.memory_cost, default.parallelism) == (
        PASSWORD_HASHER.time_cost,
        PASSWORD_HASHER.memory_cost,
        PASSWORD_HASHER.parallelism,
    )
    assert PASSWORD_HASHER.memory_cost == PasswordHasher().memory_cost == 65_536
    env = {"PARLEY_PASSWORD_HASH_MEMORY_KIB": "32", "PARLEY_DATA": str(tmp_path / "data")}
    settings = load({"http_port": 0, "grpc_port": 0, "demo": True}, env, None)
    assert settings.password_hash_memory_kib == 32
    app = Parley(serve_config(settings))
    await app.start()
    try:
        assert app.engine is not None and app.owner is not None
        owner = app.engine.directory.operator_by_email(app.owner["email"])
        assert owner is not None and "$m=32,t=3,p=4$" in owner.password_hash
    finally:
        await app.stop()
    assert problems({}, {"PARLEY_PASSWORD_HASH_MEMORY_KIB": "8"}, None) == [
        "PARLEY_PASSWORD_HASH_MEMORY_KIB: must be between 32 and 4194304, got 8"
    ]


def test_the_visitors_send_buffer_is_a_setting_in_kib() -> None:
    """Its default is the edge's (1 MiB); below 64 KiB (a replay's window is a
    quarter of it) it is refused by name."""
    assert serve_config(load({}, {}, None)).edge.send_buffer_limit == EdgeConfig().send_buffer_limit
    config = serve_config(load({"visitor_send_buffer_kib": 64}, {}, None))
    assert config.edge.send_buffer_limit == 64 * 1024
    code, err = run_cli("serve", "--visitor-send-buffer-kib", "32")
    assert (code, err) == (
        2,
        "error: --visitor-send-buffer-kib: must be between 64 and 1048576, got 32\n",
    )
