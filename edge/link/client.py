"""The edge's end of the link: one gRPC stream to the engine, batched both ways.

Items for the engine queue in a bounded list (``max_pending``); the stream's
request generator takes whatever is queued when it runs (at most
``BATCH_ITEMS``) as one message, so a busy edge sends few large messages and an
idle one sends each item at once. :meth:`EngineLink.send` says False when the
queue is full or the link is down: the caller refuses the visitor's frame then
(``overloaded`` or ``reconnecting``), before anything was acknowledged.

:meth:`EngineLink.attach` makes the first attachment and fails loudly
(:class:`LinkRefused`: a wrong secret; :class:`LinkUnreachable`: no engine);
:meth:`EngineLink.run` then keeps the link, attaching again after a loss with
a growing pause. Each attachment calls ``on_attached`` (the edge opens and
resumes its connections on the new stream before anything else is sent), each
loss ``on_lost``.

While attached the link is probed: at once and then every PROBE_EVERY seconds
(one probe out at a time) the edge queues a ``probe`` item behind what waits
for the engine, and the engine answers behind what it had queued for the edge.
The time to the answer is the link's lag, both queues and both ways included;
a probe still out counts as a lag of its age (:meth:`EngineLink.lag`), so a
link that stopped moving shows a lag that grows.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence

import grpc

from edge.link import secret as link_secret
from engine.meters import Histogram
from parley.link.v1 import link_pb2, link_pb2_grpc

log = logging.getLogger("parley.edge.link")

BATCH_ITEMS = 1000  # items in one stream message at most
RETRY_FIRST = 0.2  # seconds before the first attempt to attach again
RETRY_MAX = 5.0  # the longest pause between two attempts
PROBE_EVERY = 1.0  # seconds between two probes of the link's lag
# Upper bounds of the link's round trip histogram, seconds.
LAG_BOUNDS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class LinkError(Exception):
    """The link could not be made."""


class LinkRefused(LinkError):
    """The engine refused this edge (a wrong link secret)."""


class LinkUnreachable(LinkError):
    """No engine answered at the address."""


class EngineLink:
    """One edge's link to the engine."""

    def __init__(
        self,
        target: str,
        secret: str,
        on_items: Callable[[Sequence[link_pb2.EngineItem]], None],
        on_attached: Callable[[], None],
        on_lost: Callable[[], None],
        max_pending: int = 10_000,
        retry_max: float | None = None,
    ) -> None:
        self.target = target
        self.metadata = ((link_secret.METADATA_KEY, secret),)  # every call's
        self._on_items = on_items
        self._on_attached = on_attached
        self._on_lost = on_lost
        self.max_pending = max_pending
        # The longest pause between two attempts to attach, ours and the channel's
        # own (gRPC's reconnection backoff grows to two minutes by default).
        self.retry_max = RETRY_MAX if retry_max is None else retry_max
        backoff_ms = max(1, round(self.retry_max * 1000))
        self.channel = grpc.aio.insecure_channel(
            target,
            options=[
                ("grpc.initial_reconnect_backoff_ms", min(backoff_ms, 1000)),
                ("grpc.max_reconnect_backoff_ms", backoff_ms),
                ("grpc.max_receive_message_length", 64 * 1024 * 1024),
                ("grpc.max_send_message_length", 16 * 1024 * 1024),
                ("grpc.keepalive_time_ms", 10_000),
                ("grpc.keepalive_timeout_ms", 5_000),
                ("grpc.keepalive_permit_without_calls", 1),
            ],
        )
        self.stub = link_pb2_grpc.EdgeLinkStub(self.channel)
        self.up = False
        self.engine_instance = ""
        self.attachments = 0  # how many times the link was made
        self._pending: list[link_pb2.EdgeItem] = []
        self._wake = asyncio.Event()
        self._call: (
            grpc.aio.StreamStreamCall[link_pb2.AttachRequest, link_pb2.AttachResponse] | None
        )
        self._call = None
        self._closed = False
        self._generation = 0
        self.round_trips = Histogram(LAG_BOUNDS)  # the probes' answers, seconds
        self.last_round_trip = 0.0
        self._probes = 0  # the last probe's number
        self._probe_sent: float | None = None  # when the probe out was queued

    # -- the link's lag -----------------------------------------------------------------

    def lag(self, now: float) -> float:
        """Seconds: the last probe's round trip, or the age of the one still out
        when that is longer (0 before the first answer)."""
        sent = self._probe_sent
        if sent is not None and now - sent > self.last_round_trip:
            return now - sent
        return self.last_round_trip

    def probe(self) -> None:
        """Queue a probe, unless the link is down or one is out already."""
        if not self.up or self._probe_sent is not None:
            return
        self._probes += 1
        self._probe_sent = time.monotonic()
        self.push(link_pb2.EdgeItem(probe=self._probes))

    def probed(self, number: int) -> None:
        """The engine answered probe ``number`` (an answer from an earlier
        stream's probe, or a repeat, counts for nothing)."""
        sent = self._probe_sent
        if sent is None or number != self._probes:
            return
        self._probe_sent = None
        took = time.monotonic() - sent
        self.last_round_trip = took
        self.round_trips.observe(took)

    async def _probing(self) -> None:
        while not self._closed:
            await asyncio.sleep(PROBE_EVERY)
            self.probe()

    # -- sending --------------------------------------------------------------------

    @property
    def queued(self) -> int:
        """Items waiting to be written to the stream."""
        return len(self._pending)

    def send(self, item: link_pb2.EdgeItem) -> bool:
        """Queue ``item``; False when the link is down or the queue is full."""
        if not self.up or len(self._pending) >= self.max_pending:
            return False
        self.push(item)
        return True

    def push(self, item: link_pb2.EdgeItem) -> None:
        """Queue ``item`` past the bound (openings, resumes and ends, which are
        few and must not be lost while the link is up)."""
        if not self.up:
            return
        self._pending.append(item)
        if len(self._pending) == 1:
            self._wake.set()

    async def _requests(self, generation: int) -> AsyncIterator[link_pb2.AttachRequest]:
        # One generator per attachment: an old stream's stops taking items
        # (they are the new stream's) as soon as a new attachment begins.
        while not self._closed and generation == self._generation:
            if not self._pending:
                self._wake.clear()
                await self._wake.wait()
                continue
            pending = self._pending
            if len(pending) <= BATCH_ITEMS:
                self._pending = []
                batch = pending
            else:
                batch = pending[:BATCH_ITEMS]
                del pending[:BATCH_ITEMS]  # in place: a copy of the rest per batch was quadratic
            del pending  # not held while the engine takes its time to read the batch
            yield link_pb2.AttachRequest(items=batch)

    # -- the stream -----------------------------------------------------------------

    async def attach(self, within: float = 10.0) -> None:
        """Make the link the first time; LinkRefused or LinkUnreachable says why not."""
        self._generation += 1
        call = self.stub.Attach(self._requests(self._generation), metadata=self.metadata)
        try:
            async with asyncio.timeout(within):
                first = await call.read()
        except TimeoutError:
            call.cancel()
            raise LinkUnreachable(
                f"the engine at {self.target} did not answer in {within:g} s"
            ) from None
        except grpc.aio.AioRpcError as error:
            raise _link_error(error, self.target) from None
        if not isinstance(first, link_pb2.AttachResponse) or not first.HasField("attached"):
            raise LinkUnreachable(f"the service at {self.target} is not a Parley engine")
        self._call = call
        self.engine_instance = first.attached.engine_instance
        self.up = True
        self.attachments += 1
        self._on_attached()
        self.probe()  # behind the connections' openings and resumes

    async def run(self) -> None:
        """Read the attached stream; after a loss, attach again until it works."""
        pause = min(RETRY_FIRST, self.retry_max)
        prober = asyncio.get_running_loop().create_task(self._probing())
        try:
            while not self._closed:
                if self._call is not None:
                    await self._read(self._call)
                    self._call = None
                    pause = min(RETRY_FIRST, self.retry_max)
                    continue
                try:
                    await self.attach()
                except LinkError as error:
                    log.warning("the engine is out of reach: %s; trying again", error)
                    await asyncio.sleep(pause)
                    pause = min(pause * 2, self.retry_max)
        finally:
            prober.cancel()

    async def _read(
        self, call: grpc.aio.StreamStreamCall[link_pb2.AttachRequest, link_pb2.AttachResponse]
    ) -> None:
        try:
            while True:
                response = await call.read()
                if not isinstance(response, link_pb2.AttachResponse):
                    break  # EOF: the engine ended the stream
                self._on_items(response.items)
        except grpc.aio.AioRpcError as error:
            if not self._closed:
                log.warning("the link to the engine broke: %s", error.details())
        finally:
            call.cancel()
            self.up = False
            self._pending = []
            self._probe_sent = None  # its answer will not come; down says more than a lag
            self._wake.set()  # the old request generator sees its stream is gone
            if not self._closed:
                log.warning("lost the engine at %s: visitors told to wait", self.target)
                self._on_lost()

    async def close(self) -> None:
        self._closed = True
        self.up = False
        self._wake.set()
        if self._call is not None:
            self._call.cancel()
        await self.channel.close()


def _link_error(error: grpc.aio.AioRpcError, target: str) -> LinkError:
    if error.code() is grpc.StatusCode.UNAUTHENTICATED:
        return LinkRefused(
            f"the engine at {target} refused this edge's link secret "
            "(give the engine's: its data directory's link-secret file)"
        )
    return LinkUnreachable(f"cannot reach the engine at {target}: {error.details()}")
