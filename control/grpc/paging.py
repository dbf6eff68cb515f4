"""Lists in pages: page sizes, opaque page tokens, a stable order.

Every List method pages the same way (proto/parley/v1/control.proto, "Lists").
A page token names its list, a digest of the list's filter, the caller's
account and the sort key of the last item given; the next page starts after
that key. Items are taken in the order of a key that never changes for an item
(its id, or creation time and id), so a client paging while items come and go
sees every item that existed the whole time exactly once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
from google.protobuf.message import Message

from engine.errors import InvalidArgument

T = TypeVar("T")
Key = tuple[Any, ...]  # strings and ints: JSON survives them

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
TOKEN_VERSION = 1


def bad_token(why: str) -> InvalidArgument:
    return InvalidArgument(
        "invalid_page_token",
        f"this page token {why}: start again with an empty page_token",
        field="page_token",
    )


@dataclass(frozen=True)
class Page:
    """Where a list request starts and how much it takes."""

    list_name: str
    account_id: str
    filter_digest: str
    size: int
    after: Key | None  # the key the previous page ended on

    def token(self, key: Key) -> str:
        doc = [TOKEN_VERSION, self.list_name, self.account_id, self.filter_digest, list(key)]
        return base64.urlsafe_b64encode(orjson.dumps(doc)).decode().rstrip("=")

    def take(self, items: Iterable[T], key: Callable[[T], Key]) -> tuple[list[T], str]:
        """This page of ``items`` (any order) and the next page's token ("" at the end)."""
        keyed = sorted(((key(item), item) for item in items), key=lambda pair: pair[0])
        if self.after is not None:
            after = self.after
            keyed = [pair for pair in keyed if pair[0] > after]
        return self.cut([item for _k, item in keyed], key)

    def cut(self, ordered: Sequence[T], key: Callable[[T], Key]) -> tuple[list[T], str]:
        """This page of ``ordered`` (already sorted and past the cursor, at least
        one item more than the page if there is more)."""
        page = list(ordered[: self.size])
        more = len(ordered) > self.size
        return page, self.token(key(page[-1])) if more and page else ""


def digest(*filters: object) -> str:
    return hashlib.sha256(orjson.dumps([str(f) for f in filters])).hexdigest()[:16]


def page_of(request: Message, list_name: str, account_id: str, *filters: object) -> Page:
    """The page a List request (with ``page_size`` and ``page_token``) asks for;
    refuses a bad size or a token of another list, filter or account."""
    size = DEFAULT_PAGE_SIZE
    if request.HasField("page_size"):
        size = int(getattr(request, "page_size"))  # noqa: B009 (any List request)
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise InvalidArgument(
                "invalid_page_size",
                f"page_size is 1 to {MAX_PAGE_SIZE} (leave it out for {DEFAULT_PAGE_SIZE})",
                field="page_size",
            )
    wanted = digest(*filters)
    token = str(getattr(request, "page_token"))  # noqa: B009
    if not token:
        return Page(list_name, account_id, wanted, size, None)
    if len(token) > 2048:
        raise bad_token("is not one this server gave")
    try:
        doc = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        version, name, account, filter_digest, after = doc
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError):
        raise bad_token("is not one this server gave") from None
    if version != TOKEN_VERSION or not isinstance(after, list):
        raise bad_token("is not one this server gave")
    if name != list_name:
        raise bad_token(f"belongs to another list ({str(name)[:40]})")
    if account != account_id:
        raise bad_token("belongs to another account")
    if filter_digest != wanted:
        raise bad_token("was given for other filters")
    return Page(list_name, account_id, wanted, size, tuple(after))
