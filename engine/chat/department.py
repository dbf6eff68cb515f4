"""The DepartmentQueue actor: the waiting line of one department.

First come, first served, priority first (a chat moved or forwarded here keeps
its place ahead of new ones). The queue walks the line in order and claims, one
claim at a time, the operator the policy chooses for the first chat that has an
eligible one; a later chat never takes an operator an earlier one could have had.
The operator is the authority on its own limit: it accepts, refuses, or (without
auto-accept) turns the claim into an offer, which it answers later. A refusal or
a declined offer moves on to the next operator.

Every waiting visitor is told its position and an estimated wait when they
change; updates are gathered and sent once the mailbox is drained, so a burst of
arrivals or assignments costs one pass, and a long line (every position moves at
each assignment) is told at most once a second, so its cost stays linear.
The line is stored entry by entry in the ``waiting`` database (put on arrival,
delete on leaving), not as a snapshot, so a long line costs the same per change
as a short one.
"""

from __future__ import annotations

import bisect
import logging
from typing import Any

from engine.chat.kinds import CONVERSATION, OPERATOR
from engine.chat.messages import (
    AssignTo,
    Claim,
    ClaimResult,
    CloseConversation,
    ConversationInfo,
    Dequeue,
    Enqueue,
    GetQueue,
    MoveToDepartment,
    OfferAnswered,
    OperatorAvailable,
    OperatorGone,
    Pick,
    QueueCommand,
    QueuedChat,
    QueuePositionChanged,
    Released,
    WaitExpired,
    WithdrawOffer,
)
from engine.chat.policies import Candidate, Want, choose_operator
from engine.chat.services import ChatServices, Context
from engine.errors import FailedPrecondition, NotFound, Unavailable
from engine.persistence.schema import WAITING
from engine.runtime import Actor, MailboxFull, Reply, unhandled

log = logging.getLogger("parley.queue")


POSITION_EVERY = 1.0  # seconds between position passes over a long line
SHORT_LINE = 50  # changes to tell that go out at once, however recent the last pass


class FlushPositions:
    """Self-message: send the positions that changed (once per drained burst)."""

    __slots__ = ()


_FLUSH = FlushPositions()


def _max_wait_timer(conv_id: str) -> tuple[str, str]:
    """The key of a waiting chat's timer; leaving the line cancels it."""
    return ("max_wait", conv_id)


class _Wait:
    __slots__ = ("info", "serial", "since", "holder", "offered", "excluded", "told", "key")

    def __init__(self, info: ConversationInfo, serial: int, since: float, key: bytes) -> None:
        self.key = key  # its place in the ``waiting`` database
        self.info = info
        self.serial = serial  # arrival order, behind priority
        self.since = since
        self.holder = ""  # operator with a claim or an offer out for this chat
        self.offered = False  # the holder has it as an offer (not a claim in flight)
        self.excluded: set[str] = set()
        self.told = 0  # the position the visitor was last told

    def order(self) -> tuple[int, int]:
        return (-self.info.priority, self.serial)

    def plain(self) -> bool:
        """Any operator will do (no language, region, group, preference or refusals)."""
        i = self.info
        return not (
            i.language or i.region_id or i.group_id or i.preferred_operator_id or self.excluded
        )

    def want(self) -> Want:
        i = self.info
        return Want(
            i.language, i.region_id, i.group_id, i.preferred_operator_id, frozenset(self.excluded)
        )


class DepartmentQueue(Actor[QueueCommand | FlushPositions, ChatServices]):
    def __init__(self, key: str, snapshot: bytes | None) -> None:
        self.id = key
        self.waiting: list[_Wait] = []
        self.operators: dict[str, Candidate] = {}
        self.free: dict[str, Candidate] = {}  # those below their limit: the only choices
        self.by_conv: dict[str, _Wait] = {}
        self.claiming: str | None = None  # the automatic claim in flight
        self.picks: dict[str, Reply | None] = {}  # hand-picks in flight
        self.serial = 0
        self.gap = 0.0  # moving average of the time between assignments
        self.last_assigned = 0.0
        self.dirty: int | None = None  # first index whose position may have changed
        self.flush_asked = False
        self.last_flush = float("-inf")

    def started(self, ctx: Context) -> None:
        now = ctx.clock.monotonic()
        dept = ctx.services.directory.departments.get(self.id)
        max_wait = dept.max_wait_seconds if dept is not None else 0
        wall_ms = ctx.clock.wall_ms()
        for key, info in WAITING.line(ctx.services.store, self.id):  # in line order
            self.serial += 1
            w = _Wait(ConversationInfo(*info), self.serial, now, key)
            self._insert(w)
            if max_wait:
                # The wait counts from when the chat joined the line, before the
                # restart; one overdue goes on at once.
                waited = max(0.0, (wall_ms - WAITING.joined_ms(self.id, key)) / 1000)
                conv_id = w.info.conversation_id
                ctx.start_timer(
                    _max_wait_timer(conv_id), max(0.0, max_wait - waited), WaitExpired(conv_id)
                )
        if self.waiting:
            self._mark(ctx, 0)

    def can_passivate(self) -> bool:
        # Its view of who is available lives only here: keep it while anyone is.
        return not self.waiting and not self.operators and self.claiming is None

    # -- the line -----------------------------------------------------------------

    def _insert(self, w: _Wait) -> int:
        index = bisect.bisect_right(self.waiting, w.order(), key=_Wait.order)
        self.waiting.insert(index, w)
        self.by_conv[w.info.conversation_id] = w
        return index

    def _find(self, conv_id: str) -> tuple[int, _Wait | None]:
        w = self.by_conv.get(conv_id)
        if w is None:
            return -1, None
        return bisect.bisect_left(self.waiting, w.order(), key=_Wait.order), w

    def _set_candidate(self, c: Candidate) -> None:
        self.operators[c.operator_id] = c
        if c.load < c.max_chats and c.auto_distribution:
            self.free[c.operator_id] = c
        else:
            self.free.pop(c.operator_id, None)

    def _drop_candidate(self, op_id: str) -> None:
        self.operators.pop(op_id, None)
        self.free.pop(op_id, None)

    def _remove(self, index: int, ctx: Context) -> _Wait:
        w = self.waiting.pop(index)
        del self.by_conv[w.info.conversation_id]
        ctx.cancel_timer(_max_wait_timer(w.info.conversation_id))
        ctx.services.store.write([WAITING.delete(w.key)], _logged)
        self._mark(ctx, index)
        return w

    def _mark(self, ctx: Context, index: int) -> None:
        """Positions from ``index`` on may have changed: send them after the
        messages already in the mailbox (a user message queues behind them)."""
        if self.dirty is None or index < self.dirty:
            self.dirty = index
        if self.flush_asked:
            return
        self.flush_asked = True
        wait = self.last_flush + POSITION_EVERY - ctx.clock.monotonic()
        if wait > 0 and len(self.waiting) - self.dirty > SHORT_LINE:
            ctx.start_timer("positions", wait, _FLUSH)
            return
        me = ctx.self_ref
        try:
            me.tell(_FLUSH)
        except MailboxFull:
            me.tell_system(_FLUSH)  # sooner, then: never lost

    def _flush_positions(self, ctx: Context) -> None:
        start, self.dirty = self.dirty, None
        self.flush_asked = False
        self.last_flush = ctx.clock.monotonic()
        if start is None:
            return
        gap = self.gap
        for index in range(start, len(self.waiting)):
            w = self.waiting[index]
            position = index + 1
            if w.told != position:
                w.told = position
                eta = round(position * gap) if gap else 0
                ctx.ref(CONVERSATION, w.info.conversation_id).tell(
                    QueuePositionChanged(position, eta)
                )

    # -- messages -----------------------------------------------------------------

    def receive(self, message: QueueCommand | FlushPositions, ctx: Context) -> object:
        match message:
            case FlushPositions():
                self._flush_positions(ctx)
                return None
            case Enqueue(info, key):
                return self._enqueue(info, key, ctx)
            case Dequeue(conv_id):
                index, w = self._find(conv_id)
                if w is not None:
                    self._remove(index, ctx)
                    if w.holder and w.offered:
                        ctx.ref(OPERATOR, w.holder).tell(WithdrawOffer(conv_id))
                return None
            case OperatorAvailable(candidate):
                self._set_candidate(candidate)
                self._try_assign(ctx)
                return None
            case OperatorGone(op_id):
                self._drop_candidate(op_id)
                return None
            case ClaimResult():
                self._claim_result(message, ctx)
                return None
            case OfferAnswered(conv_id, op_id, accepted):
                self._offer_answered(conv_id, op_id, accepted, ctx)
                return None
            case Pick(conv_id, op_id):
                self._pick(conv_id, op_id, ctx)
                return None
            case WaitExpired(conv_id):
                self._wait_expired(conv_id, ctx)
                return None
            case GetQueue():
                now = ctx.clock.monotonic()
                return [
                    QueuedChat(
                        conversation_id=w.info.conversation_id,
                        visitor_name=w.info.visitor_name,
                        position=index + 1,
                        waited_seconds=int(now - w.since),
                        language=w.info.language,
                        region_id=w.info.region_id,
                        offered_to=w.holder if w.offered else "",
                    )
                    for index, w in enumerate(self.waiting)
                ]
        unhandled(message)

    def _enqueue(self, info: ConversationInfo, key: bytes, ctx: Context) -> int:
        index, w = self._find(info.conversation_id)
        if w is None:
            conv_id = info.conversation_id
            self.serial += 1
            if not key:
                conv_id = info.conversation_id
                key = WAITING.key(self.id, info.priority, ctx.clock.wall_ms(), conv_id)
                ctx.services.store.write([WAITING.put(key, info.to_list())], _logged)
            w = _Wait(info, self.serial, ctx.clock.monotonic(), key)
            index = self._insert(w)
            dept = ctx.services.directory.departments.get(self.id)
            if dept is not None and dept.max_wait_seconds:
                wait = WaitExpired(conv_id)
                ctx.start_timer(_max_wait_timer(conv_id), dept.max_wait_seconds, wait)
            self._mark(ctx, index)
        self._try_assign(ctx)
        return index + 1

    def _try_assign(self, ctx: Context) -> None:
        if self.claiming is not None or not self.waiting:
            return
        free = self.free
        if not free:
            return
        for w in self.waiting:
            if w.holder:
                continue
            if w.plain():  # the common case, in C: least loaded, longest idle, id
                chosen: Candidate | None = min(free.values(), key=_rank)
            else:
                chosen = choose_operator(free.values(), w.want())
            if chosen is not None:
                self._claim(w, chosen.operator_id, False, ctx)
                return

    def _claim(self, w: _Wait, op_id: str, picked: bool, ctx: Context) -> None:
        info = w.info
        w.holder, w.offered = op_id, False
        if not picked:
            self.claiming = info.conversation_id
        me = ctx.self_ref

        def on_reply(value: Any, error: BaseException | None) -> None:
            if error is not None or value is None:
                result = ClaimResult(info.conversation_id, op_id, "failed", 0, 0, picked)
            else:
                outcome, load, max_chats = value
                result = ClaimResult(info.conversation_id, op_id, outcome, load, max_chats, picked)
            me.tell_system(result)

        ctx.ref(OPERATOR, op_id).tell(Claim(info, picked), on_reply)

    def _claim_result(self, result: ClaimResult, ctx: Context) -> None:
        conv_id, op_id = result.conversation_id, result.operator_id
        if not result.picked and self.claiming == conv_id:
            self.claiming = None
        reply = self.picks.pop(conv_id, None) if result.picked else None
        op = self.operators.get(op_id)
        if result.outcome == "failed" or (result.max_chats == 0 and result.outcome == "refused"):
            self._drop_candidate(op_id)
        elif op is not None:
            self._set_candidate(_with_load(op, result.load, result.max_chats))
        index, w = self._find(conv_id)
        if w is None or w.holder != op_id:
            # The visitor left (or the chat moved) while the claim was out.
            if result.outcome == "accepted":
                ctx.ref(OPERATOR, op_id).tell(Released(conv_id))
            elif result.outcome == "offered":
                ctx.ref(OPERATOR, op_id).tell(WithdrawOffer(conv_id))
            if reply is not None:
                reply(None, NotFound("not_waiting", "that chat is no longer waiting"))
        elif result.outcome == "accepted":
            self._assigned(index, op_id, ctx)
            if reply is not None:
                reply(None, None)
        elif result.outcome == "offered":
            w.offered = True
        else:
            w.holder = ""
            if reply is not None:
                reply(None, FailedPrecondition("at_capacity", "you are at your chat limit"))
        self._try_assign(ctx)

    def _assigned(self, index: int, op_id: str, ctx: Context) -> None:
        w = self._remove(index, ctx)
        now = ctx.clock.monotonic()
        if self.last_assigned:
            gap = now - self.last_assigned
            self.gap = gap if not self.gap else 0.8 * self.gap + 0.2 * gap
        self.last_assigned = now
        ctx.services.meters.assigned(self.id, now - w.since)
        directory = ctx.services.directory
        op = directory.operators.get(op_id)
        name = op.display_name if op is not None else "An operator"
        ctx.ref(CONVERSATION, w.info.conversation_id).tell(AssignTo(op_id, name))

    def _offer_answered(self, conv_id: str, op_id: str, accepted: bool, ctx: Context) -> None:
        index, w = self._find(conv_id)
        if w is None or w.holder != op_id:
            if accepted:  # too late: the chat went elsewhere
                ctx.ref(OPERATOR, op_id).tell(Released(conv_id))
            return
        if accepted:
            self._assigned(index, op_id, ctx)
        else:
            w.holder, w.offered = "", False
            w.excluded.add(op_id)
        self._try_assign(ctx)

    def _pick(self, conv_id: str, op_id: str, ctx: Context) -> None:
        _index, w = self._find(conv_id)
        if w is None:
            raise NotFound("not_waiting", "that chat is not waiting in this department")
        if w.holder:
            raise Unavailable("being_offered", "that chat is being offered to an operator now")
        self.picks[conv_id] = ctx.defer()
        self._claim(w, op_id, True, ctx)

    def _wait_expired(self, conv_id: str, ctx: Context) -> None:
        index, w = self._find(conv_id)
        assert w is not None  # leaving the line cancels the timer
        dept = ctx.services.directory.departments.get(self.id)
        if w.holder:  # an offer or claim is out: let it finish, then look again
            again = dept.offer_seconds if dept else 30
            ctx.start_timer(_max_wait_timer(conv_id), again, WaitExpired(conv_id))
            return
        self._remove(index, ctx)
        conversation = ctx.ref(CONVERSATION, conv_id)
        if dept is not None and dept.fallback_department_id:
            conversation.tell(MoveToDepartment(dept.fallback_department_id, "max_wait"))
        else:
            conversation.tell(CloseConversation("system", "", "no_operator"))


def _rank(c: Candidate) -> tuple[int, float, str]:
    return (c.load, c.idle_since, c.operator_id)


def _with_load(c: Candidate, load: int, max_chats: int) -> Candidate:
    return Candidate(
        c.operator_id,
        load,
        max_chats,
        c.idle_since,
        c.languages,
        c.region_ids,
        c.group_ids,
        c.auto_distribution,
    )


def _logged(error: BaseException | None) -> None:
    if error is not None:
        log.error("waiting line not stored: %r", error)
