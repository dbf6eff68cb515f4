"""A bare picows websocket echo server: the baseline the end-to-end benchmark
compares Parley with, on the same websocket library and the same core.

    python -m loadtest.echo_server PORT

A text frame ``burst N SIZE`` is answered with N text frames of SIZE bytes,
written at once (bench_resume's baseline: a long replay's bytes, as fast as
the socket and the client take them).
"""

from __future__ import annotations

import asyncio
import sys

import uvloop
from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_create_server


class Echo(WSListener):  # type: ignore[misc]
    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()
            return
        payload = frame.get_payload_as_bytes()
        if payload.startswith(b"burst "):
            try:
                count, size = (int(x) for x in payload.split()[1:3])
            except ValueError:
                count = size = -1
            if not (0 < count <= 1_000_000 and 0 < size <= 1 << 20):
                transport.send(WSMsgType.TEXT, b"burst: N (1 to 1,000,000) SIZE (1 to 1 MiB)")
                return
            body = b"x" * size
            for _ in range(count):
                transport.send(WSMsgType.TEXT, body)
            return
        transport.send(frame.msg_type, payload)


async def main(port: int) -> None:
    server = await ws_create_server(lambda _request: Echo(), "127.0.0.1", port)
    print(f"echo listening on ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/", flush=True)
    await asyncio.Future()


if __name__ == "__main__":
    uvloop.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 0))
