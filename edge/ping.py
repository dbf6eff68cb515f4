"""Websocket pings, answered by each connection rather than by picows.

picows' own answer is off (``edge.server.picows_options``, and the split edge's
listener): a visitor's pings spend its rate buckets like any frame, and a
visitor whose socket is watched for room is looked at after each pong (the
transport, paused while it watches, does not say when the whole send bound is
passed). Every other connection (consoles, logins, uploads) answers with this.
"""

from __future__ import annotations

from picows import WSFrame, WSTransport


def answer_ping(transport: WSTransport, frame: WSFrame) -> None:
    """Answer a websocket ping with its payload (RFC 6455, 5.5.3)."""
    transport.send_pong(frame.get_payload_as_bytes())
