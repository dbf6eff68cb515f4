"""A site's widget settings and pre-chat form, end to end through a real server:
settings checked with stable codes (and nothing written on a refusal), the welcome
telling them, required pre-chat fields refused by the server whatever the page
does, a returning visitor's new name reaching the operators' stream, notices as
codes, and a hello that names the conversation its last_seq is of."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
import pytest

from parley.v1 import control_pb2, operator_pb2, visitor_pb2
from tests.integration.helpers import (
    Operator,
    Visitor,
    error_info,
    on_duty,
    owner,
    running,
    visitor_url,
)
from tests.integration.test_grpc_extras import next_event, visitor_stream


async def update(boss: Operator, site_id: str, **fields: Any) -> control_pb2.Site:
    texts = fields.pop("widget_texts", None)
    site = control_pb2.Site(id=site_id, **fields)
    paths = list(fields)
    if texts is not None:
        site.widget_texts.extend(control_pb2.WidgetText(**t) for t in texts)
        paths.append("widget_texts")
    request = control_pb2.UpdateSiteRequest(site=site, update_mask={"paths": paths})
    return await boss.api.sites.UpdateSite(request, metadata=boss.metadata)


async def test_widget_settings_are_checked_and_told_in_the_welcome(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        assert app.demo is not None
        boss, site = await owner(app), app.demo["site"]
        refused = [
            ({"widget_color": "red"}, "BAD_COLOR"),
            ({"widget_color": "#12g"}, "BAD_COLOR"),
            ({"widget_color": "#123456;x:y"}, "BAD_COLOR"),
            ({"widget_position": "top"}, "BAD_POSITION"),
            ({"prechat_name": "maybe"}, "BAD_FIELD_MODE"),
            ({"widget_texts": [{"language": "xx", "title": "Hi"}]}, "UNKNOWN_LANGUAGE"),
            ({"widget_texts": [{"language": "de", "title": "x" * 61}]}, "TEXT_TOO_LONG"),
            ({"widget_texts": [{"greeting": "x" * 501}]}, "TEXT_TOO_LONG"),
        ]
        for fields, reason in refused:
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await update(boss, site, **fields)
            assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, fields
            assert error_info(caught.value).reason == reason, fields
        unchanged = await boss.api.sites.GetSite(
            control_pb2.GetSiteRequest(site_id=site), metadata=boss.metadata
        )
        assert (unchanged.widget_color, unchanged.prechat_name) == ("", "off")
        assert not unchanged.widget_texts

        done = await update(
            boss,
            site,
            widget_color="#0A7D5A",
            widget_position="left",
            widget_avatars=False,
            prechat_name="required",
            prechat_email="optional",
            widget_texts=[
                {"title": "Acme help", "greeting": "Welcome to Acme."},
                {"language": "de", "title": "Acme Hilfe"},
                {
                    "language": "de",
                    "title": "Acme-Hilfe",
                    "offline": "Hinterlassen Sie uns Ihre Frage.",
                },
            ],
        )
        assert done.widget_color == "#0a7d5a"
        assert [t.language for t in done.widget_texts] == ["", "de"]  # the last "de" won
        v = await Visitor(visitor_url(app)).connect()
        welcome = await v.hello()
        assert welcome["site"] == {
            "color": "#0a7d5a",
            "position": "left",
            "avatars": False,
            "prechat": {"name": "required", "email": "optional", "question": "off"},
            "texts": {
                "*": {"title": "Acme help", "greeting": "Welcome to Acme.", "offline": ""},
                "de": {
                    "title": "Acme-Hilfe",
                    "greeting": "",
                    "offline": "Hinterlassen Sie uns Ihre Frage.",
                },
            },
        }
        await v.close()

        # The gRPC visitor channel's welcome tells the same settings.
        call, outbox = await visitor_stream(app, boss.token)
        outbox.put_nowait(
            visitor_pb2.VisitorCommand(hello=visitor_pb2.VisitorHello(site_id=site, name="App"))
        )
        widget = (await next_event(call, "welcome")).widget
        assert (widget.color, widget.position, widget.avatars) == ("#0a7d5a", "left", False)
        prechat = widget.prechat
        assert (prechat.name, prechat.email, prechat.question) == ("required", "optional", "off")
        assert [(t.language, t.title, t.greeting, t.offline) for t in widget.texts] == [
            ("", "Acme help", "Welcome to Acme.", ""),
            ("de", "Acme-Hilfe", "", "Hinterlassen Sie uns Ihre Frage."),
        ]
        outbox.put_nowait(None)
        call.cancel()


async def test_required_prechat_fields_are_enforced_by_the_server(tmp_path: Path) -> None:
    """A page that skips the form (a raw websocket) cannot open a chat; each
    missing field is named; the form's question is the chat's first message."""
    async with running(tmp_path) as app:
        assert app.demo is not None
        boss, site = await owner(app), app.demo["site"]
        op = await on_duty(app)
        await update(
            boss,
            site,
            prechat_name="required",
            prechat_email="required",
            prechat_question="required",
        )
        v = await Visitor(visitor_url(app)).connect()
        await v.hello()
        v.send({"type": "msg", "cid": "m1", "text": "let me in"})
        assert (await v.recv("error"))["code"] == "name_required"
        v.send({"type": "prechat", "name": "Ana", "question": "Hi", "cid": "q1"})
        refused = await v.recv("error")
        assert (refused["code"], refused["cid"]) == ("email_required", "q1")
        v.send({"type": "prechat", "name": "Ana", "email": "not an email", "cid": "q1"})
        assert (await v.recv("error"))["code"] == "invalid_email"
        v.send({"type": "prechat", "name": "Ana", "email": "ana@shop.test", "cid": "q1"})
        assert (await v.recv("error"))["code"] == "question_required"
        # Nothing of the refused forms was taken: no chat, no name.
        await v.round_trip()
        assert not [f for f in v.frames() if f["type"] in ("ack", "prechat_saved", "queued")]
        v.send({"type": "msg", "cid": "m2", "text": "still me"})
        assert (await v.recv("error"))["code"] == "name_required"

        form = {"name": " Ana ", "email": "ana@shop.test", "question": "Where is my parcel?"}
        v.send({"type": "prechat", "cid": "q1", **form})
        saved = await v.recv("prechat_saved")
        assert (saved["name"], saved["email"]) == ("Ana", "ana@shop.test")
        ack = await v.recv("ack")
        assert ack["cid"] == "q1"
        assigned = await op.recv("assigned")
        assert assigned.visitor_name == "Ana"
        first = await op.recv("message")
        while first.text != "Where is my parcel?":
            first = await op.recv("message")
        # Once known, the visitor writes on: a question is asked once per chat.
        v.send({"type": "msg", "cid": "m3", "text": "and another thing"})
        assert (await v.recv("ack"))["cid"] == "m3"
        info = await boss.api.conversations.GetVisitorInfo(
            control_pb2.GetVisitorInfoRequest(conversation_id=ack["conversation"]),
            metadata=boss.metadata,
        )
        assert (info.name, info.email) == ("Ana", "ana@shop.test")
        await v.close()


async def test_a_returning_visitors_new_name_reaches_the_operators(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        assert app.demo is not None
        boss = await owner(app)
        op = await on_duty(app)
        v = await Visitor(visitor_url(app)).connect()
        await v.hello(name="Bo")
        v.send({"type": "msg", "cid": "c1", "text": "hello"})
        conv = (await v.recv("ack"))["conversation"]
        assigned = await op.recv("assigned")
        assert assigned.visitor_name == "Bo"
        token = v.welcome["token"]
        await v.close()
        # A later page: the hello's new name and email are taken, not ignored.
        again = await Visitor(visitor_url(app)).connect()
        await again.hello(token=token, name="Bo Jensen", email="bo@shop.test")
        while True:
            listed = await op.recv("listed")
            if listed.card.conversation_id == conv and listed.card.visitor_name == "Bo Jensen":
                break
        note = await op.recv("message")
        while "Bo Jensen" not in note.text:
            note = await op.recv("message")
        assert "bo@shop.test" in note.text
        info = await boss.api.conversations.GetVisitorInfo(
            control_pb2.GetVisitorInfoRequest(conversation_id=conv), metadata=boss.metadata
        )
        assert (info.name, info.email) == ("Bo Jensen", "bo@shop.test")
        # The note is the operators' only: the visitor's replay has none of it.
        await again.round_trip()
        assert not [f for f in again.frames() if f["type"] == "msg" and "Jensen" in f["text"]]
        # Through the pre-chat form as well (a field the site has off is not
        # taken), and the same name twice says nothing.
        again.send({"type": "prechat", "name": "Bo J."})
        assert (await again.recv("prechat_saved"))["name"] == "Bo Jensen"
        await update(boss, app.demo["site"], prechat_name="optional")
        again.send({"type": "prechat", "name": "Bo J."})
        await again.recv("prechat_saved")
        while True:
            listed = await op.recv("listed")
            if listed.card.visitor_name == "Bo J.":
                break
        again.send({"type": "prechat", "name": "Bo J."})
        await again.recv("prechat_saved")
        await op.round_trip()
        assert not [e for k, e in op.received() if k == "message" and "Bo J." in e.text][1:]
        await again.close()


async def test_notices_carry_codes_for_the_widget(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        op = await on_duty(app)
        v = await Visitor(visitor_url(app)).connect()
        await v.hello()
        v.send({"type": "msg", "cid": "c1", "text": "hello"})
        conv = (await v.recv("ack"))["conversation"]
        await op.recv("assigned")
        joined = await v.recv("msg")
        assert (joined["from"], joined["notice"]) == ("system", "joined")
        assert joined["text"] == f"{joined['args'][0]} joined the chat"
        v.send({"type": "close"})
        closed_notice = await v.recv("msg")
        assert (closed_notice["notice"], closed_notice["args"]) == ("closed_by_visitor", [""])
        assert (await v.recv("closed"))["conversation"] == conv
        await v.close()


async def test_a_chat_closed_while_the_page_was_away(tmp_path: Path) -> None:
    """A page load names the chat on screen and its last seq: what the operator
    wrote meanwhile and the close come once; a hello without the conversation
    is read as before (the open chat's seq); another chat's seq replays the open
    one from its start."""
    async with running(tmp_path) as app:
        op = await on_duty(app)
        v = await Visitor(visitor_url(app)).connect()
        await v.hello()
        v.send({"type": "msg", "cid": "c1", "text": "hello"})
        conv = (await v.recv("ack"))["conversation"]
        await op.recv("assigned")
        await v.recv("joined")  # after its notice is stored
        await v.round_trip()
        seen = max(f["seq"] for f in v.frames() if f["type"] in ("msg", "ack"))
        token = v.welcome["token"]
        await v.close()
        op.say(conv, "o1", "Your parcel left today.")
        op.send_commands(
            operator_pb2.OperatorCommand(close=operator_pb2.CloseConversation(conversation_id=conv))
        )
        await op.recv("ack")  # stored before the close
        await op.recv("closed")

        back = await Visitor(visitor_url(app)).connect()
        welcome = await back.hello(token=token, conversation=conv, last_seq=seen)
        assert welcome["conversation"] is None
        frames = [f for f in back.frames() if f["type"] in ("msg", "closed")]
        assert [f.get("text") for f in frames if f["type"] == "msg"][0] == "Your parcel left today."
        assert frames[-1] == {"type": "closed", "conversation": conv}
        assert frames[-2]["notice"] == "closed_by_operator"
        assert all(f["seq"] > seen for f in frames if f["type"] == "msg")
        await back.close()
        # Once: the next page, which saw the close, gets nothing of it.
        later = await Visitor(visitor_url(app)).connect()
        await later.hello(token=token, conversation=conv, last_seq=frames[-2]["seq"])
        await later.round_trip()
        assert not [f for f in later.frames() if f["type"] in ("msg", "closed")]
        await later.close()

        # A new chat; a hello naming the old chat's seq replays the new one whole,
        # one without a conversation takes its last_seq as the open chat's.
        fresh = await Visitor(visitor_url(app)).connect()
        await fresh.hello(token=token)
        fresh.send({"type": "msg", "cid": "c2", "text": "me again"})
        new_conv = (await fresh.recv("ack"))["conversation"]
        await op.recv("assigned")
        await fresh.round_trip()
        await fresh.close()
        whole = await Visitor(visitor_url(app)).connect()
        await whole.hello(token=token, conversation=conv, last_seq=seen + 50)
        texts = [f["text"] for f in whole.frames() if f["type"] == "msg"]
        assert "me again" in texts
        assert whole.welcome["conversation"] == new_conv
        await whole.close()
        old_style = await Visitor(visitor_url(app)).connect()
        await old_style.hello(token=token, last_seq=50)
        assert not [f for f in old_style.frames() if f["type"] == "msg"]
        await old_style.close()
