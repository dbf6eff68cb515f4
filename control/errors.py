"""Engine refusals as gRPC statuses: one table."""

from __future__ import annotations

import grpc

from engine import errors

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
    """The status detail: '<code>: <message>', so scripts can match the code."""
    return f"{error.code}: {error.message}"
