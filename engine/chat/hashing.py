"""Password hashing, bounded: logins never starve the chat.

An argon2id hash at the library's defaults costs about 170 ms of CPU and 64 MiB.
Run in the default thread pool, a flood of logins would take every core from
the event loop and the store's writer. Instead every hash and check goes
through one :class:`HashGate`: ``workers`` run at once on threads of their own
(two, or one on a machine of two cores or fewer: a core stays for the chat),
``queue`` more wait, and past that a call is refused at once with the retryable
``busy`` (``Unavailable``, gRPC UNAVAILABLE): the client retries in a moment.
Refusing costs next to nothing, so a flood is cheap to turn away. The hashing
threads run at the lowest CPU priority (nice 19, where the system allows it):
when a core is contended, the event loop and the store's writer go first, and a
login waits a little longer instead of the chat. The passwords' own rules
(argon2id, 8 to 1024 characters) live here too, beside the gate they go through.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from engine.errors import InvalidArgument, Unavailable

T = TypeVar("T")

HASH_WORKERS = 2 if (os.cpu_count() or 1) > 2 else 1  # hashes running at once
HASH_QUEUE = 8  # hashes waiting for a worker before new ones are refused


def _lowest_priority() -> None:
    """In a hashing thread: yield the CPU to every other thread of the process
    (on Linux a thread's nice value is its own)."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)


class HashGate:
    """At most ``workers`` hashes at once, ``queue`` more waiting, the rest refused."""

    def __init__(self, workers: int = HASH_WORKERS, queue: int = HASH_QUEUE) -> None:
        if workers < 1 or queue < 0:
            raise ValueError("a hash gate needs a worker and a queue of zero or more")
        self.workers = workers
        self.limit = workers + queue
        self.taken = 0  # running and waiting
        self._executor = ThreadPoolExecutor(
            workers, thread_name_prefix="parley-hash", initializer=_lowest_priority
        )

    async def run(self, work: Callable[[], T]) -> T:
        """Run ``work`` (a hash or a check) on a hashing thread; refused with
        ``busy`` when the gate is full."""
        if self.taken >= self.limit:
            raise Unavailable("busy", "the server is busy checking passwords; retry in a moment")
        self.taken += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, work)
        finally:
            self.taken -= 1


GATE = HashGate()
"""The process's one gate: every password hash and check goes through it."""


# -- passwords ----------------------------------------------------------------

# argon2id with the library's current defaults. A Directory takes another hasher
# only from tests, where cheap settings save a fifth of a second per hash.
PASSWORD_HASHER = PasswordHasher()
MIN_PASSWORD = 8


async def hash_password(password: str, hasher: PasswordHasher = PASSWORD_HASHER) -> str:
    if len(password) < MIN_PASSWORD:
        raise InvalidArgument(
            "weak_password",
            f"a password needs at least {MIN_PASSWORD} characters",
            field="password",
        )
    if len(password) > 1024:
        raise InvalidArgument(
            "invalid_argument", "password is longer than 1024 characters", field="password"
        )
    return await GATE.run(lambda: hasher.hash(password))


async def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches; the hash's own parameters set the cost."""

    def check() -> bool:
        try:
            return PASSWORD_HASHER.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await GATE.run(check)
