"""The console's top bar on a phone, disabled actions that say why, and an
invitation's words in the transcript, in Chromium against a real server: the
phone's one-row bar with its Menu (every entry the pages nav has, opened,
walked and closed from the keyboard alone; the laptop's bar unchanged); the
Visitors page's Invite disabled for a visitor in a chat with the reason in
words, and Take at the chat limit likewise; the words an operator invited a
visitor with opening the chat's transcript once, in the console and the widget.
With PARLEY_SHOTS=1, screenshots go to /tmp/console-shots/polish-*.png."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Page, expect

from parley.v1 import control_pb2
from tests.edge.test_console import LAPTOP, PHONE, axe_finds_nothing_serious, sign_in
from tests.edge.test_console import shot as console_shot
from tests.edge.test_widget import attached, watch_errors
from tests.integration.helpers import Visitor, owner, running, visitor_url

TALL_PHONE = {**PHONE, "viewport": {"width": 375, "height": 812}}

# Every entry the menu must hold: what the pages nav has (whatever nav.js put
# there), the colleagues, sign out.
ENTRIES = """() => [...document.querySelectorAll(
  '#top-menu .pages button:not([hidden]), #team-toggle, #sign-out')]
  .map((b) => ({id: b.id, shown: b.getClientRects().length > 0}))"""
# How tall the top bar's visible items stand together: one row is under 50 px.
SPAN = """() => {
  const rects = [...document.querySelectorAll('.top > *, .top-menu > *')]
    .filter((el) => el.getClientRects().length && !el.closest('.menu-open .top-menu'))
    .map((el) => el.getBoundingClientRect());
  return Math.max(...rects.map((r) => r.bottom)) - Math.min(...rects.map((r) => r.top));
}"""


async def shot(page: Page, name: str) -> None:
    await console_shot(page, f"polish-{name}")


async def focused(page: Page) -> str:
    return str(await page.evaluate("() => document.activeElement && document.activeElement.id"))


async def test_the_phone_menu_from_the_keyboard(tmp_path: Path, chromium_cdp: str) -> None:
    async with running(tmp_path) as app, attached(chromium_cdp) as browser:
        context = await browser.new_context(**TALL_PHONE, locale="en-US", color_scheme="light")
        page = await context.new_page()
        errors = watch_errors(page)
        await sign_in(page, app)
        toggle = page.locator("#menu-toggle")
        menu = page.locator("#top-menu")
        await expect(toggle).to_be_visible()
        await expect(menu).to_be_hidden()
        await expect(page.locator("#status")).to_be_visible()  # kept in the row
        await expect(page.locator("#team-toggle")).to_be_attached()
        top = await page.locator("header.top").bounding_box()
        assert top is not None and top["height"] < 60, top  # one row
        await shot(page, "1-phone-menu-closed")

        # Keyboard only: Tab reaches the button first; Enter opens the menu on
        # its first entry; the arrows walk every entry; Escape closes it.
        await page.locator("body").focus()
        await page.keyboard.press("Tab")
        assert await focused(page) == "menu-toggle"
        await page.keyboard.press("Enter")
        await expect(toggle).to_have_attribute("aria-expanded", "true")
        await expect(menu).to_be_visible()
        entries = await page.evaluate(ENTRIES)
        ids = [e["id"] for e in entries]
        assert {"page-chats", "page-history", "page-visitors", "team-toggle", "sign-out"} <= set(
            ids
        )
        assert all(e["shown"] for e in entries), entries
        assert await focused(page) == ids[0]
        walked = [ids[0]]
        for _ in range(20):  # round the menu, back to the first entry
            await page.keyboard.press("ArrowDown")
            if await focused(page) == ids[0]:
                break
            walked.append(await focused(page))
        assert [i for i in walked if i in ids] == ids, walked  # the prompt's buttons between
        await shot(page, "2-phone-menu-open")
        await page.keyboard.press("Escape")
        await expect(toggle).to_have_attribute("aria-expanded", "false")
        await expect(menu).to_be_hidden()
        assert await focused(page) == "menu-toggle"
        assert await page.evaluate(SPAN) < 50

        # A page chosen from the menu: shown, the menu closed, the focus back.
        await page.keyboard.press("ArrowDown")
        await expect(menu).to_be_visible()
        while await focused(page) != "page-visitors":
            await page.keyboard.press("ArrowDown")
        await page.keyboard.press("Enter")
        await expect(page.locator("#visitors-page")).to_be_visible()
        await expect(menu).to_be_hidden()
        assert await focused(page) == "menu-toggle"
        await axe_finds_nothing_serious(page)
        assert errors == [], errors
        await context.close()

        # A laptop's top bar is as it was: one row, everything in it, no menu.
        context = await browser.new_context(**LAPTOP, locale="en-US", color_scheme="light")
        page = await context.new_page()
        await sign_in(page, app)
        await page.click("#notify-off")  # as the laptop tests do: the bar as it was
        await expect(page.locator("#menu-toggle")).to_be_hidden()
        for entry in await page.evaluate(ENTRIES):
            await expect(page.locator(f"#{entry['id']}")).to_be_visible()
        await expect(page.locator("#me")).to_be_visible()
        await shot(page, "3-laptop-top-bar")
        assert await page.evaluate(SPAN) < 50
        await context.close()


async def test_disabled_actions_say_why_and_an_invitation_opens_the_transcript(
    tmp_path: Path, chromium_cdp: str
) -> None:
    """Invite is disabled for a visitor in a chat, with the reason beside it;
    Take at the chat limit too. The words of an invitation made from the
    console are the first message of the chat it opens, once, in the
    console's transcript and in the widget."""
    async with running(tmp_path) as app, attached(chromium_cdp) as browser:
        boss = await owner(app)
        await boss.api.operators.UpdateOperator(
            control_pb2.UpdateOperatorRequest(
                operator=control_pb2.Operator(id=app.demo["operator"], max_chats=1),
                update_mask={"paths": ["max_chats"]},
            ),
            metadata=boss.metadata,
        )
        context = await browser.new_context(**LAPTOP, locale="en-US", color_scheme="light")
        page = await context.new_page()
        errors = watch_errors(page)
        await sign_in(page, app)
        await page.click("#notify-off")
        # The visitor is someone else, in a browser of their own: a second page
        # of the operator's context would be a background tab, whose animation
        # frames stop (each click on the console waited about a second for them).
        shop_context = await browser.new_context(**LAPTOP, locale="en-US")
        shop = await shop_context.new_page()
        shop_errors = watch_errors(shop)
        await shop.goto(f"http://127.0.0.1:{app.http_port}/?from=mail")
        await page.click("#page-visitors")
        row = page.locator(".visitor-row")
        await expect(row).to_have_count(1, timeout=10_000)
        invite = row.locator("button.invite")
        await expect(invite).to_be_enabled()
        await expect(row.locator(".invite-why")).to_have_count(0)
        await invite.click()
        words = "Hi <i>there</i>, looking for the blue one?"
        dialog = page.locator("dialog.dlg")
        await dialog.locator("textarea").fill(words)
        await dialog.locator("button[type=submit]").click()
        await expect(row.locator(".invite-why")).to_have_text(
            "Already invited: waiting for the answer.", timeout=10_000
        )
        await expect(invite).to_be_disabled()
        card = shop.locator("parley-chat .inv")
        await expect(card.locator(".tx")).to_have_text(words)
        await shop.keyboard.type("Yes, the blue one")
        await shop.keyboard.press("Enter")

        # In a chat now: Invite disabled, the reason in words beside it.
        await expect(row.locator(".invite-why")).to_have_text(
            "Already in a chat: no invitation needed.", timeout=10_000
        )
        await expect(invite).to_be_disabled()
        described = await invite.get_attribute("aria-describedby")
        assert described and await page.locator(f"#{described}").is_visible()
        await shot(page, "4-visitors-invite-disabled")

        # The chat opens with the inviter's words, then the answer; once each.
        await page.click("#page-chats")
        await page.locator(".chat-row button.open").first.click()
        transcript = page.locator("#transcript .msg:not(.system)")
        await expect(transcript).to_have_count(2, timeout=10_000)
        await expect(transcript.nth(0)).to_have_class("msg operator own")
        await expect(transcript.nth(0).locator(".text")).to_have_text(words)
        await expect(transcript.nth(1).locator(".text")).to_have_text("Yes, the blue one")
        said = shop.locator("parley-chat li.m", has_text="looking for the blue one")
        await expect(said).to_have_count(1)
        await expect(said.locator(".who")).to_have_text("Demo operator")
        await expect(card).to_be_hidden()
        await shot(page, "5-invitation-in-transcript")

        # At its limit of one chat, Take on a waiting chat is disabled, saying why.
        waiting = await Visitor(visitor_url(app)).connect()
        await waiting.hello(name="Wanda")
        waiting.send({"type": "msg", "cid": "w1", "text": "anyone?"})
        await waiting.recv("ack")
        take = page.locator(".chat-row", has_text="Wanda").locator("button.take")
        await expect(take).to_be_disabled(timeout=10_000)
        why = page.locator(".chat-row", has_text="Wanda").locator(".why")
        await expect(why).to_have_text("You are at your chat limit.")
        await shot(page, "6-take-at-limit")
        assert errors == [] and shop_errors == [], (errors, shop_errors)
        await waiting.close()
        await boss.close()
        await shop_context.close()
        await context.close()
