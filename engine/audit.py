"""The audit log: who changed what, and who did something sensitive, when and from where.

Every configuration change (the Create, Update and Delete calls of the control
services) and sensitive action (logins that worked or failed, logouts, password
changes and resets, role changes, session revocations, blocks, exports,
erasures, invisible joins, take-overs, retention sweeps) leaves one event in the
account's log (``audit`` in ``engine/persistence/schema.py``): the operator who
acted, the kind (the call, ``Sites.UpdateSite``, or the chat action,
``chat.take_over``), the ids acted on, the names of the fields given or changed
(never their values), the caller's address and the outcome (``ok`` or the
refusal's code). Ids only and no personal text, so an erasure never has to
rewrite it. The log is append-only: nothing deletes an event.

A call that writes carries its event in the commit of its first write
(``engine.persistence.lmdb_store.JOIN``: the gRPC wrapper,
``control/grpc/audit.py``); a call that writes nothing, or whose writes an
actor makes, has it written right after. The chat actions of the operator
session are recorded by the engine where they are done.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from engine.persistence.lmdb_store import LmdbStore
from engine.persistence.schema import AUDIT, Op

MAX_SCANNED = 20_000  # events read for one page of a filtered list, at most


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One event of the log, as listed."""

    key: bytes  # its place in the log (newest first)
    at_ms: int
    actor_id: str
    kind: str
    target_ids: tuple[str, ...]
    fields: tuple[str, ...]
    address: str
    outcome: str


def _ignore(_error: BaseException | None) -> None:
    return None


class AuditLog:
    """The audit log of one store: events are made here and listed from here."""

    def __init__(self, store: LmdbStore, wall_ms: Callable[[], int]) -> None:
        self.store = store
        self.wall_ms = wall_ms
        self._n = itertools.count()  # orders events of one millisecond

    def op(
        self,
        account_id: str,
        actor_id: str,
        kind: str,
        targets: Sequence[str] = (),
        fields: Sequence[str] = (),
        address: str = "",
        outcome: str = "ok",
    ) -> Op:
        """The write of one event (to go into the action's own commit)."""
        ms = self.wall_ms()
        doc = {
            "ms": ms,
            "a": actor_id,
            "k": kind,
            "t": list(dict.fromkeys(t for t in targets if t)),
            "f": list(dict.fromkeys(fields)),
            "ip": address,
            "o": outcome,
        }
        return AUDIT.put(AUDIT.key(account_id, ms, next(self._n)), doc)

    def record(
        self,
        account_id: str,
        actor_id: str,
        kind: str,
        targets: Sequence[str] = (),
        fields: Sequence[str] = (),
        address: str = "",
        outcome: str = "ok",
    ) -> None:
        """Write one event on its own (it commits with the next group commit)."""
        self.store.write(
            [self.op(account_id, actor_id, kind, targets, fields, address, outcome)], _ignore
        )

    def list(
        self,
        account_id: str,
        *,
        after: bytes | None = None,
        since_ms: int = 0,
        until_ms: int = 0,
        actor_id: str = "",
        kind: str = "",
        limit: int = 50,
    ) -> list[AuditEvent]:
        """Up to ``limit`` events of the account, newest first, after the key
        ``after`` (the last of the previous page), within the filters."""
        if after is not None:
            start: bytes | None = after + b"\x00"
        elif until_ms > 0:
            start = AUDIT.key(account_id, until_ms - 1, (1 << 32) - 1)
        else:
            start = None
        out: list[AuditEvent] = []
        scanned = 0
        while len(out) < limit and scanned < MAX_SCANNED:
            rows = AUDIT.scan(self.store, account_id, start, 500)
            for key, doc in rows:
                if since_ms and int(doc["ms"]) < since_ms:
                    return out
                if (actor_id and doc["a"] != actor_id) or (kind and doc["k"] != kind):
                    continue
                out.append(
                    AuditEvent(
                        key,
                        int(doc["ms"]),
                        doc["a"],
                        doc["k"],
                        tuple(doc["t"]),
                        tuple(doc["f"]),
                        doc["ip"],
                        doc["o"],
                    )
                )
                if len(out) >= limit:
                    return out
            scanned += len(rows)
            if len(rows) < 500:
                break
            start = rows[-1][0] + b"\x00"
        return out
