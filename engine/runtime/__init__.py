"""A small actor runtime built for throughput on one asyncio loop.

Actors are plain classes (:class:`Actor`) with a ``receive`` method; the runtime
owns mailboxes, scheduling, replies, timers, supervision and passivation.
"""

from engine.runtime.actor import Actor, Context, unhandled
from engine.runtime.clock import Clock, FakeClock, LoopClock, Timer
from engine.runtime.errors import (
    ActorStopped,
    AskTimeout,
    MailboxFull,
    RuntimeFault,
    UnhandledMessage,
)
from engine.runtime.kind import Kind
from engine.runtime.mailbox import Mailbox
from engine.runtime.ref import Ref, Reply, Request
from engine.runtime.supervision import Directive, SupervisorStrategy
from engine.runtime.system import ActorSystem, InlineScheduler, LoopScheduler

__all__ = [
    "Actor",
    "ActorStopped",
    "ActorSystem",
    "AskTimeout",
    "Clock",
    "Context",
    "Directive",
    "FakeClock",
    "InlineScheduler",
    "Kind",
    "LoopClock",
    "LoopScheduler",
    "Mailbox",
    "MailboxFull",
    "Ref",
    "Reply",
    "Request",
    "RuntimeFault",
    "SupervisorStrategy",
    "Timer",
    "UnhandledMessage",
    "unhandled",
]
