"""The link secret: what an edge shows the engine to attach.

The engine keeps one in its data directory (``link-secret``, mode 0600, made at
its first start in split mode) unless one is given; an edge is given the same,
by file or by value. Without the right secret the engine refuses the stream
(UNAUTHENTICATED) before reading anything from it, so a link port reachable by
others is still closed to them. Secrets are compared in constant time.
"""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path

from engine.persistence.private import write_private

SECRET_FILE = "link-secret"
METADATA_KEY = "parley-link-secret"
MIN_LENGTH = 16  # characters of a secret given by hand


class SecretError(ValueError):
    """A secret that cannot be used (too short, unreadable)."""


def check(secret: str) -> str:
    """``secret`` stripped, or SecretError when it is too short to be one."""
    secret = secret.strip()
    if len(secret) < MIN_LENGTH:
        raise SecretError(f"a link secret has at least {MIN_LENGTH} characters")
    if not secret.isascii() or not secret.isprintable():
        raise SecretError("a link secret is printable ASCII (it travels in gRPC metadata)")
    return secret


def read(path: Path) -> str:
    """The secret kept in ``path``; SecretError when unreadable or unusable."""
    try:
        return check(path.read_text())
    except OSError as error:
        raise SecretError(f"cannot read the link secret {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise SecretError(f"the link secret {path} is not text") from None


def ensure(data_dir: Path) -> str:
    """The engine's secret in ``data_dir``, made (0600) on the first call."""
    path = data_dir / SECRET_FILE
    if not path.exists():
        write_private(path, (secrets.token_urlsafe(32) + "\n").encode())
    return read(path)


def matches(given: str | None, secret: str) -> bool:
    """Whether ``given`` (None: none sent) is ``secret``, in constant time."""
    if given is None:
        return False
    return hmac.compare_digest(given.encode(), secret.encode())
