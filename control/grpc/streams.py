"""Stream plumbing shared by the session streams: batches out, commands in.

A :class:`BatchSink` collects the events for one stream and the writer sends
whatever is ready as one batch (one event per stream message caps a stream near
13k events/s); a client that stops reading is cut past its bound and resumes by
seq. :func:`serve_stream` reads the client's command batches in a task while it
writes event batches, and detaches the session however the stream ends.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Generic, Protocol, TypeVar

import grpc
from google.protobuf.message import Message

from control.errors import abort
from control.grpc.limits import check_request
from engine.errors import Refused, Unavailable

log = logging.getLogger("parley.grpc")


T = TypeVar("T")  # what a stream sends: engine events, and the front end's own
C = TypeVar("C")  # what a client's batch carries
C_co = TypeVar("C_co", covariant=True)
B = TypeVar("B")
O = TypeVar("O")  # noqa: E741 - the outgoing batch message


def server_stopping() -> Unavailable:
    """How a stop ends an open stream, and refuses a new one: UNAVAILABLE, to
    reconnect (to this server once it is back, or another) and resume by seq."""
    return Unavailable("server_stopping", "the server is stopping: reconnect and resume")


class CommandBatch(Protocol[C_co]):
    """A client's batch of commands, as every stream's protobuf batch is."""

    @property
    def commands(self) -> Iterable[C_co]: ...


class BatchSink(Generic[T]):
    """Collects events for one stream; the writer sends whatever is ready as one
    batch (one event per stream message caps a stream near 13k events/s)."""

    __slots__ = ("events", "wake", "closed", "overflowed", "limit", "ended", "room_waiters")

    def __init__(self, limit: int = 100_000) -> None:
        self.events: list[T] = []
        self.wake = asyncio.Event()
        self.closed = False
        self.overflowed = False
        self.limit = limit  # unsent events before the client counts as too slow
        self.ended: Refused | None = None  # the stream's access ended: why
        self.room_waiters: list[Callable[[], None]] | None = None  # replays waiting (when_room)

    def end(self, error: Refused) -> None:
        """End the stream with ``error`` (its token revoked, its permission
        gone): nothing more is sent, the client's call ends with the refusal's
        status and code, and no later command of it is handled."""
        self.ended = error
        self.drop()
        self.wake.set()

    def push(self, event: T) -> None:
        events = self.events
        if len(events) >= self.limit:
            if not self.overflowed and self.limit:
                # The client does not read: end its stream rather than buffer
                # without bound. It reconnects and resumes by seq.
                self.overflowed = True
                self.drop()
                self.wake.set()
            return
        events.append(event)
        if len(events) == 1:
            self.wake.set()

    def has_room(self) -> bool:
        """Under half its bound unread: room for more than live events (a
        replay's next page waits until there is). A dropped sink has room:
        what is pushed goes nowhere, and its replays end."""
        return len(self.events) < self.limit // 2 or not self.limit

    def when_room(self, wake: Callable[[], None]) -> bool:
        """Call ``wake`` once the writer has taken enough that there is room
        again, or the stream is over (a replay waits for it)."""
        if self.has_room():
            wake()
        elif self.room_waiters is None:
            self.room_waiters = [wake]
        else:
            self.room_waiters.append(wake)
        return True

    def _room(self) -> None:
        waiters, self.room_waiters = self.room_waiters, None
        for wake in waiters or ():
            wake()

    def drop(self) -> None:
        """Nothing held or pushed from now on will be sent (the stream is cut or
        over): let go of what is held and take nothing more. The session's
        subscriptions end a few turns later, and until then the chats keep
        pushing, replays included; holding that for a stream that is gone
        held a slow reader's whole bound per cut, and a client cut again after
        each resume piled up those bounds."""
        self.events = []
        self.limit = 0
        self._room()

    async def batches(self, limit: int = 500) -> AsyncIterator[list[T]]:
        while True:
            await self.wake.wait()
            if self.ended is not None:
                raise self.ended
            if self.overflowed:
                raise Unavailable(
                    "too_slow", "the client did not read its events; reconnect and resume"
                )
            if self.closed and not self.events:
                return
            self.wake.clear()
            events = self.events
            if len(events) > limit:
                # The first ``limit`` off the front, the rest kept in place (a
                # copy of the rest per batch was quadratic in a long queue).
                batch = events[:limit]
                del events[:limit]
                self.wake.set()
            else:
                batch, self.events = events, []
                if self.closed:
                    self.wake.set()  # this was the last: end after it
            if self.room_waiters is not None and self.has_room():
                self._room()
            # Not held while the batch is written: a write waits as long as
            # the client does not read, and a stream that ends there leaves
            # this frame in its error's traceback.
            del events
            if batch:
                yield batch

    def close(self) -> None:
        self.closed = True
        self.wake.set()
        self._room()


async def pump(
    commands: AsyncIterator[CommandBatch[C]],
    handle: Callable[[C], Awaitable[None] | None],
    sink: BatchSink[T],
    refuse: Callable[[BaseException], None],
) -> None:
    """Hand each command to ``handle``, in order; what it returns (a command that
    waits on actors) is awaited before the next, None is done (most commands:
    no coroutine per command). A command past the limits every
    request keeps is refused (``refuse`` puts the refusal on the stream); one
    that fails by a bug is logged with its traceback and refused as
    ``internal``; the stream goes on either way."""
    try:
        async for batch in commands:
            for command in batch.commands:
                if sink.ended is not None:
                    return  # access ended: no command after it is handled
                try:
                    if isinstance(command, Message):
                        check_request(command)
                    waiting = handle(command)
                    if waiting is not None:
                        await waiting
                except Refused as error:
                    refuse(error)
                except Exception as error:
                    log.exception("a stream command failed")
                    refuse(error)
    except asyncio.CancelledError:
        raise
    except Exception as error:  # the client went away or sent garbage
        log.debug("command stream ended: %r", error)
    finally:
        sink.close()


async def serve_stream(
    context: grpc.aio.ServicerContext[B, O],
    commands: AsyncIterator[CommandBatch[C]],
    handle: Callable[[C], Awaitable[None] | None],
    sink: BatchSink[T],
    encode: Callable[[list[T]], O],
    detach: Callable[[], None],
    refuse: Callable[[BaseException], None],
) -> AsyncIterator[O]:
    """Read commands in a task while writing batches of events; detach the
    session however the stream ends."""
    reader = asyncio.create_task(pump(commands, handle, sink, refuse))
    try:
        async for batch in sink.batches():
            yield encode(batch)
    except Refused as error:
        await abort(context, error)
    finally:
        sink.drop()
        detach()
        reader.cancel()
