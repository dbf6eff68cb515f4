"""The demo page and its widget in a real headless Chromium, against a real
server, with an operator answering over gRPC: a dropped connection, a refused
origin, the offline form, and what the server sends a visitor after a rating."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from playwright.async_api import WebSocket, expect

from parley.v1 import control_pb2, operator_pb2
from tests.edge.test_widget import (
    DEVICES,
    W,
    attached,
    axe_finds_nothing_serious,
    shot,
    visitor_message,
    watch_errors,
)
from tests.integration.helpers import (
    Visitor,
    demo_operator,
    on_duty,
    running,
    settled,
    visitor_url,
)
from tests.integration.test_routing import gone


async def test_a_dropped_connection_reconnects_and_resumes(
    tmp_path: Path, chromium_cdp: str
) -> None:
    """The connection drops mid-chat: the widget says so, reconnects with
    backoff, resumes from the last seq, and shows what it missed once."""
    async with running(tmp_path) as app, attached(chromium_cdp) as browser:
        op = await on_duty(app)
        context = await browser.new_context(**DEVICES["desktop"])
        page = await context.new_page()
        errors = watch_errors(page)
        await page.goto(f"http://127.0.0.1:{app.http_port}/")
        await page.locator(f"{W} .la").click()
        composer = page.locator(f"{W} .cp textarea")
        await composer.fill("Hello?")
        await composer.press("Enter")
        message = await visitor_message(op)
        op.say(message.conversation_id, "a", "Hi, how can I help?")
        theirs = page.locator(f"{W} .m:not(.me)")
        await expect(theirs).to_have_count(1)

        for connection in list(app.edge.connections):  # cut, as a network would
            assert connection.transport is not None
            connection.transport.disconnect(graceful=False)
        state = page.locator(f"{W} .w")
        await expect(state).to_have_attribute("data-state", "retry")
        await expect(page.locator(f"{W} .bn")).to_contain_text(
            re.compile(r"Connection lost\. Reconnecting in \d+ s")
        )
        await expect(composer).to_be_visible()  # what is written now goes on reconnect
        await shot(page, "reconnecting")
        op.say(message.conversation_id, "b", "Still there?")
        await expect(state).to_have_attribute("data-state", "open")
        await expect(theirs).to_have_count(2)
        await expect(theirs.last).to_contain_text("Still there?")
        await expect(page.locator(f"{W} .bn")).to_be_hidden()
        await expect(page.locator(f"{W} .hd .st")).to_have_text("Demo operator is here")

        # Written while cut off, then the page reloaded before the reconnect: the
        # message was kept, is sent on the next hello, and arrives once.
        for connection in list(app.edge.connections):
            assert connection.transport is not None
            connection.transport.disconnect(graceful=False)
        await expect(state).to_have_attribute("data-state", "retry")
        await composer.fill("Are you there?")
        await composer.press("Enter")
        mine = page.locator(f"{W} .m.me", has_text="Are you there?")
        await expect(mine.locator(".mt")).to_have_text(re.compile(r"· Sending…$"))
        await page.reload()
        again = await visitor_message(op)
        assert again.text == "Are you there?"
        await expect(mine.locator(".mt")).to_have_text(re.compile(r"· Sent$"))
        await expect(mine).to_have_count(1)
        await settled(app, op)
        assert [m.text for k, m in op.received() if k == "message"].count("Are you there?") == 1
        assert errors == []
        await context.close()


async def test_a_chat_closed_while_away_is_shown_ended(tmp_path: Path, chromium_cdp: str) -> None:
    """The visitor leaves; the operator closes the chat. On the visitor's next
    page the conversation is still on screen with the close it missed, marked
    ended, with the rating offered, and nothing is offered that belongs to an
    open chat."""
    async with running(tmp_path) as app, attached(chromium_cdp) as browser:
        op = await on_duty(app)
        context = await browser.new_context(**DEVICES["desktop"])
        page = await context.new_page()
        errors = watch_errors(page)
        await page.goto(f"http://127.0.0.1:{app.http_port}/")
        await page.locator(f"{W} .la").click()
        composer = page.locator(f"{W} .cp textarea")
        await composer.fill("Hello?")
        await composer.press("Enter")
        message = await visitor_message(op)
        conv = message.conversation_id
        op.say(conv, "a", "Hi, one moment please")
        await expect(page.locator(f"{W} .m:not(.me)")).to_have_count(1)
        before = await page.locator(f"{W} li[data-f]").all_inner_texts()
        await page.close()
        await gone(app, conv)
        op.send_commands(
            operator_pb2.OperatorCommand(close=operator_pb2.CloseConversation(conversation_id=conv))
        )
        await op.recv("closed")

        page = await context.new_page()
        errors += watch_errors(page)
        await page.goto(f"http://127.0.0.1:{app.http_port}/")
        await page.locator(f"{W} .la").click()
        await expect(page.locator(f"{W} .w")).to_have_attribute("data-state", "open")
        # What was on screen, then the close it missed, said once.
        after = await page.locator(f"{W} li[data-f]").all_inner_texts()
        assert after[:-1] == before
        assert after[-1].startswith("Demo operator ended the chat")
        await expect(page.locator(f"{W} .rate")).to_contain_text("The chat has ended.")
        await expect(page.locator(f"{W} .rate")).to_contain_text("How was this chat?")
        await expect(page.locator(f"{W} .ft button", has_text="End chat")).to_be_hidden()
        await expect(page.locator(f"{W} .hd .st")).to_have_text("We are online")
        await shot(page, "closed-while-away")
        assert errors == []
        await context.close()


async def test_the_demo_page_refuses_another_origin(tmp_path: Path, chromium_cdp: str) -> None:
    """The widget on a page whose origin the site does not allow (here a blank
    page: Origin "null") cannot open a chat: the server refuses the upgrade with
    403, and the widget says plainly that the chat cannot be reached and offers
    no input, retrying with backoff."""
    async with running(tmp_path) as app, attached(chromium_cdp) as browser:
        assert app.demo is not None
        context = await browser.new_context(**DEVICES["desktop"])
        page = await context.new_page()
        refusals: asyncio.Queue[tuple[str, str]] = asyncio.Queue()

        def opened(ws: WebSocket) -> None:
            ws.on("socketerror", lambda error: refusals.put_nowait((ws.url, str(error))))

        page.on("websocket", opened)
        await page.set_content(
            f'<body><p>Another shop</p><script src="http://127.0.0.1:{app.http_port}'
            f'/widget.js" data-site="{app.demo["site"]}"></script></body>'
        )
        async with asyncio.timeout(10):
            url, error = await refusals.get()
        assert url == visitor_url(app)
        assert "Unexpected response code: 403" in error, error
        await page.locator(f"{W} .la").click()
        await expect(page.locator(f"{W} .w")).to_have_attribute("data-state", "retry")
        await expect(page.locator(f"{W} .bn")).to_contain_text(
            re.compile(r"We cannot reach the chat right now\. Trying again in \d+ s\.")
        )
        await expect(page.locator(f"{W} .cp")).to_be_hidden()
        await context.close()


async def test_nobody_online_shows_the_offline_form_then_the_chat(
    tmp_path: Path, chromium_cdp: str
) -> None:
    """With nobody on duty the widget offers the offline form: it says what will
    happen (no email is promised), cannot be sent twice, keeps the name and
    email and clears the message; when an operator comes online the chat is back."""
    async with running(tmp_path) as app, attached(chromium_cdp) as browser:
        assert app.demo is not None
        op = await demo_operator(app)
        context = await browser.new_context(**DEVICES["desktop"])
        page = await context.new_page()
        errors = watch_errors(page)
        await page.goto(f"http://127.0.0.1:{app.http_port}/")
        await page.locator(f"{W} .la").click()
        status = page.locator(f"{W} .hd .st")
        await expect(status).to_have_text("Offline")
        form = page.locator(f"{W} .off form")
        await expect(form).to_be_visible()
        await expect(form).to_contain_text("the team will see it when they are back")
        await expect(form).not_to_contain_text("by email")
        await expect(page.locator(f"{W} .cp")).to_be_hidden()
        await form.locator("#pw-name").fill("Olga")
        await form.locator("#pw-email").fill("olga@example.test")
        await form.locator("#pw-text").fill("Please call me back about my order")
        button = form.locator("button[type=submit]")
        await button.dblclick()  # the second click finds the button disabled
        await expect(form.locator(".ok")).to_have_text(
            "Thank you. Your message is with the team; they will see it when they are back."
        )
        await expect(form.locator("#pw-text")).to_have_value("")
        await expect(form.locator("#pw-name")).to_have_value("Olga")
        await expect(form.locator("#pw-email")).to_have_value("olga@example.test")
        await expect(button).to_be_enabled()
        await shot(page, "offline-form-sent")
        await axe_finds_nothing_serious(page)
        tickets = await op.api.tickets.ListTickets(
            control_pb2.ListTicketsRequest(site_id=app.demo["site"]), metadata=op.metadata
        )
        assert [(t.name, t.email, t.text) for t in tickets.tickets] == [
            ("Olga", "olga@example.test", "Please call me back about my order")
        ]
        assert tickets.tickets[0].page_url.startswith(f"http://127.0.0.1:{app.http_port}/")

        # On another page of the site the name and email are still there.
        await page.reload()
        await expect(form.locator("#pw-name")).to_have_value("Olga")
        await expect(form.locator("#pw-email")).to_have_value("olga@example.test")

        await op.open()  # someone is on duty now: the page switches to chat
        await expect(status).to_have_text("We are online")
        await expect(form).to_be_hidden()
        composer = page.locator(f"{W} .cp textarea")
        await composer.fill("Are you there now?")
        await composer.press("Enter")
        assert (await visitor_message(op)).text == "Are you there now?"
        assert errors == []
        await context.close()


async def test_a_visitor_is_not_sent_the_operators_rating_notice(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        op = await on_duty(app)
        v = await Visitor(visitor_url(app)).connect()
        await v.hello()
        v.send({"type": "msg", "cid": "1", "text": "help"})
        conv = (await v.recv("ack"))["conversation"]
        await op.recv("assigned")
        op.send_commands(
            operator_pb2.OperatorCommand(close=operator_pb2.CloseConversation(conversation_id=conv))
        )
        await v.recv("closed")
        v.send({"type": "rate", "score": 5})
        await v.recv("rated")
        await op.recv("rated")  # the notice is stored and sent by now
        await v.round_trip()
        texts = [f["text"] for f in v.frames() if f["type"] == "msg"]
        assert not any("rated the chat" in text for text in texts), texts
        await v.close()
