"""The epoch in the visitor protocol, without a server: the hello carries the
epoch its seqs were seen in, the welcome the server's, and the rule that tells
a client its seqs are of other data."""

from __future__ import annotations

import orjson

from edge.visitor.frames import FrameError, Hello, encode_epoch_changed, encode_welcome
from edge.visitor.protocol import VisitorProtocol
from engine.backup import epoch_changed


def test_the_hello_carries_its_epoch() -> None:
    protocol = VisitorProtocol(now=0.0, rate=1e9, burst=1e9)
    hello = protocol.receive(b'{"type":"hello","v":1,"last_seq":7,"epoch":"eold"}', True, 0.0)
    assert isinstance(hello, Hello) and hello.epoch == "eold" and hello.last_seq == 7
    plain = protocol.receive(b'{"type":"hello","v":1}', True, 0.0)
    assert isinstance(plain, Hello) and plain.epoch == ""
    bad = protocol.receive(b'{"type":"hello","v":1,"epoch":5}', True, 0.0)
    assert isinstance(bad, FrameError) and bad.code == "bad_frame"


def test_the_welcome_and_the_notice_name_the_servers_epoch() -> None:
    welcome = orjson.loads(encode_welcome("v1", "t", "c1", 4, None, "enew", True))
    assert welcome["epoch"] == "enew" and welcome["epoch_changed"] is True
    assert orjson.loads(encode_epoch_changed("enew")) == {"type": "epoch_changed", "epoch": "enew"}


def test_only_another_named_epoch_is_a_change() -> None:
    assert epoch_changed("enew", "eold")
    assert not epoch_changed("enew", "enew")
    assert not epoch_changed("enew", "")  # a client that names none is taken at its word
