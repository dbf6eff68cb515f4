"""Identifiers and secrets.

Ids are short, random and lowercase base32. A conversation id starts with its
site id (``<site>-<12 chars>``) so that a shard can be found from the id alone.
Tokens are 32 random bytes, URL-safe; only their SHA-256 is stored.
"""

from __future__ import annotations

import base64
import hashlib
import secrets


def random_id(length: int = 10) -> str:
    """``length`` base32 characters, 5 random bits each, from one read of the
    system's random source (not one per character)."""
    raw = base64.b32encode(secrets.token_bytes((length * 5 + 7) // 8)).decode()
    return raw[:length].lower()


def new_site_id() -> str:
    return "s" + random_id(9)


def new_conversation_id(site_id: str) -> str:
    return f"{site_id}-{random_id(12)}"


def site_of_conversation(conversation_id: str) -> str:
    return conversation_id.split("-", 1)[0]


def new_token() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()
