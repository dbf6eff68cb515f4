"""The CLI's side of the control plane: where the token is kept, and calls.

The token comes from ``--token``, ``PARLEY_TOKEN``, or the file written by
``parley login`` (``$PARLEY_CONFIG_DIR/credentials.json``, by default under
``~/.config/parley``, mode 0600).

The client holds one stub per service of the control plane (``client.sites``,
``client.operators`` ... ``client.server``). Beside the plain call it makes the
two calls every command repeats: a create sent with a request id and retried
once on a dropped link (``create``), and a list read through all its pages
(``list_all``).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import grpc
import orjson

from control.stubs import Stubs

DEFAULT_SERVER = "127.0.0.1:50051"

# What the largest page holds (the contract's maximum page_size).
PAGE_SIZE = 1000
# A create's second try waits this long for the link to come back.
RETRY_TIMEOUT = 5.0
# A create is tried again after these: the first may or may not have landed.
RETRYABLE = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


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


class Client(Stubs):
    """Synchronous stubs with the bearer token attached, one per service."""

    def __init__(self, server: str, token: str | None, tls_ca: Path | None = None) -> None:
        self.address = server
        self.token = token
        if tls_ca is None:
            self.channel = grpc.insecure_channel(server)
        else:
            credentials = grpc.ssl_channel_credentials(root_certificates=tls_ca.read_bytes())
            self.channel = grpc.secure_channel(server, credentials)
        super().__init__(self.channel)

    def metadata(self) -> tuple[tuple[str, str], ...]:
        """The call metadata: the bearer token, when there is one."""
        return (("authorization", f"Bearer {self.token}"),) if self.token else ()

    def call(
        self, stub_method: Any, request: Any, timeout: float = 10.0, wait_for_ready: bool = False
    ) -> Any:
        return stub_method(
            request, metadata=self.metadata(), timeout=timeout, wait_for_ready=wait_for_ready
        )

    def create(
        self,
        stub_method: Any,
        request: Any,
        timeout: float = 10.0,
        retry_timeout: float = RETRY_TIMEOUT,
    ) -> Any:
        """A create call, safe to repeat: REQUEST gets a fresh request id (unless it
        has one) and, when the link fails under the call (UNAVAILABLE, or no answer
        in time), goes once more with the same id, waiting up to RETRY_TIMEOUT for
        the link. The server answers a repeat with what the first made, so a create
        never makes two things; a second failure is raised."""
        if not request.request_id:
            request.request_id = uuid.uuid4().hex
        try:
            return self.call(stub_method, request, timeout)
        except grpc.RpcError as error:
            if error.code() not in RETRYABLE:
                raise
        return self.call(stub_method, request, retry_timeout, wait_for_ready=True)

    def list_all(
        self,
        stub_method: Any,
        request: Any,
        field: str,
        limit: int | None = None,
        page_size: int = PAGE_SIZE,
    ) -> Any:
        """Every page of a list call, PAGE_SIZE items a page: the first reply, with
        the items of the pages after it appended to its repeated FIELD (the first
        LIMIT only, when given) and no next_page_token, so it reads as one answer."""
        request.page_size = page_size if limit is None else min(limit, page_size)
        merged = self.call(stub_method, request)
        items = getattr(merged, field)
        token = merged.next_page_token
        while token and (limit is None or len(items) < limit):
            request.page_token = token
            page = self.call(stub_method, request)
            items.extend(getattr(page, field))
            token = page.next_page_token
        if limit is not None:
            del items[limit:]
        merged.next_page_token = ""
        return merged

    def close(self) -> None:
        self.channel.close()
