"""Errors of the engine, a small tree.

    ParleyError
    ├── Refused                 expected: a clear answer to a bad or unlucky request
    │   ├── InvalidArgument     malformed or out-of-range input
    │   ├── NotFound            unknown site, department, conversation, operator
    │   ├── AlreadyExists       a unique name or email taken
    │   ├── Unauthenticated     wrong password, missing or expired token
    │   ├── PermissionDenied    the caller's role does not allow it
    │   ├── FailedPrecondition  the state forbids it (closed conversation, no hello)
    │   └── Unavailable         retryable: store full, overloaded, shutting down
    └── (anything else)         a bug: logged with its traceback, never dressed as
                                a user error

Every refusal has a stable ``code`` (README, "Error codes") and a ``retryable``
flag; the edge and the control plane map the class to a websocket close code or a
gRPC status in one table each.
"""

from __future__ import annotations


class ParleyError(Exception):
    """Base of Parley's own errors."""


class Refused(ParleyError):
    """An expected refusal with a stable code."""

    retryable = False

    def __init__(
        self, code: str, message: str, *, field: str = "", metadata: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        # The request field at fault, when one is (a client can point at it), and
        # more facts for a program (the gRPC API's ErrorInfo metadata).
        self.field = field
        self.metadata = dict(metadata or {})

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message!r})"


class InvalidArgument(Refused):
    pass


class NotFound(Refused):
    pass


class AlreadyExists(Refused):
    pass


class Unauthenticated(Refused):
    pass


class PermissionDenied(Refused):
    pass


class FailedPrecondition(Refused):
    pass


class Unavailable(Refused):
    retryable = True
