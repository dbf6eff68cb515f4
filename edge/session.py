"""The session half of a visitor connection, one implementation for both modes.

A visitor connection takes the commands its :class:`~edge.visitor.protocol.
VisitorProtocol` parsed, keeps the hello state in a :class:`~edge.visitor.
connection.ConnectionState` (frames held while a hello runs, the hello
deadline), and carries commands onto its :class:`~engine.chat.sessions.
VisitorSession` through :mod:`engine.chat.dispatch`. That is this class. What
differs is where the bytes go: :class:`edge.server.VisitorConnection` writes
them to its websocket, :class:`edge.link.host.HostedVisitor` to its edge's
link. Each says so in ``_send``, ``_close``, ``push`` and ``_welcome``.

The per-frame path is ``_handle``: a type test and a call, no coroutine; a
hello is the only command that waits (its own task).
"""

from __future__ import annotations

import abc
import asyncio
import dataclasses
import logging
from typing import TYPE_CHECKING, cast

from edge.visitor.codes import CLOSE_INTERNAL, CLOSE_TIMEOUT
from edge.visitor.connection import ConnectionState
from edge.visitor.frames import (
    PONG,
    Command,
    FrameError,
    Hello,
    Ping,
    encode_epoch_changed,
    encode_error,
    encode_welcome,
)
from edge.visitor.protocol import VisitorProtocol
from engine.backup import epoch_changed
from engine.chat.commands import VisitorCommand
from engine.chat.dispatch import visitor_command, visitor_hello
from engine.chat.events import Event
from engine.chat.sessions import VisitorSession, failure
from engine.runtime import Timer

if TYPE_CHECKING:
    from engine.app import Engine

log = logging.getLogger("parley.edge")


class VisitorCore(abc.ABC):
    """What a visitor connection does with its commands, in either mode."""

    # No __slots__ here: a subclass may be a picows listener (a C layout of its
    # own); a subclass's own slots still keep it without a dictionary in use.

    engine: Engine
    protocol: VisitorProtocol
    state: ConnectionState
    session: VisitorSession
    _deadline: Timer | None

    # -- what each mode says about its output -----------------------------------------

    @abc.abstractmethod
    def push(self, event: Event) -> None: ...

    @abc.abstractmethod
    def _send(self, data: bytes) -> None: ...

    @abc.abstractmethod
    def _close(self, code: int, reason: str) -> None: ...

    def _welcome(self, frame: bytes, token: str, epoch: str) -> None:
        """Write the welcome (the link's connections keep its token and epoch)."""
        self._send(frame)

    # -- the hello deadline -----------------------------------------------------------

    def _arm_deadline(self) -> None:
        """Start the hello deadline's timer, on the engine's (injected) clock."""
        deadline = self.state.hello_deadline
        if deadline is not None:
            clock = self.engine.clock
            self._deadline = clock.call_later(deadline - clock.monotonic(), self._hello_overdue)

    def _disarm_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _hello_overdue(self) -> None:
        self._deadline = None
        if self.state.deadline_reached():
            self._send(encode_error(FrameError("hello_timeout", "no hello in time")))
            self._close(CLOSE_TIMEOUT, "hello timeout")

    # -- commands ---------------------------------------------------------------------

    def _handle(self, frame: Command | FrameError) -> None:
        command = self.state.accept(frame)
        if command is None:
            return  # held until the running hello completes
        cls = type(command)
        if cls is FrameError:
            error = cast(FrameError, command)
            self._send(encode_error(error))
            if error.close_code:
                self._close(error.close_code, error.code)
        elif cls is Ping:
            self._send(PONG)
        elif cls is Hello:
            asyncio.get_running_loop().create_task(self._hello(cast(Hello, command)))
        else:
            visitor_command(self, self.session, cast(VisitorCommand, command))

    async def _hello(self, hello: Hello) -> None:
        welcome = None
        epoch = self.engine.epoch
        changed = epoch_changed(epoch, hello.epoch)
        if changed:
            # Seqs of other data (a restore): said before the replay, which
            # starts from the beginning, so the client drops its copy first.
            self._send(encode_epoch_changed(epoch))
            hello = dataclasses.replace(hello, last_seq=0)
        try:
            welcome = await visitor_hello(self.session, hello)
        except Exception as error:  # a bug: log it, tell the client, keep serving
            log.exception("hello failed")
            self.push(failure(error))
            self._close(CLOSE_INTERNAL, "internal")
        held = self.state.hello_done(welcome is not None)
        if welcome is None and self._deadline is None and self.state.hello_deadline is not None:
            # Its timer fired while the hello ran: it is due now.
            self._arm_deadline()
        if welcome is not None:
            if self.state.hello_deadline is None:
                self._disarm_deadline()
            # The replay was pushed during the hello; the welcome comes last,
            # which keeps the replay in seq order with live messages (a client
            # tells them apart by type).
            frame = encode_welcome(
                welcome["visitor_id"],
                welcome["token"],
                welcome["conversation_id"],
                welcome["last_seq"],
                welcome["departments"],
                epoch,
                changed,
                welcome["widget"],
                welcome["email_transcripts"],
            )
            self._welcome(frame, welcome["token"], epoch)
        for command in held:
            self._handle(command)
