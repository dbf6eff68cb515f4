"""A visitor's connection leaves everything it joined when it ends: the chat
it was in (also once that chat closed while it stayed), and what a hello still
running had joined."""

from __future__ import annotations

import gc
from collections import Counter
from pathlib import Path

from engine.chat.conversation.actor import Conversation
from engine.chat.messages import GetConversation
from parley.v1 import operator_pb2
from tests.integration.helpers import (
    Operator,
    Visitor,
    demo_operator,
    running,
    settled,
    visitor_url,
)


async def test_a_chat_closed_while_connected_is_left_when_the_visitor_goes(
    tmp_path: Path,
) -> None:
    async with running(tmp_path) as app:
        assert app.engine is not None
        op = await demo_operator(app)
        await op.open()
        v = await Visitor(visitor_url(app)).connect()
        await v.hello(name="Bo")
        v.send({"type": "msg", "cid": "c1", "text": "hello?"})
        await v.recv("ack")
        conv = (await op.recv("assigned")).conversation_id
        v.send({"type": "close"})
        await v.recv("closed")
        conversation = app.engine.system.ref("conversation", conv)
        # Still connected: still subscribed (answers to a missed chat come live).
        assert (await conversation.ask(GetConversation())).visitor_connected
        await v.close()
        await settled(app, op)
        assert not (await conversation.ask(GetConversation())).visitor_connected
        await op.close()


async def test_a_resume_cut_mid_hello_leaves_no_subscriber(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        assert app.engine is not None
        op = await demo_operator(app)
        await op.open()
        v = await Visitor(visitor_url(app)).connect()
        welcome = await v.hello(name="Bo")
        v.send({"type": "msg", "cid": "c1", "text": "hello?"})
        await v.recv("ack")
        conv = (await op.recv("assigned")).conversation_id
        await v.close()
        conversation = app.engine.system.ref("conversation", conv)
        # Resume and hang up at once, many times: whenever the cut falls (before,
        # during or after the subscribe), nothing stays subscribed.
        for _ in range(20):
            again = await Visitor(visitor_url(app)).connect()
            again.send({"type": "hello", "v": 1, "token": welcome["token"], "last_seq": 0})
            await again.close()
        await settled(app, op)
        assert not (await conversation.ask(GetConversation())).visitor_connected
        await op.close()


async def test_a_chat_closed_while_the_visitor_was_away_is_delivered_once(
    tmp_path: Path,
) -> None:
    """Hello and one message (with the join, the visitor has seen two seqs), the
    socket cut, three operator messages and the close; the visitor resumes from
    what it saw: the three, the close notice and the close, then the welcome
    with no open chat. Resumed again from what it saw then: nothing more."""
    async with running(tmp_path) as app:
        op = await demo_operator(app)
        await op.open()
        v = await Visitor(visitor_url(app)).connect()
        welcome = await v.hello(name="Bo")
        v.send({"type": "msg", "cid": "c1", "text": "hello?"})
        mine = (await v.recv("ack"))["seq"]
        conv = (await op.recv("assigned")).conversation_id
        joined = await v.recv("msg")
        while joined["from"] != "system":
            joined = await v.recv("msg")
        seen = max(mine, joined["seq"])
        await v.close()
        answers = []
        for i in range(3):
            op.say(conv, f"o{i}", f"answer {i}")
            answers.append((await op.recv("ack")).seq)
        assert answers == [seen + 1, seen + 2, seen + 3]
        op.send_commands(
            operator_pb2.OperatorCommand(close=operator_pb2.CloseConversation(conversation_id=conv))
        )
        # The close has happened (the operator is told), then everything it set
        # off has run: a settle alone may begin before the close has even arrived.
        assert (await op.recv("closed")).conversation_id == conv
        await settled(app, op)

        back = await Visitor(visitor_url(app)).connect()
        back.send({"type": "hello", "v": 1, "token": welcome["token"], "last_seq": seen})
        again = await back.recv("welcome")
        assert again["conversation"] is None
        frames = [f for f in back.frames() if f["type"] in ("msg", "closed", "welcome")]
        got = [(f["type"], f.get("seq"), f.get("text")) for f in frames]
        assert got[:3] == [("msg", seq, f"answer {i}") for i, seq in enumerate(answers)], got
        assert got[3][:2] == ("msg", seen + 4) and got[3][2].startswith("Chat closed"), got
        assert [t for t, _, _ in got[4:]] == ["closed", "welcome"], got
        await back.close()

        later = await Visitor(visitor_url(app)).connect()
        later.send({"type": "hello", "v": 1, "token": welcome["token"], "last_seq": seen + 4})
        await later.recv("welcome")
        await settled(app, later)
        assert [f["type"] for f in later.frames() if f["type"] in ("msg", "closed")] == []
        await later.close()
        await op.close()


async def test_chats_closed_by_the_hundred_leave_no_actor_behind(tmp_path: Path) -> None:
    """Visitors that stay connected open, are answered in and close chat after
    chat (as in a soak). Once the engine settled, the only conversations in
    memory are the last ones, which their visitors are still subscribed to;
    once the visitors are gone, none. Nothing else holds a closed chat's actor:
    not the operator session's references to the chats it wrote in. And what
    leaves memory is freed at once, by reference counts: no engine object ends
    in a reference cycle that only a full collection would free (at thousands
    of chats a minute those piled up by the hundred MiB until one long pause)."""
    async with running(tmp_path, visitor_rate=1000.0, visitor_burst=1000.0) as app:
        assert app.engine is not None
        system = app.engine.system
        op = await demo_operator(app)
        await op.open()
        visitors = []
        for i in range(5):  # the demo operator takes 5 chats at once
            v = await Visitor(visitor_url(app)).connect()
            await v.hello(name=f"Visitor {i}")
            visitors.append(v)
        rounds = 40
        gc.collect()
        gc.set_debug(gc.DEBUG_SAVEALL)  # what a collection finds is kept to be seen
        try:
            await _chats(rounds, visitors, op)
            await settled(app, op, *visitors)
            gc.collect()
            cyclic = Counter(
                type(o).__qualname__
                for o in gc.garbage
                if type(o).__module__.startswith(("engine.", "edge."))
            )
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
        assert not cyclic, f"left in reference cycles: {cyclic.most_common(8)}"
        assert system.active_count("conversation") == len(visitors)
        gc.collect()
        kept = sum(1 for o in gc.get_objects() if type(o) is Conversation)
        assert kept == len(visitors), f"{kept} conversation actors in memory"
        for v in visitors:
            await v.close()
        await settled(app, op)
        assert system.active_count("conversation") == 0
        gc.collect()
        assert not [o for o in gc.get_objects() if type(o) is Conversation]
        await op.close()


async def _chats(rounds: int, visitors: list[Visitor], op: Operator) -> None:
    """Each visitor opens a chat, is answered and closes it, ``rounds`` times."""
    for r in range(rounds):
        for i, v in enumerate(visitors):
            v.send({"type": "msg", "cid": f"v{i}-{r}", "text": "hello?"})
        convs = [(await v.recv("ack"))["conversation"] for v in visitors]
        for conv in convs:
            op.say(conv, f"o-{conv}", "hello!")
        assert len({(await op.recv("ack")).conversation_id for _ in convs}) == len(convs)
        for v in visitors:
            v.send({"type": "close"})
        for v in visitors:
            await v.recv("closed")
            v.backlog.clear()
        op.backlog.clear()
