"""Getting around the operators' console in Chromium against a real server:
the unread count in the tab's title and the sound log, the keyboard between
chats, the command palette and the shortcut sheet, a reload resuming from the
seqs kept in the tab (nothing replayed, nothing doubled), the History page
finding a past chat by its words and reading its transcript, and the Tickets
page listing a request left through the offline form. With PARLEY_SHOTS=1,
screenshots go to /tmp/console-shots/nav-*.png."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

from playwright.async_api import Page, expect

from parley.v1 import control_pb2
from tests.edge.test_console import (
    LAPTOP,
    axe_finds_nothing_serious,
    operator_text,
    shot,
    sign_in,
)
from tests.edge.test_widget import attached, watch_errors
from tests.integration.helpers import Visitor, demo_operator, running, visitor_url


async def console(browser: Any, app: Any) -> tuple[Page, list[str]]:
    """A signed-in console that said "Not now" to sound and notifications."""
    context = await browser.new_context(**LAPTOP, locale="en-US", color_scheme="light")
    page = await context.new_page()
    errors = watch_errors(page)
    await sign_in(page, app)
    await expect(page.locator("#notify-ask")).to_be_visible()
    return page, errors


async def visitor_says(app: Any, name: str, *texts: str) -> Visitor:
    visitor = await Visitor(visitor_url(app)).connect()
    await visitor.hello(name=name)
    for i, text in enumerate(texts):
        visitor.send({"type": "msg", "cid": f"{name}{i}", "text": text})
        await visitor.recv("ack")
    return visitor


async def mine(page: Page, name: str, count: int) -> None:
    """The visitor's chat in Mine (accepted if it came as an offer)."""
    row = page.locator(".chat-row", has_text=name)
    await expect(row).to_have_count(1, timeout=10_000)
    accept = row.locator("button.accept")
    if await accept.count():
        await accept.click()
    await expect(page.locator("[data-count=mine]")).to_have_text(str(count))


def title_count(title: str) -> int:
    found = re.match(r"^\((\d+)\) ", title)
    return int(found.group(1)) if found else 0


async def test_the_title_counts_a_message_in_a_background_chat(
    tmp_path: Path, chromium_cdp: str
) -> None:
    async with running(tmp_path, history=True) as app, attached(chromium_cdp) as browser:
        page, errors = await console(browser, app)
        await page.click("#notify-on")
        await expect(page.locator("#notify-ask")).to_be_hidden()
        ada = await visitor_says(app, "Ada", "Hello")
        await mine(page, "Ada", 1)
        bob = await visitor_says(app, "Bob", "Hi")
        await mine(page, "Bob", 2)
        await page.locator(".chat-row", has_text="Ada").locator("button.open").click()
        await expect(page.locator("#chat-title")).to_have_text("Ada")
        await page.wait_for_function("() => /^\\(1\\) /.test(document.title)")  # Bob's "Hi"
        before = title_count(await page.title())

        bob.send({"type": "msg", "cid": "b2", "text": "Anyone there?"})
        await page.wait_for_function(f"() => /^\\((\\d+)\\) /.exec(document.title)?.[1] > {before}")
        assert title_count(await page.title()) == before + 1
        bob_row = page.locator(".chat-row", has_text="Bob")
        await expect(bob_row.locator(".badge")).to_have_text("2")
        sounds = await page.evaluate("window.parleyNav.notifier.log.map(s => s.kind)")
        assert "message" in sounds, sounds
        await shot(page, "nav-1-title-count")

        # Opening Bob reads his messages: the count goes.
        await bob_row.locator("button.open").click()
        await page.wait_for_function("() => !/^\\(\\d+\\) /.test(document.title)")
        assert errors == [], errors
        await ada.close()
        await bob.close()


async def test_the_keyboard_moves_between_chats_and_opens_the_palette(
    tmp_path: Path, chromium_cdp: str
) -> None:
    async with running(tmp_path, history=True) as app, attached(chromium_cdp) as browser:
        page, errors = await console(browser, app)
        ada = await visitor_says(app, "Ada", "Hello")
        await mine(page, "Ada", 1)
        bob = await visitor_says(app, "Bob", "Hi")
        await mine(page, "Bob", 2)
        title = page.locator("#chat-title")

        await page.keyboard.press("Alt+1")
        await expect(title).to_have_text("Ada")
        await page.keyboard.press("Alt+ArrowDown")
        await expect(title).to_have_text("Bob")
        await page.keyboard.press("Alt+ArrowDown")  # round to the first
        await expect(title).to_have_text("Ada")
        await page.keyboard.press("Alt+ArrowUp")
        await expect(title).to_have_text("Bob")
        await page.keyboard.press("Alt+R")
        await expect(page.locator("#composer")).to_be_focused()
        await page.keyboard.type("Hello Bob")
        await page.keyboard.press("Enter")
        assert await operator_text(bob) == "Hello Bob"

        # The shortcut sheet on "?" (outside the composer), gone with Escape.
        await page.locator("#transcript").focus()
        await page.keyboard.press("?")
        sheet = page.locator("#shortcuts")
        await expect(sheet).to_be_visible()
        await expect(sheet).to_contain_text("Next chat")
        await expect(page.locator("#shortcuts-close")).to_be_focused()
        await shot(page, "nav-2-shortcuts")
        await page.keyboard.press("Escape")
        await expect(sheet).to_be_hidden()

        # The palette: a chat by its name, then a command.
        await page.keyboard.press("Control+K")
        palette = page.locator("#palette")
        await expect(palette).to_be_visible()
        await expect(page.locator("#palette-input")).to_be_focused()
        await page.keyboard.type("ada")
        await expect(page.locator(".palette-item").first).to_contain_text("Open Ada")
        await shot(page, "nav-3-palette")
        await page.keyboard.press("Enter")
        await expect(palette).to_be_hidden()
        await expect(title).to_have_text("Ada")
        await page.keyboard.press("Control+K")
        await page.keyboard.type("close chat")
        await expect(page.locator(".palette-item[aria-selected=true]")).to_contain_text(
            "Close chat"
        )
        await page.keyboard.press("Enter")
        await expect(page.locator("#closed-note")).to_be_visible()
        await expect(page.locator("[data-count=mine]")).to_have_text("1")
        await axe_finds_nothing_serious(page)
        assert errors == [], errors
        await ada.close()
        await bob.close()


async def test_a_reload_resumes_without_replaying(tmp_path: Path, chromium_cdp: str) -> None:
    async with running(tmp_path, history=True) as app, attached(chromium_cdp) as browser:
        page, errors = await console(browser, app)
        ada = await visitor_says(app, "Ada", "one", "two", "three")
        await mine(page, "Ada", 1)
        await page.locator(".chat-row", has_text="Ada").locator("button.open").click()
        texts = page.locator("#transcript .msg.visitor .text")
        await expect(texts).to_have_text(["one", "two", "three"])
        await page.fill("#composer", "Hello Ada")
        await page.press("#composer", "Enter")
        assert await operator_text(ada) == "Hello Ada"
        ada.send({"type": "msg", "cid": "a4", "text": "four"})
        await expect(texts).to_have_text(["one", "two", "three", "four"])
        # The tab holds the chat's last seq (what the stream brought last).
        top = await page.evaluate(
            "(() => { const s = window.parleyConsole.state();"
            " return s.chats.get(s.openId).streamSeq; })()"
        )
        await page.wait_for_function(
            f"() => Object.values(JSON.parse(sessionStorage.getItem('parley.console.seqs')"
            f" || '{{}}')).some(([seq]) => seq === {top})"
        )
        before = await page.evaluate("window.parleyNav.streamMessages")
        assert before >= 4

        await page.reload()
        await expect(page.locator("#me")).to_have_text("Demo operator")
        await expect(page.locator("[data-count=mine]")).to_have_text("1")
        ada.send({"type": "msg", "cid": "a5", "text": "five"})
        row = page.locator(".chat-row", has_text="Ada")
        await expect(row.locator(".preview")).to_have_text("five")
        # Only the new message came on the stream: nothing was replayed.
        assert await page.evaluate("window.parleyNav.streamMessages") == 1
        await row.locator("button.open").click()
        await expect(texts).to_have_text(["one", "two", "three", "four", "five"])
        seqs = await page.locator("#transcript .msg[data-seq]").evaluate_all(
            "els => els.map(e => Number(e.dataset.seq))"
        )
        assert seqs == sorted(set(seqs)), seqs
        await expect(page.locator("#transcript .msg.own .text")).to_have_text(["Hello Ada"])
        await shot(page, "nav-4-resumed")
        assert errors == [], errors
        await ada.close()


async def test_history_finds_a_past_chat_and_reads_it(tmp_path: Path, chromium_cdp: str) -> None:
    async with running(tmp_path, history=True) as app, attached(chromium_cdp) as browser:
        page, errors = await console(browser, app)
        grace = await visitor_says(app, "Grace", "My parcel to Zanzibar never came")
        await mine(page, "Grace", 1)
        await page.locator(".chat-row", has_text="Grace").locator("button.open").click()
        await page.fill("#composer", "Let me look at the tracking")
        await page.press("#composer", "Enter")
        assert await operator_text(grace) == "Let me look at the tracking"
        await page.click("#close-chat")
        await expect(page.locator("#closed-note")).to_be_visible()
        await grace.close()

        # The history index follows the store a moment behind: wait for it.
        op = await demo_operator(app)
        async with asyncio.timeout(10):
            while True:
                found = await op.api.conversations.SearchConversations(
                    control_pb2.SearchConversationsRequest(query="zanzibar"),
                    metadata=op.metadata,
                )
                if found.hits:
                    break
                await asyncio.sleep(0.05)

        await page.keyboard.press("Alt+H")
        await expect(page.locator("#history-page")).to_be_visible()
        await expect(page.locator("#lists")).to_be_hidden()
        await expect(page.locator(".history-row", has_text="Grace")).to_have_count(1)
        await page.select_option("#history-status", "closed")
        await page.fill("#history-query", "zanzib")
        await page.press("#history-query", "Enter")
        hit = page.locator(".history-row", has_text="Grace")
        await expect(hit).to_have_count(1)
        await expect(hit.locator(".snippet mark")).to_have_text(re.compile("Zanzibar", re.I))
        await shot(page, "nav-5-history-search")
        await hit.locator("button").click()
        transcript = page.locator("#history-transcript")
        await expect(transcript.locator(".msg.visitor .text")).to_have_text(
            ["My parcel to Zanzibar never came"]
        )
        await expect(transcript.locator(".msg.operator .text")).to_have_text(
            ["Let me look at the tracking"]
        )
        await expect(transcript.locator(".msg.hit")).to_have_count(1)
        await expect(page.locator("#history-back")).to_be_focused()
        await shot(page, "nav-6-history-transcript")
        # The transcript downloads as text (a line a message) and as JSON.
        async with page.expect_download() as got:
            await page.click("#history-text")
        text = await downloaded(got)
        assert "Grace: My parcel to Zanzibar never came\n" in text, text
        assert " UTC] Demo operator: Let me look at the tracking\n" in text, text
        assert " UTC] — Chat closed by Demo operator\n" in text, text
        async with page.expect_download() as got:
            await page.click("#history-json")
        doc = json.loads(await downloaded(got))
        assert doc["conversation"]["visitor_name"] == "Grace"
        said = [(m["author_kind"], m["text"]) for m in doc["messages"]]
        said = [(kind, words) for kind, words in said if kind != "system"]
        assert said == [
            ("visitor", "My parcel to Zanzibar never came"),
            ("operator", "Let me look at the tracking"),
        ], said
        await page.focus("#history-back")
        await page.keyboard.press("Enter")  # back, by keyboard
        await expect(page.locator("#history-results")).to_be_visible()
        await axe_finds_nothing_serious(page)
        assert errors == [], errors


async def downloaded(got: Any) -> str:
    """The text of a download the page made."""
    path = await (await got.value).path()
    return await asyncio.to_thread(Path(path).read_text, encoding="utf-8")


async def test_tickets_lists_a_request_left_offline(tmp_path: Path, chromium_cdp: str) -> None:
    async with running(tmp_path, history=True) as app, attached(chromium_cdp) as browser:
        # Nobody is online yet: the visitor leaves a request.
        ola = await Visitor(visitor_url(app)).connect()
        await ola.hello(name="Ola")
        ola.send({"type": "ticket", "name": "Ola", "email": "ola@x.test", "text": "Call me back"})
        await ola.recv("ticket_saved")
        await ola.close()

        page, errors = await console(browser, app)
        tab = page.locator("#page-tickets")
        await expect(tab).to_be_visible()
        await tab.click()
        row = page.locator(".ticket-row", has_text="ola@x.test")
        await expect(page.locator("#tickets-error")).to_have_text("")
        await expect(row).to_have_count(1)
        await expect(row).to_contain_text("Call me back")
        await shot(page, "nav-7-tickets")
        await row.locator("button").click()
        await expect(page.locator("#ticket-title")).to_have_text("Ola")
        body = page.locator("#ticket-body")
        await expect(body).to_contain_text("Call me back")
        await expect(body).to_contain_text("Open · Request")
        # Its lifecycle: assigned to oneself, an answer by email (this server
        # has no mail set up: said, the words kept), closed, opened again.
        await body.locator("[data-ticket-action=assign]").click()
        await expect(body).to_contain_text("Assigned · Request")
        await expect(body.locator("dd").nth(1)).to_have_text("you")
        await page.fill("#ticket-reply-text", "We will call you at noon.")
        await body.locator(".ticket-reply button").click()
        await expect(body.locator(".error")).to_have_text("Set the mail server first.")
        await expect(page.locator("#ticket-reply-text")).to_have_value("We will call you at noon.")
        await shot(page, "nav-7b-ticket-open")
        await body.locator("[data-ticket-action=close]").click()
        await expect(body).to_contain_text("Closed · Request")
        await expect(page.locator("#ticket-reply-text")).to_have_count(0)
        await body.locator("[data-ticket-action=reopen]").click()
        await expect(body).to_contain_text("Open · Request")
        await page.click("#tickets-back")
        await expect(row).to_be_visible()
        await page.keyboard.press("Alt+L")
        await expect(page.locator("#lists")).to_be_visible()
        assert errors == [], errors


async def test_visitors_lists_the_page_and_an_invitation_becomes_a_chat(
    tmp_path: Path, chromium_cdp: str
) -> None:
    """The Visitors page lists the widget's visitor; Invite opens the dialog;
    the widget opens with the operator's words (as text), the composer ready;
    the visitor's answer is the inviter's chat, and the console says so."""
    async with running(tmp_path, history=True) as app, attached(chromium_cdp) as browser:
        page, errors = await console(browser, app)
        # The visitor's own browser (a tab of the console's context would be in
        # the background, its animation frames stopped).
        shop = await (await browser.new_context(locale="en-US")).new_page()
        shop_errors = watch_errors(shop)
        await shop.goto(f"http://127.0.0.1:{app.http_port}/?from=ad")
        await page.keyboard.press("Alt+V")
        row = page.locator(".visitor-row")
        await expect(row).to_have_count(1, timeout=10_000)  # the count's event re-reads it
        await expect(row).to_contain_text("/?from=ad")
        await expect(row).to_contain_text("New")
        await row.locator("button.invite").click()
        dialog = page.locator("dialog.dlg")
        words = "<b>Hello</b>, can I help?"
        await dialog.locator("textarea").fill(words)
        await dialog.locator("button[type=submit]").click()
        await expect(page.locator("#visitors-note")).to_contain_text("is invited")
        card = shop.locator("parley-chat .inv")
        await expect(card.locator(".tx")).to_have_text(words)
        await expect(card.locator(".who")).to_contain_text("Demo operator invites you to chat")
        await expect(shop.locator("parley-chat .cp textarea")).to_be_focused()
        await shot(shop, "nav-8-invitation")
        await shop.keyboard.type("Yes, please")
        await shop.keyboard.press("Enter")
        await expect(page.locator("#visitors-note")).to_contain_text("accepted", timeout=10_000)
        await expect(row).to_contain_text("In a chat", timeout=10_000)
        await shot(page, "nav-8-visitors")
        await page.keyboard.press("Alt+L")
        await expect(page.locator(".chat-row")).to_have_count(1, timeout=10_000)
        await expect(card).to_be_hidden()
        assert errors == [] and shop_errors == [], (errors, shop_errors)
        await page.context.close()
