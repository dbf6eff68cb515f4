"""One visitor's data through the real server: export as JSON, erasure that
leaves no trace in any file of the data directory (LMDB, the history index)
while other visitors' chats stay, and the refusals (unknown visitor, bad email,
erasing twice, an open chat, a role without the permission)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import grpc
import orjson
import pytest

from parley.v1 import control_pb2 as pb
from parley.v1 import operator_pb2
from tests.integration.helpers import (
    Operator,
    Visitor,
    error_info,
    on_duty,
    owner,
    running,
    visitor_url,
)


def _close(conv: str) -> Any:
    return operator_pb2.OperatorCommand(close=operator_pb2.CloseConversation(conversation_id=conv))


async def chat(
    app: Any, op: Operator, text: str, email: str, close: bool = True
) -> tuple[str, str]:
    """A visitor who gave ``email`` says ``text``, is answered; (its id, the chat)."""
    v = await Visitor(visitor_url(app)).connect()
    welcome = await v.hello(name="Ann Example", email=email)
    v.send({"type": "msg", "cid": "1", "text": text})
    ack = await v.recv("ack")
    conv = ack["conversation"]
    await op.recv("assigned")
    op.say(conv, "r1", "answered " + text)
    await v.recv("msg")
    if close:
        op.send_commands(_close(conv))
        await v.recv("closed")
    await v.close()
    return welcome["visitor"], conv


async def settled_and_indexed(app: Any) -> None:
    await app.engine.settle()
    assert await asyncio.to_thread(app.engine.history.wait_current)


def files_holding(data_dir: Path, needle: bytes) -> list[str]:
    """Every file of the data directory whose bytes hold ``needle``."""
    return sorted(
        str(f.relative_to(data_dir))
        for f in data_dir.rglob("*")
        if f.is_file() and needle in f.read_bytes()
    )


async def refusal(call: Any) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value.code(), error_info(caught.value).reason


async def test_export_then_erase_leaves_no_trace_and_spares_others(tmp_path: Path) -> None:
    secret, kept = "zanzibarquokka71", "kilimanjaroibex42"
    async with running(tmp_path, history=True) as app:
        op = await on_duty(app)
        boss = await owner(app)
        meta = boss.metadata
        ann, first = await chat(app, op, f"my code is {secret}", "ann@shop.example")
        bob, other = await chat(app, op, f"mine is {kept}", "bob@shop.example")
        await settled_and_indexed(app)
        data = app.config.data_dir
        assert files_holding(data, secret.encode())  # there before

        exported = await boss.api.visitors.ExportVisitor(
            pb.ExportVisitorRequest(email="ANN@shop.example"), metadata=meta
        )
        assert list(exported.visitor_ids) == [ann]
        (doc,) = orjson.loads(exported.document)["visitors"]
        assert (doc["id"], doc["email"], doc["name"]) == (ann, "ann@shop.example", "Ann Example")
        (conv,) = doc["conversations"]
        assert conv["id"] == first and conv["status"] == "closed"
        texts = [(m["author_kind"], m["text"]) for m in conv["messages"] if m["text"]]
        assert ("visitor", f"my code is {secret}") in texts
        assert ("operator", f"answered my code is {secret}") in texts
        assert all(m["at_ms"] > 0 for m in conv["messages"])

        erased = await boss.api.visitors.EraseVisitor(
            pb.EraseVisitorRequest(visitor_id=ann), metadata=meta
        )
        assert list(erased.visitor_ids) == [ann]
        assert (erased.conversations, erased.messages >= 2) == (1, True)
        await settled_and_indexed(app)
        assert app.engine.store.compaction_pending
        found = await op.api.conversations.SearchConversations(
            pb.SearchConversationsRequest(query=kept), metadata=op.metadata
        )
        assert {h.conversation.id for h in found.hits} == {other}
        none = await op.api.conversations.SearchConversations(
            pb.SearchConversationsRequest(query=secret), metadata=op.metadata
        )
        assert list(none.hits) == []
        assert app.engine.transcript(first) == []
        assert [m.text for m in app.engine.transcript(other)][:1] == [f"mine is {kept}"]

        # Twice: a clear answer; by email: nobody gave it any more.
        assert await refusal(
            boss.api.visitors.EraseVisitor(pb.EraseVisitorRequest(visitor_id=ann), metadata=meta)
        ) == (grpc.StatusCode.FAILED_PRECONDITION, "VISITOR_ERASED")
        assert await refusal(
            boss.api.visitors.ExportVisitor(
                pb.ExportVisitorRequest(email="ann@shop.example"), metadata=meta
            )
        ) == (grpc.StatusCode.NOT_FOUND, "UNKNOWN_VISITOR")

        # The audit log names the erasure by ids, and holds no personal text.
        events = await boss.api.audit.ListAuditEvents(
            pb.ListAuditEventsRequest(kind="Visitors.EraseVisitor"), metadata=meta
        )
        assert [e.outcome for e in events.events] == ["VISITOR_ERASED".lower(), "ok"]
        assert ann in events.events[1].target_ids
        assert bob != ann

    # Out of every read at once; out of the data file once the store next opens
    # (it rewrites the file with its live pages before serving).
    async with running(tmp_path, history=True) as app:
        assert app.engine is not None and app.engine.store.compactions == 1
        await settled_and_indexed(app)
    assert files_holding(data, secret.encode()) == []
    assert files_holding(data, b"ann@shop.example") == []
    assert files_holding(data, kept.encode())  # Bob's chat is still there


async def test_bad_requests_and_open_chats_are_refused(tmp_path: Path) -> None:
    async with running(tmp_path, history=True) as app:
        op = await on_duty(app)
        boss = await owner(app)
        meta = boss.metadata
        erase = boss.api.visitors.EraseVisitor
        assert await refusal(
            erase(pb.EraseVisitorRequest(visitor_id="vnobody"), metadata=meta)
        ) == (grpc.StatusCode.NOT_FOUND, "UNKNOWN_VISITOR")
        assert await refusal(
            erase(pb.EraseVisitorRequest(email="nobody@shop.example"), metadata=meta)
        ) == (grpc.StatusCode.NOT_FOUND, "UNKNOWN_VISITOR")
        assert await refusal(
            erase(pb.EraseVisitorRequest(email="not-an-email"), metadata=meta)
        ) == (
            grpc.StatusCode.INVALID_ARGUMENT,
            "INVALID_EMAIL",
        )
        assert await refusal(erase(pb.EraseVisitorRequest(), metadata=meta)) == (
            grpc.StatusCode.INVALID_ARGUMENT,
            "INVALID_ARGUMENT",
        )
        ann, conv = await chat(app, op, "still talking", "ann@shop.example", close=False)
        assert await refusal(erase(pb.EraseVisitorRequest(visitor_id=ann), metadata=meta)) == (
            grpc.StatusCode.FAILED_PRECONDITION,
            "VISITOR_IN_CHAT",
        )
        # An operator may neither export nor erase.
        assert await refusal(
            op.api.visitors.ExportVisitor(
                pb.ExportVisitorRequest(visitor_id=ann), metadata=op.metadata
            )
        ) == (grpc.StatusCode.PERMISSION_DENIED, "PERMISSION_DENIED")
        assert await refusal(
            op.api.visitors.EraseVisitor(
                pb.EraseVisitorRequest(visitor_id=ann), metadata=op.metadata
            )
        ) == (grpc.StatusCode.PERMISSION_DENIED, "PERMISSION_DENIED")
        assert app.engine.transcript(conv)
