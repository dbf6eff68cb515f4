"""The widget's "Email me this conversation" in a real headless Chromium
against a real server and a real SMTP server: hidden while the account has no
SMTP server and during the chat, offered once the chat ended with the email the
visitor gave filled in, the transcript sent and said in the field; a bad address
refused there. With PARLEY_SHOTS=1, a screenshot goes to /tmp/widget-shots/."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import expect

from parley.v1 import operator_pb2
from tests.delivery.receivers import Inbox, parts, smtp_server
from tests.delivery.test_mail import FAST, mail_to
from tests.edge.test_widget import W, attached, command, shot, visitor_message, watch_errors
from tests.integration.helpers import owner, running
from tests.integration.test_routing import staff


async def test_email_me_this_conversation(tmp_path: Path, chromium_cdp: str) -> None:
    inbox = Inbox()
    server, port = await smtp_server(inbox)
    try:
        async with running(tmp_path, delivery=FAST) as app, attached(chromium_cdp) as browser:
            boss = await owner(app)
            kim = await staff(app, boss, "Kim")
            context = await browser.new_context(locale="en-US")
            page = await context.new_page()
            errors = watch_errors(page)
            # The visitor gave its email before (kept by the widget for the site).
            assert app.demo is not None
            kept = '{"name": "Vee", "email": "vee@visitor.test"}'
            await context.add_init_script(
                f"localStorage.setItem('parley:{app.demo['site']}', '{kept}')"
            )
            await mail_to(boss, port)
            await page.goto(f"http://127.0.0.1:{app.http_port}/")
            await page.locator(f"{W} .la").click()
            composer = page.locator(f"{W} .cp textarea")
            await composer.fill("Please email me this <b>chat</b>")
            await composer.press("Enter")
            conv = (await kim.recv("assigned", timeout=10)).conversation_id
            await visitor_message(kim, conv)
            kim.say(conv, "k1", "Sure, end the chat and ask for it.")
            mail_row = page.locator(f"{W} form.end")
            address = mail_row.locator("input[type=email]")
            await expect(page.locator(f"{W} .m:not(.me)")).to_have_count(1)
            await expect(mail_row).to_be_hidden()  # not while chatting

            kim.send_commands(command(close=operator_pb2.CloseConversation(conversation_id=conv)))
            await expect(mail_row).to_be_visible()
            await expect(address).to_have_value("vee@visitor.test")
            button = mail_row.locator("button")
            await expect(button).to_have_text("Email me this conversation")
            await shot(page, "mail-1-offered")

            await address.fill("not an address")
            await page.evaluate(  # past the browser's own check: the server's refusal
                "w => w.shadowRoot.querySelector('form.end').noValidate = true",
                await page.locator(W).element_handle(),
            )
            await button.click()
            await expect(address).to_have_attribute(  # by its code, in the visitor's words
                "placeholder", "Please enter a valid email address."
            )

            await address.fill("vee@visitor.test")
            await button.click()
            await expect(address).to_have_attribute("placeholder", "\u2713 vee@visitor.test")
            await expect(address).to_have_value("")
            await shot(page, "mail-2-sent")
            (mail,) = await inbox.wait_for(1)
            text, _html = parts(mail)
            assert mail["To"] == "vee@visitor.test"
            assert "Please email me this <b>chat</b>" in text and "Kim: Sure" in text
            assert errors == []
    finally:
        server.close()
        await server.wait_closed()
