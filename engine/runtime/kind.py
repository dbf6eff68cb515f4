"""Actor kinds that carry their message type.

A kind is the name actors of one class are registered and addressed by. A plain
string works (its references take any message, and a wrong one fails in the
actor as UnhandledMessage); a :class:`Kind` is that same string with the kind's
message union attached for the type checker, so ``system.ref(CONVERSATION, key)``
is a ``Ref[ConversationCommand]`` whose ``tell`` accepts only those messages, and
``register(CONVERSATION, props)`` accepts only an actor that takes them all.
"""

from __future__ import annotations

from typing import Generic, TypeVar

# Invariant: a kind names exactly one union, so registering it with an actor that
# takes less, or sending through it a message outside it, are both type errors.
M = TypeVar("M")


class Kind(str, Generic[M]):
    """An actor kind's name (a ``str``: registries and stores see the name);
    ``M`` is the union of messages its actors take. Declare one per kind:
    ``VISITOR: Kind[VisitorCommand] = Kind("visitor")``."""

    __slots__ = ()
