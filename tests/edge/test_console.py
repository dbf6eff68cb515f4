"""The operators' console in a real headless Chromium against a real server:
signing in, a visitor's chat arriving, messages both ways with typing, a
hostile message shown as text, a note, closing; the console's socket cut and
restored (resynced, nothing doubled); a phone in dark mode in German. With
PARLEY_SHOTS=1, screenshots of each key state go to /tmp/console-shots/."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect
from playwright.async_api import Locator, Page, WebSocketRoute, expect

from edge import static
from parley.v1 import bridge_pb2, control_pb2
from tests.conftest import TAKE_SHOTS
from tests.edge.test_widget import attached, watch_errors
from tests.integration.helpers import Operator, Visitor, running, visitor_url

SHOTS = Path("/tmp/console-shots")
SHOTS.mkdir(parents=True, exist_ok=True)
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
LAPTOP = {"viewport": {"width": 1366, "height": 768}}
PHONE = {
    "viewport": {"width": 375, "height": 720},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
}
HOSTILE = "<img src=x onerror=alert(1)>"


async def shot(page: Page, name: str) -> None:
    """A screenshot of a key state, to look at (not compared by the tests)."""
    if not TAKE_SHOTS:
        return
    await page.screenshot(path=str(SHOTS / f"{name}.png"))


async def sign_in(page: Page, app: Any) -> None:
    assert app.demo is not None
    await page.goto(f"http://127.0.0.1:{app.http_port}/console")
    await page.fill("#email", app.demo["email"])
    await page.fill("#password", app.demo["password"])
    await page.click("#sign-in")
    await expect(page.locator("#app")).to_be_visible()
    # The session is ready (the page asks who it is only then), and the engine
    # has settled what the session set off (the operator online for visitors).
    await expect(page.locator("#me")).to_have_text("Demo operator")
    await app.engine.settle()


async def operator_message(visitor: Visitor) -> dict[str, Any]:
    """The next message frame an operator wrote (notices skipped)."""
    while True:
        frame = await visitor.recv("msg", timeout=10)
        if frame["from"] == "operator":
            return frame


async def operator_text(visitor: Visitor) -> str:
    """The next message an operator wrote (notices skipped)."""
    return str((await operator_message(visitor))["text"])


async def chat_row(page: Page, name: str) -> Any:
    """The visitor's row in the lists, accepted if it came as an offer."""
    row = page.locator(".chat-row", has_text=name)
    await expect(row).to_have_count(1, timeout=10_000)
    accept = row.locator("button.accept")
    if await accept.count():
        await accept.click()
    await expect(page.locator("[data-count=mine]")).to_have_text("1")
    return row


async def chat_opened(page: Page, app: Any, name: str, text: str) -> tuple[Visitor, Locator]:
    """A visitor says ``text``; its chat, taken by the console, is opened: the
    visitor and the transcript."""
    visitor = await Visitor(visitor_url(app)).connect()
    await visitor.hello(name=name)
    visitor.send({"type": "msg", "cid": "v1", "text": text})
    await visitor.recv("ack")
    row = await chat_row(page, name)
    await row.locator("button.open").click()
    transcript = page.locator("#transcript")
    await expect(transcript.locator(".msg.visitor .text")).to_have_text([text])
    return visitor, transcript


async def axe_finds_nothing_serious(page: Page) -> None:
    """axe-core (vendored for the tests only), through the devtools channel: the
    page's CSP rightly refuses an injected script tag."""
    await page.evaluate(f"() => {{ {AXE.read_text(encoding='utf-8')}\n window.axe = axe; }}")
    result = await page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' '))}))"
    )
    serious = [v for v in result if v["impact"] in ("serious", "critical")]
    assert serious == [], serious


def test_the_console_is_served_with_the_strict_policy() -> None:
    page_asset = static.CONSOLE["/console"]
    assert page_asset.content_type == static.HTML
    page = page_asset.body.decode()
    assert "<script>" not in page and "style=" not in page and "<style" not in page
    # Its code is one file (its modules bundled), its looks two stylesheets.
    assert re.findall(r'src="([^"]+)"', page) == ["/console/console.js"]
    assert static.CONSOLE["/console/console.js"].content_type == static.JS
    for name in ("console.css", "admin.css"):
        assert static.CONSOLE[f"/console/{name}"].content_type == static.CSS
    assert "script-src 'self'" in static.headers(static.HTML)["Content-Security-Policy"]
    # Installable: the manifest and its icon, each served as what it is.
    assert "manifest-src 'self'" in static.headers(static.HTML)["Content-Security-Policy"]
    assert re.findall(r'rel="manifest" href="([^"]+)"', page) == ["/console/manifest.webmanifest"]
    manifest = static.CONSOLE["/console/manifest.webmanifest"]
    assert manifest.content_type == "application/manifest+json"
    doc = json.loads(manifest.body)
    assert (doc["start_url"], doc["display"]) == ("/console", "standalone")
    for icon in doc["icons"]:
        assert static.CONSOLE[icon["src"]].content_type == icon["type"] == "image/svg+xml"


async def test_logging_in_on_the_login_socket(tmp_path: Path) -> None:
    """The login socket answers a right password with a token the bridge takes
    and a wrong one with BAD_CREDENTIALS."""
    async with running(tmp_path, history=True) as app:
        assert app.demo is not None

        async def login(password: str) -> bridge_pb2.BridgeFrame:
            got: asyncio.Queue[bytes] = asyncio.Queue()

            class Listener(WSListener):  # type: ignore[misc]
                def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
                    if frame.msg_type is WSMsgType.BINARY:
                        got.put_nowait(frame.get_payload_as_bytes())

            url = f"ws://127.0.0.1:{app.http_port}/v1/console/login"
            transport, _ = await ws_connect(Listener, url)
            request = control_pb2.LoginRequest(email=app.demo["email"], password=password)
            call = bridge_pb2.UnaryCall(
                call_id=7, method="/parley.v1.Auth/Login", request=request.SerializeToString()
            )
            transport.send(WSMsgType.BINARY, bridge_pb2.BridgeFrame(call=call).SerializeToString())
            async with asyncio.timeout(5):
                frame = bridge_pb2.BridgeFrame.FromString(await got.get())
            transport.disconnect()
            return frame

        good = await login(app.demo["password"])
        assert good.WhichOneof("frame") == "reply" and good.reply.call_id == 7
        assert control_pb2.LoginResponse.FromString(good.reply.response).token
        bad = await login("not the password")
        assert bad.WhichOneof("frame") == "error"
        assert (bad.error.reason, bad.error.code) == ("BAD_CREDENTIALS", 16)


async def test_an_operators_day(tmp_path: Path, chromium_cdp: str) -> None:
    """Sign in, a chat arrives, messages both ways with typing, a hostile text
    stays text, a note stays apart, the visitor panel; the socket is cut while
    the visitor writes on, then restored: every message once; close."""
    async with running(tmp_path, history=True) as app, attached(chromium_cdp) as browser:
        context = await browser.new_context(**LAPTOP, locale="en-US", color_scheme="light")
        page = await context.new_page()
        errors = watch_errors(page)

        # The console's socket goes through a route the test can cut.
        routes: list[WebSocketRoute] = []
        up = {"open": True}

        async def route(ws: WebSocketRoute) -> None:
            # Awaited: a close left pending would hang the console's attempt
            # rather than refuse it, and it would wait out the hello's timeout.
            if not up["open"]:
                await ws.close(code=4000, reason="network down")
                return
            ws.connect_to_server()
            routes.append(ws)

        await page.route_web_socket(re.compile(r"/v1/console$"), route)

        await page.goto(f"http://127.0.0.1:{app.http_port}/console")
        await expect(page.locator("#sign-in")).to_have_text("Sign in")
        await page.fill("#email", "nobody@example.com")
        await page.fill("#password", "wrong")
        await page.click("#sign-in")
        await expect(page.locator("#login-error")).to_have_text("Wrong email or password.")
        await shot(page, "1-login")
        await sign_in(page, app)
        await expect(page.locator("#me")).not_to_have_text("")
        await expect(page.locator("#capacity")).to_have_text(re.compile(r"^0 of \d+ chats$"))
        assert await page.evaluate("sessionStorage.getItem('parley.console.token') !== null")
        assert "token" not in page.url

        visitor = await Visitor(visitor_url(app)).connect()
        await visitor.hello(
            name="Ada", email="ada@example.com", page="https://shop.example/cart", title="Cart"
        )
        visitor.send({"type": "msg", "cid": "v1", "text": "Hello there"})
        await visitor.recv("ack")
        row = await chat_row(page, "Ada")
        await expect(page.locator("#capacity")).to_have_text(re.compile(r"^1 of \d+ chats$"))
        await row.locator("button.open").click()
        transcript = page.locator("#transcript")
        await expect(transcript.locator(".msg.visitor .text")).to_have_text(["Hello there"])
        await expect(page.locator("#visitor-body")).to_contain_text("ada@example.com")
        await expect(page.locator("#visitor-body")).to_contain_text("Cart")

        composer = page.locator("#composer")
        await composer.fill("How can I help")
        typing = await visitor.recv("typing", timeout=10)
        assert typing["active"] is True
        await composer.press("Shift+Enter")
        await composer.type("today?")
        await composer.press("Enter")
        assert await operator_text(visitor) == "How can I help\ntoday?"
        await expect(composer).to_have_value("")
        await expect(transcript.locator(".msg.own:not(.pending)")).to_have_count(1)

        visitor.send({"type": "typing", "active": True})
        await expect(page.locator("#typing")).to_have_text(re.compile("Ada is typing"))
        visitor.send({"type": "msg", "cid": "v2", "text": HOSTILE})
        await expect(transcript.locator(".msg.visitor .text").last).to_have_text(HOSTILE)
        assert await transcript.locator("img").count() == 0

        await page.check("#whisper")
        await composer.fill("Regular customer")
        await composer.press("Enter")
        await expect(transcript.locator(".msg.note .text")).to_have_text(["Regular customer"])
        await page.uncheck("#whisper")
        await shot(page, "2-chat-open")

        # The draft is kept with its chat, to come back to.
        await composer.fill("half a thought")
        held = await page.evaluate(
            "(() => { const s = window.parleyConsole.state();"
            " return s.chats.get(s.openId).draft; })()"
        )
        assert held == "half a thought"
        await composer.fill("")

        # The network goes: the visitor writes on meanwhile.
        up["open"] = False
        for ws in routes:
            await ws.close(code=4000, reason="network down")
        await expect(page.locator("#banner")).to_have_text("Reconnecting…")
        await shot(page, "3-reconnecting")
        for i in range(3):
            visitor.send({"type": "msg", "cid": f"away{i}", "text": f"away {i}"})
            await visitor.recv("ack")
        up["open"] = True
        # As a browser does when its network comes back: the waiting reconnect
        # goes at once instead of after the rest of its growing delay.
        await page.evaluate("window.dispatchEvent(new Event('online'))")
        await expect(page.locator("#banner")).to_have_text("Synced", timeout=15_000)
        visitor_texts = transcript.locator(".msg.visitor .text")
        await expect(visitor_texts).to_have_text(
            ["Hello there", HOSTILE, "away 0", "away 1", "away 2"]
        )
        seqs = await transcript.locator(".msg[data-seq]").evaluate_all(
            "els => els.map(e => Number(e.dataset.seq))"
        )
        assert seqs == sorted(set(seqs)), seqs  # each once, in order
        await shot(page, "4-synced")

        # An answer after the resync reaches the visitor once.
        await composer.fill("Back again")
        await composer.press("Enter")
        back = await operator_message(visitor)
        assert back["text"] == "Back again"
        # The visitor can have it before the console its ack: sent, then checked.
        await expect(transcript.locator(".msg.pending")).to_have_count(0)
        # Stored (one mark), then read by the visitor (two).
        mark = transcript.locator(".msg.operator:not(.note) .delivery").last
        await expect(mark).to_have_attribute("aria-label", "Sent")
        visitor.send({"type": "read", "seq": back["seq"]})
        await expect(mark).to_have_attribute("aria-label", "Read by the visitor")
        await expect(mark).to_have_text("✓✓")
        # The visitor panel: the address, and the page followed as the visitor moves.
        panel = page.locator("#visitor-body")
        await expect(panel).to_contain_text("127.0.0.1")
        visitor.send({"type": "page", "url": "https://shop.example/pay", "title": "Checkout"})
        await expect(panel.locator("dd").nth(2)).to_have_text("Checkout")
        await axe_finds_nothing_serious(page)

        # On hold: the chat moves to its own list and frees its slot; back to active.
        await page.click("#actions")
        await page.locator("dialog.dlg [data-action=on_hold]").click()
        await expect(page.locator("[data-count=hold]")).to_have_text("1")
        await expect(page.locator("[data-count=mine]")).to_have_text("0")
        await expect(page.locator("#capacity")).to_have_text(re.compile(r"^0 of \d+ chats$"))
        await shot(page, "4b-on-hold")
        await page.click("#actions")
        await page.locator("dialog.dlg [data-action=active]").first.click()
        await expect(page.locator("[data-count=mine]")).to_have_text("1")
        await expect(page.locator("[data-count=hold]")).to_have_text("0")
        # The transcript by email: this server has no mail set up, said in words.
        await page.click("#actions")
        await page.locator("dialog.dlg [data-action=transcript]").click()
        await expect(page.locator("#action-status")).to_have_text(re.compile("mail", re.I))

        await page.click("#close-chat")
        await expect(page.locator("#closed-note")).to_be_visible()
        await expect(page.locator("#composer-form")).to_be_hidden()
        await expect(page.locator("[data-count=mine]")).to_have_text("0")
        await shot(page, "5-closed")

        # The visitor comes back (its token) and writes again: a new chat, whose
        # visitor panel offers the earlier one, opened on History in a click.
        again = await Visitor(visitor_url(app)).connect()
        await again.hello(token=visitor.welcome["token"], page="https://shop.example/")
        again.send({"type": "msg", "cid": "r1", "text": "Me again"})
        await again.recv("ack")
        await (await chat_row(page, "Ada")).locator("button.open").click()
        await expect(transcript.locator(".msg.visitor .text")).to_have_text(["Me again"])
        past = page.locator("#visitor-body button.past")
        await expect(past).to_have_count(1)
        await shot(page, "5b-returning-visitor")
        await past.click()
        await expect(page.locator("#history-read")).to_be_visible()
        await expect(page.locator("#history-transcript .msg.visitor .text").first).to_have_text(
            "Hello there"
        )
        await page.click("#page-chats")
        await again.close()

        # The profile: the name colleagues see, the timezone and the daily
        # report; a wrong current password is said beside its box.
        await page.click("#me")
        dialog = page.locator("dialog.dlg")
        await expect(dialog).to_contain_text("Reception hours")
        await dialog.get_by_label("Name colleagues see").fill("Demo (L1)")
        await dialog.get_by_label("Your timezone").fill("Europe/Berlin")
        await dialog.get_by_label("Daily report").check()
        await dialog.get_by_label(re.compile("^Current password")).fill("not it")
        await dialog.get_by_label("New password").fill("a-new-password-1")
        await shot(page, "5c-profile")
        await dialog.locator("button[type=submit]").click()
        await expect(dialog.locator(".field-problem", has_text="wrong")).to_have_count(1)
        await dialog.get_by_label(re.compile("^Current password")).fill("")
        await dialog.get_by_label("New password").fill("")
        await dialog.locator("button[type=submit]").click()
        await expect(dialog).to_have_count(0)
        await expect(page.locator("#banner")).to_have_text("Your profile is saved.")
        demo = await Operator(app).login(app.demo["email"], app.demo["password"])
        me = await demo.auth.GetMe(control_pb2.GetMeRequest(), metadata=demo.metadata)
        assert (me.internal_name, me.timezone) == ("Demo (L1)", "Europe/Berlin")
        assert "daily" in me.mail_notifications

        await page.click("#sign-out")
        await expect(page.locator("#login")).to_be_visible()
        assert await page.evaluate("sessionStorage.getItem('parley.console.token')") is None
        assert not [e for e in errors if "dialog" in e], errors
        assert errors == [], errors
        await visitor.close()
        await context.close()


async def test_a_phone_in_the_dark_in_german(tmp_path: Path, chromium_cdp: str) -> None:
    async with running(tmp_path, history=True) as app, attached(chromium_cdp) as browser:
        context = await browser.new_context(**PHONE, locale="de-DE", color_scheme="dark")
        page = await context.new_page()
        errors = watch_errors(page)
        await page.goto(f"http://127.0.0.1:{app.http_port}/console")
        await expect(page.locator("#sign-in")).to_have_text("Anmelden")
        # The browser reads the manifest under the page's policy, without errors.
        cdp = await context.new_cdp_session(page)
        manifest = await cdp.send("Page.getAppManifest")
        assert manifest["url"].endswith("/console/manifest.webmanifest"), manifest
        assert manifest["errors"] == [] and json.loads(manifest["data"])["short_name"] == "Parley"
        await shot(page, "6-phone-dark-login")
        # A kiosk signs in with an API token: a wrong one is said, a right one works.
        await page.locator("#token-login summary").click()
        await page.fill("#api-token", "not-a-token")
        await page.click("#token-sign-in")
        await expect(page.locator("#login-error")).to_have_text(
            "Dieses Token gilt nicht (oder ist abgelaufen)."
        )
        demo = await Operator(app).login(app.demo["email"], app.demo["password"])
        made = await demo.auth.CreateApiToken(
            control_pb2.CreateApiTokenRequest(name="kiosk", days=1), metadata=demo.metadata
        )
        await page.fill("#api-token", made.token)  # the token's box stays open
        await page.click("#token-sign-in")
        await expect(page.locator("#me")).to_have_text("Demo operator")
        await app.engine.settle()
        visitor = await Visitor(visitor_url(app)).connect()
        await visitor.hello(name="Jonas")
        visitor.send({"type": "msg", "cid": "v1", "text": "Guten Tag"})
        await visitor.recv("ack")
        row = await chat_row(page, "Jonas")
        await shot(page, "7-phone-dark-list")
        await row.locator("button.open").click()
        await expect(page.locator("#lists")).to_be_hidden()
        await expect(page.locator("#transcript .msg.visitor .text")).to_have_text(["Guten Tag"])
        await page.fill("#composer", "Hallo Jonas!")
        await page.click("#send")
        assert await operator_text(visitor) == "Hallo Jonas!"
        await expect(page.locator("#transcript .msg.visitor")).to_be_in_viewport()
        # The server's notice, said in the console's language from its code.
        await expect(page.locator("#transcript .msg.system .text")).to_have_text(
            ["Demo operator ist dem Chat beigetreten"]
        )
        await shot(page, "8-phone-dark-chat")
        await page.click("#back")
        await expect(page.locator("#lists")).to_be_visible()
        assert errors == [], errors
        await visitor.close()
        await context.close()
