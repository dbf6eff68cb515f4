"""The VisitorChannel service: an embedding service speaks for its visitors.

One stream per visitor: a hello names the site (of the caller's account), then
the visitor's commands and events flow as on the websocket edge, through the same
dispatch (:mod:`engine.chat.dispatch`): the two front ends answer alike. The
stream speaks with an operator's token: it ends the moment that token is revoked
or its role loses VISITOR_CHANNEL (:mod:`engine.chat.sessions.access`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import grpc

from control import converters
from control.grpc.calls import peer_address, stream_caller, watch_access
from control.grpc.streams import BatchSink, serve_stream, server_stopping
from engine.app import Engine
from engine.backup import epoch_changed
from engine.chat import account
from engine.chat.commands import Hello
from engine.chat.dispatch import visitor_command, visitor_hello
from engine.chat.events import Event
from engine.chat.sessions import VisitorSession, failure
from engine.errors import Refused
from parley.v1 import common_pb2, visitor_pb2, visitor_pb2_grpc

# What the stream sends: the engine's events, and the welcome.
Outgoing = Event | visitor_pb2.VisitorEvent


def _visitor_batch(events: list[Outgoing]) -> visitor_pb2.VisitorEventBatch:
    return visitor_pb2.VisitorEventBatch(
        events=[
            e if isinstance(e, visitor_pb2.VisitorEvent) else converters.visitor_event(e)
            for e in events
        ]
    )


class VisitorChannelService(visitor_pb2_grpc.VisitorChannelServicer):
    def __init__(self, engine: Engine, backlog: int = 100_000) -> None:
        self.engine = engine
        self.backlog = backlog

    async def Connect(
        self,
        request_iterator: AsyncIterator[visitor_pb2.VisitorCommandBatch],
        context: grpc.aio.ServicerContext[
            visitor_pb2.VisitorCommandBatch, visitor_pb2.VisitorEventBatch
        ],
    ) -> AsyncIterator[visitor_pb2.VisitorEventBatch]:
        method = "/parley.v1.VisitorChannel/Connect"
        principal = await stream_caller(self.engine, context, method, request_iterator)
        sink: BatchSink[Outgoing] = BatchSink(self.backlog)
        access = watch_access(self.engine, principal, method, sink.end)
        holder: list[VisitorSession] = []  # the session, once its hello is done
        hello: list[VisitorSession] = []  # one whose hello is running

        async def handle(message: visitor_pb2.VisitorCommand) -> None:
            command = converters.visitor_command(message)
            if type(command) is not Hello:
                visitor_command(sink, holder[0] if holder else None, command)
                return
            if holder:
                await visitor_hello(holder[0], command)  # refused: already_hello
                return
            h = message.hello
            try:
                site = account.visitor_site(self.engine, principal, h.site_id)
            except Refused as error:
                sink.push(failure(error))
                return
            session = VisitorSession(self.engine, site, sink)
            session.ip = h.ip[:64] or peer_address(context)
            session.user_agent = h.user_agent[:2000]
            epoch = self.engine.epoch
            changed = epoch_changed(epoch, h.epoch)
            if changed:  # before the replay, which starts from the beginning
                sink.push(
                    visitor_pb2.VisitorEvent(epoch_changed=common_pb2.EpochChanged(epoch=epoch))
                )
                command = dataclasses.replace(command, last_seq=0)
            hello.append(session)  # a stream that ends mid-hello detaches it too
            try:
                w = await visitor_hello(session, command)
            finally:
                hello.remove(session)
            if w is None:
                session.detach()  # refused: undo what the hello joined
                return
            holder.append(session)
            sink.push(
                visitor_pb2.VisitorEvent(
                    welcome=visitor_pb2.VisitorWelcome(
                        visitor_id=w["visitor_id"],
                        token=w["token"],
                        conversation_id=w["conversation_id"],
                        last_seq=w["last_seq"],
                        departments=converters.departments_pb(w["departments"]),
                        epoch=epoch,
                        epoch_changed=changed,
                        email_transcripts=w["email_transcripts"],
                        widget=converters.visitor_widget_pb(w["widget"]),
                    )
                )
            )

        closed = self.engine.connections.stream_opened(
            "visitor", lambda: sink.end(server_stopping())
        )

        def detach() -> None:
            closed()
            access.close()
            for session in (*holder, *hello):
                session.detach()

        try:
            async for out in serve_stream(
                context,
                request_iterator,
                handle,
                sink,
                _visitor_batch,
                detach,
                lambda error: sink.push(failure(error)),
            ):
                yield out
        finally:
            detach()  # again, should the stream end before serving began (idempotent)
