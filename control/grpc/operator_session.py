"""The OperatorSession service: one operator's session stream.

The stream's first command is a hello (with resume points); the session then
pushes the operator's chats, the operators list and the board as batches of
events, and carries the operator's commands to the engine.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc

from control import converters
from control.grpc.calls import stream_caller
from control.grpc.streams import BatchSink, serve_stream
from engine.app import Engine
from engine.chat.events import CommandFailed, Event
from engine.chat.sessions import OperatorSession, failure
from engine.errors import Refused
from parley.v1 import operator_pb2, operator_pb2_grpc


def _operator_batch(events: list[Event]) -> operator_pb2.OperatorEventBatch:
    out = operator_pb2.OperatorEventBatch()
    converters.add_operator_events(out, events)
    return out


class OperatorSessionService(operator_pb2_grpc.OperatorSessionServicer):  # type: ignore[misc]
    def __init__(self, engine: Engine, backlog: int = 100_000) -> None:
        self.engine = engine
        self.backlog = backlog

    async def Connect(
        self, request_iterator: AsyncIterator[Any], context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[Any]:
        principal = await stream_caller(self.engine, context, "/parley.v1.OperatorSession/Connect")
        sink = BatchSink(self.backlog)
        session = OperatorSession(self.engine, principal, sink)

        async def handle(command: Any) -> None:
            which = command.WhichOneof("command")
            if which == "send":
                s = command.send
                session.send(s.conversation_id, s.client_msg_id, s.text)
            elif which == "close":
                session.close_conversation(command.close.conversation_id)
            elif which == "typing":
                session.typing(command.typing.conversation_id, command.typing.active)
            elif which == "read":
                session.read(command.read.conversation_id, command.read.seq)
            elif which == "status":
                session.set_status(command.status.status)
            elif which == "answer":
                session.answer_offer(command.answer.conversation_id, command.answer.accept)
            elif which == "pick":
                await session.pick(command.pick.conversation_id)
            elif which == "action":
                a = command.action
                kind = a.WhichOneof("action")
                fields: dict[str, Any] = {
                    "join": {"invisible": a.join.invisible},
                    "leave": {},
                    "invite_operator_id": {"operator_id": a.invite_operator_id},
                    "transfer_to_operator_id": {"operator_id": a.transfer_to_operator_id},
                    "transfer_to_department_id": {"department_id": a.transfer_to_department_id},
                    "take_over": {"from_id": a.take_over.from_operator_id},
                    "chat_status": {"status": a.chat_status},
                }.get(kind or "", {})
                action = _ACTIONS.get(kind or "", "")
                if not action:
                    sink.push(_unknown_command())
                else:
                    await session.act(a.conversation_id, action, **fields)
            elif which == "direct":
                d = command.direct
                session.direct(d.to_operator_id, d.client_msg_id, d.text)
            elif which == "whisper":
                w = command.whisper
                session.whisper(w.conversation_id, w.client_msg_id, w.text)
            elif which == "hello":
                try:
                    name, max_chats = await session.hello(
                        {r.conversation_id: r.after_seq for r in command.hello.resume}
                    )
                except Refused as error:
                    sink.push(failure(error))
                    return
                ready = operator_pb2.OperatorEvent(
                    ready=operator_pb2.SessionReady(
                        operator_id=principal.operator_id,
                        display_name=name,
                        max_chats=max_chats,
                        status=session.status,
                    )
                )
                sink.push(ready)  # type: ignore[arg-type]
                await session.watch()
            else:
                sink.push(_unknown_command())

        async for out in serve_stream(
            context, request_iterator, handle, sink, _operator_batch, session.detach
        ):
            yield out


_ACTIONS = {
    "join": "join",
    "leave": "leave",
    "invite_operator_id": "invite",
    "transfer_to_operator_id": "transfer",
    "transfer_to_department_id": "transfer",
    "take_over": "take_over",
    "chat_status": "chat_status",
}


def _unknown_command() -> CommandFailed:
    return CommandFailed("unknown_command", "this server does not know that command")
