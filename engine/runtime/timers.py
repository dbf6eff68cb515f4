"""Keyed timers: a message an actor sends itself later, under a key of its own.

``ctx.start_timer(key, delay, message)`` has ``message`` handled by the actor
``delay`` seconds from now (on the system's injected clock), ahead of its user
mail like every system message; a timer already under ``key`` is replaced.
``ctx.cancel_timer(key)`` drops it. Keys are per actor: two actors may use the
same key.

The promises, kept by the runtime so that no actor counts epochs:

- **A replaced or cancelled timer never fires.** Cancelling the clock's callback
  is not enough: the callback may have run already and queued the fire in the
  mailbox. So each fire is checked when it is dequeued against the timer now
  under its key (the fire object itself is that timer: identity is the
  generation), and a fire that is no longer current is dropped unseen.
- **A pending timer holds passivation.** The idle sweep never puts away an actor
  with a timer pending, so a timer never wakes a fresh activation that knows
  nothing of it. (Carrying timers in the snapshot would let such actors sleep,
  but every actor would then have to re-arm from stored deadlines; the actors
  that wait are few and short-lived, so holding them is simpler and correct.)
- **Stopping drops every timer**: a stop, a passivation (the explicit kind, at
  shutdown) and a restart by supervision. A restarted actor starts with no
  timers; its ``started`` may arm them again.

Cost: an actor that never starts a timer pays one slot (None). ``Ref.tell`` and
the message loop of ``Cell.run`` never look at timers: a fire travels the system
queue, which is served outside the fast loop (``Cell._run_system``).
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from typing import TYPE_CHECKING

from engine.runtime.clock import Timer

if TYPE_CHECKING:
    from engine.runtime.system import Cell


class TimerFire:
    """One started timer; put in the system queue when its delay is over. Its
    ``handle`` (whose callback holds the fire) is dropped once the timer is
    over, cancelled or replaced, so a spent timer is freed at once."""

    __slots__ = ("key", "message", "handle")

    def __init__(self, key: Hashable, message: object) -> None:
        self.key = key
        self.message = message
        self.handle: Timer | None = None


def start(cell: Cell, key: Hashable, delay: float, message: object) -> None:
    """Arm ``key`` on ``cell``, replacing the timer under it."""
    if not isinstance(delay, int | float) or not math.isfinite(delay) or delay < 0:
        raise ValueError(f"timer delay must be a finite number of seconds >= 0, got {delay!r}")
    timers = cell.timers
    if timers is None:
        timers = cell.timers = {}
    else:
        old = timers.get(key)
        if old is not None and old.handle is not None:
            old.handle.cancel()
            old.handle = None
    fire = TimerFire(key, message)
    timers[key] = fire

    def due() -> None:
        # A stopped cell cancelled its handles; a replaced timer too. Checked
        # again here all the same: cheap, and a clock may run a callback late.
        current = cell.timers
        if cell.stopped or current is None or current.get(key) is not fire:
            return
        cell.put_system(fire)
        if not cell.scheduled:
            cell.owner.scheduler.schedule(cell)

    fire.handle = cell.owner.clock.call_later(delay, due)


def cancel(cell: Cell, key: Hashable) -> None:
    """Drop the timer under ``key``, queued fire included; no timer is fine."""
    timers = cell.timers
    if timers is None:
        return
    fire = timers.pop(key, None)
    if fire is not None and fire.handle is not None:
        fire.handle.cancel()
        fire.handle = None
    if not timers:
        cell.timers = None


def drop_all(cell: Cell) -> None:
    """Cancel every timer of ``cell`` (it stops or restarts)."""
    timers = cell.timers
    if timers is None:
        return
    cell.timers = None
    for fire in timers.values():
        if fire.handle is not None:
            fire.handle.cancel()
            fire.handle = None


def take(cell: Cell, fire: TimerFire) -> bool:
    """A fire just dequeued: True if it is still the timer under its key (the
    timer is then over and its message is handled), False to drop it."""
    timers = cell.timers
    if timers is None or timers.get(fire.key) is not fire:
        return False
    del timers[fire.key]
    fire.handle = None  # its handle's callback holds the fire: no cycle left behind
    if not timers:
        cell.timers = None
    return True
