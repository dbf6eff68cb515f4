"""gRPC over TLS: with --tls-cert and --tls-key the port speaks only TLS."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

import grpc
import pytest
from click.testing import CliRunner

from control.cli import main
from control.runner import Parley, ServeConfig
from edge.config import EdgeConfig
from parley.v1 import control_pb2, control_pb2_grpc
from tests.conftest import CHEAP_HASHER


def self_signed(folder: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


async def test_grpc_over_tls(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    app = Parley(
        ServeConfig(
            data_dir=tmp_path / "data",
            http_port=0,
            grpc_port=0,
            tls_cert=cert,
            tls_key=key,
            edge=EdgeConfig(port=0),
            password_hasher=CHEAP_HASHER,
        )
    )
    await app.start()
    try:
        assert app.owner is not None
        address = f"127.0.0.1:{app.grpc_port}"
        request = control_pb2.LoginRequest(email=app.owner["email"], password=app.owner["password"])
        async with grpc.aio.insecure_channel(address) as plain:
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await control_pb2_grpc.AuthStub(plain).Login(request, timeout=5)
            assert info.value.code() is grpc.StatusCode.UNAVAILABLE
        credentials = grpc.ssl_channel_credentials(root_certificates=cert.read_bytes())
        async with grpc.aio.secure_channel(address, credentials) as secure:
            reply = await control_pb2_grpc.AuthStub(secure).Login(request, timeout=5)
            assert reply.token

        env = {"PARLEY_CONFIG_DIR": str(tmp_path / "cfg"), "PARLEY_SERVER": address}
        runner = CliRunner()
        r = await asyncio.to_thread(
            runner.invoke,
            main,
            [
                "--tls-ca",
                str(cert),
                "login",
                "--email",
                app.owner["email"],
                "--password",
                app.owner["password"],
            ],
            env=env,
        )
        assert r.exit_code == 0, r.output
        r = await asyncio.to_thread(runner.invoke, main, ["--tls-ca", str(cert), "whoami"], env=env)
        assert r.exit_code == 0 and app.owner["email"] in r.output
    finally:
        await app.stop()


async def test_unusable_tls_files_are_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate")
    app = Parley(
        ServeConfig(
            data_dir=tmp_path / "data",
            http_port=0,
            grpc_port=0,
            tls_cert=bad,
            tls_key=bad,
            edge=EdgeConfig(port=0),
        )
    )
    with pytest.raises(OSError, match="PEM"):
        await app.start()
    await app.stop()
    with pytest.raises(ValueError, match="both"):
        ServeConfig(tls_cert=bad)
