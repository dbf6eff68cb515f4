"""Operator authentication: passwords (argon2id) and session tokens.

A login returns a random token; only its SHA-256 is stored, with its expiry.
Tokens are checked on every gRPC call and on the operator session stream.
Failed logins are throttled per email and per client address: after
``MAX_FAILURES`` failures for one email (``MAX_FAILURES_PER_IP`` from one
address, which may be a shared NAT) in ``FAILURE_WINDOW`` seconds, further
attempts are refused, even with the right password, until the window passes.
An attempt is counted (reserved) before its slow hash, not after: fifty
parallel guesses for one email get five hashes and forty-five refusals, a
right password among them included. A right password releases the
reservations of its email; a busy refusal (the hash gate full) releases its own.
An unknown email costs the same password check as a known one, so timing does
not tell which emails exist.

Revocation: whatever ends tokens (logout, a revoked session, a password changed
or reset) or disables an operator tells the engine (``on_access_changed``),
which tells the operator's actor, whose open streams re-check at once
(:mod:`engine.chat.sessions.access`).
"""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher

from engine.chat import ids
from engine.chat.directory import Directory
from engine.chat.hashing import verify_password
from engine.chat.permissions import check_manage
from engine.chat.records import Operator
from engine.errors import (
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    Unavailable,
)
from engine.persistence.schema import TOKENS, Op
from engine.runtime.clock import Clock

TOKEN_TTL_SECONDS = 12 * 3600
MAX_API_TOKEN_DAYS = 365
MAX_FAILURES = 5
MAX_FAILURES_PER_IP = 20
FAILURE_WINDOW = 60.0
MAX_TRACKED = 100_000  # failure windows kept at once (oldest dropped first)


def session_id(digest: bytes) -> str:
    """The public handle of a session: part of its token's hash, not the token."""
    return digest[:8].hex()


@functools.cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    """A hash to check unknown emails against (made once per hasher, on first use)."""
    return hasher.hash("not a password anyone has")


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: an authenticated operator."""

    operator_id: str
    account_id: str
    role: str
    token_digest: bytes


class Auth:
    def __init__(
        self,
        directory: Directory,
        clock: Clock,
        on_access_changed: Callable[[str], None] = lambda operator_id: None,
    ) -> None:
        self.directory = directory
        self.store = directory.store
        self.clock = clock
        self.on_access_changed = on_access_changed  # the operator's streams re-check
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

    def _failed(self, key: str) -> float:
        """Count an attempt against ``key``; the stamp, to release it with."""
        if key not in self._failures and len(self._failures) >= MAX_TRACKED:
            del self._failures[next(iter(self._failures))]
        stamp = self.clock.monotonic()
        self._failures.setdefault(key, deque()).append(stamp)
        return stamp

    def _release(self, key: str, stamp: float) -> None:
        """Give back an attempt reserved with ``_failed`` (it was not a guess)."""
        window = self._failures.get(key)
        if window and stamp in window:
            window.remove(stamp)

    def _reserve(self, email_key: str, peer: str) -> list[tuple[str, float]]:
        """Refuse a throttled attempt; else count it now, before its slow hash,
        so parallel attempts see each other (no await between check and count)."""
        by_peer = "p:" + peer
        if self._throttled(email_key, MAX_FAILURES) or (
            peer and self._throttled(by_peer, MAX_FAILURES_PER_IP)
        ):
            raise Unavailable("throttled", "too many failed attempts; try again in a minute")
        reserved = [(email_key, self._failed(email_key))]
        if peer:
            reserved.append((by_peer, self._failed(by_peer)))
        return reserved

    async def login(self, email: str, password: str, peer: str = "") -> tuple[str, int, Operator]:
        """Check the password; return (token, expiry ms, operator)."""
        email = email.strip().lower()[:320]
        reserved = self._reserve("e:" + email, peer)
        op = self.directory.operator_by_email(email)
        try:
            if len(password) > 1024:
                ok = False
            elif op is None:
                # The same cost as a real check: the directory's hasher made both hashes.
                await verify_password(_dummy_hash(self.directory.hasher), password)
                ok = False
            else:
                ok = await verify_password(op.password_hash, password)
        except Unavailable:
            for key, stamp in reserved:  # busy: not an attempt
                self._release(key, stamp)
            raise
        if not ok or op is None:
            raise Unauthenticated("bad_credentials", "wrong email or password")
        for key, stamp in reserved[1:]:
            self._release(key, stamp)
        self._failures.pop(reserved[0][0], None)
        if op.disabled:
            raise Unauthenticated("operator_disabled", "this operator is disabled")
        self.check_account(op)
        token, expires = await self._new_session(op)
        return token, expires, op

    def check_account(self, op: Operator) -> None:
        """Refuse an operator of a suspended account (its tokens stay, and work
        again once the account is resumed)."""
        if self.directory.suspended(op.account_id):
            raise PermissionDenied("account_suspended", "this account is suspended")

    async def create_api_token(self, principal: Principal, name: str, days: int) -> tuple[str, int]:
        """A long-lived token for scripts, with the caller's role, listed and
        revocable among the caller's sessions."""
        name = name.strip()
        if not name or len(name) > 64:
            raise InvalidArgument("invalid_argument", "a token needs a name of 1-64 characters")
        if not 1 <= days <= MAX_API_TOKEN_DAYS:
            raise InvalidArgument(
                "invalid_argument", f"a token lives 1 to {MAX_API_TOKEN_DAYS} days"
            )
        op = self.directory.operator(principal.operator_id)
        return await self._new_session(op, days * 86400, name)

    async def _new_session(
        self, op: Operator, ttl: int = TOKEN_TTL_SECONDS, name: str = ""
    ) -> tuple[str, int]:
        token = ids.new_token()
        digest = ids.token_digest(token)
        now = self.clock.wall_ms()
        expires = now + ttl * 1000
        doc = {"operator_id": op.id, "created_ms": now, "expires_ms": expires, "name": name}
        await self.store.write_async(TOKENS.put(op.id, digest, doc))
        return token, expires

    def authenticate(self, token: str | None) -> Principal:
        """The principal for a bearer token, or Unauthenticated."""
        if not token:
            raise Unauthenticated("unauthenticated", "a token is required (log in first)")
        return self.recheck(ids.token_digest(token))[0]

    def recheck(self, digest: bytes) -> tuple[Principal, int]:
        """The principal of a token by its digest, now, and its expiry (ms); or
        Unauthenticated when it was revoked, expired, or its operator is gone or
        disabled, or PermissionDenied when its account is suspended. Open
        streams call it again on every change of access."""
        doc = TOKENS.get(self.store, digest)
        if doc is None:
            raise Unauthenticated("bad_token", "the token is not valid (log in again)")
        if doc["expires_ms"] <= self.clock.wall_ms():
            raise Unauthenticated("token_expired", "the token has expired (log in again)")
        op = self.directory.operators.get(doc["operator_id"])
        if op is None:
            raise Unauthenticated("bad_token", "the token's operator no longer exists")
        if op.disabled:
            raise Unauthenticated("operator_disabled", "this operator is disabled")
        self.check_account(op)
        return Principal(op.id, op.account_id, op.role, digest), doc["expires_ms"]

    async def logout(self, principal: Principal) -> None:
        await self._revoke(principal.operator_id, [principal.token_digest])

    def sessions(self, operator_id: str, current: bytes = b"") -> list[dict[str, Any]]:
        """The operator's live sessions, newest first (expired ones are left out)."""
        now = self.clock.wall_ms()
        out = []
        for digest in TOKENS.digests(self.store, operator_id):
            doc = TOKENS.get(self.store, digest)
            if doc is None:
                continue
            if doc["expires_ms"] <= now:
                continue
            out.append(
                {
                    "id": session_id(digest),
                    "created_ms": doc.get("created_ms", 0),
                    "expires_ms": doc["expires_ms"],
                    "current": digest == current,
                    "name": doc.get("name", ""),
                }
            )
        return sorted(out, key=lambda d: -d["created_ms"])

    async def revoke_session(self, operator_id: str, sid: str) -> None:
        """Revoke one of the operator's own sessions by its public id."""
        for digest in TOKENS.digests(self.store, operator_id):
            if session_id(digest) == sid:
                await self._revoke(operator_id, [digest])
                return
        raise NotFound("unknown_session", f"no session {sid[:40]!r} of yours")

    async def revoke_all(self, operator_id: str, keep: bytes = b"") -> int:
        """Revoke every session of the operator but ``keep``; how many went."""
        digests = TOKENS.digests(self.store, operator_id)
        gone = [d for d in digests if d != keep]
        await self._revoke(operator_id, gone)
        return len(gone)

    async def _revoke(self, operator_id: str, digests: list[bytes]) -> None:
        ops: list[Op] = []
        for digest in digests:
            ops.extend(TOKENS.delete(operator_id, digest))
        if ops:
            await self.store.write_async(ops)
            self.on_access_changed(operator_id)

    async def change_password(self, principal: Principal, current: str, new: str) -> None:
        """The caller's own password; wrong current passwords count as failed
        logins (reserved before the check, as a login's), and every other session
        of the caller is revoked."""
        op = self.directory.operator(principal.operator_id)
        reserved = self._reserve("e:" + op.email, "")
        try:
            ok = len(current) <= 1024 and await verify_password(op.password_hash, current)
        except Unavailable:
            for key, stamp in reserved:
                self._release(key, stamp)
            raise
        if not ok:
            raise Unauthenticated("bad_credentials", "the current password is wrong")
        for key, stamp in reserved:
            self._release(key, stamp)
        await self.directory.set_password(op.id, new)
        await self.revoke_all(op.id, keep=principal.token_digest)

    async def reset_password(self, principal: Principal, operator_id: str, new: str) -> None:
        """Set another operator's password (of the same account, holding nothing
        the caller lacks) and end all their sessions. One's own password is
        changed with the current one (``change_password``), never reset."""
        target = self.directory.operator(operator_id, principal.account_id)
        if target.id == principal.operator_id:
            raise PermissionDenied(
                "own_password", "change your own password with the current one (ChangePassword)"
            )
        directory = self.directory
        check_manage(
            principal.role,
            directory.role_permissions(principal.account_id, principal.role),
            target.role,
            directory.role_permissions(target.account_id, target.role),
        )
        await self.directory.set_password(target.id, new)
        await self.revoke_all(target.id)
