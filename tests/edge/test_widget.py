"""The visitor widget in a real headless Chromium against a real server, with
operators answering over real gRPC sessions: the whole visitor journey on a
desktop and a phone, a hostile host page under a strict Content-Security-Policy,
and a blocked visitor. Screenshots of each key state go to /tmp/widget-shots/."""

from __future__ import annotations

import asyncio
import gzip
import re
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest
from playwright.async_api import (
    Browser,
    Page,
    WebSocket,
    WebSocketRoute,
    expect,
)

from edge import static
from parley.v1 import common_pb2, control_pb2, operator_pb2
from tests.conftest import TAKE_SHOTS, PageLoop
from tests.integration.helpers import Operator, on_duty, owner, running
from tests.integration.test_routing import chat_up, staff
from tests.integration.test_split_mode import (
    ENGINE_PATTERNS,
    Engine,
    free_port,
    start,
    transcript,
)

SHOTS = Path("/tmp/widget-shots")
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
DEVICES: dict[str, dict[str, Any]] = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {
        "viewport": {"width": 375, "height": 667},
        "is_mobile": True,
        "has_touch": True,
        "device_scale_factor": 2,
    },
}
W = "parley-chat"  # the widget's host element; Playwright's CSS pierces its shadow root
SHOTS.mkdir(parents=True, exist_ok=True)


@asynccontextmanager
async def attached(cdp: str) -> AsyncIterator[Browser]:
    """The worker's Chromium, attached through the worker's Playwright driver
    (page tests share a loop and so a driver: tests/conftest.py's PageLoop)."""
    pw = PageLoop.driver
    assert pw is not None, "a page test takes the chromium_cdp fixture"
    browser = await pw.chromium.connect_over_cdp(cdp)
    try:
        yield browser
    finally:
        await browser.close()  # detaches; the worker's process goes on


async def shot(page: Page, name: str) -> None:
    """A screenshot of a key state, to look at (not compared by the tests)."""
    if not TAKE_SHOTS:
        return
    await page.screenshot(path=str(SHOTS / f"{name}.png"))


class Frames:
    """The frames the page's widget received on its websockets, to wait on."""

    def __init__(self, page: Page) -> None:
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        page.on("websocket", self._opened)

    def _opened(self, ws: WebSocket) -> None:
        def received(payload: str | bytes) -> None:
            self.queue.put_nowait(orjson.loads(payload))

        ws.on("framereceived", received)

    async def first(self, match: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        async with asyncio.timeout(10):
            while not match(frame := await self.queue.get()):
                pass
        return frame


async def visitor_message(op: Operator, conv: str = "") -> Any:
    """The next message a visitor wrote (in ``conv`` if given; notices skipped)."""
    while True:
        message = await op.recv("message", timeout=10)
        if message.author_kind == common_pb2.AUTHOR_KIND_VISITOR and (
            not conv or message.conversation_id == conv
        ):
            return message


def command(**kw: Any) -> operator_pb2.OperatorCommand:
    return operator_pb2.OperatorCommand(**kw)


def watch_errors(page: Page) -> list[str]:
    """Script errors, dialogs (an injected alert) and refused resources."""
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(f"error: {e}"))
    page.on("dialog", lambda d: errors.append(f"dialog: {d.message}"))
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and "favicon" not in (m.location.get("url") or "")
            else None
        ),
    )
    return errors


def test_the_widget_is_small() -> None:
    """As sent (minified and gzipped), under what the README states: the embed
    every page loads under 3 KB, the panel it loads when needed under 19 KB."""
    assert len(static.WIDGET.gz) < 3 * 1024, len(static.WIDGET.gz)
    assert len(static.PANEL.gz) < 19 * 1024, len(static.PANEL.gz)
    for script in (static.WIDGET, static.PANEL):
        assert gzip.decompress(script.gz) == script.body


@pytest.mark.parametrize("device", ["desktop", "phone"])
async def test_the_visitor_journey(tmp_path: Path, chromium_cdp: str, device: str) -> None:
    """Department choice, the queue, the assignment, messages both ways with
    times, delivery and read state, the header across a presence change, a
    reload showing the same conversation once, end chat, rating, transcript."""
    async with running(tmp_path) as app, attached(chromium_cdp) as browser:
        assert app.demo is not None
        boss = await owner(app)
        sales = await boss.api.departments.CreateDepartment(
            control_pb2.CreateDepartmentRequest(
                department=control_pb2.Department(site_id=app.demo["site"], name="Sales")
            ),
            metadata=boss.metadata,
        )
        kim = await staff(app, boss, "Kim", max_chats=1)
        _other, first_chat = await chat_up(app, department=app.demo["department"])
        await kim.recv("assigned")  # Kim is full: the page's visitor will wait
        context = await browser.new_context(**DEVICES[device], locale="en-US")
        page = await context.new_page()
        errors = watch_errors(page)
        frames = Frames(page)
        scripts: list[str] = []
        page.on("request", lambda r: scripts.append(r.url) if r.resource_type == "script" else None)
        await page.goto(f"http://127.0.0.1:{app.http_port}/")
        launcher = page.locator(f"{W} .la")
        await expect(launcher).to_have_attribute("aria-label", "Open chat")
        # The embed alone until the visitor opens it: the launcher and its socket.
        await frames.first(lambda f: f["type"] == "welcome")
        await expect(launcher).to_have_attribute("aria-expanded", "false")
        assert [u.rsplit("/", 1)[1] for u in scripts] == ["widget.js"]
        await shot(page, f"{device}-0-embed-only")
        await launcher.click()

        # Two departments, live: Support online (Kim), Sales offline.
        options = page.locator(f"{W} .opt")
        await expect(options).to_have_count(2)
        assert [u.rsplit("/", 1)[1] for u in scripts] == ["widget.js", "widget-panel.js"]
        await expect(options.filter(has_text="Support")).to_contain_text("online")
        await expect(options.filter(has_text="Sales")).to_contain_text("offline")
        composer = page.locator(f"{W} .cp textarea")
        await expect(composer).to_be_hidden()  # nothing to write to before a choice
        await shot(page, f"{device}-1-departments")
        await options.filter(has_text="Support").click()
        await expect(options.filter(has_text="Support")).to_have_attribute("aria-pressed", "true")

        await composer.fill("Do you ship to Norway?")
        await composer.press("Enter")
        banner = page.locator(f"{W} .bn")
        await expect(banner).to_contain_text("You are number 1 in line")
        mine = page.locator(f"{W} .m.me")
        await expect(mine).to_have_count(1)
        await expect(mine.first.locator(".mt")).to_have_text(re.compile(r"\d.*· Sent$"))
        await expect(page.locator(f"{W} .card", has=options.first)).to_be_hidden()  # chat started
        await shot(page, f"{device}-2-queued")

        # Kim's other chat ends, so this one is hers.
        kim.send_commands(command(close=operator_pb2.CloseConversation(conversation_id=first_chat)))
        while (assigned := await kim.recv("assigned", timeout=10)).conversation_id == first_chat:
            pass
        conv = assigned.conversation_id
        status = page.locator(f"{W} .hd .st")
        await expect(status).to_have_text("Kim is here")
        await expect(banner).to_be_hidden()
        question = await visitor_message(kim, conv)
        assert (question.conversation_id, question.text) == (conv, "Do you ship to Norway?")

        kim.send_commands(
            command(typing=operator_pb2.OperatorTyping(conversation_id=conv, active=True))
        )
        await expect(page.locator(f"{W} .ty")).to_have_text("Kim is typing…")
        kim.say(conv, "k1", "Yes, in 3 days: https://shop.example/shipping.")
        theirs = page.locator(f"{W} .m:not(.me)")
        await expect(theirs).to_have_count(1)
        await expect(theirs.first.locator(".who")).to_have_text("Kim")
        await expect(theirs.first.locator(".mt time")).to_have_text(re.compile(r"\d"))
        link = theirs.first.locator("a")
        await expect(link).to_have_attribute("href", "https://shop.example/shipping")
        await expect(link).to_have_attribute("rel", "noopener noreferrer")
        await expect(page.locator(f"{W} [aria-live]")).to_have_text(
            "Kim says: Yes, in 3 days: https://shop.example/shipping."
        )
        await expect(page.locator(f"{W} .ty")).to_have_text("")
        receipt = await kim.recv("read", timeout=10)  # the open page read the answer
        assert receipt.conversation_id == conv and receipt.seq > question.seq
        kim.send_commands(
            command(read=operator_pb2.OperatorRead(conversation_id=conv, seq=question.seq))
        )
        await expect(mine.first.locator(".mt")).to_have_text(re.compile(r"· Read$"))
        await composer.fill("Great, thanks")
        typing = await kim.recv("typing", timeout=10)  # the draft itself is not shown
        assert typing.active and typing.preview == ""
        await composer.press("Enter")
        assert (await visitor_message(kim, conv)).text == "Great, thanks"
        await expect(mine.last.locator(".mt")).to_have_text(re.compile(r"· Sent$"))

        # Another operator comes online (a presence change): the header keeps Kim.
        await staff(app, boss, "Bo", departments=[sales.id])
        await frames.first(
            lambda f: (
                f["type"] == "departments"
                and any(d["name"] == "Sales" and d["online"] for d in f["departments"])
            )
        )
        await expect(options.filter(has_text="Sales")).to_contain_text("online")
        await expect(status).to_have_text("Kim is here")

        # Minimised, a new answer shows on the launcher's badge.
        await page.locator(f"{W} .hd .ib").click()
        await expect(page.locator(f"{W} .p")).to_be_hidden()
        kim.say(conv, "k2", "Anything else?")
        badge = page.locator(f"{W} .badge")
        await expect(badge).to_have_text("1")
        await expect(launcher).to_have_attribute("aria-label", "Open chat, 1 unread")
        await expect(page.locator(f"{W} .pk")).to_contain_text("KimAnything else?")
        await shot(page, f"{device}-3-minimised-unread")
        await launcher.focus()  # the keyboard: Enter opens, focus goes to the composer
        await page.keyboard.press("Enter")
        await expect(badge).to_be_hidden()
        await expect(composer).to_be_focused()
        await expect(page.locator(f"{W} .pk")).to_be_hidden()
        await page.keyboard.press("Escape")  # Escape minimises, focus back on the launcher
        await expect(page.locator(f"{W} .p")).to_be_hidden()
        await expect(launcher).to_be_focused()
        await launcher.click()
        await shot(page, f"{device}-4-chat")
        if device == "phone":  # full screen, the launcher out of the way
            box = await page.locator(f"{W} .p").bounding_box()
            assert box == {"x": 0, "y": 0, "width": 375, "height": 667}
            await expect(launcher).to_be_hidden()
        else:
            await axe_finds_nothing_serious(page)

        # A reload: open again, the same conversation, each message once.
        shown = page.locator(f"{W} li[data-f]")
        before = await shown.all_inner_texts()
        assert len(before) >= 4  # two notices or more, the question, two answers
        await page.reload()
        await expect(page.locator(f"{W} .w")).to_have_attribute("data-state", "open")
        await expect(page.locator(f"{W} .p")).to_be_visible()
        assert await shown.all_inner_texts() == before
        await expect(status).to_have_text("Kim is here")
        await shot(page, f"{device}-5-reloaded")

        # The visitor ends the chat, then rates it.
        await page.locator(f"{W} .ft button", has_text="End chat").click()
        await page.locator(f"{W} .end .dg").click()
        while (await kim.recv("closed", timeout=10)).conversation_id != conv:
            pass  # the first chat's close
        rating = page.locator(f"{W} .card", has_text="How was this chat?")
        await expect(rating).to_be_visible()
        await expect(page.locator(f"{W} .ft button", has_text="End chat")).to_be_hidden()
        await rating.locator("label[for=pw-star4]").click()
        await rating.locator("textarea").fill("Quick and kind")
        await shot(page, f"{device}-6-rating")
        await rating.locator("button[type=submit]").click()
        rated = await kim.recv("rated", timeout=10)
        assert (rated.conversation_id, rated.score) == (conv, 4)
        await expect(rating).to_contain_text("Thank you for your rating.")
        await shot(page, f"{device}-7-rated")

        async with page.expect_download() as download:
            await page.locator(f"{W} .ft button", has_text="Download transcript").click()
        saved = Path(await (await download.value).path())
        text = await asyncio.to_thread(saved.read_text)
        assert "] You: Do you ship to Norway?" in text
        assert "] Kim: Yes, in 3 days: https://shop.example/shipping." in text

        # Writing again starts a new chat below the old one.
        await expect(composer).to_have_attribute("placeholder", "Write to start a new chat…")
        await composer.fill("One more thing")
        await composer.press("Enter")
        while (again := await visitor_message(kim)).conversation_id == conv:
            pass
        assert again.text == "One more thing"
        await expect(page.locator(f"{W} .div")).to_have_text("New chat")
        await expect(rating).to_be_hidden()
        await expect(mine.last.locator(".mt")).to_have_text(re.compile(r"· Sent$"))
        assert errors == []
        await context.close()


async def axe_finds_nothing_serious(page: Page) -> None:
    """axe-core (vendored for the tests only) on the widget's shadow tree. It is
    evaluated through the browser's devtools channel, not added as a script tag:
    the page's own Content-Security-Policy (nothing inline) rightly refuses one."""
    await page.evaluate(f"() => {{ {AXE.read_text(encoding='utf-8')}\n window.axe = axe; }}")
    result = await page.evaluate(
        "async () => (await axe.run({include: [['parley-chat']]},"
        " {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.length}))"
    )
    serious = [v for v in result if v["impact"] in ("serious", "critical")]
    assert serious == [], serious


STRICT_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'nonce-n0nce'; img-src 'none';"
    " connect-src ws://127.0.0.1:{port}; require-trusted-types-for 'script'; trusted-types 'none'"
)
HOSTILE_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Strict shop</title>
<style nonce="n0nce">
* { display: none !important; font-size: 80px !important; color: red !important;
    line-height: 5 !important; box-sizing: content-box !important; }
html, body, main, main * { display: block !important; }
button { font-size: 80px; padding: 40px; background: yellow; }
div, span, ol, li, p, textarea, input { margin: 30px; border: 5px dashed red; }
</style></head><body><main><h1>Strict shop</h1><button>Buy</button></main>
<script src="/widget.js" data-site="{site}" data-color="#0a7d5a" data-position="left"
 data-title="Acme help" data-greeting="Welcome to Acme." async></script>
</body></html>"""


async def test_a_hostile_page_with_a_strict_csp(tmp_path: Path, chromium_cdp: str) -> None:
    """Under a strict CSP (no inline styles, Trusted Types) and CSS that hides and
    bloats everything, the widget shows as designed, in the page's settings and
    the visitor's language, and shows markup someone wrote as text."""
    async with running(tmp_path) as app, attached(chromium_cdp) as browser:
        assert app.demo is not None
        op = await on_duty(app)
        context = await browser.new_context(**DEVICES["desktop"], locale="ja-JP")
        page = await context.new_page()
        errors = watch_errors(page)
        url = f"http://127.0.0.1:{app.http_port}/strict"
        await page.route(
            url,
            lambda route: route.fulfill(
                status=200,
                headers={
                    "Content-Type": "text/html; charset=utf-8",
                    "Content-Security-Policy": STRICT_CSP.format(port=app.http_port),
                },
                body=HOSTILE_PAGE.replace("{site}", app.demo["site"]),
            ),
        )
        await page.goto(url)
        # The hostile rules are in force on the page itself.
        size = await page.locator("main button").evaluate("b => getComputedStyle(b).fontSize")
        assert size == "80px"
        launcher = page.locator(f"{W} .la")
        await expect(launcher).to_be_visible()
        box = await launcher.bounding_box()
        assert box is not None and (box["width"], box["height"]) == (58, 58)
        assert box["x"] < 100  # data-position="left"
        await launcher.click()
        head = page.locator(f"{W} .hd")
        await expect(head.locator("h2")).to_have_text("Acme help")
        assert await head.evaluate("h => getComputedStyle(h).backgroundColor") == "rgb(10, 125, 90)"
        composer = page.locator(f"{W} .cp textarea")
        await expect(composer).to_have_attribute("placeholder", "メッセージを入力…")
        assert await composer.evaluate("t => getComputedStyle(t).fontSize") == "14px"
        await expect(page.locator(f"{W} .card").first).to_have_text("Welcome to Acme.")

        hostile = "<img src=x onerror=alert(1)>"
        await composer.fill(hostile)
        await composer.press("Enter")
        message = await visitor_message(op)
        assert message.text == hostile
        op.say(
            message.conversation_id,
            "r1",
            f"<b>bold</b> {hostile} javascript:alert(1) https://example.test/ok",
        )
        theirs = page.locator(f"{W} .m:not(.me) .tx")
        await expect(theirs).to_have_text(
            f"<b>bold</b> {hostile} javascript:alert(1) https://example.test/ok"
        )
        await expect(page.locator(f"{W} .m.me .tx")).to_have_text(hostile)
        assert await page.locator(f"{W} img, {W} script").count() == 0
        assert await page.locator(f"{W} .tx *:not(a)").count() == 0  # text and links only
        links = page.locator(f"{W} .tx a")
        await expect(links).to_have_count(1)
        await expect(links).to_have_attribute("href", "https://example.test/ok")
        await expect(links).to_have_attribute("target", "_blank")
        await shot(page, "strict-csp-hostile-css")
        assert errors == []  # no CSP refusal, no script error, no alert
        await context.close()


async def test_a_blocked_visitor_is_told_plainly(tmp_path: Path, chromium_cdp: str) -> None:
    """A blocked visitor gets a plain sentence in its language and nothing that
    cannot work: no input, no offline form, no endless connecting."""
    async with running(tmp_path) as app, attached(chromium_cdp) as browser:
        assert app.demo is not None
        boss = await owner(app)
        await on_duty(app)
        await boss.api.blocks.CreateBlock(
            control_pb2.CreateBlockRequest(
                block=control_pb2.Block(site_id=app.demo["site"], kind="ip", value="127.0.0.0/8")
            ),
            metadata=boss.metadata,
        )
        context = await browser.new_context(**DEVICES["desktop"], locale="de-DE")
        page = await context.new_page()
        errors = watch_errors(page)
        await page.goto(f"http://127.0.0.1:{app.http_port}/")
        await page.locator(f"{W} .la").click()
        await expect(page.locator(f"{W} .w")).to_have_attribute("data-state", "blocked")
        await expect(page.locator(f"{W} .msg")).to_have_text(
            "Der Chat steht Ihnen auf dieser Website nicht zur Verfügung."
        )
        for hidden in (".cp", ".bn", ".card", ".ft"):
            await expect(page.locator(f"{W} {hidden}").first).to_be_hidden()
        await expect(page.locator(f"{W} .hd .st")).to_have_text("Offline")
        await shot(page, "blocked")
        assert errors == []
        await context.close()


async def test_a_region_choice_reaches_the_regions_operator(
    tmp_path: Path, chromium_cdp: str
) -> None:
    """One department, operators of two regions online: the widget offers the
    region (any by default); the choice stays shown and routes the chat."""
    async with running(tmp_path) as app, attached(chromium_cdp) as browser:
        assert app.demo is not None
        boss = await owner(app)
        dept, md = app.demo["department"], boss.metadata
        north = await boss.api.regions.CreateRegion(
            control_pb2.CreateRegionRequest(
                region=control_pb2.Region(department_id=dept, name="North")
            ),
            metadata=md,
        )
        south = await boss.api.regions.CreateRegion(
            control_pb2.CreateRegionRequest(
                region=control_pb2.Region(department_id=dept, name="South")
            ),
            metadata=md,
        )
        await staff(app, boss, "Nora", region_ids=[north.id])
        sam = await staff(app, boss, "Sam", region_ids=[south.id])
        context = await browser.new_context(**DEVICES["desktop"])
        page = await context.new_page()
        errors = watch_errors(page)
        await page.goto(f"http://127.0.0.1:{app.http_port}/")
        await page.locator(f"{W} .la").click()
        region = page.locator(f"{W} #pw-region")
        await expect(region.locator("option")).to_have_text(
            ["Any region", "North (online)", "South (online)"]
        )
        await expect(page.locator(f"{W} .opt")).to_have_count(0)  # one department: no buttons
        await region.select_option(label="South (online)")
        await expect(page.locator(f"{W} .pick")).to_be_visible()
        await expect(region).to_have_value(south.id)
        composer = page.locator(f"{W} .cp textarea")
        await composer.fill("A southern question")
        await composer.press("Enter")
        assigned = await sam.recv("assigned", timeout=10)
        assert assigned.visitor_id
        await expect(page.locator(f"{W} .hd .st")).to_have_text("Sam is here")
        assert errors == []
        await context.close()


async def test_split_mode_reconnecting_keeps_what_the_visitor_wrote(
    tmp_path: Path, chromium_cdp: str
) -> None:
    """Against a real engine and edge: the engine dies under the page's socket;
    the widget says it is reconnecting in the visitor's language, keeps what the
    visitor writes meanwhile and sends it once the engine is back, each message
    stored and shown once. A message refused "overloaded" (the edge's full link
    queue, played here by the page's socket route) goes again after the hint,
    with the same cid."""
    data, grpc_port, port = tmp_path / "data", free_port(), free_port()
    engine_args = ["engine", "--demo", "--data", str(data), "--grpc-port", str(grpc_port)]
    eng = await start(engine_args, ENGINE_PATTERNS)
    procs = [eng]
    op = Operator(Engine(grpc_port))  # type: ignore[arg-type]
    try:
        edge_args = ["edge", "--engine", eng.info["grpc"], "--port", str(port)]
        edge_args += ["--link-secret-file", str(data / "link-secret")]
        edge_args += ["--demo-site", eng.info["site"], "--link-retry-max", "0.2"]
        procs.append(await start(edge_args, {"ws": r"ws://(127\.0\.0\.1:\d+)/"}))
        creds = orjson.loads((data / "owner-credentials.json").read_bytes())
        boss = await Operator(Engine(grpc_port)).login(creds["email"], creds["password"])  # type: ignore[arg-type]
        site = control_pb2.Site(id=eng.info["site"], allowed_origins=[f"http://127.0.0.1:{port}"])
        await boss.api.sites.UpdateSite(  # the edge's demo page may chat
            control_pb2.UpdateSiteRequest(site=site, update_mask={"paths": ["allowed_origins"]}),
            metadata=boss.metadata,
        )
        await boss.close()
        await op.login(eng.info["email"], eng.info["password"])
        await op.open()
        async with attached(chromium_cdp) as browser:
            context = await browser.new_context(**DEVICES["phone"], locale="de-DE")
            page = await context.new_page()
            errors = watch_errors(page)
            frames = Frames(page)
            sent: list[dict[str, Any]] = []

            def route(ws: WebSocketRoute) -> None:
                server = ws.connect_to_server()

                def from_page(message: str | bytes) -> None:
                    frame = orjson.loads(message)
                    sent.append(frame)
                    if frame.get("text") == "Danach" and len(sent_texts("Danach")) == 1:
                        refusal = {"type": "error", "code": "overloaded", "cid": frame["cid"]}
                        refusal |= {"retryable": True, "retry_after_ms": 200}
                        ws.send(orjson.dumps(refusal).decode())
                    else:
                        server.send(message)

                ws.on_message(from_page)

            def sent_texts(text: str) -> list[str]:
                return [f["cid"] for f in sent if f["type"] == "msg" and f.get("text") == text]

            await page.route_web_socket(re.compile(r"/v1/visitor"), route)
            await page.goto(f"http://127.0.0.1:{port}/")
            await page.locator(f"{W} .la").click()
            composer, mine = page.locator(f"{W} .cp textarea"), page.locator(f"{W} .m.me")
            await composer.fill("Vorher")
            await composer.press("Enter")
            await expect(mine.first.locator(".mt")).to_have_text(re.compile(r"· Gesendet$"))
            conv = (await frames.first(lambda f: f["type"] == "ack"))["conversation"]
            await op.close()

            eng.proc.kill()
            await eng.end(signal.SIGKILL)
            banner = page.locator(f"{W} .bn")
            await expect(banner).to_have_text(re.compile("^Verbindung wird wiederhergestellt"))
            await composer.fill("Währenddessen")
            await composer.press("Enter")
            await expect(mine.last.locator(".mt")).to_have_text(re.compile(r"· Wird gesendet…$"))
            await shot(page, "phone-split-reconnecting")

            eng = procs[0] = await start(engine_args, ENGINE_PATTERNS)
            await frames.first(lambda f: f["type"] == "service" and f["state"] == "connected")
            await expect(banner).to_be_hidden()
            await expect(mine).to_have_count(2)
            await expect(mine.last.locator(".mt")).to_have_text(re.compile(r"· Gesendet$"))
            await expect(page.locator(f"{W} li[data-f=visitor] .tx")).to_have_text(
                ["Vorher", "Währenddessen"]
            )
            await shot(page, "phone-split-connected")

            await composer.fill("Danach")
            await composer.press("Enter")
            await expect(mine).to_have_count(3)
            await expect(mine.last.locator(".mt")).to_have_text(re.compile(r"· Gesendet$"))
            first, again = sent_texts("Danach")  # refused once, then sent as it was
            assert first == again
            assert errors == []
            await context.close()
        op = Operator(Engine(grpc_port))  # type: ignore[arg-type]
        await op.login(eng.info["email"], eng.info["password"])
        stored = [text for _cid, text in await transcript(op, conv)]
        assert stored == ["Vorher", "Währenddessen", "Danach"]
    finally:
        await op.close()
        for p in reversed(procs):
            await p.end(signal.SIGKILL)
