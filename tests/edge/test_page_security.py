"""The browser's protections on everything the edge serves: the headers of every
answer, the demo page under its own strict Content-Security-Policy in a real
Chromium, the widget on a host page with a strict CSP of its own, and a page
that may not be framed refusing to be."""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import orjson
from playwright.async_api import Page, WebSocket

from edge.static import DEMO_PAGE
from tests.edge.test_widget import attached
from tests.integration.helpers import demo_operator, running

PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; "
    "connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
NOTHING_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

# Every CSP violation on the page, recorded before any of its own code runs
# (an init script is the browser's, not the page's: the page's CSP does not
# apply to it).
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push({directive: e.effectiveDirective, blocked: e.blockedURI,
                            source: e.sourceFile, sample: e.sample});
});
"""


@asynccontextmanager
async def host_page(body: str, csp: str = "") -> AsyncIterator[str]:
    """Another site's page, served over real HTTP on 127.0.0.1 (a page the
    browser saw on loopback may load loopback resources); yields its origin."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        data = body.encode()
        head = f"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {len(data)}\r\n"
        if csp:
            head += f"Content-Security-Policy: {csp}\r\n"
        writer.write(head.encode() + b"Connection: close\r\n\r\n" + data)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()
        await server.wait_closed()


def _get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


async def get(url: str) -> tuple[int, dict[str, str], bytes]:
    return await asyncio.to_thread(_get, url)


async def test_every_answer_carries_its_protections(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        base = f"http://127.0.0.1:{app.http_port}"
        common = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
        pages = {"/": PAGE_CSP, "/demo": PAGE_CSP, "/healthz": NOTHING_CSP}
        pages |= {"/nothing-here": NOTHING_CSP, "/v1/visitor?site=nope": NOTHING_CSP}
        for path, csp in pages.items():
            _status, headers, _body = await get(base + path)
            expected = common | {"Content-Security-Policy": csp, "X-Frame-Options": "DENY"}
            assert expected.items() <= headers.items(), (path, headers)
        status, headers, _body = await get(base + "/v1/visitor?site=nope")
        assert status == 404  # the refusal before the upgrade, as before
        status, headers, _body = await get(base + "/widget.js")
        assert status == 200 and headers["Content-Type"].startswith("application/javascript")
        assert (common | {"Cross-Origin-Resource-Policy": "cross-origin"}).items() <= (
            headers.items()
        )
        status, headers, body = await get(base + "/demo.css")
        assert status == 200 and headers["Content-Type"].startswith("text/css")
        assert common.items() <= headers.items() and b"max-width" in body


class _Inline(HTMLParser):
    """What a strict CSP would block in a page: inline scripts, style elements,
    style attributes and event handler attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _ in attrs}
        if tag == "script" and "src" not in names:
            self.found.append("inline script")
        if tag == "style":
            self.found.append("style element")
        self.found += [f"{name} attribute" for name in names if name == "style"]
        self.found += [f"{name} handler" for name in names if name.startswith("on")]


def test_the_demo_page_has_nothing_inline() -> None:
    parser = _Inline()
    parser.feed(DEMO_PAGE)
    assert parser.found == []


async def _violations(page: Page) -> list[dict[str, str]]:
    found: list[dict[str, str]] = await page.evaluate("window.__violations")
    return found


def _not_the_widgets_style(violations: list[dict[str, str]]) -> list[dict[str, str]]:
    """The violations other than a <style> element injected by widget.js, which
    a strict style-src blocks (the widget then runs unstyled). A widget styled
    by a constructed stylesheet causes none, and then this filter drops nothing."""
    return [
        v
        for v in violations
        if not (v["directive"] == "style-src-elem" and v["source"].endswith("/widget.js"))
    ]


class WidgetFrames:
    """What the server sends the widget on its websocket. The checks below look
    at the wire, not at the widget's markup, so they hold for any widget that
    speaks the protocol."""

    def __init__(self, page: Page) -> None:
        self.seen: list[dict[str, Any]] = []
        self.arrived = asyncio.Event()
        page.on("websocket", self._opened)

    def _opened(self, ws: WebSocket) -> None:
        ws.on("framereceived", self._received)

    def _received(self, payload: str | bytes) -> None:
        self.seen.append(orjson.loads(payload))
        self.arrived.set()

    async def first(self, kind: str) -> dict[str, Any]:
        """The first frame of ``kind``, waiting for it if need be."""
        async with asyncio.timeout(10):
            while True:
                for frame in self.seen:
                    if frame["type"] == kind:
                        return frame
                self.arrived.clear()
                await self.arrived.wait()


async def test_the_demo_page_works_under_its_own_policy(tmp_path: Path, chromium_cdp: str) -> None:
    """The demo page's stylesheet and the widget load under the page's CSP, the
    widget's websocket opens ('self' covers it) and is welcomed, and the page
    causes no violation of its own; an inline script added to it does not run.
    (tests/edge/test_demo_page.py chats through the widget on this page.)"""
    async with running(tmp_path) as app, attached(chromium_cdp) as browser:
        page = await browser.new_page()
        try:
            await page.add_init_script(RECORD_VIOLATIONS)
            frames = WidgetFrames(page)
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            await page.goto(f"http://127.0.0.1:{app.http_port}/")
            await frames.first("welcome")
            assert await page.evaluate("getComputedStyle(document.body).maxWidth") == "640px"
            await page.evaluate(
                "() => { const s = document.createElement('script');"
                " s.textContent = 'window.__inline = 1'; document.body.append(s); }"
            )
            assert await page.evaluate("window.__inline === undefined")
            violations = _not_the_widgets_style(await _violations(page))
            assert [v["directive"] for v in violations] == ["script-src-elem"], violations
            assert errors == []
        finally:
            await page.context.close()


async def test_the_widget_works_on_a_host_page_with_a_strict_policy(
    tmp_path: Path, chromium_cdp: str
) -> None:
    """A shop page on another origin (allowed by the demo site) whose own CSP
    allows only the chat host's script and websocket, nothing inline: the widget
    runs, connects, is welcomed and told who is online, and needs nothing else
    from the host's policy."""
    async with running(tmp_path) as app, attached(chromium_cdp) as browser:
        assert app.demo is not None and app.engine is not None
        op = await demo_operator(app)
        await op.open()
        chat_host = f"127.0.0.1:{app.http_port}"
        csp = (
            f"default-src 'none'; script-src http://{chat_host}; "
            f"connect-src ws://{chat_host}; style-src 'self'; img-src 'self'; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        )
        page_html = (
            "<!doctype html><html><head><title>Shop</title></head><body><p>A shop</p>"
            "<script>window.__inline = 1</script>"
            f'<script src="http://{chat_host}/widget.js" data-site="{app.demo["site"]}">'
            "</script></body></html>"
        )
        page = await browser.new_page()
        try:
            async with host_page(page_html, csp) as shop:
                await app.engine.directory.add_site_origins(app.demo["site"], [shop])
                await page.add_init_script(RECORD_VIOLATIONS)
                frames = WidgetFrames(page)
                errors: list[str] = []
                page.on("pageerror", lambda e: errors.append(str(e)))
                await page.goto(shop)
                assert await page.evaluate("window.__inline === undefined")  # the CSP holds
                welcome = await frames.first("welcome")
                assert not welcome["offline"] and welcome["departments"][0]["online"]
                assert await page.evaluate("document.body.children.length") > 3  # it drew
                violations = _not_the_widgets_style(await _violations(page))
                assert [v["directive"] for v in violations] == ["script-src-elem"], violations
                assert violations[0]["blocked"] == "inline"  # the host's own, not the widget's
                assert errors == []
        finally:
            await page.context.close()
            await op.close()


async def test_the_demo_page_refuses_to_be_framed(tmp_path: Path, chromium_cdp: str) -> None:
    """Another page framing the demo page gets nothing: the browser blocks the
    frame (frame-ancestors) and shows no page in it."""
    async with running(tmp_path) as app, attached(chromium_cdp) as browser:
        demo = f"http://127.0.0.1:{app.http_port}/"
        page = await browser.new_page()
        try:
            async with host_page(f'<!doctype html><iframe src="{demo}"></iframe>') as framer:
                console: asyncio.Queue[str] = asyncio.Queue()
                page.on("console", lambda m: console.put_nowait(m.text))
                await page.goto(framer)
                async with asyncio.timeout(10):
                    while "frame-ancestors" not in await console.get():
                        pass
                [frame] = page.main_frame.child_frames
                assert frame.url.startswith("chrome-error:")  # the browser's error page
                assert "Parley demo shop" not in await frame.content()
        finally:
            await page.context.close()
