"""Operator authentication: passwords (argon2id) and session tokens.

A login returns a random token; only its SHA-256 is stored, with its expiry.
Tokens are checked on every gRPC call and on the operator session stream.
Failed logins are throttled per email: after ``MAX_FAILURES`` in
``FAILURE_WINDOW`` seconds, further attempts are refused until the window passes.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from engine.chat import ids
from engine.chat.directory import Directory, verify_password
from engine.chat.records import Operator
from engine.errors import Unauthenticated, Unavailable
from engine.persistence.codec import decode, encode
from engine.runtime.clock import Clock

TOKEN_TTL_SECONDS = 12 * 3600
MAX_FAILURES = 5
FAILURE_WINDOW = 60.0


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: an authenticated operator."""

    operator_id: str
    account_id: str
    role: str
    token_digest: bytes


class Auth:
    def __init__(self, directory: Directory, clock: Clock) -> None:
        self.directory = directory
        self.store = directory.store
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}

    def _throttled(self, email: str) -> bool:
        now = self.clock.monotonic()
        window = self._failures.get(email)
        if not window:
            return False
        while window and now - window[0] > FAILURE_WINDOW:
            window.popleft()
        return len(window) >= MAX_FAILURES

    async def login(self, email: str, password: str) -> tuple[str, int, Operator]:
        """Check the password; return (token, expiry ms, operator)."""
        email = email.strip().lower()
        if self._throttled(email):
            raise Unavailable("throttled", "too many failed logins; try again in a minute")
        op = self.directory.operator_by_email(email)
        ok = op is not None and await verify_password(op.password_hash, password)
        if not ok or op is None:
            self._failures.setdefault(email, deque()).append(self.clock.monotonic())
            raise Unauthenticated("bad_credentials", "wrong email or password")
        self._failures.pop(email, None)
        token = ids.new_token()
        expires = self.clock.wall_ms() + TOKEN_TTL_SECONDS * 1000
        doc = {"operator_id": op.id, "expires_ms": expires}
        await self.store.write_async([("tokens", ids.token_digest(token), encode(doc))])
        return token, expires, op

    def authenticate(self, token: str | None) -> Principal:
        """The principal for a bearer token, or Unauthenticated."""
        if not token:
            raise Unauthenticated("unauthenticated", "a token is required (log in first)")
        digest = ids.token_digest(token)
        raw = self.store.get("tokens", digest)
        if raw is None:
            raise Unauthenticated("bad_token", "the token is not valid (log in again)")
        doc = decode(raw)
        if doc["expires_ms"] <= self.clock.wall_ms():
            raise Unauthenticated("token_expired", "the token has expired (log in again)")
        op = self.directory.operators.get(doc["operator_id"])
        if op is None:
            raise Unauthenticated("bad_token", "the token's operator no longer exists")
        return Principal(op.id, op.account_id, op.role, digest)

    async def logout(self, principal: Principal) -> None:
        await self.store.write_async([("tokens", principal.token_digest, None)])
