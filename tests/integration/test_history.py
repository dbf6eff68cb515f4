"""The conversation history through the real server: GetConversation,
ListConversations and SearchConversations over gRPC after real chats on
websockets; who sees what; paging while chats close; bad input; ListMessages
backwards."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_status import rpc_status

from parley.v1 import control_pb2 as pb
from parley.v1 import operator_pb2
from tests.integration.helpers import Operator, Visitor, on_duty, owner, running, visitor_url


def _close(conv: str) -> Any:
    return operator_pb2.OperatorCommand(close=operator_pb2.CloseConversation(conversation_id=conv))


async def indexed(app: Any) -> None:
    """Every commit so far is in the history index."""
    await app.engine.settle()
    assert await asyncio.to_thread(app.engine.history.wait_current)


SEQS: dict[str, int] = {}  # each chat's first visitor message


async def chat(app: Any, op: Operator, text: str, close: bool = True) -> tuple[str, Visitor]:
    v = await Visitor(visitor_url(app)).connect()
    await v.hello()
    v.send({"type": "msg", "cid": "1", "text": text})
    ack = await v.recv("ack")
    conv = ack["conversation"]
    SEQS[conv] = ack["seq"]
    await op.recv("assigned")
    op.say(conv, "r1", "done, thanks")
    await v.recv("msg")
    if close:
        op.send_commands(_close(conv))
        await v.recv("closed")
    return conv, v


async def reason_of(call: Any) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    status = rpc_status.from_call(caught.value)
    assert status is not None
    from google.rpc import error_details_pb2

    info = error_details_pb2.ErrorInfo()
    status.details[0].Unpack(info)
    return caught.value.code(), info.reason


async def test_history_lists_searches_and_shows_past_chats(tmp_path: Path) -> None:
    async with running(tmp_path, history=True) as app:
        op = await on_duty(app)
        boss = await owner(app)
        meta = op.metadata
        first, v1 = await chat(app, op, "my parcel is broken")
        second, v2 = await chat(app, op, "a refund please")
        v2.send({"type": "rate", "score": 4, "comment": "kind"})
        await v2.recv("rated")
        third, v3 = await chat(app, op, "invoice question", close=False)
        await indexed(app)

        got = await op.api.conversations.GetConversation(
            pb.GetConversationRequest(conversation_id=second), metadata=meta
        )
        assert (got.status, got.ended, got.rating, got.rating_comment) == (
            "closed",
            "operator",
            4,
            "kind",
        )
        assert got.message_count == 2 and got.closed_ms >= got.started_ms > 0
        assert [o.operator_id for o in got.operators] == [got.closed_by]

        listed = await op.api.conversations.ListConversations(
            pb.ListConversationsRequest(), metadata=meta
        )
        assert [c.id for c in listed.conversations] == [third, second, first]  # newest first
        closed = await op.api.conversations.ListConversations(
            pb.ListConversationsRequest(
                filter=pb.ConversationFilter(statuses=["closed"]), order_by="rating"
            ),
            metadata=meta,
        )
        assert [c.id for c in closed.conversations] == [second, first]

        found = await op.api.conversations.SearchConversations(
            pb.SearchConversationsRequest(query="brok"), metadata=meta
        )
        (hit,) = found.hits
        assert (hit.conversation.id, hit.seq) == (first, SEQS[first])
        assert "[broken]" in hit.snippet

        # A colleague of another department, in none of these chats, sees none.
        dept = await boss.api.departments.CreateDepartment(
            pb.CreateDepartmentRequest(
                department=pb.Department(site_id=app.demo["site"], name="Other")
            ),
            metadata=boss.metadata,
        )
        await boss.api.operators.CreateOperator(
            pb.CreateOperatorRequest(
                operator=pb.Operator(
                    email="lee@shop.example",
                    display_name="Lee",
                    role="operator",
                    department_ids=[dept.id],
                ),
                password="lee-password",
            ),
            metadata=boss.metadata,
        )
        lee = await Operator(app).login("lee@shop.example", "lee-password")
        none = await lee.api.conversations.ListConversations(
            pb.ListConversationsRequest(), metadata=lee.metadata
        )
        assert list(none.conversations) == []
        assert await reason_of(
            lee.api.conversations.GetConversation(
                pb.GetConversationRequest(conversation_id=first), metadata=lee.metadata
            )
        ) == (grpc.StatusCode.NOT_FOUND, "UNKNOWN_CONVERSATION")
        everything = await boss.api.conversations.ListConversations(
            pb.ListConversationsRequest(), metadata=boss.metadata
        )
        assert len(everything.conversations) == 3

        # Paging while chats close: each chat seen once.
        page = await op.api.conversations.ListConversations(
            pb.ListConversationsRequest(page_size=1), metadata=meta
        )
        seen = [c.id for c in page.conversations]
        op.send_commands(_close(third))
        await v3.recv("closed")
        await indexed(app)
        token = page.next_page_token
        while token:
            page = await op.api.conversations.ListConversations(
                pb.ListConversationsRequest(page_size=1, page_token=token), metadata=meta
            )
            seen += [c.id for c in page.conversations]
            token = page.next_page_token
        assert seen == [third, second, first]

        # The transcript backwards, a page at a time, oldest first in each.
        backwards = await boss.api.conversations.ListMessages(
            pb.ListMessagesRequest(conversation_id=first, before_seq=1000, page_size=2),
            metadata=boss.metadata,
        )
        seqs = [m.seq for m in backwards.messages]
        assert seqs == sorted(seqs) and len(seqs) == 2
        older = await boss.api.conversations.ListMessages(
            pb.ListMessagesRequest(
                conversation_id=first,
                before_seq=1000,
                page_size=2,
                page_token=backwards.next_page_token,
            ),
            metadata=boss.metadata,
        )
        assert [m.seq for m in older.messages] == list(range(1, seqs[0]))[-2:]

        for v in (v1, v2, v3):
            await v.close()


@pytest.mark.parametrize(
    ("request_", "code", "reason"),
    [
        (
            pb.ListConversationsRequest(
                filter=pb.ConversationFilter(start_time_ms=2000, end_time_ms=1000)
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            "INVALID_TIME_RANGE",
        ),
        (
            pb.ListConversationsRequest(order_by="mood"),
            grpc.StatusCode.INVALID_ARGUMENT,
            "INVALID_ORDER_BY",
        ),
        (
            pb.ListConversationsRequest(filter=pb.ConversationFilter(operator_id="onobody")),
            grpc.StatusCode.NOT_FOUND,
            "UNKNOWN_OPERATOR",
        ),
        (
            pb.ListConversationsRequest(filter=pb.ConversationFilter(site_id="snobody")),
            grpc.StatusCode.NOT_FOUND,
            "UNKNOWN_SITE",
        ),
        (
            pb.ListConversationsRequest(filter=pb.ConversationFilter(department_id="dnone")),
            grpc.StatusCode.NOT_FOUND,
            "UNKNOWN_DEPARTMENT",
        ),
        (
            pb.ListConversationsRequest(filter=pb.ConversationFilter(statuses=["lost"])),
            grpc.StatusCode.INVALID_ARGUMENT,
            "INVALID_FILTER",
        ),
        (
            pb.SearchConversationsRequest(query=""),
            grpc.StatusCode.INVALID_ARGUMENT,
            "INVALID_QUERY",
        ),
        (
            pb.SearchConversationsRequest(query="x" * 201),
            grpc.StatusCode.INVALID_ARGUMENT,
            "INVALID_QUERY",
        ),
    ],
)
async def test_bad_history_queries_are_refused_with_a_reason(
    tmp_path: Path, request_: Any, code: grpc.StatusCode, reason: str
) -> None:
    async with running(tmp_path, history=True) as app:
        boss = await owner(app)
        service = boss.api.conversations
        method = (
            service.SearchConversations
            if isinstance(request_, pb.SearchConversationsRequest)
            else service.ListConversations
        )
        assert await reason_of(method(request_, metadata=boss.metadata)) == (code, reason)


async def test_an_operator_reads_its_own_past_transcripts_and_no_one_elses(
    tmp_path: Path,
) -> None:
    from tests.integration.test_routing import staff

    async with running(tmp_path, history=True) as app:
        assert app.demo is not None and app.engine is not None
        op = await on_duty(app)
        boss = await owner(app)
        mine, _v = await chat(app, op, "where is my order")
        # An operator role holds no view_history: its own chats are still its own.
        account = app.engine.directory.sites[app.demo["site"]].account_id
        assert "view_history" not in app.engine.directory.role_permissions(account, "operator")
        got = await op.api.conversations.ListMessages(
            pb.ListMessagesRequest(conversation_id=mine), metadata=op.metadata
        )
        texts = [m.text for m in got.messages]
        assert texts[0] == "where is my order" and "done, thanks" in texts
        back = await op.api.conversations.ListMessages(
            pb.ListMessagesRequest(conversation_id=mine, before_seq=1_000, page_size=1),
            metadata=op.metadata,
        )
        assert len(back.messages) == 1 and back.next_page_token
        # A colleague of another department, with no part in the chat: unknown to it.
        other = await boss.api.departments.CreateDepartment(
            pb.CreateDepartmentRequest(
                department=pb.Department(site_id=app.demo["site"], name="Elsewhere")
            ),
            metadata=boss.metadata,
        )
        outsider = await staff(app, boss, "Outsider", online=False, departments=[other.id])
        for request in (
            pb.ListMessagesRequest(conversation_id=mine),
            pb.ListMessagesRequest(conversation_id=mine, before_seq=5),
        ):
            assert await reason_of(
                outsider.api.conversations.ListMessages(request, metadata=outsider.metadata)
            ) == (grpc.StatusCode.NOT_FOUND, "UNKNOWN_CONVERSATION")
        # The owner (view_history) reads every chat of the account.
        whole = await boss.api.conversations.ListMessages(
            pb.ListMessagesRequest(conversation_id=mine), metadata=boss.metadata
        )
        assert whole.messages == got.messages


async def test_a_server_without_the_index_says_so(tmp_path: Path) -> None:
    async with running(tmp_path, history=False) as app:
        boss = await owner(app)
        for call in (
            boss.api.conversations.ListConversations(
                pb.ListConversationsRequest(), metadata=boss.metadata
            ),
            boss.api.conversations.SearchConversations(
                pb.SearchConversationsRequest(query="parcel"), metadata=boss.metadata
            ),
        ):
            assert await reason_of(call) == (grpc.StatusCode.FAILED_PRECONDITION, "HISTORY_OFF")
