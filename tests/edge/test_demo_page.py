"""The demo page and its widget in a real headless Chromium, against a real
server, with an operator answering over gRPC."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from playwright.async_api import WebSocket, async_playwright

from parley.v1 import common_pb2, control_pb2, operator_pb2
from tests.conftest import CHROMIUM_ARGS
from tests.integration.helpers import Operator, demo_operator, running, visitor_url


async def visitor_message(op: Operator) -> Any:
    """The next message a visitor wrote (system notices are skipped)."""
    while True:
        message = await op.recv("message", timeout=10)
        if message.author_kind == common_pb2.AUTHOR_KIND_VISITOR:
            return message


async def test_a_visitor_chats_from_the_demo_page(tmp_path: Path, chromium_path: str) -> None:
    async with running(tmp_path) as app, async_playwright() as pw:
        op = await demo_operator(app)
        await op.open()
        browser = await pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            await page.goto(f"http://127.0.0.1:{app.http_port}/")
            state = page.locator("#parley-widget .pw-state")
            await state.filter(has_text="online").wait_for(timeout=10_000)
            await page.fill("#parley-widget .pw-input", "Do you ship to Norway?")
            await page.press("#parley-widget .pw-input", "Enter")

            message = await visitor_message(op)
            assert message.text == "Do you ship to Norway?"
            op.send_commands(
                operator_pb2.OperatorCommand(
                    typing=operator_pb2.OperatorTyping(
                        conversation_id=message.conversation_id, active=True
                    )
                )
            )
            await (
                page.locator("#parley-widget .pw-typing")
                .filter(has_text="Demo operator is typing")
                .wait_for(timeout=10_000)
            )
            op.say(message.conversation_id, "r1", "Yes, in 3 days.")
            log = page.locator("#parley-widget .pw-log")
            await log.filter(has_text="Demo operator: Yes, in 3 days.").wait_for(timeout=10_000)
            receipt = await op.recv("read", timeout=10)  # the page read the answer
            assert receipt.conversation_id == message.conversation_id
            await page.screenshot(path=str(tmp_path / "demo.png"))

            # A reload keeps the identity and shows the conversation again.
            await page.reload()
            await state.filter(has_text="online").wait_for(timeout=10_000)
            await log.filter(has_text="Do you ship to Norway?").wait_for(timeout=10_000)
            await log.filter(has_text="Yes, in 3 days.").wait_for(timeout=10_000)
            await page.fill("#parley-widget .pw-input", "Great, thanks")
            await page.press("#parley-widget .pw-input", "Enter")
            # Typing into an open chat reaches the operator (no draft: the operator
            # role may not preview).
            typing = await op.recv("typing", timeout=10)
            assert typing.active and typing.preview == ""
            again = await visitor_message(op)
            assert again.conversation_id == message.conversation_id
            assert again.text == "Great, thanks"
            assert errors == []
        finally:
            await browser.close()
            await op.close()


async def test_the_demo_page_refuses_another_origin(tmp_path: Path, chromium_path: str) -> None:
    """The widget on a page whose origin the site does not allow (here a blank
    page: Origin "null") cannot open a chat: the server refuses the upgrade with
    403, the one answer it gives a wrong origin, and the widget shows it is not
    connected."""
    async with running(tmp_path) as app, async_playwright() as pw:
        assert app.demo is not None
        browser = await pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
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
            state = page.locator("#parley-widget .pw-state")
            await state.filter(has_text="reconnecting").wait_for(timeout=10_000)
        finally:
            await browser.close()


async def test_nobody_online_shows_the_offline_form_then_the_chat(
    tmp_path: Path, chromium_path: str
) -> None:
    """With nobody on duty the widget offers the offline form, whose request is
    stored and listed; when an operator comes online the chat form is back."""
    async with running(tmp_path) as app, async_playwright() as pw:
        assert app.demo is not None
        browser = await pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        op = await demo_operator(app)
        try:
            page = await browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            await page.goto(f"http://127.0.0.1:{app.http_port}/")
            state = page.locator("#parley-widget .pw-state")
            await state.filter(has_text="offline").wait_for(timeout=10_000)
            form = page.locator("#parley-widget .pw-offline")
            assert await form.is_visible()
            assert not await page.locator("#parley-widget .pw-form").is_visible()
            await page.fill("#parley-widget .pw-name", "Olga")
            await page.fill("#parley-widget .pw-email", "olga@example.test")
            await page.fill("#parley-widget .pw-text", "Please call me back about my order")
            await page.click("#parley-widget .pw-offline button")
            log = page.locator("#parley-widget .pw-log")
            await log.filter(has_text="we received your message").wait_for(timeout=10_000)
            tickets = await op.control.ListTickets(
                control_pb2.ListTicketsRequest(site_id=app.demo["site"]), metadata=op.metadata
            )
            assert [(t.name, t.email, t.text) for t in tickets.tickets] == [
                ("Olga", "olga@example.test", "Please call me back about my order")
            ]
            assert tickets.tickets[0].page_url.startswith(f"http://127.0.0.1:{app.http_port}/")

            await op.open()  # someone is on duty now: the page switches to chat
            await state.filter(has_text="online").wait_for(timeout=10_000)
            assert await page.locator("#parley-widget .pw-form").is_visible()
            await page.fill("#parley-widget .pw-input", "Are you there now?")
            await page.press("#parley-widget .pw-input", "Enter")
            assert (await visitor_message(op)).text == "Are you there now?"
            assert errors == []
        finally:
            await browser.close()
            await op.close()
