"""A visitor's connection leaves everything it joined when it ends: the chat
it was in (also once that chat closed while it stayed), and what a hello still
running had joined."""

from __future__ import annotations

from pathlib import Path

from engine.chat.messages import GetConversation
from tests.integration.helpers import Visitor, demo_operator, running, settled, visitor_url


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
