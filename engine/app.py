"""The engine assembled: store, directory, auth and the actor system.

``Engine`` is what the edge and the control plane use; they never reach past it
into actors' state.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from argon2 import PasswordHasher

from engine import backup as backups
from engine.attachments import Attachments, FileStore
from engine.audit import AuditLog
from engine.chat.auth import Auth
from engine.chat.board import Board
from engine.chat.conversation import Conversation
from engine.chat.department import DepartmentQueue
from engine.chat.directory import Directory
from engine.chat.events import CommandFailed, DirectMessage, MessageEvent
from engine.chat.hashing import PASSWORD_HASHER
from engine.chat.internal import InternalChat
from engine.chat.journal import BACKLOG, DIRECT, MESSAGES, Backlog
from engine.chat.kinds import (
    BOARD,
    CONVERSATION,
    INTERNAL,
    LOBBY,
    OPERATOR,
    PRESENCE,
    QUEUE,
    VISITOR,
)
from engine.chat.limits import Limits, MessageBudget, over_quota
from engine.chat.lobby import Lobby
from engine.chat.messages import AccessChanged
from engine.chat.operator import OperatorActor
from engine.chat.presence import Presence
from engine.chat.records import Ticket
from engine.chat.requests import Requests
from engine.chat.services import ChatServices
from engine.chat.visitor import VisitorActor
from engine.delivery.outbox import Deliveries
from engine.delivery.settings import RetryPolicy
from engine.errors import FailedPrecondition, Refused
from engine.meters import Meters
from engine.persistence import schema
from engine.persistence.lmdb_store import LmdbStore
from engine.persistence.schema import (
    CONVERSATION_JOURNAL,
    CONVERSATIONS,
    TICKETS,
    ConversationDoc,
    Op,
)
from engine.records.daily import DailyReports
from engine.records.service import HistoryIndex
from engine.retention import Retention
from engine.runtime import ActorSystem, Clock, LoopClock
from engine.runtime.system import Props, Scheduler
from engine.status import Connections, ServerStatus, server_status, version

log = logging.getLogger("parley.engine")


class Engine:
    def __init__(
        self,
        data_dir: Path | str,
        *,
        map_size: int = 1 << 30,
        max_map_size: int | None = None,  # None: the map grows as the disk allows
        limits: Limits | None = None,
        clock: Clock | None = None,
        idle_seconds: float = 300.0,
        grace_seconds: float = 30.0,
        abandon_seconds: float = 60.0,
        scheduler: Scheduler | None = None,
        password_hasher: PasswordHasher | None = None,  # tests pass a cheap one
        history: bool = True,  # follow the store with the history index (benchmarks: off)
        delivery: RetryPolicy | None = None,  # the outbox's retries (engine/delivery/)
        backlog: int = BACKLOG,  # messages accepted and not yet stored, before "overloaded"
    ) -> None:
        # An operator whose last session dropped is offline after grace_seconds;
        # a waiting visitor gone for abandon_seconds has abandoned the chat.
        # Tests pass a FakeClock and an InlineScheduler to run actors without waiting.
        self.grace_seconds = grace_seconds
        self.abandon_seconds = abandon_seconds
        self.store = LmdbStore(data_dir, map_size=map_size, max_map_size=max_map_size)
        self.limits = limits or Limits()
        self.message_budget = MessageBudget(self.limits.visitor_messages_per_hour)
        try:
            backfilled = schema.upgrade(self.store, self.store.write_now)
        except BaseException:
            self.store.close()
            raise
        self.store.load_usage()  # an upgrade may have counted them
        # The data's epoch (engine/backup.py): made at the first start, new after a restore.
        self.epoch = backups.ensure_epoch(self.store)
        self._backing_up = False
        try:
            # The conversation history's index (engine/records/index.py), written
            # by a process of its own once started (engine/records/service.py).
            self.history = HistoryIndex(Path(data_dir), self.store)
        except BaseException:
            self.store.close()
            raise
        self.history_on = history
        if backfilled:
            log.info("schema upgraded: the usage of %d sites counted", backfilled)
        self.clock = clock or LoopClock()
        self.connections = Connections()  # counted by the front ends
        self.meters = Meters()  # counted as the engine works (engine/meters.py)
        # Messages accepted and not yet stored, every chat's together: past
        # ``backlog`` a client's new one is refused "overloaded" (journal.py).
        self.backlog = Backlog(backlog)
        self.started_at = 0.0  # on the clock, set by start()
        self.stopping = False  # a stop has begun (set by whoever stops the server)
        self.directory = Directory(self.store, password_hasher or PASSWORD_HASHER)
        self.requests = Requests(self.store, self.clock.wall_ms)  # creates' request ids
        self.audit = AuditLog(self.store, self.clock.wall_ms)  # engine/audit.py
        self.retention = Retention(self)  # per-site retention sweeps (engine/retention.py)
        # Attached files, outside LMDB under the data directory (engine/attachments/).
        self.attachments = Attachments(self, FileStore(Path(data_dir) / "files"))
        self.directory.load()
        self.auth = Auth(self.directory, self.clock, self.access_changed)
        # Email and webhooks: the outbox and its worker (engine/delivery/outbox.py).
        self.deliveries = Deliveries(
            self.store, self.directory, self.clock, delivery or RetryPolicy()
        )
        self.deliveries.load()
        self.daily = DailyReports(self)  # the daily report by email (engine/records/daily.py)
        self.ticket_edits = asyncio.Lock()  # tickets are edited one at a time (tickets.py)
        services: ChatServices = self  # what the chat actors' contexts hand out
        self.system = ActorSystem(
            scheduler=scheduler, clock=self.clock, snapshots=self.store, services=services
        )
        expected = (Refused,)
        self.system.register(
            CONVERSATION,
            Props(Conversation, capacity=10_000, idle_seconds=idle_seconds, expected=expected),
        )
        self.system.register(
            OPERATOR,
            Props(OperatorActor, capacity=50_000, idle_seconds=idle_seconds, expected=expected),
        )
        self.system.register(
            QUEUE,
            Props(DepartmentQueue, capacity=100_000, idle_seconds=idle_seconds, expected=expected),
        )
        self.system.register(
            PRESENCE,
            Props(Presence, capacity=100_000, idle_seconds=idle_seconds, expected=expected),
        )
        self.system.register(
            INTERNAL,
            Props(InternalChat, capacity=10_000, idle_seconds=idle_seconds, expected=expected),
        )
        self.system.register(
            BOARD,
            Props(Board, capacity=100_000, idle_seconds=idle_seconds, expected=expected),
        )
        self.system.register(
            LOBBY,
            Props(Lobby, capacity=100_000, idle_seconds=idle_seconds, expected=expected),
        )
        self.system.register(
            VISITOR,
            Props(VisitorActor, capacity=1_000, idle_seconds=idle_seconds, expected=expected),
        )
        self._idle_seconds = idle_seconds

    def access_changed(self, *operator_ids: str) -> None:
        """Tokens, role, permissions or standing of these operators changed:
        their actors tell every open stream of theirs to re-check at once."""
        for operator_id in operator_ids:
            # A control message: ahead of the operator's mail, never refused.
            self.system.ref(OPERATOR, operator_id).tell_system(AccessChanged())

    def start(self) -> None:
        self.started_at = self.clock.monotonic()
        if self.history_on:
            self.history.start()
        self.system.start_passivation(interval=max(1.0, self._idle_seconds / 4))
        self.retention.start()
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (a synchronous test): nothing is delivered
        self.deliveries.start()
        self.daily.start()

    def status(self) -> ServerStatus:
        """Version, uptime, connections and the store (engine/status.py)."""
        return server_status(self)

    def transcript(
        self, conversation_id: str, after_seq: int = 0, limit: int = 1000
    ) -> list[MessageEvent]:
        """Stored messages of a conversation, in seq order."""
        return MESSAGES.read(self.store, conversation_id, after_seq, limit)

    def direct_messages(
        self, pair: str, after_seq: int = 0, limit: int = 100
    ) -> list[DirectMessage]:
        """Stored messages between two operators, oldest first."""
        return DIRECT.read(self.store, pair, after_seq, limit)

    def quota_refusal(self, site_id: str) -> CommandFailed | None:
        """``quota_exceeded`` when the site has stored its quota of messages and
        tickets (its own if set, else the server's; engine/chat/limits.py)."""
        site = self.directory.sites.get(site_id)
        quota = site.quota_mb << 20 if site is not None and site.quota_mb else 0
        return over_quota(self.store.site_bytes(site_id), quota or self.limits.site_quota_bytes)

    def site_usage(self, site_id: str) -> tuple[int, int]:
        """(conversations, stored messages) of a site: its ids begin both keys.
        Reads the store only (safe from a worker thread)."""
        prefix = site_id + "-"
        return (
            CONVERSATIONS.count(self.store, prefix),
            MESSAGES.table.count(self.store, prefix),
        )

    @staticmethod
    def ticket_op(ticket: Ticket) -> Op:
        return TICKETS.put(ticket.site_id, ticket.id, ticket.to_doc())

    def list_tickets(self, site_id: str, limit: int = 100) -> list[Ticket]:
        """The site's offline requests, newest first."""
        tickets = [Ticket.from_doc(doc) for doc in TICKETS.of_site(self.store, site_id)]
        tickets.sort(key=lambda t: (t.created_ms, t.id), reverse=True)
        return tickets[: max(0, limit)]

    def conversation_site(self, conversation_id: str) -> str | None:
        doc = CONVERSATIONS.get(self.store, conversation_id)
        return doc["site"] if doc is not None else None

    def conversation_doc(self, conversation_id: str) -> ConversationDoc | None:
        """A conversation's stored record (ConversationDoc), if any."""
        return CONVERSATIONS.get(self.store, conversation_id)

    def last_seq(self, conversation_id: str) -> int:
        """The highest stored seq of a conversation (0: none)."""
        return CONVERSATION_JOURNAL.last_seq(self.store, conversation_id)

    async def backup(self, target: Path) -> backups.Manifest:
        """Copy the store, as one moment of it, into the new directory ``target``
        on this machine, with a manifest (engine/backup.py), while serving: the
        copy runs on a worker thread. One backup at a time."""
        if self._backing_up:
            raise FailedPrecondition("backup_running", "a backup is being made; wait for it")
        self._backing_up = True
        try:
            backups.check_target(target, self.store.space().used)
            return await asyncio.to_thread(backups.write_backup, self.store, target, version())
        finally:
            self._backing_up = False

    async def settle(self) -> None:
        """Wait until no actor has mail and no write is pending, three loop turns
        in a row (a graceful stop, tests and benchmarks; timers are not waited for)."""
        scheduler, store = self.system.scheduler, self.store
        async with asyncio.timeout(10.0):
            quiet = 0
            while quiet < 3:
                await asyncio.sleep(0)
                if scheduler.pending or scheduler.ready or store.busy:
                    quiet = 0
                    await store.drain()
                else:
                    quiet += 1

    async def close(self) -> None:
        """Save actors' snapshots, wait for the last commit, close the store."""
        await self.daily.stop()
        await self.deliveries.stop()  # what is not delivered stays in the outbox
        self.system.stop_passivation()
        self.retention.stop()
        self.system.passivate_all()
        await self.store.drain()
        # After the last commit: the index applies what it was handed, then stops.
        await asyncio.to_thread(self.history.stop)
        self.store.close()
