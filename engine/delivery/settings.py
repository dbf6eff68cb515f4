"""What delivery is configured with: the retry policy, an account's SMTP
settings, a webhook. Frozen records that validate in ``__post_init__``, naming
the field at fault; the policy is plain data with one pure function.

Retries: an attempt that fails is tried again after ``first_retry`` seconds,
doubling each time up to ``max_retry`` (with a fifth of jitter, so a server back
up is not hit by every queued delivery at once). An email is given up after
``max_attempts`` (it stays in the outbox, marked failed, with its error); a
webhook that failed ``disable_after`` times in a row is disabled, with the reason.
"""

from __future__ import annotations

import random
import re
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

from engine.errors import InvalidArgument

TLS_MODES = ("none", "starttls", "tls")
# What a webhook may subscribe to; no events named: all of them.
EVENT_TYPES = (
    "chat.started",
    "chat.assigned",
    "chat.closed",
    "message",
    "rating",
    "ticket",
)
# One address: local part, @, a dotted domain; no spaces, angle brackets or
# line breaks (a header is built from it).
ADDRESS_RE = re.compile(
    r"^[^@\s<>,;\"\\]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,253})\.[A-Za-z]{2,63}$"
)


def check_address(address: str, field_name: str) -> str:
    """A single mailbox address, or ``invalid_address``."""
    address = address.strip()
    if not ADDRESS_RE.match(address) or ".." in address:
        raise InvalidArgument(
            "invalid_address", f"{address[:80]!r} is not an email address", field=field_name
        )
    return address


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    first_retry: float = 5.0  # seconds before the second attempt
    max_retry: float = 3600.0  # the longest wait between two attempts
    timeout: float = 30.0  # an SMTP session or an HTTP call, whole
    max_attempts: int = 30  # an email's, then it is marked failed
    disable_after: int = 20  # a webhook's failures in a row, then it is disabled

    def __post_init__(self) -> None:
        if not 0 < self.first_retry <= self.max_retry:
            raise ValueError("first_retry must be positive and at most max_retry")
        if self.timeout <= 0 or self.max_attempts < 1 or self.disable_after < 1:
            raise ValueError("timeout, max_attempts and disable_after must be positive")

    def delay(self, attempts: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after the ``attempts``-th failed attempt."""
        base = min(self.max_retry, self.first_retry * 2.0 ** max(0, min(attempts - 1, 30)))
        jitter: float = (rng or random).random()
        return base * (1 + 0.2 * jitter)


MAIL_TIMEOUT = 30  # seconds an SMTP session may take, by default
MAX_MAIL_TIMEOUT = 600


@dataclass(frozen=True, slots=True)
class MailSettings:
    """An account's SMTP server and sender; ``timeout_seconds`` bounds a whole
    session (a server that hangs is given up then, and tried again later)."""

    host: str = ""
    port: int = 587
    tls: str = "starttls"
    username: str = ""
    password: str = field(default="", repr=False)
    from_address: str = ""
    timeout_seconds: int = MAIL_TIMEOUT

    def __post_init__(self) -> None:
        if not 1 <= self.timeout_seconds <= MAX_MAIL_TIMEOUT:
            raise InvalidArgument(
                "invalid_argument",
                f"timeout_seconds is 1 to {MAX_MAIL_TIMEOUT} (0 or unset: {MAIL_TIMEOUT})",
                field="timeout_seconds",
            )
        if len(self.host) > 253 or any(c.isspace() for c in self.host):
            raise InvalidArgument("invalid_argument", "host is a host name", field="host")
        if not 0 < self.port < 65536:
            raise InvalidArgument("invalid_argument", "port must be 1-65535", field="port")
        if self.tls not in TLS_MODES:
            raise InvalidArgument(
                "invalid_argument", f"tls is one of {', '.join(TLS_MODES)}", field="tls"
            )
        if len(self.username) > 256 or len(self.password) > 256:
            raise InvalidArgument("invalid_argument", "username and password: 256 at most")
        if self.from_address:
            check_address(self.from_address, "from_address")

    @property
    def ready(self) -> bool:
        return bool(self.host and self.from_address)

    def to_doc(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Webhook:
    """Where an account's events are posted, and how it stands."""

    id: str
    account_id: str
    url: str
    secret: str = field(repr=False)
    events: tuple[str, ...] = ()  # empty: every event
    enabled: bool = True
    disabled_reason: str = ""
    failures: int = 0  # failed deliveries in a row
    created_ms: int = 0

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname or len(self.url) > 2000:
            raise InvalidArgument(
                "invalid_argument", "a webhook url is an http(s) URL", field="webhook.url"
            )
        unknown = [e for e in self.events if e not in EVENT_TYPES]
        if unknown:
            raise InvalidArgument(
                "invalid_argument",
                f"unknown event {unknown[0][:40]!r}: one of {', '.join(EVENT_TYPES)}",
                field="webhook.events",
            )

    def wants(self, event_type: str) -> bool:
        return self.enabled and (not self.events or event_type in self.events)

    def to_doc(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Webhook:
        return cls(**{**doc, "events": tuple(doc.get("events", ()))})
