"""Overload in one process (``parley serve``): past the engine's backlog of
messages accepted and not yet stored (``message_backlog``, all chats together)
a new message is refused ``overloaded`` with the retry hint before anything of
it is stored or acknowledged; every acknowledged one is stored at its seq and a
refused one, sent again, is taken once."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson

from control.runner import Parley
from edge.visitor.frames import RETRY_OVERLOADED_MS
from engine.chat.journal import WAITING_POSTS
from engine.chat.limits import Limits
from parley.v1 import operator_pb2
from tests.integration.helpers import Visitor, on_duty, running, settled, visitor_url

BACKLOG = 40  # the test's bound: far under one chat's own (WAITING_POSTS)
BURST = 100  # messages each visitor writes at once: under WAITING_POSTS, over BACKLOG
UNLIMITED = {
    "visitor_rate": 100_000.0,
    "visitor_burst": 100_000.0,
    "ip_rate": 100_000.0,
    "ip_burst": 100_000.0,
}


def masked(doc: dict[str, Any]) -> bytes:
    """A client-to-server websocket text frame (RFC 6455, masked)."""
    payload = orjson.dumps(doc)
    mask = os.urandom(4)
    n = len(payload)
    head = bytes([0x81, 0x80 | n]) if n < 126 else bytes([0x81, 0xFE]) + n.to_bytes(2, "big")
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


async def answers(v: Visitor, cids: set[str]) -> dict[str, dict[str, Any]]:
    """The ack or error frame of each of ``cids``, by cid."""
    got: dict[str, dict[str, Any]] = {}
    while len(got) < len(cids):
        frame = await v.recv()
        if frame["type"] == "_disconnected":
            raise ConnectionResetError(frame)
        if frame["type"] in ("ack", "error") and frame.get("cid") in cids:
            got[frame["cid"]] = frame
    return got


def stored(app: Parley, conversation: str) -> dict[str, int]:
    """The client ids of a conversation's stored messages, with their seqs."""
    assert app.engine is not None
    return {
        m.client_msg_id: m.seq
        for m in app.engine.transcript(conversation, 0, 10_000)
        if m.client_msg_id
    }


async def test_a_flood_past_the_engines_backlog_is_refused_with_the_hint(tmp_path: Path) -> None:
    """Four chats each take a burst of BURST messages in one write: no chat
    holds near its own bound (WAITING_POSTS), so only the engine-wide one
    refuses; without it nothing would be."""
    assert BURST < WAITING_POSTS
    async with running(
        tmp_path,
        message_backlog=BACKLOG,
        limits=Limits(visitor_messages_per_hour=0),
        **UNLIMITED,
    ) as app:
        assert app.engine is not None and app.engine.backlog.limit == BACKLOG
        await on_duty(app)
        visitors, conversations = [], []
        for i in range(4):
            v = await Visitor(visitor_url(app)).connect()
            await v.hello(name=f"visitor {i}")
            v.send({"type": "msg", "cid": f"v{i}-open", "text": "hello"})
            opened = await answers(v, {f"v{i}-open"})
            visitors.append(v)
            conversations.append(opened[f"v{i}-open"]["conversation"])
        # Each visitor's burst is one write, so the server reads it at once,
        # far faster than a commit lands.
        cids = [{f"v{i}-{n}" for n in range(BURST)} for i in range(4)]
        for i, v in enumerate(visitors):
            assert v.transport is not None
            frames = [
                masked({"type": "msg", "cid": f"v{i}-{n}", "text": f"message {n}"})
                for n in range(BURST)
            ]
            v.transport.underlying_transport.write(b"".join(frames))
        results = [await answers(v, want) for v, want in zip(visitors, cids, strict=True)]

        refused = [f for r in results for f in r.values() if f["type"] == "error"]
        assert refused, "nothing refused: the engine's backlog is not bounded"
        for frame in refused:
            assert frame["code"] == "overloaded" and frame["retryable"] is True
            assert frame["retry_after_ms"] == RETRY_OVERLOADED_MS
        acked = [f for r in results for f in r.values() if f["type"] == "ack"]
        assert acked  # the bound sheds the excess, not everything
        # Every ack is stored at its seq; nothing refused is stored.
        kept: dict[str, int] = {}
        for conversation in conversations:
            kept.update(stored(app, conversation))
        assert all(kept.get(f["cid"]) == f["seq"] for f in acked)
        assert not {f["cid"] for f in refused} & set(kept)

        # Sent again (the same cid) once the store has caught up: taken, once.
        await settled(app)
        assert app.engine.backlog.waiting == 0  # nothing left counted
        for i, (v, result) in enumerate(zip(visitors, results, strict=True)):
            again = {cid for cid, f in result.items() if f["type"] == "error"}
            for cid in sorted(again):
                v.send({"type": "msg", "cid": cid, "text": "again"})
                assert (await answers(v, {cid}))[cid]["type"] == "ack"
            assert set(stored(app, conversations[i])) == {f"v{i}-open", *cids[i]}
        await settled(app)
        assert app.engine.backlog.waiting == 0


async def test_an_operators_burst_past_the_backlog_is_refused_overloaded(tmp_path: Path) -> None:
    """An operator's sends, one batch on its stream: past the engine's backlog
    they are refused ``overloaded`` (retryable) before any ack; every acked
    one is stored at its seq, no refused one is."""
    async with running(tmp_path, message_backlog=BACKLOG, **UNLIMITED) as app:
        op = await on_duty(app)
        v = await Visitor(visitor_url(app)).connect()
        await v.hello(name="Bob")
        v.send({"type": "msg", "cid": "open", "text": "hello"})
        await answers(v, {"open"})
        conversation = (await op.recv("assigned")).conversation_id
        sends = [
            operator_pb2.OperatorCommand(
                send=operator_pb2.OperatorSend(
                    conversation_id=conversation, client_msg_id=f"o{n}", text=f"answer {n}"
                )
            )
            for n in range(BURST)
        ]
        op.send_commands(*sends)
        acks, errors = {}, {}
        while len(acks) + len(errors) < BURST:
            kind, event = await op.first("ack", "error")
            (acks if kind == "ack" else errors)[event.client_msg_id] = event
        assert errors, "nothing refused: the engine's backlog is not bounded"
        assert {(e.code, e.retryable) for e in errors.values()} == {("overloaded", True)}
        assert {e.retry_after_ms for e in errors.values()} == {RETRY_OVERLOADED_MS}
        kept = stored(app, conversation)
        assert all(kept.get(cid) == a.seq for cid, a in acks.items())
        assert not set(errors) & set(kept)
        await settled(app, op)
        assert app.engine is not None and app.engine.backlog.waiting == 0


async def test_a_full_backlog_refuses_before_the_visitors_budget_is_spent(tmp_path: Path) -> None:
    """While the engine's backlog is full a message is refused at once, before
    anything is done: not stored, and the visitor's hourly budget (one message
    here) not spent, so the same message sent again once there is room is taken."""
    async with running(
        tmp_path, message_backlog=BACKLOG, limits=Limits(visitor_messages_per_hour=1)
    ) as app:
        assert app.engine is not None
        op = await on_duty(app)
        v = await Visitor(visitor_url(app)).connect()
        await v.hello(name="Bob")
        for _ in range(BACKLOG):  # another stream's unstored messages fill it
            app.engine.backlog.add("elsewhere")
        op.say("sunknown-conversation", "o1", "hi")  # an operator's send is refused too
        kind, event = await op.first("ack", "error")
        assert (kind, event.code, event.retryable) == ("error", "overloaded", True)
        v.send({"type": "msg", "cid": "m1", "text": "hello?"})
        refused = (await answers(v, {"m1"}))["m1"]
        assert (refused["type"], refused["code"], refused["retryable"]) == (
            "error",
            "overloaded",
            True,
        )
        assert refused["retry_after_ms"] == RETRY_OVERLOADED_MS
        app.engine.backlog.forget("elsewhere")
        v.send({"type": "msg", "cid": "m1", "text": "hello?"})
        ack = (await answers(v, {"m1"}))["m1"]
        assert ack["type"] == "ack" and ack["seq"] == 1, ack
        assert stored(app, ack["conversation"]) == {"m1": 1}
