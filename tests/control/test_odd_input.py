"""Odd input never reaches a client as UNKNOWN, nor the log as a traceback.

Every RPC of the contract (read from the descriptors, so a new one cannot skip
this) is called by the owner, who may call them all, with requests whose every
field holds an odd value: empty, 10,000 characters, a NUL, extreme integers,
10,000 entries. The streams get one command of every kind, each filled the same
way, and must still answer afterwards. A call may be refused (that is the point),
but never with UNKNOWN or INTERNAL, and the server's log holds no traceback."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import symbol_database
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from parley.v1 import control_pb2, operator_pb2, visitor_pb2
from tests.control.test_permissions import REVOKING, contract_methods
from tests.integration.helpers import error_info, owner, running

KINDS = ("empty", "long", "nul", "extreme", "many")
F = FieldDescriptor
_MAX = {
    F.TYPE_INT32: 2**31 - 1,
    F.TYPE_SINT32: 2**31 - 1,
    F.TYPE_SFIXED32: 2**31 - 1,
    F.TYPE_UINT32: 2**32 - 1,
    F.TYPE_FIXED32: 2**32 - 1,
    F.TYPE_INT64: 2**63 - 1,
    F.TYPE_SINT64: 2**63 - 1,
    F.TYPE_SFIXED64: 2**63 - 1,
    F.TYPE_UINT64: 2**64 - 1,
    F.TYPE_FIXED64: 2**64 - 1,
}
_SIGNED = {F.TYPE_INT32, F.TYPE_SINT32, F.TYPE_SFIXED32, F.TYPE_INT64, F.TYPE_SINT64}


def odd_scalar(field: FieldDescriptor, kind: str) -> Any:
    if field.type in (F.TYPE_STRING, F.TYPE_BYTES):
        text = {"empty": "", "long": "x" * 10_000, "nul": "a\x00b", "extreme": "\U0010ffff"}.get(
            kind, "x"
        )
        return text.encode() if field.type == F.TYPE_BYTES else text
    if field.type == F.TYPE_BOOL:
        return kind != "empty"
    if field.type in (F.TYPE_DOUBLE, F.TYPE_FLOAT):
        return {"empty": 0.0, "extreme": float("-inf"), "nul": float("nan")}.get(kind, 1e308)
    if field.type == F.TYPE_ENUM:
        assert field.enum_type is not None
        return field.enum_type.values[-1].number
    top = _MAX[field.type]
    if kind == "empty":
        return 0
    if kind == "extreme" and field.type in _SIGNED:
        return -top - 1
    return top


def fill(message: Message, kind: str, depth: int = 0) -> Message:
    """Every field of ``message`` set to an odd value of ``kind`` (one field per
    oneof: the last one wins, as on the wire)."""
    for field in message.DESCRIPTOR.fields:
        if field.type == F.TYPE_MESSAGE:
            if depth >= 3:
                continue
            if field.is_repeated:
                count = 10_000 if kind == "many" and depth == 0 else 1
                items = getattr(message, field.name)
                for _ in range(min(count, 50) if field.message_type is not None else 0):
                    fill(items.add(), kind, depth + 1)
            else:
                fill(getattr(message, field.name), kind, depth + 1)
                if kind == "empty":
                    getattr(message, field.name).SetInParent()
        elif field.is_repeated:
            count = 10_000 if kind == "many" else 1
            getattr(message, field.name).extend([odd_scalar(field, kind)] * count)
        else:
            setattr(message, field.name, odd_scalar(field, kind))
    return message


def stream_commands(request_cls: Any, kind: str) -> list[Message]:
    """One command of every kind of the stream's batch, each filled oddly."""
    command_cls = symbol_database.Default().GetSymbol(
        request_cls.DESCRIPTOR.fields_by_name["commands"].message_type.full_name
    )
    descriptor: Descriptor = command_cls.DESCRIPTOR
    out = []
    for oneof in descriptor.oneofs:
        for field in oneof.fields:
            command = command_cls()
            fill(getattr(command, field.name), kind)
            getattr(command, field.name).SetInParent()
            out.append(command)
    return out


BAD = (grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL)


def field_names(descriptor: Descriptor) -> set[str]:
    """The request's fields and those of the messages it holds, by name."""
    names = set(descriptor.fields_by_name)
    for field in descriptor.fields:
        if field.message_type is not None:
            names |= set(field.message_type.fields_by_name)
    return names


def refusal_problem(error: grpc.aio.AioRpcError, request: Descriptor, kind: str) -> str:
    """What is wrong with a refusal's ErrorInfo, or '': it carries one, of
    Parley's, with the code in capitals as its reason; a field it names is one
    of the request's; and a value refused for its very oddness (too long, a NUL,
    too many entries: the checks every request goes through) names its field,
    as a path from the request."""
    where = f"{request.full_name} {kind} {error.code().name} {error.details()}"
    info = error_info(error)
    code = (error.details() or "").split(":")[0]
    if info.domain != "parley" or info.reason != code.upper():
        return f"{where}: ErrorInfo {info.domain!r} {info.reason!r}"
    field = info.metadata.get("field", "")
    heads = [part.split("[")[0] for part in field.split(".")]
    if field and heads[-1] not in field_names(request) and heads[0] != "update_mask":
        return f"{where}: names no field of the request: {field!r}"
    odd = ("holds a NUL", "is longer than", "entries")
    oddness = any(o in (error.details() or "") for o in odd)
    if info.reason == "INVALID_ARGUMENT" and oddness and heads[0] not in request.fields_by_name:
        return f"{where}: the field at fault is not named: {dict(info.metadata)}"
    return ""


async def read_stream(stream: Any) -> str:
    """Read until the closing empty command is answered; a problem, or ''."""
    try:
        while True:
            reply = await stream.read()
            if reply is grpc.aio.EOF:
                return "the stream ended without answering"
            for event in reply.events:
                if event.WhichOneof("event") != "error":
                    continue
                if event.error.code in ("internal", ""):
                    return str(event.error)
                if event.error.code == "unknown_command":
                    return ""
    finally:
        stream.cancel()


async def call(
    channel: grpc.aio.Channel,
    method: Any,
    path: str,
    token: str,
    kind: str,
    hellos: dict[str, Message],
) -> str:
    """Call ``path`` with odd requests of ``kind``; a problem, or ''."""
    db = symbol_database.Default()
    request_cls = db.GetSymbol(method.input_type.full_name)
    response_cls = db.GetSymbol(method.output_type.full_name)
    metadata = [("authorization", f"Bearer {token}")]
    try:
        async with asyncio.timeout(20):
            if method.client_streaming:
                stub = channel.stream_stream(
                    path,
                    request_serializer=request_cls.SerializeToString,
                    response_deserializer=response_cls.FromString,
                )
                commands = stream_commands(request_cls, kind)
                tail = type(commands[0])()  # empty: every stream answers unknown_command
                assert path in hellos, f"{path}: say here how a stream of it says hello"
                # An odd first command alone, then a good hello and every odd command.
                for opening in ([commands[0]], [hellos[path], *commands]):
                    batches = [request_cls(commands=[c]) for c in [*opening, tail]]
                    problem = await read_stream(stub(iter(batches), metadata=metadata))
                    if problem:
                        return f"{path} {kind}: {problem}"
                return ""
            stub = channel.unary_unary(
                path,
                request_serializer=request_cls.SerializeToString,
                response_deserializer=response_cls.FromString,
            )
            await stub(fill(request_cls(), kind), metadata=metadata)
            return ""
    except grpc.aio.AioRpcError as error:
        if error.code() in BAD:
            return f"{path} {kind}: {error.code().name} {error.details()}"
        return refusal_problem(error, request_cls.DESCRIPTOR, kind)


@pytest.mark.parametrize("kind", KINDS)
async def test_every_rpc_answers_odd_input_with_a_clear_code(
    tmp_path: Path, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with running(tmp_path) as app:
        assert app.demo is not None
        boss = await owner(app)
        hellos: dict[str, Message] = {
            "/parley.v1.OperatorSession/Connect": operator_pb2.OperatorCommand(
                hello=operator_pb2.OperatorHello()
            ),
            "/parley.v1.VisitorChannel/Connect": visitor_pb2.VisitorCommand(
                hello=visitor_pb2.VisitorHello(site_id=app.demo["site"])
            ),
        }
        problems = []
        async with grpc.aio.insecure_channel(f"127.0.0.1:{app.grpc_port}") as channel:
            for path, method in sorted(contract_methods().items()):
                # A call that ends its own token's session gets a token of its own.
                token = (await owner(app)).token if path in REVOKING else boss.token
                problem = await call(channel, method, path, token, kind, hellos)
                if problem:
                    problems.append(problem)
        assert app.engine is not None
        await app.engine.settle()
        tracebacks = [
            f"{r.name}: {r.getMessage()}"
            for r in caplog.records
            if r.exc_info or r.levelno >= logging.ERROR
        ]
        assert not problems, problems
        assert not tracebacks, tracebacks


async def test_an_empty_id_is_invalid_and_an_unknown_one_not_found(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        boss = await owner(app)
        for conv, status, code in (
            ("", grpc.StatusCode.INVALID_ARGUMENT, "invalid_argument: conversation_id is required"),
            ("a\x00b", grpc.StatusCode.INVALID_ARGUMENT, "invalid_argument: conversation_id holds"),
            ("x" * 65, grpc.StatusCode.INVALID_ARGUMENT, "invalid_argument: conversation_id is"),
            ("nonsense", grpc.StatusCode.NOT_FOUND, "unknown_conversation:"),
            ("sabcdefghi-abcdefghijkl", grpc.StatusCode.NOT_FOUND, "unknown_conversation:"),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await boss.api.conversations.ListMessages(
                    control_pb2.ListMessagesRequest(conversation_id=conv), metadata=boss.metadata
                )
            assert info.value.code() is status, (conv, info.value)
            assert (info.value.details() or "").startswith(code), (conv, info.value.details())
            detail = error_info(info.value)
            assert detail.domain == "parley"
            assert detail.reason == code.split(":")[0].upper(), (conv, detail)
            if status is grpc.StatusCode.INVALID_ARGUMENT:
                assert detail.metadata["field"] == "conversation_id", (conv, detail)
