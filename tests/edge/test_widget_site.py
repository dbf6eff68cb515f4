"""The widget under its site's settings, in a real headless Chromium against a
real server: the colour, side, title and greeting the admin set (a dark and a
light brand colour, desktop and phone), the words per language with Arabic laid
out right to left, notices in the visitor's language, the pre-chat form, the
operator's avatar, and a page load after a chat closed while the page was away.
With PARLEY_SHOTS=1, screenshots of each key state go to
/tmp/widget-shots/site-*.png."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, expect

from parley.v1 import control_pb2, operator_pb2
from tests.conftest import TAKE_SHOTS
from tests.edge.test_widget import DEVICES, SHOTS, W, attached, visitor_message, watch_errors
from tests.integration.helpers import Operator, on_duty, owner, running
from tests.integration.test_widget_site import update

PHONE = {**DEVICES["phone"], "viewport": {"width": 375, "height": 812}}
SIZES: dict[str, dict[str, Any]] = {"desktop": DEVICES["desktop"], "phone": PHONE}
AVATAR = "https://cdn.shop.test/kim.png"


# A small PNG, served for the avatar's URL by the test (the browser has no network).
def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xd9\x77\x06" * 8 for _ in range(8))
    header = struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


PNG = _png()
SHOP = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><h1>Shop</h1><script src="/widget.js" data-site="{site}" async></script></body></html>"""


async def shot(page: Page, name: str) -> None:
    if not TAKE_SHOTS:
        return
    await page.screenshot(path=str(SHOTS / f"site-{name}.png"))


async def open_panel(page: Page) -> None:
    await page.locator(f"{W} .la").click()
    await expect(page.locator(f"{W} .p")).to_be_visible()


def rgb(hex_colour: str) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


@pytest.mark.parametrize("device", ["desktop", "phone"])
async def test_the_sites_look(tmp_path: Path, chromium_cdp: str, device: str) -> None:
    """Colour, side, title and greeting from the server; the text on the colour
    follows its lightness; a change shows on the next page."""
    async with running(tmp_path) as app, attached(chromium_cdp) as browser:
        assert app.demo is not None
        boss, site = await owner(app), app.demo["site"]
        await on_duty(app)
        base = f"http://127.0.0.1:{app.http_port}/"
        looks = [("dark", "#312e81", "left", "#ffffff"), ("light", "#ffd666", "right", "#111827")]
        for name, colour, side, text_colour in looks:
            await update(
                boss,
                site,
                widget_color=colour,
                widget_position=side,
                widget_texts=[{"title": f"Acme {name}", "greeting": "Welcome to Acme."}],
            )
            context = await browser.new_context(**SIZES[device], locale="en-US")
            page = await context.new_page()
            errors = watch_errors(page)
            await page.goto(base)
            launcher = page.locator(f"{W} .la")
            await expect(launcher).to_have_css("background-color", rgb(colour))
            box = await launcher.bounding_box()
            width = SIZES[device]["viewport"]["width"]
            assert box is not None
            assert (box["x"] < width / 2) == (side == "left"), (name, box)
            await open_panel(page)
            head = page.locator(f"{W} .hd")
            await expect(head.locator("h2")).to_have_text(f"Acme {name}")
            await expect(head).to_have_css("background-color", rgb(colour))
            await expect(head).to_have_css("color", rgb(text_colour))
            await expect(page.locator(f"{W} .card").first).to_have_text("Welcome to Acme.")
            await shot(page, f"{name}-{device}")
            assert errors == []
            await context.close()


async def test_words_per_language_and_right_to_left(tmp_path: Path, chromium_cdp: str) -> None:
    """The site's words in the visitor's language, else its words for every
    language, else the built-in ones; Arabic right to left; a notice (an
    operator joined) said in the visitor's language."""
    async with running(tmp_path) as app, attached(chromium_cdp) as browser:
        assert app.demo is not None
        boss, site = await owner(app), app.demo["site"]
        op = await on_duty(app)
        await update(
            boss,
            site,
            widget_texts=[
                {"title": "Acme help"},
                {"language": "de", "title": "Acme-Hilfe", "greeting": "Willkommen bei Acme."},
                {"language": "ja", "greeting": "Acmeへようこそ。"},
                {"language": "ar", "title": "مساعدة أكمي"},
            ],
        )
        cases = [
            ("de-DE", "Acme-Hilfe", "Willkommen bei Acme.", "Nachricht schreiben…", "ltr"),
            ("ja-JP", "Acme help", "Acmeへようこそ。", "メッセージを入力…", "ltr"),
            (
                "ar-EG",
                "مساعدة أكمي",
                "مرحبًا! اسألنا عن أي شيء، يسعدنا مساعدتك.",
                "اكتب رسالة…",
                "rtl",
            ),
            (
                "it-IT",
                "Acme help",
                "Hi! Ask us anything, we are happy to help.",
                "Write a message…",
                "ltr",
            ),
        ]
        joined = {"de-DE": "ist dem Chat beigetreten", "ar-EG": "إلى المحادثة"}
        for locale, title, greeting, placeholder, direction in cases:
            context = await browser.new_context(**DEVICES["desktop"], locale=locale)
            page = await context.new_page()
            await page.goto(f"http://127.0.0.1:{app.http_port}/")
            await open_panel(page)
            await expect(page.locator(f"{W} .hd h2")).to_have_text(title)
            await expect(page.locator(f"{W} .card").first).to_have_text(greeting)
            composer = page.locator(f"{W} .cp textarea")
            await expect(composer).to_have_attribute("placeholder", placeholder)
            assert await page.locator(f"{W} .w").get_attribute("dir") == direction
            if locale in joined:
                await composer.fill("Hallo" if locale == "de-DE" else "مرحبا")
                await composer.press("Enter")
                message = await visitor_message(op)
                notice = page.locator(f"{W} li.sys").first
                await expect(notice).to_contain_text(joined[locale])
                assert "joined" not in await notice.inner_text()
                bubble = page.locator(f"{W} .m.me .b").first
                if direction == "rtl":
                    # Right to left: the visitor's own bubbles sit on the left.
                    box = await bubble.bounding_box()
                    panel = await page.locator(f"{W} .p").bounding_box()
                    assert box is not None and panel is not None
                    assert box["x"] - panel["x"] < panel["width"] / 2
                await shot(page, f"lang-{locale}")
                op.send_commands(
                    operator_pb2.OperatorCommand(
                        close=operator_pb2.CloseConversation(
                            conversation_id=message.conversation_id
                        )
                    )
                )
                await op.recv("closed")
            await context.close()


async def test_the_pre_chat_form(tmp_path: Path, chromium_cdp: str) -> None:
    """The site's fields, required ones checked in the page (and by the server);
    the question opens the chat as its first message, under the given name."""
    async with running(tmp_path) as app, attached(chromium_cdp) as browser:
        assert app.demo is not None
        boss, site = await owner(app), app.demo["site"]
        op = await on_duty(app)
        await update(
            boss,
            site,
            prechat_name="required",
            prechat_email="optional",
            prechat_question="required",
        )
        context = await browser.new_context(**PHONE, locale="en-US")
        page = await context.new_page()
        await page.goto(f"http://127.0.0.1:{app.http_port}/")
        await open_panel(page)
        form = page.locator(f"{W} .pre")
        await expect(form).to_be_visible()
        await expect(page.locator(f"{W} .cp")).to_be_hidden()
        await expect(form.locator("label")).to_have_text(
            ["Your name", "Email (optional)", "How can we help?"]
        )
        await form.locator("button").click()
        await expect(form.locator(".er")).to_have_text("Please fill this in.")
        await expect(form.locator("#pw-pname")).to_have_attribute("aria-invalid", "true")
        await shot(page, "prechat-phone")
        await form.locator("#pw-pname").fill("Ana Silva")
        await form.locator("#pw-pq").fill("Where is my parcel?")
        await form.locator("button").click()
        message = await visitor_message(op)
        assert (message.text, message.author_name) == ("Where is my parcel?", "Ana Silva")
        await expect(page.locator(f"{W} .m.me .tx")).to_have_text("Where is my parcel?")
        await expect(form).to_be_hidden()
        await expect(page.locator(f"{W} .cp")).to_be_visible()
        await shot(page, "prechat-sent-phone")
        await context.close()


async def set_avatar(op: Operator, url: str) -> None:
    await op.api.auth.UpdateMe(
        control_pb2.UpdateMeRequest(
            operator=control_pb2.Operator(avatar_url=url), update_mask={"paths": ["avatar_url"]}
        ),
        metadata=op.metadata,
    )


async def test_a_page_load_after_the_chat_closed_while_away(
    tmp_path: Path, chromium_cdp: str
) -> None:
    """The operator's last words and the close, once each, in the visitor's
    language, with the rating offered; the operator's avatar in the header and
    bubbles (no referrer), and initials when the site shows no faces."""
    async with running(tmp_path) as app, attached(chromium_cdp) as browser:
        assert app.demo is not None
        boss, site = await owner(app), app.demo["site"]
        op = await on_duty(app)
        await set_avatar(op, AVATAR)
        context = await browser.new_context(**DEVICES["desktop"], locale="en-US")
        page = await context.new_page()
        await page.route(AVATAR, lambda route: route.fulfill(body=PNG, content_type="image/png"))
        # A shop whose CSP lets in the widget and the avatars' host.
        base = f"http://127.0.0.1:{app.http_port}/shop"
        csp = (
            f"default-src 'none'; script-src 'self'; connect-src ws://127.0.0.1:{app.http_port};"
            " img-src https://cdn.shop.test"
        )
        shop = SHOP.replace("{site}", site)
        await context.route(
            base,
            lambda route: route.fulfill(
                body=shop, content_type="text/html", headers={"Content-Security-Policy": csp}
            ),
        )
        await page.goto(base)
        await open_panel(page)
        composer = page.locator(f"{W} .cp textarea")
        await composer.fill("Is my parcel on its way?")
        await composer.press("Enter")
        first = await visitor_message(op)
        conv = first.conversation_id
        op.say(conv, "o1", "Let me look.")
        await op.recv("ack")
        header_face = page.locator(f"{W} .hd img.av")
        await expect(header_face).to_have_attribute("src", AVATAR)
        assert await header_face.get_attribute("referrerpolicy") == "no-referrer"
        await expect(page.locator(f"{W} .m:not(.me) img.av").first).to_have_attribute("src", AVATAR)
        await page.wait_for_function(
            "() => document.querySelector('parley-chat').shadowRoot"
            ".querySelector('.hd img.av').naturalWidth === 8"
        )

        await page.goto("about:blank")  # the page is away
        op.say(conv, "o2", "It left today.")
        await op.recv("ack")
        op.send_commands(
            operator_pb2.OperatorCommand(close=operator_pb2.CloseConversation(conversation_id=conv))
        )
        await op.recv("closed")
        await page.goto(base)
        bubbles = page.locator(f"{W} .m:not(.me) .tx")
        await expect(bubbles).to_have_text(["Let me look.", "It left today."])
        closes = page.locator(f"{W} li.sys", has_text="ended the chat")
        await expect(closes).to_have_count(1)
        await expect(page.locator(f"{W} .rate form")).to_be_visible()
        await shot(page, "closed-while-away")
        # Another load: the close was seen, nothing is drawn twice.
        await page.reload()
        await expect(page.locator(f"{W} .rate form")).to_be_visible()
        await expect(bubbles).to_have_text(["Let me look.", "It left today."])
        await expect(closes).to_have_count(1)
        await context.close()

        # The site shows no faces: initials, and no image is asked for.
        await update(boss, site, widget_avatars=False)
        context = await browser.new_context(**DEVICES["desktop"], locale="en-US")
        page = await context.new_page()
        await context.route(
            base,
            lambda route: route.fulfill(
                body=shop, content_type="text/html", headers={"Content-Security-Policy": csp}
            ),
        )
        asked: list[str] = []
        page.on("request", lambda r: asked.append(r.url) if "cdn.shop.test" in r.url else None)
        await page.goto(base)
        await open_panel(page)
        composer = page.locator(f"{W} .cp textarea")
        await composer.fill("Hello again")
        await composer.press("Enter")
        again = await visitor_message(op)
        op.say(again.conversation_id, "o3", "Hi!")
        await op.recv("ack")
        await expect(page.locator(f"{W} .m:not(.me) .tx")).to_have_text(["Hi!"])
        await expect(page.locator(f"{W} .hd .av")).to_have_text("DO")
        assert await page.locator(f"{W} img.av").count() == 0
        assert asked == []
        await context.close()
