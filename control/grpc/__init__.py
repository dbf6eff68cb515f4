"""The gRPC servicers. They translate, check the permission table, call the
engine and map its refusals; they hold no chat rules.

``calls`` authenticates and authorises every call (the one permission table is
``control.permissions``); ``streams`` carries the session streams' batches;
``auth``, ``control``, ``operator_session`` and ``visitor_channel`` are one
service each. Conversions between protobuf and engine objects are the pure
functions of ``control.converters``; refusals become statuses in
``control.errors``.
"""

from control.grpc.auth import AuthService
from control.grpc.control import ControlService
from control.grpc.operator_session import OperatorSessionService
from control.grpc.visitor_channel import VisitorChannelService

SERVICES = (AuthService, ControlService, OperatorSessionService, VisitorChannelService)

__all__ = [
    "SERVICES",
    "AuthService",
    "ControlService",
    "OperatorSessionService",
    "VisitorChannelService",
]
