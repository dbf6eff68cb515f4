"""Configuration records: accounts, sites, departments, operators.

Frozen dataclasses that validate in ``__post_init__`` with messages naming the
field, and convert to and from the stored documents.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.chat.permissions import ROLE_NAME
from engine.errors import InvalidArgument

MAX_NAME = 200
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")


def _check_name(field_name: str, value: str) -> None:
    if not value or not value.strip():
        raise InvalidArgument("invalid_argument", f"{field_name} must not be empty")
    if len(value) > MAX_NAME:
        raise InvalidArgument("invalid_argument", f"{field_name} is longer than {MAX_NAME}")


def check_origin(origin: str) -> str:
    """An allowed origin is scheme://host[:port], nothing more."""
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidArgument(
            "invalid_argument", f"allowed origin {origin!r} must look like https://host[:port]"
        )
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise InvalidArgument(
            "invalid_argument", f"allowed origin {origin!r} must have no path, query or user"
        )
    return origin.rstrip("/").lower()


def check_avatar(url: str) -> None:
    """An avatar is an https URL of at most 500 characters (or none)."""
    if not url:
        return
    parts = urlsplit(url)
    if len(url) > 500 or parts.scheme != "https" or not parts.hostname or parts.username:
        raise InvalidArgument("invalid_argument", "an avatar must be an https URL (500 chars)")


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    name: str

    def to_doc(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Site:
    id: str
    account_id: str
    name: str
    allowed_origins: tuple[str, ...] = ()
    timezone: str = "UTC"
    typing_preview: bool = True  # operators with the permission see visitors' drafts

    def __post_init__(self) -> None:
        _check_name("site name", self.name)
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidArgument(
                "invalid_argument", f"timezone {self.timezone!r} is not a known IANA zone"
            ) from None
        object.__setattr__(
            self, "allowed_origins", tuple(check_origin(o) for o in self.allowed_origins)
        )

    def to_doc(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Site:
        return cls(**{**doc, "allowed_origins": tuple(doc["allowed_origins"])})


@dataclass(frozen=True, slots=True)
class Department:
    id: str
    site_id: str
    name: str
    description: str = ""

    def __post_init__(self) -> None:
        _check_name("department name", self.name)
        if len(self.description) > 2000:
            raise InvalidArgument("invalid_argument", "description is longer than 2000")

    def to_doc(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Department:
        return cls(**doc)


@dataclass(frozen=True, slots=True)
class Operator:
    id: str
    account_id: str
    email: str
    display_name: str
    role: str
    password_hash: str = field(repr=False)
    department_ids: tuple[str, ...] = ()
    max_chats: int = 5
    avatar_url: str = ""

    def __post_init__(self) -> None:
        check_avatar(self.avatar_url)
        if not EMAIL_RE.match(self.email):
            raise InvalidArgument("invalid_argument", f"email {self.email!r} is not an address")
        _check_name("display name", self.display_name)
        if not ROLE_NAME.match(self.role):
            raise InvalidArgument("invalid_argument", f"role {self.role[:40]!r} is not a role name")
        if not 0 <= self.max_chats <= 1000:
            raise InvalidArgument("invalid_argument", "max chats must be between 0 and 1000")

    def to_doc(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Operator:
        return cls(**{**doc, "department_ids": tuple(doc["department_ids"])})
