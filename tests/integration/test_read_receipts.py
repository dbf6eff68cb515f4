"""Read receipts both ways (PRODUCT.md C2)."""

from __future__ import annotations

from pathlib import Path

from parley.v1 import common_pb2, operator_pb2
from tests.integration.helpers import Visitor, demo_operator, running, visitor_url


def read_command(conv: str, seq: int) -> operator_pb2.OperatorCommand:
    return operator_pb2.OperatorCommand(
        read=operator_pb2.OperatorRead(conversation_id=conv, seq=seq)
    )


async def test_read_receipts_both_ways(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        op = await demo_operator(app)
        await op.open()
        v = await Visitor(visitor_url(app)).connect()
        v.send({"type": "read", "seq": 1})
        assert (await v.recv("error"))["code"] == "no_hello"
        await v.hello()
        v.send({"type": "read", "seq": 1})
        assert (await v.recv("error"))["code"] == "no_conversation"
        for bad in ({"type": "read"}, {"type": "read", "seq": 0}, {"type": "read", "seq": "3"}):
            v.send(bad)
            assert (await v.recv("error"))["code"] == "bad_frame"
        v.send({"type": "msg", "cid": "1", "text": "hello"})
        conv = (await v.recv("ack"))["conversation"]
        await op.recv("assigned")
        await op.recv("message")
        op.say(conv, "o1", "Hi! How can I help?")
        seq = (await op.recv("ack")).seq

        # The operator read the visitor's message; the visitor is told.
        op.send_commands(read_command(conv, 1))
        receipt = await v.recv("read")
        assert receipt == {
            "type": "read",
            "conversation": conv,
            "from": "operator",
            "name": "Demo operator",
            "seq": 1,
        }
        # The visitor read the answer; the operator is told, once.
        v.send({"type": "read", "seq": seq})
        got = await op.recv("read")
        assert (got.conversation_id, got.seq) == (conv, seq)
        assert got.reader_kind == common_pb2.AUTHOR_KIND_VISITOR
        v.send({"type": "read", "seq": seq - 1})  # going back tells nobody
        v.send({"type": "read", "seq": seq + 50})  # not stored yet
        assert (await v.recv("error"))["code"] == "invalid_argument"
        op.send_commands(read_command(conv, seq))
        assert (await v.recv("read"))["seq"] == seq
        await v.close()
        await op.close()
