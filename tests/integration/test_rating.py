"""Rating a chat: 1-5 and a comment, after it is closed, once (PRODUCT.md C8)."""

from __future__ import annotations

from pathlib import Path

from parley.v1 import control_pb2
from tests.integration.helpers import Visitor, demo_operator, owner, running, visitor_url


async def test_a_visitor_rates_a_closed_chat_once(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        op = await demo_operator(app)
        await op.open()
        v = await Visitor(visitor_url(app)).connect()
        welcome = await v.hello()
        v.send({"type": "rate", "score": 5})
        assert (await v.recv("error"))["code"] == "no_conversation"
        v.send({"type": "msg", "cid": "1", "text": "help"})
        conv = (await v.recv("ack"))["conversation"]
        v.send({"type": "rate", "score": 5})
        assert (await v.recv("error"))["code"] == "not_closed"
        v.send({"type": "rate", "score": 9})
        assert (await v.recv("error"))["code"] == "bad_frame"

        await op.recv("assigned")
        op.send_commands(_close(conv))
        await v.recv("closed")
        v.send({"type": "rate", "score": 4, "comment": "quick and kind"})
        rated = await v.recv("rated")
        assert (rated["conversation"], rated["score"]) == (conv, 4)
        operator_view = await op.recv("rated")
        assert (operator_view.conversation_id, operator_view.score) == (conv, 4)
        v.send({"type": "rate", "score": 1})
        assert (await v.recv("error"))["code"] == "already_rated"

        # After a reload the rating still stands, and is in the transcript.
        await v.close()
        again = await Visitor(visitor_url(app)).connect()
        await again.hello(token=welcome["token"])
        again.send({"type": "rate", "score": 2})
        assert (await again.recv("error"))["code"] == "already_rated"
        boss = await owner(app)
        transcript = await boss.api.conversations.ListMessages(
            control_pb2.ListMessagesRequest(conversation_id=conv), metadata=boss.metadata
        )
        assert transcript.messages[-1].text == "The visitor rated the chat 4/5: quick and kind"
        await again.close()
        await op.close()
        await boss.close()


def _close(conv: str) -> object:
    from parley.v1 import operator_pb2

    return operator_pb2.OperatorCommand(close=operator_pb2.CloseConversation(conversation_id=conv))
