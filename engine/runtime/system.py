"""The actor system: cells, scheduling, supervision and passivation.

Scheduling: a cell is put on one shared run queue only when its mailbox goes
from empty to non-empty (``cell.scheduled`` guards this). One loop callback
drains the run queue; each turn of a cell handles up to ``budget`` messages, and
a drain stops after ``max_turns`` turns so that I/O callbacks get their share of
the loop. Measured on this hardware this is about 4x faster than one
``call_soon`` per actor and 10x faster than a task plus ``asyncio.Queue`` per
actor.

Virtual actors: ``ref(kind, key)`` needs no spawn; the first message activates
the actor through its kind's factory with its last snapshot. A periodic sweep
passivates actors idle for their kind's ``idle_seconds``: their snapshot is
saved and the cell dropped. Snapshots still being written are kept in memory so
that an actor re-activated in that window sees its latest state. An actor with
a pending timer is not idle (see ``timers``); stopping an actor, passivating it
or restarting it drops its timers.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar, overload

from engine.runtime import timers
from engine.runtime.actor import Actor, Context
from engine.runtime.clock import Clock, LoopClock, Timer
from engine.runtime.errors import ActorStopped
from engine.runtime.kind import Kind
from engine.runtime.mailbox import Envelope, Mailbox
from engine.runtime.ref import Ref, Reply
from engine.runtime.supervision import Directive, RestartBudget, SupervisorStrategy
from engine.runtime.timers import TimerFire

log = logging.getLogger("parley.runtime")

# A cell hands its actor whatever its mailbox holds (one deque of every message
# type), so the runtime sees every kind as taking Any: each kind's own union is
# checked in its ``receive`` (and at run time, by UnhandledMessage). Services
# likewise: the system holds one object for every kind (see Context.services).
AnyActor = Actor[Any, Any]

M = TypeVar("M", contravariant=True)  # the messages of one kind


class SnapshotStore(Protocol):
    def load_snapshot(self, kind: str, key: str) -> bytes | None: ...

    def save_snapshot(
        self, kind: str, key: str, data: bytes, done: Callable[[BaseException | None], None]
    ) -> None: ...

    def settle(self, done: Callable[[], None]) -> None:
        """Call ``done`` once every write queued before has committed or failed."""
        ...


class MemorySnapshots:
    """Snapshots in a dict: for tests and for systems without a store."""

    def __init__(self) -> None:
        self.data: dict[tuple[str, str], bytes] = {}

    def load_snapshot(self, kind: str, key: str) -> bytes | None:
        return self.data.get((kind, key))

    def save_snapshot(
        self, kind: str, key: str, data: bytes, done: Callable[[BaseException | None], None]
    ) -> None:
        self.data[(kind, key)] = data
        done(None)

    def settle(self, done: Callable[[], None]) -> None:
        done()  # nothing is ever in flight


@dataclass(frozen=True, slots=True)
class Props(Generic[M]):
    """How to make and run actors of one kind; ``M``: the messages its actors
    take (the factory's actor class says it)."""

    factory: Callable[[str, bytes | None], Actor[M, Any]]
    capacity: int = 10_000
    idle_seconds: float | None = None
    strategy: SupervisorStrategy = field(default_factory=SupervisorStrategy)
    # Exceptions that are answers, not failures: passed to the reply, not logged,
    # no supervision.
    expected: tuple[type[BaseException], ...] = ()

    def __post_init__(self) -> None:
        if self.capacity < 1:
            raise ValueError("capacity must be at least 1")
        if self.idle_seconds is not None and self.idle_seconds <= 0:
            raise ValueError("idle_seconds must be positive")


class _Stopped(Actor[object, object]):
    """What a stopped cell holds in place of its actor: nothing of its state.
    Nothing reaches it (a stopped cell takes no turn, and a tell re-resolves)."""


_STOPPED = _Stopped()

# What a stopped cell holds in place of its context. The live context points at
# its cell and the cell at it (and at the context's own reference to it): left
# so, every actor that leaves memory is a reference cycle that only a full
# collection frees, and at thousands of closed chats a minute those pile up
# until one long pause. A callback that kept the old context still reaches the
# cell through it; the cell no longer reaches back.
_STOPPED_CONTEXT: Context[object] = Context.__new__(Context)


class Cell(Mailbox):
    """The runtime's side of one live actor: its mailbox, its actor, its state."""

    __slots__ = (
        "owner",
        "kind",
        "key",
        "props",
        "actor",
        "ctx",
        "scheduled",
        "stopped",
        "stop_requested",
        "rest_requested",
        "touched",
        "idle_sweeps",
        "budget",
        "timers",
        "settling",
        "snapshot_due",
    )

    def __init__(self, system: ActorSystem, kind: str, key: str, props: Props[Any]) -> None:
        Mailbox.__init__(self, props.capacity)
        self.owner = system
        self.kind = kind
        self.key = key
        self.props = props
        self.scheduled = False
        self.stopped = False
        self.stop_requested = False
        self.rest_requested = False  # ctx.rest(): passivate after this turn if idle
        self.touched = True
        self.idle_sweeps = 0
        self.budget: RestartBudget | None = None  # made on the first failure
        self.timers: dict[Hashable, TimerFire] | None = None  # made on the first timer
        self.settling = False  # started() waits for the store to settle (see _failed)
        self.snapshot_due = False  # ctx.save_snapshot() asked: written at the turn's end
        self.ctx: Context[object] = Context(self)
        self.actor: AnyActor = props.factory(key, system._snapshot_for(kind, key))

    def run(self, budget: int) -> bool:
        """Handle up to ``budget`` messages; True if more are waiting.

        System messages queued before the turn go first; one queued during the
        turn waits for the next turn (the cell is rescheduled). ``ctx.stop()``
        takes effect at the end of the turn. Both keep the per-message loop to a
        handful of bytecodes: this loop is where the engine spends its time.
        """
        if self.settling:
            return False  # its mail waits; settled() schedules it again
        user = self.user
        self.touched = True
        if not self.system and len(user) == 1:
            # One message waiting (the common case below saturation): no loop.
            self._handle(user.popleft())
            self.received += 1
        else:
            self._run_batch(budget)
        if self.snapshot_due:
            self.ctx._write_snapshot()
        if self.stop_requested and not self.stopped:
            self.owner._stop(self)
        if self.stopped:
            return False
        more = bool(user) or bool(self.system)
        if self.rest_requested:
            self.rest_requested = False
            # Only with nothing queued: passivating drains the mailbox, and mail
            # that came during the turn must be handled, not refused. Otherwise
            # the idle sweep takes the actor later.
            if not more and self.owner._may_passivate(self):
                self.owner._passivate(self)
                return False
        return more

    def _run_batch(self, budget: int) -> None:
        user = self.user
        waiting = len(user)
        if waiting > self.high_water:
            self.high_water = waiting
        if self.system:
            budget -= self._run_system(budget)
            if self.stopped:
                return
        ctx = self.ctx
        receive = self.actor.receive
        expected = self.props.expected
        popleft = user.popleft
        replied = False  # whether ctx still holds the last envelope's reply
        # Only what is queued now: messages that arrive during the turn wait for
        # the next one, so the loop needs no emptiness check per message.
        done = min(budget, len(user))
        envelope = Envelope
        for index in range(done):
            item = popleft()
            if type(item) is envelope:
                message = item.message
                reply = item.reply
                ctx._reply = reply
                ctx._deferred = False
                replied = True
            else:
                if replied:
                    ctx._reply = None
                    replied = False
                try:
                    receive(item, ctx)
                except expected:
                    pass
                except Exception as error:  # supervision decides; nothing else stops
                    self._failed(error, None)
                    if self.stopped or self.settling:
                        done = index + 1
                        break
                    receive = self.actor.receive  # a restart made a new actor
                continue
            try:
                result = receive(message, ctx)
            except expected as refusal:
                reply(None, refusal)
                continue
            except Exception as error:
                self._failed(error, reply)
                if self.stopped or self.settling:
                    done = index + 1
                    break
                receive = self.actor.receive
                continue
            if not ctx._deferred:
                reply(result, None)
        if replied:
            ctx._reply = None  # a later tell must not see this reply in ctx.defer()
        self.received += done

    def _run_system(self, budget: int) -> int:
        system = self.system
        assert system is not None
        done = 0
        while system and done < budget and not (self.stopped or self.settling):
            done += 1
            item = system.popleft()
            if type(item) is TimerFire:
                # A cancelled or replaced timer's fire may sit here already.
                if not timers.take(self, item):
                    continue
                item = item.message
            self._handle(item)
        self.received += done
        return done

    def _handle(self, item: object) -> None:
        """One message, outside the fast loop (system messages)."""
        ctx = self.ctx
        reply: Reply | None
        if type(item) is Envelope:
            message, reply = item.message, item.reply
            ctx._reply = reply
            ctx._deferred = False
        else:
            message, reply = item, None
        try:
            result = self.actor.receive(message, ctx)
        except self.props.expected as refusal:
            if reply is not None:
                reply(None, refusal)
            return
        except Exception as error:
            self._failed(error, reply)
            return
        if reply is not None:
            if not ctx._deferred:
                reply(result, None)
            ctx._reply = None

    def _failed(self, error: Exception, reply: Reply | None) -> None:
        strategy = self.props.strategy
        directive = strategy.decide(error)
        log.error(
            "actor %s/%s failed (%s): %r",
            self.kind,
            self.key,
            directive.value,
            error,
            exc_info=error,
        )
        if reply is not None:
            reply(None, ActorStopped(f"{self.kind}/{self.key} failed: {error!r}"))
        if directive is Directive.RESUME:
            return
        owner = self.owner
        if self.budget is None:
            self.budget = RestartBudget(strategy)
        if directive is Directive.RESTART and self.budget.allow(owner.clock.monotonic()):
            owner.restarts += 1
            self.snapshot_due = False  # the new actor starts from the last one stored
            timers.drop_all(self)  # the new actor starts with none
            self.actor = self.props.factory(self.key, owner._snapshot_for(self.kind, self.key))
            owner._start_when_settled(self)
            return
        owner._stop(self)
        owner._unsettled.add((self.kind, self.key))


class LoopScheduler:
    """Drains one shared run queue of ready cells from a single loop callback."""

    def __init__(self, budget: int = 64, max_turns: int = 2048) -> None:
        self.budget = budget
        self.max_turns = max_turns
        self.ready: deque[Cell] = deque()
        self.pending = False
        self._loop: asyncio.AbstractEventLoop | None = None

    def schedule(self, cell: Cell) -> None:
        cell.scheduled = True
        self.ready.append(cell)
        if not self.pending:
            self.kick()

    def kick(self) -> None:
        """Arrange a drain (``Ref.tell`` appends to ``ready`` itself, then kicks)."""
        self.pending = True
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        self._loop.call_soon(self._drain)

    def later(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` on a later loop iteration, after I/O."""
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        self._loop.call_soon(callback)

    def _drain(self) -> None:
        ready = self.ready
        budget = self.budget
        turns = 0
        while ready and turns < self.max_turns:
            cell = ready.popleft()
            turns += 1
            if cell.run(budget):
                ready.append(cell)
            else:
                cell.scheduled = False
        if ready:
            assert self._loop is not None
            self._loop.call_soon(self._drain)
        else:
            self.pending = False


class InlineScheduler:
    """Runs messages at once, in the caller's stack (no loop): for actor tests.
    A tell made while draining is queued and handled before the outer tell
    returns, so ordering matches the loop scheduler's."""

    def __init__(self, budget: int = 64) -> None:
        self.budget = budget
        self.ready: deque[Cell] = deque()
        self.pending = False  # True while draining

    def schedule(self, cell: Cell) -> None:
        cell.scheduled = True
        self.ready.append(cell)
        if not self.pending:
            self.kick()

    def later(self, callback: Callable[[], None]) -> None:
        """No loop to yield to: at once (what it sends is queued like any tell)."""
        callback()

    def kick(self) -> None:
        self.pending = True
        try:
            while self.ready:
                current = self.ready.popleft()
                while current.run(self.budget):
                    pass
                current.scheduled = False
        finally:
            self.pending = False


class Scheduler(Protocol):
    ready: deque[Cell]
    pending: bool

    def schedule(self, cell: Cell) -> None: ...

    def kick(self) -> None: ...

    def later(self, callback: Callable[[], None]) -> None: ...


class ActorSystem:
    """Holds the live actors of every registered kind."""

    def __init__(
        self,
        *,
        scheduler: Scheduler | None = None,
        clock: Clock | None = None,
        snapshots: SnapshotStore | None = None,
        services: object = None,
    ) -> None:
        self.scheduler: Scheduler = scheduler or LoopScheduler()
        self.clock: Clock = clock or LoopClock()
        self.snapshots: SnapshotStore = snapshots or MemorySnapshots()
        self.services = services
        self._kinds: dict[str, Props[Any]] = {}
        self._cells: dict[tuple[str, str], Cell] = {}
        self._saving: dict[tuple[str, str], bytes] = {}
        self._unsettled: set[tuple[str, str]] = set()  # stopped by a failure
        self._sweep_timer: Timer | None = None
        self._sweep_interval = 5.0
        self.restarts = 0
        self.passivated = 0
        self.activated = 0

    @overload
    def register(self, kind: Kind[M], props: Props[M]) -> None: ...

    @overload
    def register(self, kind: str, props: Props[object]) -> None: ...

    def register(self, kind: str, props: Props[Any]) -> None:
        """Make ``kind`` addressable. Its actors must take every message of a
        :class:`Kind`'s union; a plain string's references send any object, so
        its actors must take any (``Actor[object, ...]``)."""
        if kind in self._kinds:
            raise ValueError(f"actor kind {kind!r} is registered already")
        self._kinds[kind] = props

    @overload
    def ref(self, kind: Kind[M], key: str) -> Ref[M]: ...

    @overload
    def ref(self, kind: str, key: str) -> Ref[object]: ...

    def ref(self, kind: str, key: str) -> Ref[object]:
        """A reference to the actor ``key`` of ``kind`` (activated on its first
        message), typed to the kind's messages when ``kind`` is a Kind."""
        if kind not in self._kinds:
            raise KeyError(f"unknown actor kind {kind!r}")
        return Ref(self, kind, key)

    def is_active(self, kind: str, key: str) -> bool:
        return (kind, key) in self._cells

    def active_count(self, kind: str | None = None) -> int:
        if kind is None:
            return len(self._cells)
        return sum(1 for k, _ in self._cells if k == kind)

    def cells(self) -> list[Cell]:
        """The live actors' cells (their mailboxes), for meters read at a scrape."""
        return list(self._cells.values())

    def _snapshot_for(self, kind: str, key: str) -> bytes | None:
        pending = self._saving.get((kind, key))
        if pending is not None:
            return pending
        return self.snapshots.load_snapshot(kind, key)

    def _cell_for(self, kind: str, key: str) -> Cell:
        cell = self._cells.get((kind, key))
        if cell is None:
            props = self._kinds.get(kind)
            if props is None:
                raise KeyError(f"unknown actor kind {kind!r}")
            cell = Cell(self, kind, key, props)
            self._cells[(kind, key)] = cell
            self.activated += 1
            if (kind, key) in self._unsettled:  # back after a failure stopped it
                self._unsettled.discard((kind, key))
                self._start_when_settled(cell)
            else:
                cell.actor.started(cell.ctx)
                if cell.snapshot_due:
                    cell.ctx._write_snapshot()
        return cell

    def _start_when_settled(self, cell: Cell) -> None:
        """Start the actor of a cell that failed (restarted, or re-activated after
        a stop) once every write queued before now has been committed or failed.

        Why: the failed actor may have left a write in flight (a journal's), and
        its successor recovers from the store. Reading before that write lands
        would let the successor number its next message with a seq the write
        takes, and acknowledge it before it is stored. Until then the cell
        holds its mail; the failed actor's own notices (a commit's) reach the
        successor first, as stale ones it ignores."""
        cell.settling = True

        def settled() -> None:
            if cell.stopped:
                return
            cell.settling = False
            cell.actor.started(cell.ctx)
            if cell.snapshot_due:
                cell.ctx._write_snapshot()
            if (cell.user or cell.system) and not cell.scheduled:
                self.scheduler.schedule(cell)

        self.snapshots.settle(settled)

    def _stop(self, cell: Cell) -> None:
        if cell.stopped:
            return
        cell.stopped = True
        cell.snapshot_due = False  # a passivation has saved it; a failure keeps the last
        timers.drop_all(cell)
        cell.capacity = 0  # every later tell takes Ref's slow path and re-resolves
        if self._cells.get((cell.kind, cell.key)) is cell:
            del self._cells[(cell.kind, cell.key)]
        for item in cell.drain():
            if type(item) is Envelope and item.reply is not None:
                item.reply(None, ActorStopped(f"{cell.kind}/{cell.key} stopped"))
        # References bind to their cell and keep it until their next message
        # re-resolves: a session's cache of chat references, an actor's field.
        # The stopped cell must not keep the actor's state (a conversation's
        # journal, subscribers and record) alive with it, so it lets go here.
        cell.actor = _STOPPED
        cell.system = None
        cell.ctx = _STOPPED_CONTEXT

    # -- passivation -------------------------------------------------------------

    def start_passivation(self, interval: float = 5.0) -> None:
        """Sweep for idle actors every ``interval`` seconds."""
        self._sweep_interval = interval

        def tick() -> None:
            self.passivate_idle()
            self._sweep_timer = self.clock.call_later(interval, tick)

        self._sweep_timer = self.clock.call_later(interval, tick)

    def stop_passivation(self) -> None:
        if self._sweep_timer is not None:
            self._sweep_timer.cancel()
            self._sweep_timer = None

    def passivate_idle(self) -> int:
        """Passivate every actor idle for its kind's timeout. A turn marks its
        cell as touched (one store, no clock read on the hot path); each sweep
        counts the untouched sweeps in a row."""
        interval = self._sweep_interval
        idle = []
        for cell in self._cells.values():
            if cell.touched or cell.scheduled:
                cell.touched = False
                cell.idle_sweeps = 0
                continue
            cell.idle_sweeps += 1
            limit = cell.props.idle_seconds
            if (
                limit is not None
                and cell.idle_sweeps * interval >= limit
                and not cell.user
                and not cell.system
                and cell.timers is None  # a pending timer holds it
                and not cell.settling
                and cell.actor.can_passivate()
            ):
                idle.append(cell)
        for cell in idle:
            self.passivate(cell.kind, cell.key)
        return len(idle)

    def passivate(self, kind: str, key: str) -> bool:
        """Save the actor's snapshot and drop it from memory, its pending timers
        with it (the idle sweep never picks an actor that has one; shutdown does)."""
        cell = self._cells.get((kind, key))
        if cell is None or cell.user or cell.system or cell.scheduled or cell.settling:
            return False
        self._passivate(cell)
        return True

    def _may_passivate(self, cell: Cell) -> bool:
        """An actor that asked to rest may go now: no timer pending (the sweep
        waits for those too), not restarting, and the actor agrees."""
        return cell.timers is None and not cell.settling and cell.actor.can_passivate()

    def _passivate(self, cell: Cell) -> None:
        kind, key = cell.kind, cell.key
        data = cell.actor.snapshot()
        if data is not None:
            ident = (kind, key)
            self._saving[ident] = data

            def done(error: BaseException | None) -> None:
                if self._saving.get(ident) is data:
                    del self._saving[ident]
                if error is not None:
                    log.error("snapshot of %s/%s not saved: %r", kind, key, error)

            self.snapshots.save_snapshot(kind, key, data, done)
        self._stop(cell)
        self.passivated += 1

    def discard(self, kind: str, key: str) -> bool:
        """Drop an actor from memory without saving its snapshot (its data was
        erased: nothing of it may be written back). Its mail is refused."""
        cell = self._cells.get((kind, key))
        self._saving.pop((kind, key), None)
        if cell is None:
            return False
        self._stop(cell)
        return True

    def passivate_all(self) -> None:
        """Passivate every actor that has a snapshot to keep (at shutdown)."""
        for kind, key in list(self._cells):
            cell = self._cells.get((kind, key))
            if cell is not None and not cell.user and not cell.system and not cell.scheduled:
                self.passivate(kind, key)
