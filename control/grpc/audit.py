"""The calls the audit log records, and how: one :class:`Note` per audited call.

Audited are the configuration changes (every method whose name begins with
Create, Update or Delete) and the sensitive calls of :data:`SENSITIVE`. The call
wrapper (``control/grpc/calls.py``) opens a note before the handler runs; the
note joins the handler's first write (``JOIN``), so the event lands in the
action's own commit, and otherwise writes it right after the call, refused
calls included (with the refusal's code). What it records is generic: the
method, the ids the request names (its fields ``id`` and ``*_id``, one level
down too; never ``request_id``), the created thing's id, the names of the
fields given (the update mask for an Update), never a value.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Iterable
from typing import Any

from google.protobuf.message import Message

from engine.app import Engine
from engine.chat.auth import Principal
from engine.persistence.codec import SEP
from engine.persistence.lmdb_store import JOIN
from engine.persistence.schema import Op

log = logging.getLogger("parley.audit")

SENSITIVE = frozenset(
    {
        "/parley.v1.Auth/Login",
        "/parley.v1.Auth/Logout",
        "/parley.v1.Auth/ChangePassword",
        "/parley.v1.Auth/DeleteSession",
        "/parley.v1.Auth/CreateApiToken",
        "/parley.v1.Operators/ResetPassword",
        "/parley.v1.Operators/RevokeSessions",
        "/parley.v1.Accounts/SuspendAccount",
        "/parley.v1.Accounts/ResumeAccount",
        "/parley.v1.Visitors/ExportVisitor",
        "/parley.v1.Visitors/EraseVisitor",
    }
)
_CHANGES = ("Create", "Update", "Delete")
NOT_NAMED = frozenset({"request_id", "page_token", "page_size"})

# The note of the call being handled (a handler may add the ids it found).
CURRENT: contextvars.ContextVar[Note | None] = contextvars.ContextVar(
    "parley_audit_note", default=None
)


def audited(method: str) -> bool:
    """Whether calls of ``method`` ("/parley.v1.Sites/UpdateSite") are recorded."""
    return method.rsplit("/", 1)[-1].startswith(_CHANGES) or method in SENSITIVE


def kind_of(method: str) -> str:
    """ "/parley.v1.Sites/UpdateSite" -> "Sites.UpdateSite"."""
    service, _, name = method.rpartition("/")
    return f"{service.rsplit('.', 1)[-1]}.{name}"


def _repeated(fd: Any) -> bool:
    return bool(fd.is_repeated)


def _ids(message: Message, depth: int = 0) -> Iterable[str]:
    for fd, value in message.ListFields():
        if fd.name in NOT_NAMED:
            continue
        if fd.message_type is not None and not _repeated(fd) and depth == 0:
            yield from _ids(value, depth + 1)
        elif fd.name == "id" or fd.name.endswith("_id"):
            if isinstance(value, str):
                yield value
        elif fd.name.endswith("_ids") and _repeated(fd):
            yield from (v for v in value if isinstance(v, str))


def _fields(message: Message) -> list[str]:
    mask = getattr(message, "update_mask", None)
    if mask is not None and message.HasField("update_mask"):
        return list(mask.paths)
    names: list[str] = []
    for fd, value in message.ListFields():
        if fd.name in NOT_NAMED:
            continue
        if fd.message_type is not None and not _repeated(fd):
            names.extend(f"{fd.name}.{sub.name}" for sub, _v in value.ListFields())
        else:
            names.append(fd.name)
    return names


class Note:
    """The event of one audited call, written once."""

    def __init__(self, engine: Engine, method: str, request: Any, address: str) -> None:
        self.engine = engine
        self.kind = kind_of(method)
        self.create = method.rsplit("/", 1)[-1].startswith("Create")
        self.targets: list[str] = list(_ids(request)) if isinstance(request, Message) else []
        self.fields = _fields(request) if isinstance(request, Message) else []
        self.address = address
        self.principal: Principal | None = None
        self.written = False
        self._token: contextvars.Token[Any] | None = None
        self._current: contextvars.Token[Note | None] | None = None

    def open(self, principal: Principal | None) -> None:
        """The caller is known: join the handler's first write."""
        self.principal = principal
        self._current = CURRENT.set(self)
        if principal is not None:
            self._token = JOIN.set(self._join)

    def add_targets(self, ids: Iterable[str]) -> None:
        self.targets.extend(ids)

    def _op(self, account_id: str, actor_id: str, outcome: str) -> Op:
        return self.engine.audit.op(
            account_id, actor_id, self.kind, self.targets, self.fields, self.address, outcome
        )

    def _join(self, ops: list[Op]) -> list[Op]:
        if self.written or self.principal is None:
            return ops
        self.written = True
        if self.create and ops:  # what the create made: its first write's key
            with contextlib.suppress(UnicodeDecodeError):  # not a token's digest
                self.targets.append(ops[0][1].decode("ascii").rsplit(SEP.decode(), 1)[-1])
        p = self.principal
        return [*ops, self._op(p.account_id, p.operator_id, "ok")]

    async def close(self, reply: Any, outcome: str, email: str = "") -> None:
        """The call ended (``outcome``: "ok" or the refusal's code): write the
        event unless it went with the action's commit; the call answers once it
        is stored (a client reading the log next finds it)."""
        if self._token is not None:
            JOIN.reset(self._token)
            self._token = None
        if self._current is not None:
            CURRENT.reset(self._current)
            self._current = None
        if self.written:
            return
        p = self.principal
        actor_id = p.operator_id if p is not None else ""
        account_id = p.account_id if p is not None else ""
        if self.create and isinstance(reply, Message):
            self.targets.extend(_ids(reply))
        operator: Any = getattr(reply, "operator", None)  # a login: who it was
        if p is None and isinstance(operator, Message) and operator.ByteSize():
            actor_id = str(getattr(operator, "id", ""))
            account_id = str(getattr(operator, "account_id", ""))
        elif p is None and email:  # a refused login: the account of the email, if any
            known = self.engine.directory.operator_by_email(email)
            if known is not None:
                account_id = known.account_id
                self.targets.append(known.id)
        if not account_id:
            return  # no account to show it to (an unknown email, a bad token)
        self.written = True
        try:
            await self.engine.store.write_async([self._op(account_id, actor_id, outcome)])
        except Exception:  # the call's own answer stands; the log says what was lost
            log.warning("an audit event of %s was not stored", self.kind, exc_info=True)
