"""The visitor protocol without I/O: every input gives a command or a clear error."""

from __future__ import annotations

import typing

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.visitor.frames import (
    Command,
    FrameError,
    Hello,
    Ping,
    Send,
    client_hello,
    client_msg,
    encode_event,
)
from edge.visitor.protocol import MAX_BAD_IN_A_ROW, MAX_FRAME, VisitorProtocol
from engine.chat.commands import UnknownCommand
from tests.samples import EVENTS, OPERATOR_ONLY, sample

# Every frame type a client may send (frames.py's docstring), and one that is none.
TYPES = [
    "hello", "choose", "page", "msg", "typing", "read", "close", "rate", "ticket", "ping", "x",
    "prechat",
]  # fmt: skip
COMMANDS = typing.get_args(Command)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False)
    | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)
VALID = [
    orjson.dumps(doc)
    for doc in (
        {"type": "hello", "v": 1, "department": "d1", "token": "t", "last_seq": 3, "tz": -60},
        {"type": "choose", "department": "d1", "region": "r1"},
        {"type": "page", "url": "https://shop.test/a", "title": "A"},
        {"type": "decline_invitation"},
        {"type": "prechat", "name": "Ana", "email": "a@b.test", "question": "Hi", "cid": "q1"},
        {"type": "hello", "v": 1, "conversation": "c9", "last_seq": 4},
        {"type": "email_transcript", "email": "me@shop.test"},
        {"type": "msg", "cid": "c1", "text": "hello"},
        {"type": "typing", "active": True, "text": "hel"},
        {"type": "read", "seq": 4},
        {"type": "close"},
        {"type": "rate", "score": 5, "comment": "quick"},
        {"type": "ticket", "name": "Olga", "email": "o@shop.test", "text": "call me"},
        {"type": "ping"},
    )
]


def mutate(data: bytes, position: int, value: int) -> bytes:
    position %= len(data)
    return data[:position] + bytes([value]) + data[position + 1 :]


frames = st.one_of(
    st.sampled_from(VALID),
    st.builds(mutate, st.sampled_from(VALID), st.integers(0, 200), st.integers(0, 255)),
    st.binary(max_size=300),
    json_values.map(orjson.dumps),
    st.dictionaries(
        st.sampled_from(["type", "cid", "text", "v", "last_seq", "token"]), json_values, max_size=5
    ).map(orjson.dumps),
    st.fixed_dictionaries(
        {"type": st.sampled_from(TYPES)},
        optional={
            "cid": json_values,
            "text": json_values,
            "v": json_values,
            "last_seq": json_values,
            "score": st.integers(-1, 7) | json_values,
            "comment": json_values,
            "active": st.booleans() | json_values,
            "seq": st.integers(-1, 2**63) | json_values,
            "department": json_values,
            "region": json_values,
            "url": json_values,
            "title": json_values,
            "name": json_values,
            "email": json_values,
            "tz": st.integers(-900, 900) | json_values,
            "question": json_values,
            "conversation": json_values,
        },
    ).map(orjson.dumps),
)


# 200 examples of up to 30 frames: making them is nearly all of this test's time.
# What more examples would look for has tests of its own: each refusal's code
# (test_specific_refusals), the state a sequence builds (bad frames in a row, the
# rate buckets, below), every command made from the valid frames (next test), and
# the same strategy's kind of frames through a real server (integration/test_fuzz.py).
@settings(max_examples=200)
@given(st.lists(st.tuples(frames, st.booleans()), max_size=30))
def test_any_input_gives_a_command_or_an_error(inputs: list[tuple[bytes, bool]]) -> None:
    protocol = VisitorProtocol(now=0.0, rate=1e9, burst=1e9)
    for payload, is_text in inputs:
        result = protocol.receive(payload, is_text, 0.0)
        assert isinstance(result, (*COMMANDS, FrameError))
        if isinstance(result, FrameError):
            assert result.code and result.message


def test_the_fuzzed_frames_hold_every_command() -> None:
    """The fuzz above proves something of each command: its valid frames, which
    it sends as they are and mutated, make every one of them."""
    protocol = VisitorProtocol(now=0.0, rate=1e9, burst=1e9)
    made = {type(protocol.receive(frame, True, 0.0)) for frame in VALID}
    # An unknown frame type is a FrameError here; UnknownCommand is what the gRPC
    # channel makes of a command it cannot read (an empty or newer oneof).
    assert made == set(COMMANDS) - {UnknownCommand}


def test_the_client_helpers_speak_the_protocol() -> None:
    protocol = VisitorProtocol(now=0.0)
    assert protocol.receive(client_hello("d1", "tok", 5, "Bo"), True, 0.0) == Hello(
        "d1", "tok", 5, "Bo", ""
    )
    assert protocol.receive(client_msg("c1", "hi"), True, 0.0) == Send("c1", "hi")


def test_specific_refusals() -> None:
    p = VisitorProtocol(now=0.0)
    cases = {
        b"\xc3\x28": "bad_utf8",
        b"{": "bad_json",
        b"1": "bad_frame",
        b'{"type": 3}': "bad_frame",
        b'{"type": "hello", "last_seq": -1}': "bad_frame",
        b'{"type": "hello", "last_seq": true}': "bad_frame",
        b'{"type": "hello", "name": 5}': "bad_frame",
        b'{"type": "hello", "evil": 1}': "bad_frame",
        b'{"type": "hello", "v": 2}': "bad_version",
        b'{"type": "email_transcript", "email": 5}': "bad_frame",
        b'{"type": "msg", "text": "no id"}': "bad_frame",
        b'{"type": "nope"}': "unknown_type",
        b'{"type": "rate", "score": 0}': "bad_frame",
        b'{"type": "rate", "score": 6}': "bad_frame",
        b'{"type": "rate", "score": "5"}': "bad_frame",
        b'{"type": "rate", "score": 5, "comment": 7}': "bad_frame",
        b'{"type": "hello", "last_seq": 123456789012345678901234567890}': "bad_frame",
        b'{"type": "hello", "last_seq": 18446744073709551615}': "bad_frame",
        b'{"type": "hello", "last_seq": 1.5}': "bad_frame",
        b" " * (MAX_FRAME + 1): "too_large",
    }
    for payload, code in cases.items():
        result = p.receive(payload, True, 0.0)
        assert isinstance(result, FrameError) and result.code == code, payload[:30]
        p = VisitorProtocol(now=0.0)
    assert p.receive(b"{}", False, 0.0) == FrameError("binary_frame", "frames are JSON text")


def test_too_many_bad_frames_in_a_row_close() -> None:
    p = VisitorProtocol(now=0.0)
    results = [p.receive(b"{", True, 0.0) for _ in range(MAX_BAD_IN_A_ROW)]
    assert all(isinstance(r, FrameError) for r in results)
    last = results[-1]
    assert isinstance(last, FrameError) and last.close_code == 4400
    # A good frame in between resets the count.
    p = VisitorProtocol(now=0.0, rate=1e9, burst=1e9)
    for _ in range(MAX_BAD_IN_A_ROW * 2):
        p.receive(b"{", True, 0.0)
        assert p.receive(b'{"type":"ping"}', True, 0.0) == Ping()


def test_rate_limit_refills_with_time() -> None:
    p = VisitorProtocol(now=0.0, rate=2.0, burst=3.0)
    got = [p.receive(b'{"type":"ping"}', True, 0.0) for _ in range(5)]
    assert got[:3] == [Ping()] * 3
    assert all(isinstance(r, FrameError) and r.code == "rate_limited" for r in got[3:])
    assert p.receive(b'{"type":"ping"}', True, 1.0) == Ping()  # 2 tokens back after 1 s
    flood = VisitorProtocol(now=0.0, rate=1.0, burst=1.0)
    last = None
    for _ in range(60):
        last = flood.receive(b'{"type":"ping"}', True, 0.0)
    assert isinstance(last, FrameError) and last.close_code == 4429


def test_every_event_has_a_frame() -> None:
    """Each event a visitor may receive is written as its own frame type, one
    the module's docstring lists; the operators' events are refused."""
    documented = {
        "welcome", "departments", "msg", "ack", "typing", "read", "queued", "joined",
        "closed", "rated", "ticket_saved", "invitation", "invitation_ended", "error", "pong",
        "prechat_saved",
        "transcript_sent",
    }  # fmt: skip
    kinds = {}
    for cls in EVENTS:
        if cls in OPERATOR_ONLY:
            with pytest.raises(ValueError):
                encode_event(sample(cls))
            continue
        frame = orjson.loads(encode_event(sample(cls)))
        kinds[cls.__name__] = frame["type"]
    assert set(kinds.values()) <= documented, kinds
    assert len(set(kinds.values())) == len(kinds), f"two events share a frame: {kinds}"
    assert len(kinds) == len(EVENTS) - len(OPERATOR_ONLY) > 0


def test_a_shared_bucket_limits_all_connections_of_an_address() -> None:
    from edge.visitor.protocol import TokenBucket

    shared = TokenBucket(0.0, rate=1.0, burst=2.0)
    one, two = VisitorProtocol(now=0.0), VisitorProtocol(now=0.0)
    one.shared = two.shared = shared
    results = [
        one.receive(b'{"type":"ping"}', True, 0.0),
        two.receive(b'{"type":"ping"}', True, 0.0),
        two.receive(b'{"type":"ping"}', True, 0.0),
    ]
    assert results[:2] == [Ping(), Ping()]
    assert isinstance(results[2], FrameError) and results[2].code == "rate_limited"


def test_malformed_frames_spend_from_the_bucket() -> None:
    """A bad frame costs a token like a good one: past the burst a flood of
    malformed frames is answered rate_limited, not one parse error each, and the
    good frame after it waits for the bucket to refill like any other."""
    p = VisitorProtocol(now=0.0, rate=2.0, burst=3.0)
    got = [p.receive(b"{not json", True, 0.0) for _ in range(5)]
    assert [r.code for r in got if isinstance(r, FrameError)] == ["bad_json"] * 3 + [
        "rate_limited"
    ] * 2
    assert p.receive(b'{"type":"ping"}', True, 0.0) == FrameError(
        "rate_limited", "too many frames; slow down"
    )
    assert p.receive(b'{"type":"ping"}', True, 1.0) == Ping()  # 2 tokens back after 1 s
    # Every kind of bad frame spends: binary, oversized, bad UTF-8, wrong shape.
    for bad in (
        (b"{}", False),
        (b"x" * (MAX_FRAME + 1), True),
        (b'{"type": "msg", "cid": "a", "text": "\xff"}', True),
        (b"[1]", True),
        (b'{"type": "teleport"}', True),
    ):
        q = VisitorProtocol(now=0.0, rate=1.0, burst=1.0)
        first, second = q.receive(*bad, 0.0), q.receive(*bad, 0.0)
        assert isinstance(first, FrameError) and first.code != "rate_limited", bad[0][:20]
        assert isinstance(second, FrameError) and second.code == "rate_limited", bad[0][:20]


def test_a_flood_of_malformed_frames_closes_as_a_flood() -> None:
    """Bad frames interleaved with pings (so never MAX_BAD_IN_A_ROW in a row)
    are cut by the rate limit and, kept up, close the connection with 4429."""
    p = VisitorProtocol(now=0.0)
    codes = []
    last: Command | FrameError | None = None
    for i in range(300):
        last = p.receive(b"{not json" if i % 2 else b'{"type":"ping"}', True, 0.0)
        if isinstance(last, FrameError):
            codes.append(last.code)
            if last.close_code:
                break
    assert isinstance(last, FrameError) and last.close_code == 4429
    assert codes.count("bad_json") == 30  # half the burst of 60; the rest refused
    assert "too_many_errors" not in codes


def test_bad_frames_spend_from_the_address_bucket() -> None:
    from edge.visitor.protocol import TokenBucket

    shared = TokenBucket(0.0, rate=1.0, burst=2.0)
    one, two = VisitorProtocol(now=0.0), VisitorProtocol(now=0.0)
    one.shared = two.shared = shared
    assert isinstance(one.receive(b"{", True, 0.0), FrameError)
    assert isinstance(two.receive(b"[]", True, 0.0), FrameError)
    refused = two.receive(b'{"type":"ping"}', True, 0.0)
    assert isinstance(refused, FrameError) and refused.code == "rate_limited"


def test_a_refused_message_keeps_its_client_id() -> None:
    """A msg refused by the rate limit names its cid, so the client sends it again."""
    p = VisitorProtocol(now=0.0, rate=1.0, burst=1.0)
    assert p.receive(b'{"type":"ping"}', True, 0.0) == Ping()
    refused = p.receive(client_msg("c7", "hello"), True, 0.0)
    assert refused == FrameError("rate_limited", "too many frames; slow down", "c7")
    assert p.receive(client_msg("c7", "hello"), True, 1.0) == Send("c7", "hello")


def test_a_refusal_of_load_says_when_to_send_again() -> None:
    from edge.visitor.frames import RETRY_OVERLOADED_MS, encode_event
    from engine.chat.events import CommandFailed

    busy = orjson.loads(encode_event(CommandFailed("overloaded", "busy", True, "c1")))
    assert (busy["code"], busy["retryable"], busy["cid"]) == ("overloaded", True, "c1")
    assert busy["retry_after_ms"] == RETRY_OVERLOADED_MS
    closed = orjson.loads(encode_event(CommandFailed("conversation_closed", "closed", False, "c2")))
    assert "retry_after_ms" not in closed
