"""Close codes of the console websocket, and how a session stream's end maps to
one, in one table (the contract is the header of ``proto/parley/v1/bridge.proto``).

    1000  normal     the session stream ended normally
    1001  going away the server is stopping: reconnect and resume
    1009  too big    a frame over the size limit
    4400  protocol   a bad frame: text, not a BridgeFrame, an unknown or
                     server-side kind, before the hello, a second hello
    4401  unauth     the token is missing, unknown, expired or revoked
    4403  forbidden  the token's operator may not chat
    4408  timeout    no hello in time
    4429  rate       too many frames, or too many commands waiting
    4500  internal   a bug; the console may reconnect
    4503  retry      the API unreachable, or the stream ended retryably
                     (too_slow); reconnect and resume
    1006  (abort)    the console stopped reading (over its send bound): cut
                     without a close frame, which would queue behind the rest

The stream's own end arrives as a gRPC status with an ErrorInfo reason; the
reason decides where one is known, else the status code does.
"""

from __future__ import annotations

import grpc

CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_TOO_BIG = 1009
CLOSE_PROTOCOL = 4400
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_TIMEOUT = 4408
CLOSE_RATE = 4429
CLOSE_INTERNAL = 4500
CLOSE_RETRY = 4503

# A refusal's reason (lower case) that decides the close code whatever its status.
_BY_REASON: dict[str, int] = {
    "server_stopping": CLOSE_GOING_AWAY,
    "too_slow": CLOSE_RETRY,
    "account_suspended": CLOSE_FORBIDDEN,
}

_BY_STATUS: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.UNAUTHENTICATED: CLOSE_UNAUTHENTICATED,
    grpc.StatusCode.PERMISSION_DENIED: CLOSE_FORBIDDEN,
    grpc.StatusCode.UNAVAILABLE: CLOSE_RETRY,
    grpc.StatusCode.DEADLINE_EXCEEDED: CLOSE_RETRY,
    grpc.StatusCode.CANCELLED: CLOSE_RETRY,
    grpc.StatusCode.RESOURCE_EXHAUSTED: CLOSE_RETRY,
    grpc.StatusCode.INTERNAL: CLOSE_INTERNAL,
    grpc.StatusCode.UNKNOWN: CLOSE_INTERNAL,
}


def close_code_of(status: grpc.StatusCode, reason: str) -> int:
    """The close code for a session stream that ended with ``status`` and the
    ErrorInfo ``reason`` (lower case; "" when it had none)."""
    code = _BY_REASON.get(reason)
    if code is not None:
        return code
    if status is grpc.StatusCode.OK:
        return CLOSE_NORMAL
    return _BY_STATUS.get(status, CLOSE_PROTOCOL)


def close_code_of_hello_refusal(reason: str, retryable: bool) -> int:
    """The close code for a hello the session refused with a command error."""
    code = _BY_REASON.get(reason)
    if code is not None:
        return code
    if reason in ("bad_token", "token_expired", "operator_disabled", "unauthenticated"):
        return CLOSE_UNAUTHENTICATED
    if reason == "permission_denied":
        return CLOSE_FORBIDDEN
    return CLOSE_RETRY if retryable else CLOSE_PROTOCOL
