"""The Conversation actor and its parts, one module each.

``actor.py`` is the actor: it holds a :class:`~.state.ConversationState` (the
state, its record and the board's card, ``state.py``) and hands each command to
the lifecycle (start, post, subscribe, assign, requeue, move, close:
``lifecycle.py``), the operators' actions (join, leave, invite, transfers,
take-over, chat status: ``actions.py``) or the receipts (typing, read receipts,
rating: ``receipts.py``). ``subscribers.py`` holds the sinks and their fan-out,
with the stand-in of a sink whose replay runs.
"""

from __future__ import annotations

from engine.chat.conversation.actor import Conversation
from engine.chat.conversation.subscribers import CatchingUp

__all__ = ["Conversation"]

_CatchingUp = CatchingUp  # the name tests/engine/test_journal.py imports it by
