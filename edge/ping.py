"""Websocket pings, answered by each connection rather than by picows.

picows' own answer is off (``edge.server.picows_options``, and the split edge's
listener): a visitor's pings, pongs and stray continuations spend its rate
buckets like any frame, and a visitor whose socket is watched for room is
looked at after each pong (the transport, paused while it watches, does not
say when the whole send bound is passed). A console spends its bridge's
bucket. A console login and an upload, which have no rate of their own, spend
a bucket of control frames (:func:`control_bucket`, :func:`control_frame`):
past it they are closed 4429, so no frame goes unmetered.
"""

from __future__ import annotations

import time
from typing import cast

from picows import WSCloseCode, WSFrame, WSMsgType, WSTransport

from edge.visitor.codes import CLOSE_RATE
from edge.visitor.protocol import TokenBucket

CONTROL_RATE = 5.0  # pings and pongs a second, sustained, where nothing else is metered
CONTROL_BURST = 20.0


def answer_ping(transport: WSTransport, frame: WSFrame) -> None:
    """Answer a websocket ping with its payload (RFC 6455, 5.5.3)."""
    transport.send_pong(frame.get_payload_as_bytes())


def control_bucket() -> TokenBucket:
    """The bucket of a connection's pings and pongs (a login's, an upload's)."""
    return TokenBucket(time.monotonic(), CONTROL_RATE, CONTROL_BURST)


def control_frame(transport: WSTransport, frame: WSFrame, bucket: TokenBucket) -> None:
    """A ping answered or a pong let be, each spending ``bucket``; past it the
    connection is closed 4429 (a flood is not answered)."""
    if not bucket.take(time.monotonic()):
        transport.send_close(cast(WSCloseCode, CLOSE_RATE), b"too many frames")
        transport.disconnect()
        return
    if frame.msg_type is WSMsgType.PING:
        answer_ping(transport, frame)
