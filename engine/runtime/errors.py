"""Errors of the actor runtime.

RuntimeFault              base of everything the runtime raises
├── MailboxFull           the target's bounded mailbox refused the message
├── AskTimeout            no reply within the ask's timeout
├── ActorStopped          the actor stopped (or failed) before replying
└── UnhandledMessage      an actor got a message it has no handler for (a bug)
"""


class RuntimeFault(Exception):
    """Base of the runtime's errors."""


class MailboxFull(RuntimeFault):
    """The target mailbox is at capacity; the message was not enqueued."""


class AskTimeout(RuntimeFault):
    """An ask got no reply in time."""


class ActorStopped(RuntimeFault):
    """The actor is stopped or failed while handling the message."""


class UnhandledMessage(RuntimeFault):
    """An actor got a message outside its kind's union: the sender's bug. Raised
    in the actor's turn, so it is logged and supervised (resumed by default) and
    the asker gets :class:`ActorStopped`; never a refusal to a user."""
