"""Retention per site: old transcripts deleted, old visitors' addresses truncated.

A site may keep its closed chats for ``transcript_retention_days`` (their
records and journals, the history index's rows and text, the board's card of
a missed one) and its visitors' addresses whole for
``address_retention_days`` after their last visit; past that an IPv4 address
keeps its first two bytes (``203.0.113.7`` -> ``203.0.0.0``), an IPv6 one its
first four (a /32). Unset, a site keeps both. A sweep on the engine's clock
(every :data:`SWEEP_SECONDS`; tests drive a FakeClock) applies every site's
settings, one commit per site, then compacts the store so nothing deleted or
truncated stays in the data file (``LmdbStore.compact``). A visitor whose actor
is in memory now is left for the next sweep (its snapshot would write the
address back); it visited recently anyway. Each sweep that changed a site
leaves an audit event ``retention.sweep`` naming the site.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.chat.kinds import VISITOR
from engine.persistence.codec import decode, encode
from engine.persistence.schema import CONVERSATIONS, SNAPSHOTS, ConversationDoc, Op
from engine.privacy import conversation_ops, forget_conversation
from engine.runtime import Timer

if TYPE_CHECKING:
    from engine.app import Engine

log = logging.getLogger("parley.retention")

SWEEP_SECONDS = 3600.0
DAY_MS = 86_400_000


def truncate_address(address: str) -> str:
    """An address cut to its network: IPv4 /16, IPv6 /32 (anything else: "")."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return ""
    prefix = 16 if ip.version == 4 else 32
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False).network_address)


@dataclass
class SweepResult:
    conversations: int = 0
    messages: int = 0
    addresses: int = 0


class Retention:
    """The sweep of one engine."""

    def __init__(self, engine: Engine, interval: float = SWEEP_SECONDS) -> None:
        self.engine = engine
        self.interval = interval
        self._timer: Timer | None = None
        self._running: asyncio.Task[SweepResult] | None = None
        self.sweeps = 0
        self.last = SweepResult()
        self.done = asyncio.Event()  # set when a sweep ends (tests wait on it)

    def start(self) -> None:
        self._timer = self.engine.clock.call_later(self.interval, self._tick)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _tick(self) -> None:
        self._timer = self.engine.clock.call_later(self.interval, self._tick)
        if self._running is None or self._running.done():
            self.done.clear()
            self._running = asyncio.ensure_future(self._sweep_logged())

    async def _sweep_logged(self) -> SweepResult:
        try:
            return await self.sweep()
        except Exception:
            log.exception("retention sweep failed")
            return SweepResult()
        finally:
            self.done.set()

    async def sweep(self) -> SweepResult:
        """Apply every site's retention now."""
        engine = self.engine
        now = engine.clock.wall_ms()
        result = SweepResult()
        sites = list(engine.directory.sites.values())
        changed = False
        for site in sites:
            ops: list[Op] = []
            dropped = 0
            files: dict[str, set[str]] = {}  # the dropped chats' attachments
            if site.transcript_retention_days:
                before = now - site.transcript_retention_days * DAY_MS
                for conv_id, doc in self._old_chats(site.id, before):
                    conv_ops, count = conversation_ops(
                        engine.store, site.account_id, conv_id, files
                    )
                    forget_conversation(engine, site.account_id, conv_id, doc)
                    ops.extend(conv_ops)
                    dropped += 1
                    result.messages += count
            truncated = 0
            if site.address_retention_days:
                before = now - site.address_retention_days * DAY_MS
                for visitor_id, snapshot in self._old_addresses(site.id, before):
                    ops.append(SNAPSHOTS.put("visitor", visitor_id, snapshot))
                    truncated += 1
            if not ops:
                continue
            fields = [name for name, n in (("transcripts", dropped), ("addresses", truncated)) if n]
            ops.append(engine.audit.op(site.account_id, "", "retention.sweep", [site.id], fields))
            await engine.store.write_async(ops)
            for site_id, digests in files.items():
                engine.attachments.files.remove_unreferenced(engine.store, site_id, digests)
            result.conversations += dropped
            result.addresses += truncated
            changed = True
        # Files whose message never committed (a crash between the two).
        engine.attachments.files.collect(engine.store)
        if changed:
            engine.store.compact_at_next_start()
        self.sweeps += 1
        self.last = result
        return result

    def _old_chats(self, site_id: str, before_ms: int) -> list[tuple[str, ConversationDoc]]:
        out = []
        for key, raw in self.engine.store.scan(CONVERSATIONS.name, (site_id + "-").encode()):
            doc: ConversationDoc = decode(raw)
            ended = doc.get("closed_ms") or doc.get("created_ms", 0)
            if doc.get("status") == "closed" and ended < before_ms:
                out.append((key.decode(), doc))
        return out

    def _old_addresses(self, site_id: str, before_ms: int) -> list[tuple[str, bytes]]:
        out = []
        system = self.engine.system
        for visitor_id, raw in SNAPSHOTS.of_kind(self.engine.store, "visitor"):
            doc: dict[str, Any] = decode(raw)
            info = doc.get("info") or {}
            ip = str(info.get("ip", ""))
            if doc.get("site") != site_id or not ip or int(info.get("last_ms", 0)) >= before_ms:
                continue
            cut = truncate_address(ip)
            if cut == ip or system.is_active(VISITOR, visitor_id):
                continue
            info["ip"] = cut
            doc["info"] = info
            out.append((visitor_id, encode(doc)))
        return out
