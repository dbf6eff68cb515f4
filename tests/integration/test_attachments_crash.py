"""kill -9 right after an acknowledged upload: the file and its message are
both there after the restart, and the file is still served to the chat."""

from __future__ import annotations

import hashlib
import signal
from pathlib import Path

import grpc

from parley.v1 import control_pb2, control_pb2_grpc
from tests.integration.attach_clients import PNG, get_file, ws_upload
from tests.integration.helpers import Visitor
from tests.integration.process import serve
from tests.integration.test_durability import on_duty


async def test_an_acknowledged_attachment_survives_kill_9(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = await serve(data)
    channel, call = await on_duty(server.info)
    v = await Visitor(server.visitor_url()).connect()
    await v.hello()
    v.send({"type": "msg", "cid": "m1", "text": "here is the photo"})
    conv = (await v.recv("ack"))["conversation"]
    token = v.welcome["token"]
    done = await ws_upload(server.info["ws"], token, conv, PNG, cid="f1")
    assert done["type"] == "done", done
    server.proc.send_signal(signal.SIGKILL)  # at once after the acknowledgement
    await server.stop(None)
    call.cancel()
    await channel.close()

    again = await serve(data)
    try:
        digest = hashlib.sha256(PNG).hexdigest()
        status, headers, body = await get_file(
            again.info["ws"], conv, digest, {"X-Parley-Visitor": token}
        )
        assert (status, body) == (200, PNG) and headers["Content-Type"] == "image/png"
        async with grpc.aio.insecure_channel(again.info["grpc"]) as ch:
            login = await control_pb2_grpc.AuthStub(ch).Login(
                control_pb2.LoginRequest(
                    email=again.info["demo_email"], password=again.info["demo_password"]
                )
            )
            listed = await control_pb2_grpc.ConversationsStub(ch).ListMessages(
                control_pb2.ListMessagesRequest(conversation_id=conv),
                metadata=[("authorization", f"Bearer {login.token}")],
            )
        (message,) = [m for m in listed.messages if m.attachment.sha256]
        assert (message.seq, message.attachment.sha256) == (done["seq"], digest)
    finally:
        await again.stop()
