"""The CLI's side of the control plane: where the token is kept, and calls.

The token comes from ``--token``, ``PARLEY_TOKEN``, or the file written by
``parley login`` (``$PARLEY_CONFIG_DIR/credentials.json``, by default under
``~/.config/parley``, mode 0600).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import grpc
import orjson

from parley.v1 import control_pb2_grpc

DEFAULT_SERVER = "127.0.0.1:50051"


def config_dir() -> Path:
    env = os.environ.get("PARLEY_CONFIG_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "parley"


def save_credentials(server: str, token: str, email: str) -> Path:
    folder = config_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / "credentials.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(orjson.dumps({"server": server, "token": token, "email": email}))
    return path


def load_credentials() -> dict[str, Any]:
    path = config_dir() / "credentials.json"
    try:
        data: dict[str, Any] = orjson.loads(path.read_bytes())
        return data
    except (FileNotFoundError, orjson.JSONDecodeError):
        return {}


def forget_credentials() -> None:
    (config_dir() / "credentials.json").unlink(missing_ok=True)


class Client:
    """Synchronous stubs with the bearer token attached."""

    def __init__(self, server: str, token: str | None, tls_ca: Path | None = None) -> None:
        self.server = server
        self.token = token
        if tls_ca is None:
            self.channel = grpc.insecure_channel(server)
        else:
            credentials = grpc.ssl_channel_credentials(root_certificates=tls_ca.read_bytes())
            self.channel = grpc.secure_channel(server, credentials)
        self.auth = control_pb2_grpc.AuthStub(self.channel)
        self.control = control_pb2_grpc.ControlStub(self.channel)

    def metadata(self) -> tuple[tuple[str, str], ...]:
        """The call metadata: the bearer token, when there is one."""
        return (("authorization", f"Bearer {self.token}"),) if self.token else ()

    def call(self, stub_method: Any, request: Any, timeout: float = 10.0) -> Any:
        return stub_method(request, metadata=self.metadata(), timeout=timeout)

    def close(self) -> None:
        self.channel.close()
