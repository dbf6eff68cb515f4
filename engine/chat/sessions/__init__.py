"""Sessions: the engine side of one client connection.

``common`` holds the limits, the refusal events and the hello guard every
session shares; ``visitor`` the visitor session (websocket edge, gRPC visitor
channel); ``operator`` the operator session (the operator session stream). What
an operator may see is decided in :mod:`engine.chat.visibility`; front ends hand
commands to sessions through :mod:`engine.chat.dispatch`.
"""

from engine.chat.sessions.common import failure
from engine.chat.sessions.operator import OperatorSession
from engine.chat.sessions.visitor import VisitorSession, Welcome

__all__ = ["OperatorSession", "VisitorSession", "Welcome", "failure"]
