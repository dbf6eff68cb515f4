"""How the server is doing, in one word and a reason: the health rules.

``judge`` is a pure function over plain numbers (:class:`Load`), so the rules
are tested without a server; ``engine/status.py`` gathers the numbers.

- ``stopping``: a stop has begun.
- ``overloaded``: work arrives faster than it is done, and new work will be
  refused soon: an actor's mailbox past half its bound, writes piling up
  for the store, or the visitor edge near the process's file descriptor limit
  (each visitor websocket holds one).
- ``degraded``: serving, but something needs an admin: the store near full,
  the history index far behind the store, or the outbox failing to deliver.
- ``serving``: none of these.

The first rule that holds gives the reason; overload is said before a degraded
part, since it is what a load balancer acts on.
"""

from __future__ import annotations

from dataclasses import dataclass

SERVING, DEGRADED, OVERLOADED, STOPPING = "serving", "degraded", "overloaded", "stopping"

MAILBOX_SHARE = 0.5  # a mailbox fuller than this share of its bound
QUEUED_WRITES = 50_000  # writes waiting for the store's next commit
DESCRIPTOR_SHARE = 0.9  # visitor websockets past this share of the descriptor limit
STORE_LEFT_SHARE = 0.05  # the store can take less than this share of what it holds
STORE_LEFT_BYTES = 64 << 20  # ... and less than this
INDEX_LAG = 10_000  # commits the history index may be behind the store
OUTBOX_RETRYING = 100  # deliveries that failed an attempt and wait to retry


@dataclass(frozen=True, slots=True)
class Load:
    """The numbers the rules read."""

    stopping: bool = False
    mailbox_kind: str = ""  # the kind of actor with the fullest mailbox
    mailbox_depth: int = 0
    mailbox_capacity: int = 1
    queued_writes: int = 0
    visitor_websockets: int = 0
    descriptor_limit: int = 0  # 0: unknown
    store_used_bytes: int = 0
    store_left_bytes: int = 1 << 62
    index_lag: int = 0  # commits (0 when the index is off)
    index_failure: str = ""  # why the index's process is not running (empty: it runs)
    outbox_retrying: int = 0


def judge(load: Load) -> tuple[str, str]:
    """(health, reason); the reason is empty when serving."""
    if load.stopping:
        return STOPPING, "a stop has begun"
    if load.mailbox_depth > MAILBOX_SHARE * load.mailbox_capacity:
        return OVERLOADED, (
            f"{load.mailbox_kind} mailbox holds {load.mailbox_depth} of "
            f"{load.mailbox_capacity} messages"
        )
    if load.queued_writes > QUEUED_WRITES:
        return OVERLOADED, f"{load.queued_writes} writes wait for the store"
    if load.descriptor_limit and load.visitor_websockets > DESCRIPTOR_SHARE * load.descriptor_limit:
        return OVERLOADED, (
            f"{load.visitor_websockets} visitor websockets near the limit of "
            f"{load.descriptor_limit} open files"
        )
    if (
        load.store_left_bytes < STORE_LEFT_BYTES
        and load.store_left_bytes < STORE_LEFT_SHARE * load.store_used_bytes
        or load.store_left_bytes < STORE_LEFT_BYTES // 4
    ):
        return DEGRADED, f"the store is near full: {load.store_left_bytes >> 20} MiB left"
    if load.index_failure:
        return DEGRADED, load.index_failure
    if load.index_lag > INDEX_LAG:
        return DEGRADED, f"the history index is {load.index_lag} commits behind the store"
    if load.outbox_retrying > OUTBOX_RETRYING:
        return DEGRADED, f"the outbox is failing: {load.outbox_retrying} deliveries retrying"
    return SERVING, ""
