"""One real chat path: websocket visitor, gRPC operator, both resuming."""

from __future__ import annotations

from pathlib import Path

from tests.integration.helpers import Visitor, demo_operator, running, visitor_url


async def test_visitor_and_operator_chat_and_resume(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        op = await demo_operator(app)
        await op.open()
        v = await Visitor(visitor_url(app)).connect()
        welcome = await v.hello(name="Bob")
        assert welcome["conversation"] is None and welcome["token"]
        v.send({"type": "msg", "cid": "c1", "text": "Where is my order?"})
        ack = await v.recv("ack")
        assert ack["seq"] == 1 and ack["cid"] == "c1"
        assigned = await op.recv("assigned")
        conv = assigned.conversation_id
        assert assigned.visitor_name == "Bob"
        first = await op.recv("message")
        assert (first.seq, first.text) == (1, "Where is my order?")
        joined = await v.recv("joined")
        assert joined["operator"] == "Demo operator"
        op.say(conv, "o1", "On its way!")
        op_ack = await op.recv("ack")
        assert op_ack.seq == 3  # 2 is the "joined" notice
        got = await v.recv("msg")
        while got["from"] != "operator":
            got = await v.recv("msg")
        assert got["text"] == "On its way!" and got["seq"] == 3

        # The visitor reloads the page: same token, last seen seq 1.
        await v.close()
        v2 = await Visitor(visitor_url(app)).connect()
        v2.send({"type": "hello", "v": 1, "token": welcome["token"], "last_seq": 1})
        replay = [await v2.recv("msg"), await v2.recv("msg")]
        assert [m["seq"] for m in replay] == [2, 3]
        w2 = await v2.recv("welcome")
        assert w2["visitor"] == welcome["visitor"] and w2["conversation"] == conv
        assert w2["last_seq"] == 3

        # Messages sent while the operator is away reach it on resume, in order.
        await op.close()
        for i in range(5):
            v2.send({"type": "msg", "cid": f"away{i}", "text": f"still there? {i}"})
        for _ in range(5):
            await v2.recv("ack")
        op2 = await demo_operator(app)
        await op2.open(resume={conv: 3})
        await op2.recv("assigned")
        seqs = [(await op2.recv("message")).seq for _ in range(5)]
        assert seqs == [4, 5, 6, 7, 8]

        # A resent client message id returns its original seq, stored once.
        v2.send({"type": "msg", "cid": "away0", "text": "still there? 0"})
        again = await v2.recv("ack")
        assert again["seq"] == 4
        await v2.close()
        await op2.close()
