"""Engine refusals as gRPC statuses: one table, and the structured detail every
refusal carries.

A refusal ends a call with its status code, a message for people
(``"<code>: <message>"``) and, in the status details (the
``grpc-status-details-bin`` trailer, read with ``grpc_status.rpc_status``), a
``google.rpc.ErrorInfo``: ``reason`` is the refusal code in capitals
(``IN_USE``), ``domain`` is :data:`DOMAIN`, and ``metadata`` holds the field at
fault (``field``) and whatever else the refusal names. A program matches the
reason, never the text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2

from engine import errors

DOMAIN = "parley"
DETAILS_KEY = "grpc-status-details-bin"

STATUS: dict[type[errors.Refused], grpc.StatusCode] = {
    errors.InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    errors.NotFound: grpc.StatusCode.NOT_FOUND,
    errors.AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    errors.Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    errors.PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    errors.FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    errors.Unavailable: grpc.StatusCode.UNAVAILABLE,
}


def status_of(error: errors.Refused) -> grpc.StatusCode:
    for cls in type(error).__mro__:
        status = STATUS.get(cls)
        if status is not None:
            return status
    return grpc.StatusCode.FAILED_PRECONDITION


def detail_of(error: errors.Refused) -> str:
    """The status message: '<code>: <message>', for people (programs read the
    ErrorInfo)."""
    return f"{error.code}: {error.message}"


def reason_of(code: str) -> str:
    """A refusal code as an ErrorInfo reason: ``in_use`` -> ``IN_USE``."""
    return code.upper()


def trailer(
    status: grpc.StatusCode, message: str, code: str, metadata: Mapping[str, str]
) -> tuple[tuple[str, bytes], ...]:
    """The trailing metadata carrying a ``google.rpc.Status`` with one ErrorInfo."""
    info = error_details_pb2.ErrorInfo(reason=reason_of(code), domain=DOMAIN, metadata=metadata)
    detail = any_pb2.Any()
    detail.Pack(info)
    rpc_status = status_pb2.Status(code=status.value[0], message=message, details=[detail])
    return ((DETAILS_KEY, rpc_status.SerializeToString()),)


def refusal_trailer(error: errors.Refused) -> tuple[tuple[str, bytes], ...]:
    """The trailer of a refusal: its code, field and metadata."""
    metadata = dict(error.metadata)
    if error.field:
        metadata["field"] = error.field
    return trailer(status_of(error), detail_of(error), error.code, metadata)


async def abort(context: grpc.aio.ServicerContext[Any, Any], error: errors.Refused) -> None:
    """End a call with ``error``: its status, message and ErrorInfo."""
    await context.abort(
        status_of(error), detail_of(error), trailing_metadata=refusal_trailer(error)
    )


async def abort_internal(context: grpc.aio.ServicerContext[Any, Any], request_id: str) -> None:
    """End a call that failed by a bug: INTERNAL, naming the request id of the
    log line (never the exception's text)."""
    message = f"internal: the server could not handle this (request id {request_id})"
    status = grpc.StatusCode.INTERNAL
    metadata = {"request_id": request_id}
    await context.abort(
        status, message, trailing_metadata=trailer(status, message, "internal", metadata)
    )
