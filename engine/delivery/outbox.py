"""The outbox: what Parley owes the world (emails, webhook calls), durable in
LMDB and delivered by one asyncio worker.

Writing: an event's deliveries are outbox entries written in the commit of the
event itself (a ticket stored, a chat closed, a reply to a ticket): a crash
keeps both or neither. The producers (:meth:`Deliveries.email_op`,
:meth:`~Deliveries.event_ops`, :meth:`~Deliveries.notify_ops`) build the writes;
the caller puts them in its commit. The worker follows the store's commits and
picks new entries up there, so no producer has to tell it.

Delivering: at least once. The worker sends, then deletes the entry; a crash
between the two sends again after the restart. That second send is the same
delivery: an email keeps its ``Message-ID`` (made from the outbox id, which
mail servers and clients keep one copy of) and a webhook call its
``Parley-Event-Id``, so the recipient sees it once. Marking the entry sent
*before* sending would trade that duplicate for a loss (a crash mid-send), so
it is never done. A failed attempt is written back with its count, reason and
next attempt, and tried again after a growing wait (``RetryPolicy``); a restart
tries every entry at once. An attempt ends at the account's SMTP timeout (a
server that hangs holds one of the :data:`CONCURRENCY` slots that long, no
more). An email is given up after ``max_attempts``, or at once when the server
refuses the message for good (a 5xx to MAIL FROM, RCPT TO or DATA): kept,
marked failed with the reason, counted in the account's mail status and listed
by ``Mail.ListOutbox``, never sent. A webhook failing
``disable_after`` times in a row is disabled with the reason, its pending calls
dropped.

The account's SMTP settings and webhooks live here too (``mailcfg``,
``webhooks``), read whole at start and written through.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import heapq
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import orjson

from engine.chat.ids import new_token, random_id
from engine.delivery.compose import Mail
from engine.delivery.senders import DeliveryFailed, post_webhook, send_email
from engine.delivery.settings import MailSettings, RetryPolicy, Webhook
from engine.errors import NotFound
from engine.persistence.codec import decode
from engine.persistence.schema import (
    MAIL_MARKS,
    MAIL_SETTINGS,
    OUTBOX,
    WEBHOOKS,
    Op,
    OutboxDoc,
)

if TYPE_CHECKING:
    from engine.chat.directory import Directory
    from engine.persistence.lmdb_store import LmdbStore
    from engine.privacy import VisitorData
    from engine.runtime import Clock

log = logging.getLogger("parley.delivery")

CONCURRENCY = 8  # deliveries in flight at once


@dataclasses.dataclass(frozen=True, slots=True)
class MailStatus:
    """What an account's outbox holds of email."""

    pending: int
    failed: int
    last_error: str


class Deliveries:
    """The outbox's producers, its worker, and the settings it sends with."""

    def __init__(
        self, store: LmdbStore, directory: Directory, clock: Clock, policy: RetryPolicy
    ) -> None:
        self.store, self.directory, self.clock, self.policy = store, directory, clock, policy
        self.mail: dict[str, MailSettings] = {}
        self.hooks: dict[str, Webhook] = {}
        # Each account's webhooks (rebuilt when one changes): an event of an
        # account with none costs a dict look-up, on every message.
        self._by_account: dict[str, list[Webhook]] = {}
        self._docs: dict[str, OutboxDoc] = {}  # to deliver (not failed), by id
        self._due: list[tuple[float, str]] = []  # (loop time, id), a heap
        self._running: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._failed: dict[str, int] = {}  # failed emails per account
        self._errors: dict[str, str] = {}  # an account's last email error
        self._wake = asyncio.Event()
        self._empty = asyncio.Event()
        # Transcripts are decided one at a time (engine/delivery/transcripts.py):
        # their limits are read, then written.
        self.transcript_lock = asyncio.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._worker: asyncio.Task[None] | None = None

    # -- start and stop -------------------------------------------------------------

    def load(self) -> None:
        """Read the settings, webhooks and outbox (at start, before serving)."""
        for key, value in self.store.scan(MAIL_SETTINGS.name):
            self.mail[key.decode()] = MailSettings(**decode(value))
        for doc in WEBHOOKS.all(self.store):
            hook = Webhook.from_doc(doc)
            self.hooks[hook.id] = hook
            self._reindex()
        for entry in OUTBOX.all(self.store):
            if entry.get("failed"):
                self._failed[entry["account"]] = self._failed.get(entry["account"], 0) + 1
                self._errors[entry["account"]] = entry.get("error", "")
            else:
                self._docs[entry["id"]] = entry

    def start(self) -> None:
        """Begin delivering (on the running loop): every entry is due at once."""
        self._loop = loop = asyncio.get_running_loop()
        for outbox_id in self._docs:
            heapq.heappush(self._due, (loop.time(), outbox_id))
        self._settled()
        self.store.follow(self._followed)
        self._worker = loop.create_task(self._run(), name="parley-outbox")

    async def stop(self) -> None:
        """Stop delivering; what is not delivered stays in the outbox."""
        self.store.unfollow(self._followed)
        tasks = [t for t in (self._worker, *self._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._worker = None

    async def drained(self) -> None:
        """Wait until nothing is left to deliver (failed emails aside)."""
        await self._empty.wait()

    # -- producing ------------------------------------------------------------------

    def _entry(self, kind: str, account_id: str, now_ms: int = 0) -> OutboxDoc:
        now = now_ms or self.clock.wall_ms()
        return {
            "id": f"o{now:012x}{random_id(8)}",
            "kind": kind,
            "account": account_id,
            "created_ms": now,
            "attempts": 0,
        }

    def erase_visitor(self, _store: object, visitor: VisitorData) -> list[Op]:
        """The erasure of one visitor (engine/privacy.py's hook): the deletes of
        every entry addressed to it or naming it or its chats, taken out of
        delivery at once (emails, webhook calls, failed ones too)."""
        emails = {str((visitor.record or {}).get("email", "")).lower()}
        emails |= {str(t.get("email", "")).lower() for t in visitor.tickets}
        emails.discard("")
        names = {visitor.visitor_id, *(conv_id for conv_id, _doc in visitor.conversations)}
        ops: list[Op] = []
        for entry in list(OUTBOX.all(self.store)):
            text = " ".join(str(entry.get(k, "")) for k in ("body", "text", "html", "subject"))
            if str(entry.get("to", "")).lower() in emails or any(n in text for n in names):
                ops.append(OUTBOX.delete(entry["id"]))
                self._docs.pop(entry["id"], None)
        # What was emailed to it: its transcripts' marks (engine/delivery/transcripts.py).
        ops.append(MAIL_MARKS.delete("visitor", visitor.visitor_id))
        return ops

    def email_op(self, account_id: str, to: str, mail: Mail, now_ms: int = 0) -> Op:
        """The write of one email to ``to`` (dated ``now_ms``, else now)."""
        doc = self._entry("email", account_id, now_ms)
        doc.update({"to": to, "subject": mail.subject, "text": mail.text, "html": mail.html})
        return OUTBOX.put(doc)

    def notify_ops(self, account_id: str, department_id: str, topic: str, mail: Mail) -> list[Op]:
        """The writes of ``mail`` to each enabled operator of the account who
        asked for ``topic`` ("tickets", "missed") and serves the department
        (any, for a request without one)."""
        return [
            self.email_op(account_id, op.email, mail)
            for op in self.directory.operators.values()
            if op.account_id == account_id
            and not op.disabled
            and topic in op.mail_notifications
            and (not department_id or department_id in op.department_ids)
        ]

    def _reindex(self) -> None:
        by_account: dict[str, list[Webhook]] = {}
        for hook in self.hooks.values():
            by_account.setdefault(hook.account_id, []).append(hook)
        self._by_account = by_account

    def has_hooks(self, account_id: str) -> bool:
        """Whether the account has webhooks at all: an event for an account
        without any is not even built (every chat message asks)."""
        return account_id in self._by_account

    def event_ops(self, account_id: str, event_type: str, data: dict[str, Any]) -> list[Op]:
        """The writes of one event to each of the account's webhooks that wants it
        (none: no writes). One event id for all of them and every attempt."""
        hooks = self._by_account.get(account_id)
        if not hooks:
            return []
        hooks = [h for h in hooks if h.wants(event_type)]
        if not hooks:
            return []
        event_id = "ev" + random_id(16)
        created = self.clock.wall_ms()
        body = orjson.dumps(
            {"id": event_id, "type": event_type, "created_ms": created, "data": data}
        ).decode()
        ops = []
        for hook in hooks:
            doc = self._entry("webhook", account_id)
            doc.update({"hook": hook.id, "event": event_id, "type": event_type, "body": body})
            ops.append(OUTBOX.put(doc))
        return ops

    # -- picking new entries up -----------------------------------------------------

    def _followed(self, number: int, batches: list[list[Op]]) -> None:
        """On the writer thread, after a commit: new entries to the loop."""
        fresh = [
            value
            for ops in batches
            for db, _key, value in ops
            if db == OUTBOX.name and value is not None
        ]
        if fresh and self._loop is not None:
            # A closed loop (stopping): the entries wait in the store for a start.
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._arrived, fresh)

    def _arrived(self, values: list[bytes]) -> None:
        for value in values:
            doc: OutboxDoc = decode(value)
            if doc.get("attempts") or doc.get("failed") or doc["id"] in self._docs:
                continue  # the worker's own rewrite of an entry it holds
            self._docs[doc["id"]] = doc
            heapq.heappush(self._due, (asyncio.get_running_loop().time(), doc["id"]))
        self._settled()
        self._wake.set()

    # -- the worker -----------------------------------------------------------------

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            while self._due and self._due[0][0] <= now and len(self._running) < CONCURRENCY:
                _due, outbox_id = heapq.heappop(self._due)
                doc = self._docs.get(outbox_id)
                if doc is None or outbox_id in self._running:
                    continue
                self._running.add(outbox_id)
                task = loop.create_task(self._attempt(doc))
                self._tasks.add(task)
                task.add_done_callback(self._finished)
            self._wake.clear()
            wait = None
            if self._due and len(self._running) < CONCURRENCY:
                wait = max(0.0, self._due[0][0] - loop.time())
            try:
                async with asyncio.timeout(wait):
                    await self._wake.wait()
            except TimeoutError:
                pass

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("delivery failed unexpectedly", exc_info=task.exception())
        self._wake.set()

    def _settled(self) -> None:
        if self._docs:
            self._empty.clear()
        else:
            self._empty.set()

    async def _attempt(self, doc: OutboxDoc) -> None:
        try:
            try:
                if doc["kind"] == "email":
                    settings = self.mail.get(doc["account"]) or MailSettings()
                    await send_email(settings, doc, settings.timeout_seconds)
                else:
                    hook = self.hooks.get(doc.get("hook", ""))
                    if hook is None or not hook.enabled:
                        await self._forget(doc)  # deleted or disabled meanwhile
                        return
                    await self._call(hook, doc)
            except DeliveryFailed as error:
                await self._failed_attempt(doc, str(error), error.permanent)
                return
            await self._forget(doc)
            if doc["kind"] == "webhook":
                hook = self.hooks.get(doc["hook"])
                if hook is not None and hook.failures:
                    await self._save_hook(dataclasses.replace(hook, failures=0))
        finally:
            self._running.discard(doc["id"])
            self._settled()

    async def _call(self, hook: Webhook, doc: OutboxDoc) -> None:
        await post_webhook(
            hook.url,
            hook.secret,
            doc["event"],
            doc["id"],
            doc["body"].encode(),
            self.clock.wall_ms() // 1000,
            self.policy.timeout,
        )

    async def _forget(self, doc: OutboxDoc) -> None:
        """Delivered (or no longer wanted): out of the outbox."""
        await self.store.write_async([OUTBOX.delete(doc["id"])])
        self._docs.pop(doc["id"], None)

    async def _failed_attempt(self, doc: OutboxDoc, reason: str, permanent: bool = False) -> None:
        attempts = doc.get("attempts", 0) + 1
        doc = {**doc, "attempts": attempts, "error": reason}
        account = doc["account"]
        log.warning(
            "delivery %s (%s) failed, attempt %d: %s", doc["id"], doc["kind"], attempts, reason
        )
        if doc["kind"] == "email":
            self._errors[account] = reason
            if permanent or attempts >= self.policy.max_attempts:
                doc["failed"] = True
                await self.store.write_async([OUTBOX.put(doc)])
                self._docs.pop(doc["id"], None)
                self._failed[account] = self._failed.get(account, 0) + 1
                return
        else:
            hook = self.hooks.get(doc["hook"])
            if hook is None:
                await self._forget(doc)
                return
            failures = hook.failures + 1
            if failures >= self.policy.disable_after:
                await self._disable(hook, failures, reason, doc)
                return
            await self._save_hook(dataclasses.replace(hook, failures=failures))
        delay = self.policy.delay(attempts)
        doc["next_ms"] = self.clock.wall_ms() + int(delay * 1000)
        await self.store.write_async([OUTBOX.put(doc)])
        self._docs[doc["id"]] = doc
        loop = asyncio.get_running_loop()
        heapq.heappush(self._due, (loop.time() + delay, doc["id"]))

    async def _disable(self, hook: Webhook, failures: int, reason: str, doc: OutboxDoc) -> None:
        """Too many failures in a row: the webhook is off, its calls dropped."""
        when = self.clock.wall_ms()
        off = dataclasses.replace(
            hook,
            enabled=False,
            failures=failures,
            disabled_reason=f"disabled at {when} ms after {failures} failed deliveries in a "
            f"row; the last: {reason}",
        )
        dropped = [i for i, d in self._docs.items() if d.get("hook") == hook.id]
        ops = [WEBHOOKS.put(hook.account_id, hook.id, off.to_doc())]
        ops += [OUTBOX.delete(i) for i in {*dropped, doc["id"]}]
        await self.store.write_async(ops)
        self.hooks[hook.id] = off
        self._reindex()
        for outbox_id in (*dropped, doc["id"]):
            self._docs.pop(outbox_id, None)
        log.warning("webhook %s disabled: %s", hook.id, off.disabled_reason)

    # -- settings -------------------------------------------------------------------

    def mail_settings(self, account_id: str) -> MailSettings:
        return self.mail.get(account_id) or MailSettings()

    def backlog(self) -> tuple[int, int, int]:
        """(entries to deliver, those of them that failed an attempt already,
        emails given up on): the whole server's, for meters and health."""
        retrying = sum(1 for d in self._docs.values() if d.get("attempts"))
        return len(self._docs), retrying, sum(self._failed.values())

    def outbox_emails(self, account_id: str) -> list[OutboxDoc]:
        """The account's emails in the outbox, waiting and failed, oldest first
        (read from the store: failed ones are not held in memory)."""
        found = [
            self._docs.get(d["id"], d)
            for d in OUTBOX.all(self.store)
            if d["account"] == account_id and d["kind"] == "email"
        ]
        return sorted(found, key=lambda d: (d["created_ms"], d["id"]))

    def mail_status(self, account_id: str) -> MailStatus:
        pending = sum(
            1 for d in self._docs.values() if d["account"] == account_id and d["kind"] == "email"
        )
        return MailStatus(
            pending, self._failed.get(account_id, 0), self._errors.get(account_id, "")
        )

    async def set_mail(self, account_id: str, changes: dict[str, Any]) -> MailSettings:
        settings = dataclasses.replace(self.mail_settings(account_id), **changes)
        await self.store.write_async([MAIL_SETTINGS.put(account_id, settings.to_doc())])
        self.mail[account_id] = settings
        self._wake.set()
        return settings

    async def test_mail(self, account_id: str, to: str, mail: Mail) -> None:
        """Send one email now (not through the outbox); DeliveryFailed if not."""
        doc = self._entry("email", account_id)
        doc.update({"to": to, "subject": mail.subject, "text": mail.text, "html": mail.html})
        settings = self.mail_settings(account_id)
        await send_email(settings, doc, settings.timeout_seconds)

    def webhooks(self, account_id: str) -> list[Webhook]:
        found = [h for h in self.hooks.values() if h.account_id == account_id]
        return sorted(found, key=lambda h: (h.created_ms, h.id))

    def webhook(self, account_id: str, webhook_id: str) -> Webhook:
        hook = self.hooks.get(webhook_id)
        if hook is None or hook.account_id != account_id:
            raise NotFound("unknown_webhook", f"no webhook {webhook_id[:40]!r}", field="webhook_id")
        return hook

    async def add_webhook(self, account_id: str, url: str, events: Iterable[str]) -> Webhook:
        hook = Webhook(
            id="wh" + random_id(10),
            account_id=account_id,
            url=url.strip(),
            secret="whsec_" + new_token(),
            events=tuple(dict.fromkeys(events)),
            created_ms=self.clock.wall_ms(),
        )
        await self._save_hook(hook)
        return hook

    async def update_webhook(
        self, account_id: str, webhook_id: str, changes: dict[str, Any]
    ) -> Webhook:
        hook = self.webhook(account_id, webhook_id)
        if "events" in changes:
            changes = {**changes, "events": tuple(dict.fromkeys(changes["events"]))}
        updated = dataclasses.replace(hook, **changes)
        if updated.enabled and not hook.enabled:  # switched back on: a fresh start
            updated = dataclasses.replace(updated, failures=0, disabled_reason="")
        await self._save_hook(updated)
        return updated

    async def delete_webhook(self, account_id: str, webhook_id: str) -> None:
        hook = self.webhook(account_id, webhook_id)
        dropped = [i for i, d in self._docs.items() if d.get("hook") == hook.id]
        ops = [WEBHOOKS.delete(account_id, hook.id), *(OUTBOX.delete(i) for i in dropped)]
        await self.store.write_async(ops)
        self.hooks.pop(hook.id, None)
        self._reindex()
        for outbox_id in dropped:
            self._docs.pop(outbox_id, None)
        self._settled()

    async def test_webhook(self, account_id: str, webhook_id: str) -> None:
        """Post a ``ping`` event now (not through the outbox); DeliveryFailed if not taken."""
        hook = self.webhook(account_id, webhook_id)
        event_id = "ev" + random_id(16)
        body = orjson.dumps(
            {"id": event_id, "type": "ping", "created_ms": self.clock.wall_ms(), "data": {}}
        )
        await post_webhook(
            hook.url, hook.secret, event_id, event_id, body, self.clock.wall_ms() // 1000,
            self.policy.timeout,
        )  # fmt: skip

    async def _save_hook(self, hook: Webhook) -> None:
        await self.store.write_async([WEBHOOKS.put(hook.account_id, hook.id, hook.to_doc())])
        self.hooks[hook.id] = hook
        self._reindex()
