"""The Operator actor: presence, schedule, sessions, offers and load.

The operator is the authority on its own capacity: a department queue proposes a
conversation with ``Claim`` and the operator accepts only below its limit (open
chats plus offers outstanding), so no race between queues (an operator may serve
several departments) can push it over. Without auto-accept a claim becomes an
offer the operator must accept within the department's offer time. A
conversation's claim (an invite, a transfer, a take-over) is accepted quietly:
the sessions are told of the chat only when the conversation confirms it
(``ConfirmClaim``), so a claim the conversation refuses after all (the chat
closed, or its owner left, meanwhile) is never shown.

Presence: the status the operator sets (online, away, offline) counts only with a
session attached and inside the reception schedule. When the last session drops
the operator takes no new chats at once, and is offline after a grace period
unless a session comes back. Offline, its open chats are forwarded or closed
after each department's ``offline_seconds`` (or kept, the default). The account's
presence actor hears every change of the status shown.

Offboarding: disabled or deleted (``Offboard``), it takes no more chats, its
offers go back, and every chat it is in follows its department's offline rule
at once, without the delay (those on hold or joined too: it leaves them).

Revocation: every open stream of the operator (its sessions, visitor channels on
its token) watches its access here; auth and the account's rules send
``AccessChanged`` after a password reset, a revoked session, a role changed or
edited, and each stream re-checks its token and permissions at once (ending or
narrowing itself).

Its open conversations and status are its snapshot, saved on every change, so a
restart knows its load.
"""

from __future__ import annotations

from engine.chat import schedule
from engine.chat.events import Assigned, Event, Offered, OfferWithdrawn, Sink
from engine.chat.kinds import CONVERSATION, PRESENCE, QUEUE
from engine.chat.messages import (
    AccessChanged,
    AccessWatcher,
    Adopt,
    AnswerOffer,
    AttachSession,
    Claim,
    CloseConversation,
    ConfirmClaim,
    ConversationInfo,
    DetachSession,
    GetOperatorState,
    GraceOver,
    Hold,
    NotifySessions,
    Offboard,
    OfferAnswered,
    OfferExpired,
    OperatorAvailable,
    OperatorCommand,
    OperatorGone,
    OperatorLeft,
    OperatorState,
    OrphanCheck,
    PresenceTick,
    PresenceUpdate,
    Released,
    SetStatus,
    SettingsChanged,
    Subscribe,
    Unsubscribe,
    UnwatchAccess,
    WatchAccess,
    WithdrawOffer,
    info_rows,
)
from engine.chat.policies import Candidate
from engine.chat.records import Operator
from engine.chat.services import ChatServices, Context
from engine.errors import FailedPrecondition, InvalidArgument, NotFound
from engine.persistence.codec import decode, encode
from engine.runtime import Actor, unhandled

STATUSES = ("online", "away", "offline")
SCHEDULE_TICK = 60.0  # seconds between reception-schedule checks

# Timer keys (the runtime drops a cancelled or replaced timer's fire).
_TICK = "tick"  # the next reception-schedule check, while a session is attached
_GRACE = "grace"  # the last session dropped: offline when it fires


def _offer_timer(conv_id: str) -> tuple[str, str]:
    return ("offer", conv_id)


def _orphans_timer(delay: int) -> tuple[str, int]:
    """One check per distinct offline delay of the departments of its chats."""
    return ("orphans", delay)


class OperatorActor(Actor[OperatorCommand, ChatServices]):
    def __init__(self, key: str, snapshot: bytes | None) -> None:
        self.id = key
        self.sessions: list[Sink] = []
        # Every open stream of this operator (sessions and visitor channels):
        # told to re-check its token and permissions on AccessChanged.
        self.watchers: list[AccessWatcher] = []
        self.active: dict[str, ConversationInfo] = {}
        # Chats it is in that do not count toward its limit: joined, on hold.
        self.extra: dict[str, ConversationInfo] = {}
        self.offers: dict[str, ConversationInfo] = {}  # each with its timer
        # Active chats claimed quietly (an invite, transfer or take-over) that
        # the conversation has not confirmed yet: not shown to the sessions.
        self.unconfirmed: set[str] = set()
        self.idle_since = 0.0
        self.status = "online"  # as set by the operator
        self.in_grace = False  # the grace timer is pending
        # Disabled or deleted: takes no chat, whatever sessions linger until
        # their streams see the revocation.
        self.offboarded = False
        self.orphan_delays: tuple[int, ...] = ()  # the keys of its last orphan checks
        self.announced: tuple[bool, tuple[str, ...]] = (False, ())  # available, departments
        self.shown: tuple[str, bool, tuple[str, ...], tuple[str, ...]] | None = None
        if snapshot:
            doc = decode(snapshot)
            for item in doc["active"]:
                info = ConversationInfo(*item)
                self.active[info.conversation_id] = info
            for item in doc.get("extra", ()):
                info = ConversationInfo(*item)
                self.extra[info.conversation_id] = info
            self.status = doc.get("status", "online")

    def started(self, ctx: Context) -> None:
        self.idle_since = ctx.clock.monotonic()

    def snapshot(self) -> bytes | None:
        return encode(
            {
                "active": info_rows(self.active.values()),
                "extra": info_rows(self.extra.values()),
                "status": self.status,
            }
        )

    def can_passivate(self) -> bool:
        # Pending timers (grace, offers, orphan checks) hold it too: the runtime sees to that.
        return not self.sessions and not self.watchers

    def _record(self, ctx: Context) -> Operator:
        op: Operator | None = ctx.services.directory.operators.get(self.id)
        if op is None:
            raise NotFound("unknown_operator", f"no operator {self.id!r}")
        return op

    # -- presence -------------------------------------------------------------------

    def _in_schedule(self, op: Operator, ctx: Context) -> bool:
        return schedule.is_open(op.schedule, op.timezone or "UTC", ctx.clock.wall_ms())

    def _available(self, op: Operator, ctx: Context) -> bool:
        if self.offboarded or op.disabled:
            return False
        return bool(self.sessions) and self.status == "online" and self._in_schedule(op, ctx)

    def _shown_status(self, op: Operator, ctx: Context) -> str:
        connected = (bool(self.sessions) or self.in_grace) and not self.offboarded
        if not connected or self.status == "offline" or not self._in_schedule(op, ctx):
            return "offline"
        return self.status

    def _announce(self, ctx: Context, op: Operator | None = None) -> None:
        """Tell the queues (available with this load, or gone) and the presence
        actor (the status shown), when what they know changed."""
        op = op or ctx.services.directory.operators.get(self.id)
        if op is None:
            return  # deleted: the queues and presence heard so when it was offboarded
        available = self._available(op, ctx)
        depts = op.department_ids
        was_available, was_depts = self.announced
        if available:
            candidate = Candidate(
                self.id,
                len(self.active) + len(self.offers),
                op.max_chats,
                self.idle_since,
                op.languages,
                op.region_ids,
                op.group_ids,
                op.auto_distribution,
            )
            for dept_id in depts:
                ctx.ref(QUEUE, dept_id).tell(OperatorAvailable(candidate))
        gone = OperatorGone(self.id)
        for dept_id in was_depts if was_available else ():
            if not available or dept_id not in depts:
                ctx.ref(QUEUE, dept_id).tell(gone)
        self.announced = (available, depts)
        shown = (self._shown_status(op, ctx), available, op.languages, op.region_ids)
        if shown != self.shown:
            self.shown = shown
            ctx.ref(PRESENCE, op.account_id).tell(
                PresenceUpdate(self.id, shown[0], available, op.languages, op.region_ids)
            )
        if op.schedule and self.sessions and not ctx.has_timer(_TICK):
            ctx.start_timer(_TICK, SCHEDULE_TICK, PresenceTick())

    # -- messages -------------------------------------------------------------------

    def receive(self, message: OperatorCommand, ctx: Context) -> object:
        match message:
            case AttachSession(sink, resume):
                return self._attach(sink, resume, ctx)
            case DetachSession(sink):
                self._detach(sink, ctx)
                return None
            case Claim(info, picked, confirm):
                return self._claim(info, picked, confirm, ctx)
            case ConfirmClaim(conv_id):
                self._confirmed(conv_id, ctx)
                return None
            case AnswerOffer(conv_id, accept):
                self._answer(conv_id, accept, "declined", ctx)
                return None
            case OfferExpired(conv_id):
                self._answer(conv_id, False, "timeout", ctx)
                return None
            case WithdrawOffer(conv_id):
                if self.offers.pop(conv_id, None) is not None:
                    ctx.cancel_timer(_offer_timer(conv_id))
                    self._push(OfferWithdrawn(conv_id, "gone"))
                    self._announce(ctx)
                return None
            case Adopt(info):
                if info.conversation_id not in self.active:
                    self.extra[info.conversation_id] = info
                    ctx.save_snapshot()
                    for sink in self.sessions:
                        self._open_for(sink, info, 0, ctx)
                return None
            case Hold(conv_id, on):
                return self._hold(conv_id, on, ctx)
            case Released(conv_id):
                if conv_id in self.unconfirmed:  # a quiet claim refused: never shown
                    self.unconfirmed.discard(conv_id)
                    self.active.pop(conv_id, None)
                    ctx.save_snapshot()
                    self._announce(ctx)
                elif self.extra.pop(conv_id, None) is not None:
                    ctx.save_snapshot()
                    for sink in self.sessions:
                        ctx.ref(CONVERSATION, conv_id).tell(Unsubscribe(sink))
                elif self.active.pop(conv_id, None) is not None:
                    ctx.save_snapshot()
                    self.idle_since = ctx.clock.monotonic()
                    for sink in self.sessions:
                        ctx.ref(CONVERSATION, conv_id).tell(Unsubscribe(sink))
                    self._announce(ctx)
                return None
            case SetStatus(status):
                return self._set_status(status, ctx)
            case SettingsChanged():
                op = ctx.services.directory.operators.get(self.id)
                if op is not None:  # gone when deleted: nothing to announce
                    self.offboarded = op.disabled
                    self._announce(ctx, op)
                return None
            case Offboard():
                self._offboard(ctx)
                return None
            case PresenceTick():
                if self.sessions:
                    self._announce(ctx)
                return None
            case GraceOver():
                self.in_grace = False
                self._announce(ctx)
                self._went_offline(ctx)
                return None
            case OrphanCheck(conv_ids):
                self._orphans(conv_ids, ctx)
                return None
            case NotifySessions(event):
                self._push(event)
                return None
            case WatchAccess(watcher):
                self.watchers.append(watcher)
                watcher.recheck()
                return None
            case UnwatchAccess(watcher):
                if watcher in self.watchers:
                    self.watchers.remove(watcher)
                return None
            case AccessChanged():
                # A watcher that ends its stream unwatches later: iterate a copy.
                for watcher in list(self.watchers):
                    watcher.recheck()
                return None
            case GetOperatorState():
                op = self._record(ctx)
                return OperatorState(
                    online=bool(self.sessions),
                    status=self._shown_status(op, ctx),
                    available=self._available(op, ctx),
                    sessions=len(self.sessions),
                    load=len(self.active),
                    offers=tuple(sorted(self.offers)),
                    conversations=tuple(sorted(self.active)),
                    extra=tuple(sorted(self.extra)),
                )
        unhandled(message)

    def _push(self, event: Event) -> None:
        for sink in self.sessions:
            sink.push(event)

    def _attach(self, sink: Sink, resume: dict[str, int], ctx: Context) -> tuple[str, int, str]:
        op = self._record(ctx)
        self.sessions.append(sink)
        self.in_grace = False
        ctx.cancel_timer(_GRACE)
        self._cancel_orphans(ctx)  # back before its chats were moved: they stay
        for info in (*self.active.values(), *self.extra.values()):
            if info.conversation_id not in self.unconfirmed:
                self._open_for(sink, info, resume.get(info.conversation_id, 0), ctx)
        for info in self.offers.values():
            sink.push(self._offered(info, ctx))
        self._announce(ctx, op)
        return op.display_name, op.max_chats, self._shown_status(op, ctx)

    def _detach(self, sink: Sink, ctx: Context) -> None:
        if sink not in self.sessions:
            return
        self.sessions.remove(sink)
        for conv_id in (*self.active, *self.extra):
            ctx.ref(CONVERSATION, conv_id).tell(Unsubscribe(sink))
        if self.sessions:
            return
        # Nobody is there to answer an offer: each one moves on now.
        for conv_id in list(self.offers):
            self._answer(conv_id, False, "disconnected", ctx)
        self.in_grace = True
        ctx.cancel_timer(_TICK)
        ctx.start_timer(_GRACE, ctx.services.grace_seconds, GraceOver())
        self._announce(ctx)

    def _claim(
        self, info: ConversationInfo, picked: bool, confirm: bool, ctx: Context
    ) -> tuple[str, int, int]:
        op = self._record(ctx)
        load = len(self.active) + len(self.offers)
        if (
            not self.sessions
            or self.offboarded
            or (not picked and not self._available(op, ctx))
            or load >= op.max_chats
            or info.conversation_id in self.active
            or info.conversation_id in self.offers
        ):
            # A limit of 0 tells the queue to forget it until it announces again.
            return "refused", load, op.max_chats if self._available(op, ctx) else 0
        if picked or op.auto_accept:
            self._accept(info, ctx, quiet=confirm)
            return "accepted", load + 1, op.max_chats
        dept = ctx.services.directory.departments.get(info.department_id)
        seconds = dept.offer_seconds if dept is not None else 30
        conv_id = info.conversation_id
        ctx.start_timer(_offer_timer(conv_id), seconds, OfferExpired(conv_id))
        self.offers[conv_id] = info
        self._push(self._offered(info, ctx))
        return "offered", load + 1, op.max_chats

    def _confirmed(self, conv_id: str, ctx: Context) -> None:
        """The conversation confirmed a quiet claim: the sessions open the chat."""
        if conv_id not in self.unconfirmed:
            return
        self.unconfirmed.discard(conv_id)
        info = self.active.get(conv_id)
        if info is not None:
            for sink in self.sessions:
                self._open_for(sink, info, 0, ctx)

    def _offered(self, info: ConversationInfo, ctx: Context) -> Offered:
        dept = ctx.services.directory.departments.get(info.department_id)
        return Offered(
            info.conversation_id,
            info.site_id,
            info.department_id,
            info.visitor_id,
            info.visitor_name,
            dept.offer_seconds if dept is not None else 30,
        )

    def _accept(self, info: ConversationInfo, ctx: Context, quiet: bool = False) -> None:
        """The chat counts toward the limit; the sessions open it unless it was
        shown already (joined) or ``quiet`` (until the conversation confirms)."""
        self.active[info.conversation_id] = info
        if self.extra.pop(info.conversation_id, None) is not None:
            ctx.save_snapshot()  # it was in the chat already (joined): now counted
            return
        ctx.save_snapshot()
        if quiet:
            self.unconfirmed.add(info.conversation_id)
            return
        for sink in self.sessions:
            self._open_for(sink, info, 0, ctx)

    def _hold(self, conv_id: str, on: bool, ctx: Context) -> bool:
        if on:
            info = self.active.pop(conv_id, None)
            if info is not None:
                self.extra[conv_id] = info
                ctx.save_snapshot()
                self.idle_since = ctx.clock.monotonic()
                self._announce(ctx)
            return True
        info = self.extra.get(conv_id)
        if info is None:
            return conv_id in self.active
        op = self._record(ctx)
        if len(self.active) + len(self.offers) >= op.max_chats:
            return False
        del self.extra[conv_id]
        self.active[conv_id] = info
        ctx.save_snapshot()
        return True

    def _answer(self, conv_id: str, accept: bool, reason: str, ctx: Context) -> None:
        info = self.offers.pop(conv_id, None)
        if info is None:
            raise NotFound("no_offer", "there is no offer for that chat (it may have expired)")
        ctx.cancel_timer(_offer_timer(conv_id))
        queue = ctx.ref(QUEUE, info.department_id)
        if accept:
            self._accept(info, ctx)
        else:
            self._push(OfferWithdrawn(conv_id, reason))
        queue.tell(OfferAnswered(conv_id, self.id, accept))
        if not accept:
            self._announce(ctx)

    def _set_status(self, status: str, ctx: Context) -> str:
        if status not in STATUSES:
            raise InvalidArgument(
                "invalid_argument", f"status must be one of {', '.join(STATUSES)}"
            )
        op = self._record(ctx)
        if status != "offline" and not self._in_schedule(op, ctx):
            raise FailedPrecondition(
                "outside_schedule", "you are outside your reception hours; status stays offline"
            )
        was_offline = self.status == "offline"
        self.status = status
        ctx.save_snapshot()
        if status == "offline":
            for conv_id in list(self.offers):
                self._answer(conv_id, False, "offline", ctx)
        self._announce(ctx, op)
        if status == "offline" and not was_offline:
            self._went_offline(ctx)
        elif status != "offline":
            self._cancel_orphans(ctx)
        return self._shown_status(op, ctx)

    def _went_offline(self, ctx: Context) -> None:
        """Schedule what each department wants done with its open chats."""
        self._cancel_orphans(ctx)
        directory = ctx.services.directory
        by_delay: dict[int, list[str]] = {}
        for conv_id, info in self.active.items():
            dept = directory.departments.get(info.department_id)
            if dept is not None and dept.offline_action != "keep":
                by_delay.setdefault(dept.offline_seconds, []).append(conv_id)
        self.orphan_delays = tuple(delay for delay in by_delay if delay)
        for delay, conv_ids in by_delay.items():
            if delay:
                ctx.start_timer(_orphans_timer(delay), delay, OrphanCheck(tuple(conv_ids)))
            else:
                self._orphans(tuple(conv_ids), ctx)

    def _offboard(self, ctx: Context) -> None:
        """Disabled or deleted: offers go back, open chats follow each
        department's offline rule at once, queues and presence hear it is gone."""
        self.offboarded = True
        for conv_id in list(self.offers):
            self._answer(conv_id, False, "offline", ctx)
        self._cancel_orphans(ctx)
        directory = ctx.services.directory
        leaving = tuple(
            conv_id
            for conv_id, info in self.active.items()
            if (dept := directory.departments.get(info.department_id)) is not None
            and dept.offline_action != "keep"
        )
        self._orphans(leaving, ctx, force=True)
        # The chats it is in without counting them (on hold, joined) follow the
        # same rule: it leaves them, and one left with nobody moves on or closes.
        for conv_id, info in list(self.extra.items()):
            dept = directory.departments.get(info.department_id)
            if dept is None or dept.offline_action == "keep":
                continue
            del self.extra[conv_id]
            conversation = ctx.ref(CONVERSATION, conv_id)
            for sink in self.sessions:
                conversation.tell(Unsubscribe(sink))
            conversation.tell(OperatorLeft(self.id, dept.offline_action == "forward"))
            ctx.save_snapshot()
        self._announce(ctx)

    def _cancel_orphans(self, ctx: Context) -> None:
        for delay in self.orphan_delays:
            ctx.cancel_timer(_orphans_timer(delay))
        self.orphan_delays = ()

    def _orphans(self, conv_ids: tuple[str, ...], ctx: Context, force: bool = False) -> None:
        if self.sessions and self.status != "offline" and not force:
            return  # back in time
        directory = ctx.services.directory
        moved = False
        for conv_id in conv_ids:
            info = self.active.pop(conv_id, None)
            if info is None:
                continue
            self.unconfirmed.discard(conv_id)
            moved = True
            for sink in self.sessions:
                ctx.ref(CONVERSATION, conv_id).tell(Unsubscribe(sink))
            dept = directory.departments.get(info.department_id)
            conversation = ctx.ref(CONVERSATION, conv_id)
            if dept is not None and dept.offline_action == "forward":
                conversation.tell(OperatorLeft(self.id, True))
            else:
                conversation.tell(CloseConversation("system", self.id, "operator_offline"))
        if moved:
            ctx.save_snapshot()
            self._announce(ctx)

    def _open_for(self, sink: Sink, info: ConversationInfo, after: int, ctx: Context) -> None:
        sink.push(
            Assigned(
                info.conversation_id,
                info.site_id,
                info.department_id,
                info.visitor_id,
                info.visitor_name,
                0,
            )
        )
        ctx.ref(CONVERSATION, info.conversation_id).tell(Subscribe(sink, after, "operator"))
