"""A long-lived stream's hold on its operator's token and permissions.

A stream is authorised when it opens, but lives for hours: every stream that
speaks with an operator's token (the operator session, a visitor channel of an
embedding service, the web bridge to come) holds a :class:`StreamAccess`. It
watches the operator's actor, which tells it to re-check on every change of
access (a password reset or changed, a session revoked, a role changed or its
permissions edited, the operator disabled or its departments changed: see
``AccessChanged``), and a timer on the engine's clock re-checks when the token
expires. A re-check reads the token and the role as they are now:

- the token gone, expired or its operator disabled, or the permission the
  stream needs gone: the stream ends (``ended`` gets the refusal: the front end
  closes with UNAUTHENTICATED or PERMISSION_DENIED and the refusal's code);
- otherwise the stream narrows (or widens) to the role it has now
  (``changed`` gets the new principal).

No polling: nothing runs between changes. Ending is final; a re-check after it
does nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from engine.chat.kinds import OPERATOR
from engine.chat.messages import UnwatchAccess, WatchAccess
from engine.chat.permissions import require
from engine.errors import Refused
from engine.runtime import Timer

if TYPE_CHECKING:
    from engine.app import Engine
    from engine.chat.auth import Principal

log = logging.getLogger("parley.access")


class StreamAccess:
    """One stream's access: re-checked on every change, ended or narrowed."""

    def __init__(
        self,
        engine: Engine,
        principal: Principal,
        permission: str,
        ended: Callable[[Refused], None],
        changed: Callable[[Principal], None] = lambda principal: None,
    ) -> None:
        self.engine = engine
        self.principal = principal
        self.permission = permission  # what the stream needs to stay open
        self.ended: Refused | None = None  # why it ended, once it has
        self._on_end = ended
        self._on_change = changed
        self._operator = engine.system.ref(OPERATOR, principal.operator_id)
        self._timer: Timer | None = None
        self._watching = False

    def start(self) -> None:
        """Watch the operator's access (the actor re-checks on arrival, so a
        revocation since the stream's login check is not missed)."""
        # A control message, as AccessChanged is: the two keep their order.
        self._operator.tell_system(WatchAccess(self))
        self._watching = True

    def recheck(self) -> None:
        """Re-read the token and the role; end or narrow the stream."""
        if self.ended is not None:
            return
        engine = self.engine
        try:
            principal, expires_ms = engine.auth.recheck(self.principal.token_digest)
            held = engine.directory.role_permissions(principal.account_id, principal.role)
            require(held, principal.role, self.permission)
        except Refused as error:
            self._end(error)
            return
        self._arm(expires_ms)
        self.principal = principal
        self._on_change(principal)

    def _arm(self, expires_ms: int) -> None:
        """A re-check when the token expires (replacing the last one)."""
        if self._timer is not None:
            self._timer.cancel()
        delay = max(0.0, (expires_ms - self.engine.clock.wall_ms()) / 1000)
        self._timer = self.engine.clock.call_later(delay, self.recheck)

    def _end(self, error: Refused) -> None:
        self.ended = error
        log.info(
            "stream of operator %s ended: %s", self.principal.operator_id, error.code
        )  # never the token
        self.close()
        self._on_end(error)

    def close(self) -> None:
        """The stream is gone: stop watching (idempotent)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._watching:
            self._watching = False
            self._operator.tell_system(UnwatchAccess(self))
