"""A small actor runtime built for throughput on one asyncio loop.

Actors are plain classes (:class:`Actor`) with a ``receive`` method; the runtime
owns mailboxes, scheduling, replies, timers, supervision and passivation.
"""

from engine.runtime.actor import Actor, Context
from engine.runtime.clock import Clock, FakeClock, LoopClock, Timer
from engine.runtime.errors import ActorStopped, AskTimeout, MailboxFull, RuntimeFault
from engine.runtime.mailbox import Mailbox
from engine.runtime.ref import Ref, Reply
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
    "LoopClock",
    "LoopScheduler",
    "Mailbox",
    "MailboxFull",
    "Ref",
    "Reply",
    "RuntimeFault",
    "SupervisorStrategy",
    "Timer",
]
