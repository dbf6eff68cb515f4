"""Errors of the actor runtime.

RuntimeFault              base of everything the runtime raises
├── MailboxFull           the target's bounded mailbox refused the message
├── AskTimeout            no reply within the ask's timeout
└── ActorStopped          the actor stopped (or failed) before replying
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
    """An actor class does not handle this message (override ``receive``)."""
