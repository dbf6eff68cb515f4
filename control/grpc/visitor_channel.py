"""The VisitorChannel service: an embedding service speaks for its visitors.

One stream per visitor: a hello names the site (of the caller's account), then
the visitor's commands and events flow as on the websocket edge.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc

from control import converters
from control.grpc.calls import peer_address, stream_caller
from control.grpc.operator_session import _unknown_command
from control.grpc.streams import BatchSink, serve_stream
from engine.app import Engine
from engine.chat.events import CommandFailed
from engine.chat.sessions import VisitorSession, failure
from engine.errors import Refused
from parley.v1 import visitor_pb2, visitor_pb2_grpc


def _visitor_batch(events: list[Any]) -> visitor_pb2.VisitorEventBatch:
    return visitor_pb2.VisitorEventBatch(
        events=[
            e if isinstance(e, visitor_pb2.VisitorEvent) else converters.visitor_event(e)
            for e in events
        ]
    )


class VisitorChannelService(visitor_pb2_grpc.VisitorChannelServicer):  # type: ignore[misc]
    def __init__(self, engine: Engine, backlog: int = 100_000) -> None:
        self.engine = engine
        self.backlog = backlog

    async def Connect(
        self, request_iterator: AsyncIterator[Any], context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[Any]:
        principal = await stream_caller(self.engine, context, "/parley.v1.VisitorChannel/Connect")
        sink = BatchSink(self.backlog)
        holder: list[VisitorSession] = []

        async def handle(command: Any) -> None:
            which = command.WhichOneof("command")
            if which == "hello":
                if holder:
                    sink.push(CommandFailed("already_hello", "hello was sent already"))
                    return
                h = command.hello
                site = self.engine.directory.sites.get(h.site_id)
                if site is None or site.account_id != principal.account_id:
                    sink.push(CommandFailed("unknown_site", f"no site {h.site_id[:40]!r}"))
                    return
                session = VisitorSession(self.engine, site, sink)
                session.ip = h.ip[:64] or peer_address(context)
                session.user_agent = h.user_agent[:2000]
                try:
                    w = await session.hello(
                        department_id=h.department_id,
                        token=h.token,
                        last_seq=h.last_seq,
                        name=h.name,
                        email=h.email,
                        region_id=h.region_id,
                        page_url=h.page_url,
                        language=h.language,
                        page_title=h.page_title,
                        referrer=h.referrer,
                        tz_offset_minutes=h.tz_offset_minutes,
                    )
                except Refused as error:
                    sink.push(failure(error))
                    return
                holder.append(session)
                sink.push(
                    visitor_pb2.VisitorEvent(  # type: ignore[arg-type]
                        welcome=visitor_pb2.VisitorWelcome(
                            visitor_id=w["visitor_id"],
                            token=w["token"],
                            conversation_id=w["conversation_id"],
                            last_seq=w["last_seq"],
                            departments=converters.departments_pb(w["departments"]),
                        )
                    )
                )
            elif which == "send":
                if not holder:
                    sink.push(
                        CommandFailed(
                            "no_hello", "send hello first", False, command.send.client_msg_id
                        )
                    )
                    return
                holder[0].send(command.send.client_msg_id, command.send.text)
            elif which == "rate":
                if not holder:
                    sink.push(CommandFailed("no_hello", "send hello first"))
                    return
                holder[0].rate(command.rate.score, command.rate.comment)
            elif which == "typing":
                if holder:
                    holder[0].typing(command.typing.active, command.typing.text)
            elif which == "read":
                if not holder:
                    sink.push(CommandFailed("no_hello", "send hello first"))
                    return
                holder[0].read(command.read.seq)
            elif which == "choose":
                if not holder:
                    sink.push(CommandFailed("no_hello", "send hello first"))
                    return
                holder[0].choose(command.choose.department_id, command.choose.region_id)
            elif which == "page":
                if not holder:
                    sink.push(CommandFailed("no_hello", "send hello first"))
                    return
                holder[0].page(command.page.url, command.page.title)
            elif which == "ticket":
                if not holder:
                    sink.push(CommandFailed("no_hello", "send hello first"))
                    return
                t = command.ticket
                holder[0].leave_ticket(t.name, t.email, t.text)
            else:
                sink.push(_unknown_command())

        def detach() -> None:
            for session in holder:
                session.detach()

        async for out in serve_stream(
            context, request_iterator, handle, sink, _visitor_batch, detach
        ):
            yield out
