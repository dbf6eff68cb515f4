"""Clients of the attachment routes for tests: an upload over the edge's
upload websocket (picows), a GET of a file, and an upload over gRPC."""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request
from typing import Any

import orjson
from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from control.runner import Parley
from parley.v1 import control_pb2
from tests.integration.helpers import Operator

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x02\x00\x00\x00\x03\x08\x02\x00\x00\x00"
    + bytes(range(256)) * 40
)
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200 + b"PE\x00\x00"


class _Frames(WSListener):  # type: ignore[misc]
    def __init__(self, inbox: asyncio.Queue[dict[str, Any]]) -> None:
        self.inbox = inbox

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is WSMsgType.TEXT:
            self.inbox.put_nowait(orjson.loads(frame.get_payload_as_bytes()))
        elif frame.msg_type is WSMsgType.CLOSE:
            transport.disconnect()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.inbox.put_nowait({"type": "_closed"})


def _where(app: Parley | str) -> str:
    """host:port of the edge: a running app's, or as given."""
    return app if isinstance(app, str) else f"127.0.0.1:{app.http_port}"


async def ws_upload(
    app: Parley | str,
    token: str,
    conversation: str,
    data: bytes,
    name: str = "photo.png",
    cid: str = "f1",
    as_: str = "visitor",
    size: int | None = None,
    piece: int = 60 * 1024,
) -> dict[str, Any]:
    """Send a file over /v1/upload; the server's last answer (done or error)."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    url = f"ws://{_where(app)}/v1/upload"
    transport, _listener = await ws_connect(lambda: _Frames(inbox), url)
    header = {"token": token, "as": as_, "conversation": conversation, "name": name, "cid": cid}
    header["size"] = len(data) if size is None else size
    transport.send(WSMsgType.TEXT, orjson.dumps(header))
    try:
        async with asyncio.timeout(10):
            first = await inbox.get()
            if first["type"] != "ready":
                return first
            for at in range(0, len(data), piece):
                transport.send(WSMsgType.BINARY, data[at : at + piece])
            while True:
                frame = await inbox.get()
                if frame["type"] in ("done", "error", "_closed"):
                    return frame
    finally:
        transport.disconnect()
        await transport.wait_disconnected()


def _get(url: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


async def get_file(
    app: Parley | str, conversation: str, digest: str, headers: dict[str, str], query: str = ""
) -> tuple[int, dict[str, str], bytes]:
    url = f"http://{_where(app)}/v1/files/{conversation}/{digest}{query}"
    return await asyncio.to_thread(_get, url, headers)


async def grpc_upload(
    op: Operator, conversation: str, data: bytes, name: str, cid: str, piece: int = 64 * 1024
) -> control_pb2.UploadAttachmentResponse:
    """Send a file over Attachments.UploadAttachment, a piece per call."""
    stub = op.api.attachments
    reply = await stub.UploadAttachment(
        control_pb2.UploadAttachmentRequest(
            conversation_id=conversation, name=name, size=len(data), client_msg_id=cid,
            data=data[:piece],
        ),
        metadata=op.metadata,
    )  # fmt: skip
    while reply.received < len(data):
        at = reply.received
        reply = await stub.UploadAttachment(
            control_pb2.UploadAttachmentRequest(
                upload_id=reply.upload_id, conversation_id=conversation, offset=at,
                data=data[at : at + piece],
            ),
            metadata=op.metadata,
        )  # fmt: skip
    return reply
