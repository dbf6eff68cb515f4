"""The OperatorSession service: one operator's session stream.

The stream's first command is a hello (with resume points); the session then
pushes the operator's chats, the operators list and the board as batches of
events, and carries the operator's commands to the engine. Its access is held
for as long as it is open (:class:`~engine.chat.sessions.access.StreamAccess`):
a revoked token ends it with UNAUTHENTICATED, a changed role narrows it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable

import grpc

from control import converters
from control.grpc.calls import stream_caller, watch_access
from control.grpc.streams import BatchSink, serve_stream, server_stopping
from engine.app import Engine
from engine.backup import epoch_changed
from engine.chat.commands import OperatorCommand, OperatorHello
from engine.chat.dispatch import operator_command, operator_command_at_once
from engine.chat.events import Event
from engine.chat.sessions import OperatorSession, failure
from parley.v1 import common_pb2, operator_pb2, operator_pb2_grpc

# What the stream sends: the engine's events, and the session-ready reply.
Outgoing = Event | operator_pb2.OperatorEvent


def _operator_batch(events: list[Outgoing]) -> operator_pb2.OperatorEventBatch:
    out = operator_pb2.OperatorEventBatch()
    converters.add_operator_events(out, events)
    return out


class OperatorSessionService(operator_pb2_grpc.OperatorSessionServicer):
    def __init__(self, engine: Engine, backlog: int = 100_000) -> None:
        self.engine = engine
        self.backlog = backlog

    async def Connect(
        self,
        request_iterator: AsyncIterator[operator_pb2.OperatorCommandBatch],
        context: grpc.aio.ServicerContext[
            operator_pb2.OperatorCommandBatch, operator_pb2.OperatorEventBatch
        ],
    ) -> AsyncIterator[operator_pb2.OperatorEventBatch]:
        method = "/parley.v1.OperatorSession/Connect"
        principal = await stream_caller(self.engine, context, method, request_iterator)
        sink: BatchSink[Outgoing] = BatchSink(self.backlog)
        session = OperatorSession(self.engine, principal, sink)
        access = watch_access(self.engine, principal, method, sink.end, session.narrow)

        closed = self.engine.connections.stream_opened(
            "operator", lambda: sink.end(server_stopping())
        )

        def detach() -> None:
            closed()
            access.close()
            session.detach()

        changed = False  # the hello's epoch was not the server's

        def ready() -> None:
            sink.push(
                operator_pb2.OperatorEvent(
                    ready=operator_pb2.SessionReady(
                        operator_id=principal.operator_id,
                        display_name=session.display_name,
                        max_chats=session.max_chats,
                        status=session.status,
                        epoch=self.engine.epoch,
                        epoch_changed=changed,
                    )
                )
            )

        def handle(command: operator_pb2.OperatorCommand) -> Awaitable[None] | None:
            engine_command = converters.operator_command(command)
            if operator_command_at_once(session, engine_command):
                return None  # a send, a close...: no coroutine per command
            return waiting(engine_command)

        async def waiting(engine_command: OperatorCommand) -> None:
            nonlocal changed
            if type(engine_command) is OperatorHello and epoch_changed(
                self.engine.epoch, engine_command.epoch
            ):
                # Seqs of other data: told before the replay, which starts over.
                changed = True
                notice = common_pb2.EpochChanged(epoch=self.engine.epoch)
                sink.push(operator_pb2.OperatorEvent(epoch_changed=notice))
                engine_command = OperatorHello({}, self.engine.epoch)
            await operator_command(session, engine_command, ready)

        try:
            async for out in serve_stream(
                context,
                request_iterator,
                handle,
                sink,
                _operator_batch,
                detach,
                lambda error: sink.push(failure(error)),
            ):
                yield out
        finally:
            detach()  # again, should the stream end before serving began (idempotent)
