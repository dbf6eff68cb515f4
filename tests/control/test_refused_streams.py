"""A stream refused as it opens (a bad token, a stop) ends with the refusal's
own status, whether the client writes its hello at once, later, or never."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from control.grpc import calls
from parley.v1 import operator_pb2, operator_pb2_grpc
from tests.integration.helpers import running

BAD = (("authorization", "Bearer not-a-token"),)
HELLO = operator_pb2.OperatorCommandBatch(
    commands=[operator_pb2.OperatorCommand(hello=operator_pb2.OperatorHello())]
)


async def refusal(call: grpc.aio.StreamStreamCall) -> tuple[grpc.StatusCode, str]:  # type: ignore[type-arg]
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call.read()
    return info.value.code(), info.value.details() or ""


async def test_a_refused_stream_ends_with_its_status_however_the_client_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server waits for the client's first batch (at most
    FIRST_REQUEST_WAIT) before it ends a refused stream: a write that met the
    call already ended would make the client's gRPC report INTERNAL instead."""
    monkeypatch.setattr(calls, "FIRST_REQUEST_WAIT", 0.2)
    async with (
        running(tmp_path) as app,
        grpc.aio.insecure_channel(f"127.0.0.1:{app.grpc_port}") as channel,
    ):
        stub = operator_pb2_grpc.OperatorSessionStub(channel)
        # The hello at once, as every client writes it.
        call = stub.Connect(metadata=BAD)
        await call.write(HELLO)
        code, details = await refusal(call)
        assert code is grpc.StatusCode.UNAUTHENTICATED and details.startswith("bad_token")
        # No hello, but the client's end of writing: refused at once.
        call = stub.Connect(metadata=BAD)
        await call.done_writing()
        code, details = await refusal(call)
        assert code is grpc.StatusCode.UNAUTHENTICATED and details.startswith("bad_token")
        # Nothing at all: refused once the wait is over, not held open.
        call = stub.Connect(metadata=BAD)
        code, details = await refusal(call)
        assert code is grpc.StatusCode.UNAUTHENTICATED and details.startswith("bad_token")
