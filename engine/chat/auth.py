"""Operator authentication: passwords (argon2id) and session tokens.

A login returns a random token; only its SHA-256 is stored, with its expiry.
Tokens are checked on every gRPC call and on the operator session stream.
Failed logins are throttled per email and per client address: after
``MAX_FAILURES`` failures for one email (``MAX_FAILURES_PER_IP`` from one
address, which may be a shared NAT) in ``FAILURE_WINDOW`` seconds, further
attempts are refused, even with the right password, until the window passes.
An unknown email costs the same password check as a known one, so timing does
not tell which emails exist.
"""

from __future__ import annotations

import functools
from collections import deque
from dataclasses import dataclass

from engine.chat import ids
from engine.chat.directory import PASSWORD_HASHER, Directory, verify_password
from engine.chat.records import Operator
from engine.errors import Unauthenticated, Unavailable
from engine.persistence.codec import decode, encode
from engine.runtime.clock import Clock

TOKEN_TTL_SECONDS = 12 * 3600
MAX_FAILURES = 5
MAX_FAILURES_PER_IP = 20
FAILURE_WINDOW = 60.0
MAX_TRACKED = 100_000  # failure windows kept at once (oldest dropped first)


@functools.cache
def _dummy_hash() -> str:
    """A hash to check unknown emails against (made once, on first use)."""
    return PASSWORD_HASHER.hash("not a password anyone has")


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

    def _throttled(self, key: str, limit: int) -> bool:
        now = self.clock.monotonic()
        window = self._failures.get(key)
        if not window:
            return False
        while window and now - window[0] > FAILURE_WINDOW:
            window.popleft()
        if not window:
            del self._failures[key]
            return False
        return len(window) >= limit

    def _failed(self, key: str) -> None:
        if key not in self._failures and len(self._failures) >= MAX_TRACKED:
            del self._failures[next(iter(self._failures))]
        self._failures.setdefault(key, deque()).append(self.clock.monotonic())

    async def login(self, email: str, password: str, peer: str = "") -> tuple[str, int, Operator]:
        """Check the password; return (token, expiry ms, operator)."""
        email = email.strip().lower()[:320]
        by_email, by_peer = "e:" + email, "p:" + peer
        if self._throttled(by_email, MAX_FAILURES) or (
            peer and self._throttled(by_peer, MAX_FAILURES_PER_IP)
        ):
            raise Unavailable("throttled", "too many failed logins; try again in a minute")
        op = self.directory.operator_by_email(email)
        if len(password) > 1024:
            ok = False
        elif op is None:
            await verify_password(_dummy_hash(), password)  # same cost as a real check
            ok = False
        else:
            ok = await verify_password(op.password_hash, password)
        if not ok or op is None:
            self._failed(by_email)
            if peer:
                self._failed(by_peer)
            raise Unauthenticated("bad_credentials", "wrong email or password")
        self._failures.pop(by_email, None)
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
