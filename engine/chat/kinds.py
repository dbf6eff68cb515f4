"""The chat actor kinds, each with the union of commands its actors take.

``ctx.ref(CONVERSATION, conversation_id)`` is a ``Ref[ConversationCommand]``:
mypy checks every ``tell`` through it, and ``Engine`` registers each kind with
an actor class that handles all of its union. A kind is its plain name too
("conversation"), which is what the store and the logs see.
"""

from __future__ import annotations

from engine.chat.lobby_messages import LobbyCommand
from engine.chat.messages import (
    BoardCommand,
    ConversationCommand,
    InternalCommand,
    OperatorCommand,
    PresenceCommand,
    QueueCommand,
    VisitorCommand,
)
from engine.runtime import Kind

VISITOR: Kind[VisitorCommand] = Kind("visitor")
CONVERSATION: Kind[ConversationCommand] = Kind("conversation")
OPERATOR: Kind[OperatorCommand] = Kind("operator")
QUEUE: Kind[QueueCommand] = Kind("queue")  # one per department
PRESENCE: Kind[PresenceCommand] = Kind("presence")  # one per account
INTERNAL: Kind[InternalCommand] = Kind("internal")  # one per pair of operators
BOARD: Kind[BoardCommand] = Kind("board")  # one per account
LOBBY: Kind[LobbyCommand] = Kind("lobby")  # one per account: visitors online
