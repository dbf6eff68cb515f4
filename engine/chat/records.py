"""Configuration records: accounts, sites, departments, operators.

Frozen dataclasses that validate in ``__post_init__`` with messages naming the
field, and convert to and from the stored documents.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from engine.chat import schedule
from engine.chat.permissions import ROLE_NAME
from engine.chat.widget_look import (
    WidgetText,
    check_color,
    check_field_mode,
    check_position,
    check_texts,
    texts_of,
)
from engine.errors import InvalidArgument

MAX_NAME = 200
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")
LANGUAGE_RE = re.compile(r"^[a-z]{2,3}$")
MAX_PATTERN = 500
MAX_QUOTA_MB = 1 << 30  # a site's storage quota: 1 PiB at most
MAX_ATTACHMENT_KB = 100 * 1024  # the largest attachment a site may allow: 100 MiB
OFFLINE_ACTIONS = ("keep", "forward", "close")


def language_of(tag: str) -> str:
    """The primary language of a tag: 'en-US' -> 'en' ('' when it has none)."""
    primary = tag.strip().lower().replace("_", "-").partition("-")[0]
    return primary if LANGUAGE_RE.match(primary) else ""


def check_languages(codes: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    out = []
    for code in codes:
        if not LANGUAGE_RE.match(code):
            raise InvalidArgument(
                "invalid_argument", f"language {code[:20]!r} must be a 2-3 letter code like 'en'"
            )
        out.append(code)
    return tuple(dict.fromkeys(out))


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
    suspended: bool = False  # its visitors and operators are refused until resumed

    def to_doc(self) -> dict[str, Any]:
        return asdict(self)


MAX_RETENTION_DAYS = 36_500  # a hundred years


def check_retention(name: str, days: int | None) -> None:
    """A site's retention is unset (keep everything) or 1 to 36,500 days."""
    if days is not None and not 1 <= days <= MAX_RETENTION_DAYS:
        raise InvalidArgument(
            "invalid_retention",
            f"{name} is 1 to {MAX_RETENTION_DAYS:,} days (leave it unset to keep all)",
            field=f"site.{name}",
        )


@dataclass(frozen=True, slots=True)
class Site:
    id: str
    account_id: str
    name: str
    allowed_origins: tuple[str, ...] = ()
    timezone: str = "UTC"
    typing_preview: bool = True  # operators with the permission see visitors' drafts

    languages: tuple[str, ...] = ()  # chat enabled for these; empty: every language
    quota_mb: int = 0  # storage quota of its messages and tickets; 0: the server's
    # Retention (engine/retention.py): None keeps transcripts / whole addresses.
    transcript_retention_days: int | None = None
    address_retention_days: int | None = None
    # Attachments (engine/attachments/): the largest file, in KiB, and the
    # site's files together, in MiB; 0: the server's defaults.
    attachment_max_kb: int = 0
    attachment_quota_mb: int = 0

    # The widget (engine/chat/widget_look.py): brand colour ("" the widget's),
    # side, operators' avatars shown, pre-chat fields (off, optional, required)
    # and words per language.
    widget_color: str = ""
    widget_position: str = ""
    widget_avatars: bool = True
    prechat_name: str = "off"
    prechat_email: str = "off"
    prechat_question: str = "off"
    widget_texts: tuple[WidgetText, ...] = ()

    def __post_init__(self) -> None:
        _check_name("site name", self.name)
        object.__setattr__(self, "widget_color", check_color(self.widget_color))
        check_position(self.widget_position)
        for name in ("prechat_name", "prechat_email", "prechat_question"):
            check_field_mode(name, getattr(self, name))
        object.__setattr__(self, "widget_texts", check_texts(texts_of(self.widget_texts)))
        if not 0 <= self.attachment_max_kb <= MAX_ATTACHMENT_KB:
            raise InvalidArgument(
                "invalid_argument",
                f"attachment_max_kb is 0 to {MAX_ATTACHMENT_KB} (0: the default)",
                field="attachment_max_kb",
            )
        if not 0 <= self.attachment_quota_mb <= MAX_QUOTA_MB:
            raise InvalidArgument(
                "invalid_argument",
                f"attachment_quota_mb is 0 to {MAX_QUOTA_MB} (0: the default)",
                field="attachment_quota_mb",
            )
        check_retention("transcript_retention_days", self.transcript_retention_days)
        check_retention("address_retention_days", self.address_retention_days)
        if not 0 <= self.quota_mb <= MAX_QUOTA_MB:
            raise InvalidArgument(
                "invalid_argument", f"a site's quota is 0 to {MAX_QUOTA_MB} MiB (0: the default)"
            )
        schedule.check_timezone(self.timezone)
        object.__setattr__(
            self, "allowed_origins", tuple(check_origin(o) for o in self.allowed_origins)
        )
        object.__setattr__(self, "languages", check_languages(self.languages))

    def language_enabled(self, language: str) -> bool:
        return not self.languages or language in self.languages

    def to_doc(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Site:
        return cls(
            **{
                **doc,
                "allowed_origins": tuple(doc["allowed_origins"]),
                "languages": tuple(doc.get("languages", ())),
                "widget_texts": texts_of(doc.get("widget_texts")),
            }
        )


@dataclass(frozen=True, slots=True)
class Department:
    id: str
    site_id: str
    name: str
    description: str = ""
    chat_enabled: bool = True
    hours: str = ""  # business hours (engine/chat/schedule.py); empty: always open
    timezone: str = ""  # of the hours; empty: the site's
    max_wait_seconds: int = 0  # then the fallback department or offline; 0: no limit
    fallback_department_id: str = ""
    offer_seconds: int = 30  # an operator without auto-accept answers an offer in this
    offline_action: str = "keep"  # an operator's open chats when it goes offline
    offline_seconds: int = 60  # ... after this many seconds

    def __post_init__(self) -> None:
        _check_name("department name", self.name)
        if len(self.description) > 2000:
            raise InvalidArgument("invalid_argument", "description is longer than 2000")
        object.__setattr__(self, "hours", schedule.normalize(self.hours))
        if self.timezone:
            schedule.check_timezone(self.timezone)
        for name in ("max_wait_seconds", "offline_seconds"):
            if not 0 <= getattr(self, name) <= 86_400:
                raise InvalidArgument("invalid_argument", f"{name} must be 0-86400")
        if not 5 <= self.offer_seconds <= 600:
            raise InvalidArgument("invalid_argument", "offer_seconds must be 5-600")
        if self.offline_action not in OFFLINE_ACTIONS:
            raise InvalidArgument(
                "invalid_argument", f"offline_action must be one of {', '.join(OFFLINE_ACTIONS)}"
            )
        if self.fallback_department_id == self.id:
            raise InvalidArgument("invalid_argument", "a department cannot fall back to itself")

    def to_doc(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Department:
        return cls(**doc)


# What UpdateDepartment / UpdateOperator may change (the rest is fixed or has
# its own call).
DEPARTMENT_SETTINGS = (
    "name",
    "description",
    "chat_enabled",
    "hours",
    "timezone",
    "max_wait_seconds",
    "fallback_department_id",
    "offer_seconds",
    "offline_action",
    "offline_seconds",
)
OPERATOR_SETTINGS = (
    "max_chats",
    "department_ids",
    "languages",
    "region_ids",
    "group_ids",
    "schedule",
    "timezone",
    "auto_distribution",
    "auto_accept",
    "role",
    "disabled",
    "internal_name",
)


@dataclass(frozen=True, slots=True)
class Region:
    """A part of a department (North/South, branch A/B); operators belong to it."""

    id: str
    department_id: str
    name: str

    def __post_init__(self) -> None:
        _check_name("region name", self.name)

    def to_doc(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Group:
    """Specialists of a site, chosen first by link rules."""

    id: str
    site_id: str
    name: str

    def __post_init__(self) -> None:
        _check_name("group name", self.name)

    def to_doc(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class LinkRule:
    """A visitor on a page whose URL matches ``pattern`` (a regular expression,
    searched) is offered to ``group_id`` first; rules are tried by ``position``."""

    id: str
    site_id: str
    pattern: str
    group_id: str
    position: int = 0

    def __post_init__(self) -> None:
        if not self.pattern or len(self.pattern) > MAX_PATTERN:
            raise InvalidArgument(
                "invalid_argument", f"a URL pattern is 1 to {MAX_PATTERN} characters"
            )
        try:
            re.compile(self.pattern)
        except re.error as error:
            raise InvalidArgument(
                "invalid_pattern", f"URL pattern {self.pattern[:80]!r} does not compile: {error}"
            ) from None
        if not 0 <= self.position <= 1_000_000:
            raise InvalidArgument("invalid_argument", "position must be 0-1000000")

    def matches(self, url: str) -> bool:
        return _compiled(self.pattern).search(url) is not None

    def to_doc(self) -> dict[str, Any]:
        return asdict(self)


@lru_cache(maxsize=1024)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


@dataclass(frozen=True, slots=True)
class Ticket:
    """An offline request: what a visitor left when nobody could chat."""

    id: str
    site_id: str
    department_id: str
    visitor_id: str
    name: str
    email: str
    text: str
    created_ms: int
    language: str = ""
    page_url: str = ""
    # The lifecycle (engine/chat/tickets.py): open, assigned, answered, closed.
    status: str = "open"
    assignee_id: str = ""
    updated_ms: int = 0
    # The answers sent, oldest first: [operator id, operator name, text, ms].
    replies: tuple[tuple[str, str, str, int], ...] = ()

    def to_doc(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Ticket:
        replies = tuple(tuple(r) for r in doc.get("replies", ()))
        return cls(**{**doc, "replies": replies})


TICKET_STATUSES = ("open", "assigned", "answered", "closed")
NOTIFICATIONS = ("tickets", "missed")


def check_notifications(topics: tuple[str, ...]) -> None:
    unknown = [t for t in topics if t not in NOTIFICATIONS]
    if unknown:
        raise InvalidArgument(
            "invalid_argument",
            f"mail notifications are {', '.join(NOTIFICATIONS)}, not {unknown[0][:40]!r}",
            field="mail_notifications",
        )


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
    languages: tuple[str, ...] = ()  # spoken; empty: takes any language
    region_ids: tuple[str, ...] = ()
    group_ids: tuple[str, ...] = ()
    schedule: str = ""  # reception hours in ``timezone``; empty: any time
    timezone: str = "UTC"
    auto_distribution: bool = True  # receives chats from the queue
    auto_accept: bool = True  # else each chat is an offer to accept in time
    disabled: bool = False  # may not log in; its sessions and streams end
    # What the operator is told by email: "tickets" (new offline requests of
    # its departments), "missed" (missed chats); engine/delivery/.
    mail_notifications: tuple[str, ...] = ()
    internal_name: str = ""  # what colleagues see; empty: the display name

    def __post_init__(self) -> None:
        check_avatar(self.avatar_url)
        check_notifications(self.mail_notifications)
        object.__setattr__(self, "languages", check_languages(self.languages))
        object.__setattr__(self, "schedule", schedule.normalize(self.schedule))
        schedule.check_timezone(self.timezone)
        if not EMAIL_RE.match(self.email):
            raise InvalidArgument("invalid_argument", f"email {self.email!r} is not an address")
        _check_name("display name", self.display_name)
        if len(self.internal_name) > MAX_NAME:
            raise InvalidArgument("invalid_argument", f"internal name is longer than {MAX_NAME}")
        if not ROLE_NAME.match(self.role):
            raise InvalidArgument("invalid_argument", f"role {self.role[:40]!r} is not a role name")
        if not 0 <= self.max_chats <= 1000:
            raise InvalidArgument("invalid_argument", "max chats must be between 0 and 1000")

    def to_doc(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Operator:
        doc = dict(doc)
        for name in (
            "department_ids",
            "languages",
            "region_ids",
            "group_ids",
            "mail_notifications",
        ):
            doc[name] = tuple(doc.get(name, ()))
        return cls(**doc)


TEMPLATE_VARIABLES = ("visitor_name", "operator_name", "site_name", "department_name")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
SHORTCUT_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


@dataclass(frozen=True, slots=True)
class Template:
    """A quick reply: typed as "/shortcut" in the console. ``operator_id`` empty:
    the account's (managed with the permission); else that operator's own.
    ``{visitor_name}``, ``{operator_name}``, ``{site_name}`` and
    ``{department_name}`` are filled in when it is used."""

    id: str
    account_id: str
    operator_id: str
    shortcut: str
    text: str

    def __post_init__(self) -> None:
        if not SHORTCUT_RE.match(self.shortcut):
            raise InvalidArgument(
                "invalid_argument",
                "a shortcut is 1-32 lowercase letters, digits, - or _ (starting with one)",
            )
        if not self.text.strip() or len(self.text) > 4000:
            raise InvalidArgument("invalid_argument", "a quick reply is 1 to 4000 characters")
        unknown = sorted(
            {v for v in _PLACEHOLDER.findall(self.text) if v not in TEMPLATE_VARIABLES}
        )
        if unknown:
            raise InvalidArgument(
                "invalid_argument",
                f"unknown variables {', '.join('{' + u + '}' for u in unknown)}; known: "
                + ", ".join("{" + v + "}" for v in TEMPLATE_VARIABLES),
            )

    def render(self, values: dict[str, str]) -> str:
        return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), self.text)

    def to_doc(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Block:
    """A blacklist entry of a site: an address or network (``ip``) or one
    visitor (``visitor``); it may expire (``expires_ms`` 0: never)."""

    id: str
    site_id: str
    kind: str  # ip | visitor
    value: str
    reason: str
    created_ms: int
    expires_ms: int = 0

    def __post_init__(self) -> None:
        if self.kind == "ip":
            try:
                network = ipaddress.ip_network(self.value, strict=False)
            except ValueError:
                raise InvalidArgument(
                    "invalid_argument", f"{self.value[:60]!r} is not an address or network"
                ) from None
            if network.num_addresses > 2**24 and network.version == 4:
                raise InvalidArgument("invalid_argument", "a blocked network is /8 or smaller")
            object.__setattr__(self, "value", str(network))
        elif self.kind == "visitor":
            if not re.match(r"^v[a-z2-7]{15}$", self.value):
                raise InvalidArgument(
                    "invalid_argument", f"{self.value[:40]!r} is not a visitor id"
                )
        else:
            raise InvalidArgument("invalid_argument", "a block is of an ip or a visitor")
        if len(self.reason) > 500:
            raise InvalidArgument("invalid_argument", "a reason is at most 500 characters")

    def matches(self, ip: str, visitor_id: str, now_ms: int) -> bool:
        if self.expires_ms and now_ms >= self.expires_ms:
            return False
        if self.kind == "visitor":
            return visitor_id == self.value
        try:
            return ipaddress.ip_address(ip) in ipaddress.ip_network(self.value)
        except ValueError:
            return False

    def to_doc(self) -> dict[str, Any]:
        return asdict(self)
