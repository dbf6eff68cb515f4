"""The console's chat actions, quick replies and colleagues in a real headless
Chromium against a real server, with a visitor and a second operator (Kim,
over gRPC): a quick reply with its variables filled, a note the visitor never
sees, an action disabled with its reason, the internal chat both ways with an
unread badge, and a transfer to Kim done from the keyboard alone (the chat
moves). With PARLEY_SHOTS=1, screenshots go to /tmp/console-shots/act-*.png."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Page, expect

from parley.v1 import control_pb2, operator_pb2
from tests.edge.test_console import (
    LAPTOP,
    axe_finds_nothing_serious,
    chat_opened,
    operator_text,
    sign_in,
)
from tests.edge.test_console import shot as console_shot
from tests.edge.test_widget import attached, watch_errors
from tests.integration.helpers import Operator, owner, running, settled

KIM = {"email": "kim@parley.local", "password": "kim-password-1"}


async def shot(page: Page, name: str) -> None:
    await console_shot(page, f"act-{name}")


async def setting_up(app: object) -> None:
    """Kim in the demo department, known to colleagues as "Kim (L2)"; two
    shared quick replies."""
    boss = await owner(app)  # type: ignore[arg-type]
    demo = app.demo  # type: ignore[attr-defined]
    await boss.api.operators.CreateOperator(
        control_pb2.CreateOperatorRequest(
            operator=control_pb2.Operator(
                email=KIM["email"],
                display_name="Kim",
                internal_name="Kim (L2)",
                department_ids=[demo["department"]],
            ),
            password=KIM["password"],
        ),
        metadata=boss.metadata,
    )
    for shortcut, text in (
        ("hi", "Hello {visitor_name}, I am {operator_name}."),
        ("bye", "Goodbye {visitor_name}!"),
    ):
        await boss.api.templates.CreateTemplate(
            control_pb2.CreateTemplateRequest(
                template=control_pb2.Template(shortcut=shortcut, text=text, shared=True)
            ),
            metadata=boss.metadata,
        )
    await boss.close()


async def test_actions_quick_replies_and_colleagues(tmp_path: Path, chromium_cdp: str) -> None:
    async with running(tmp_path) as app, attached(chromium_cdp) as browser:
        await setting_up(app)
        context = await browser.new_context(**LAPTOP, locale="en-US", color_scheme="light")
        page = await context.new_page()
        errors = watch_errors(page)
        await sign_in(page, app)

        visitor, transcript = await chat_opened(page, app, "Ada", "Hello there")
        # Kim comes online only now: the chat was the console's to answer.
        kim = await Operator(app).login(KIM["email"], KIM["password"])
        await kim.open()

        # Quick replies: "/" lists them, typing filters, Escape dismisses,
        # Enter inserts the reply with its variables filled.
        composer = page.locator("#composer")
        quick = page.locator("#quick")
        await composer.press_sequentially("/by")
        await expect(quick).to_be_visible()
        await expect(quick.locator(".quick-item").first).to_have_attribute("data-shortcut", "bye")
        await expect(quick.locator(".quick-item").first).to_contain_text("Goodbye Ada!")
        await composer.press("Escape")
        await expect(quick).to_be_hidden()
        await composer.fill("")
        await composer.press_sequentially("/hi")
        await expect(quick.locator(".quick-item.active")).to_have_attribute("data-shortcut", "hi")
        await shot(page, "1-quick-replies")
        await composer.press("Enter")
        await expect(quick).to_be_hidden()
        await expect(composer).to_have_value("Hello Ada, I am Demo operator.")
        await composer.press("Enter")
        assert await operator_text(visitor) == "Hello Ada, I am Demo operator."

        # A note: in the transcript for operators, never sent to the visitor.
        await page.check("#whisper")
        await composer.fill("Regular customer, be kind")
        await composer.press("Enter")
        await expect(transcript.locator(".msg.note .text")).to_have_text(
            ["Regular customer, be kind"]
        )
        await page.uncheck("#whisper")
        await settled(app, visitor)
        texts = [str(f.get("text", "")) for f in visitor.frames()]
        assert not [x for x in texts if "Regular customer" in x], texts

        # The actions dialog: what the role may not do is disabled, with why.
        await page.click("#actions")
        dialog = page.get_by_role("dialog")
        await expect(dialog).to_be_visible()
        block = dialog.locator("[data-action=block]")
        await expect(block).to_have_attribute("aria-disabled", "true")
        await expect(dialog).to_contain_text("Your role may not block visitors.")
        join = dialog.locator("[data-action=join]")
        await expect(join).to_have_attribute("aria-disabled", "true")
        await expect(dialog).to_contain_text("You are in this chat already.")
        await expect(dialog.locator("[data-action=transfer]")).to_be_focused()
        await block.dispatch_event("click")  # nothing happens: disabled
        await expect(dialog).to_be_visible()
        await shot(page, "2-actions-disabled")
        await axe_finds_nothing_serious(page)
        await page.keyboard.press("Escape")
        await expect(dialog).to_have_count(0)
        await expect(page.locator("#actions")).to_be_focused()

        # The colleagues panel: Kim by the internal name, online; the internal chat.
        await page.click("#team-toggle")
        mate = page.locator("#team .mate", has_text="Kim (L2)")
        await expect(mate).to_contain_text("Online")
        await mate.click()
        await page.fill("#team-input", "Could you take Ada?")
        await page.press("#team-input", "Enter")
        got = await kim.recv("direct", timeout=10)
        assert got.text == "Could you take Ada?" and got.from_operator_id != kim.id
        me_id = got.from_operator_id

        def direct(cid: str, text: str) -> operator_pb2.OperatorCommand:
            return operator_pb2.OperatorCommand(
                direct=operator_pb2.DirectSend(to_operator_id=me_id, client_msg_id=cid, text=text)
            )

        kim.send_commands(direct("k1", "Sure, send her over <b>now</b>"))
        await expect(page.locator("#team-body .msg.visitor .text")).to_have_text(
            ["Sure, send her over <b>now</b>"]
        )
        assert await page.locator("#team-body b").count() == 0
        await shot(page, "3-internal-chat")
        await page.keyboard.press("Escape")
        await expect(page.locator("#team")).to_be_hidden()
        kim.send_commands(direct("k2", "Ready when you are"))
        await expect(page.locator("#team-unread")).to_have_text("1")
        await shot(page, "4-unread-badge")

        # A transfer from the keyboard alone: the actions, Transfer, type, Enter.
        await page.locator("#actions").focus()
        await page.keyboard.press("Enter")
        await expect(page.locator("[data-action=transfer]")).to_be_focused()
        await page.keyboard.press("Enter")
        picker = page.get_by_role("combobox", name="Colleague or department")
        await expect(picker).to_be_focused()
        await page.keyboard.type("kim")
        option = page.get_by_role("option", name="Kim (L2)")
        await expect(option).to_have_attribute("aria-selected", "true")
        await expect(option).to_contain_text("0 of 5 chats")
        await shot(page, "5-transfer-picker")
        await page.keyboard.press("Enter")
        assigned = await kim.recv("assigned", timeout=10)
        await expect(page.locator("[data-count=mine]")).to_have_text("0")
        await expect(page.locator("[data-count=others]")).to_have_text("1")
        await expect(page.locator("#composer-form")).to_be_hidden()
        await expect(page.locator("#action-status")).to_have_text("Transferring to Kim (L2)…")
        await shot(page, "6-transferred")
        kim.say(assigned.conversation_id, "k3", "Hi Ada, Kim here")
        assert await operator_text(visitor) == "Hi Ada, Kim here"
        assert errors == [], errors
        await visitor.close()
        await context.close()
