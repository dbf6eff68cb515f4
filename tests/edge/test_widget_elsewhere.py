"""The widget on a shop's own origin, embedded from Parley's: the panel is
loaded on demand from Parley's origin (a module import across origins, which
CORS lets through), and the chat goes over the socket that the site's allowed
origins let in. A page on an origin the site does not list gets no chat."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from playwright.async_api import Page, WebSocket, expect

from parley.v1 import control_pb2
from tests.edge.test_widget import DEVICES, W, attached, shot, visitor_message, watch_errors
from tests.integration.helpers import on_duty, owner, running

SHOP = "http://127.0.0.2:8080"  # another origin (the page is served by the test's route)
PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Shop elsewhere</title></head><body><main><h1>Shop elsewhere</h1></main>
<script src="http://127.0.0.1:{port}/widget.js" data-site="{site}" async></script>
</body></html>"""


async def serve_shop(page: Page, origin: str, port: int, site: str) -> list[str]:
    """Serve the shop's page at ``origin``; returns the URLs the page fetches."""
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url))
    body = PAGE.format(port=port, site=site)
    await page.route(
        f"{origin}/",
        lambda route: route.fulfill(
            status=200, headers={"Content-Type": "text/html; charset=utf-8"}, body=body
        ),
    )
    return fetched


async def test_the_widget_on_a_shops_own_origin(tmp_path: Path, chromium_cdp: str) -> None:
    async with running(tmp_path) as app, attached(chromium_cdp) as browser:
        assert app.demo is not None
        boss = await owner(app)
        site = control_pb2.Site(id=app.demo["site"], allowed_origins=[SHOP])
        await boss.api.sites.UpdateSite(
            control_pb2.UpdateSiteRequest(site=site, update_mask={"paths": ["allowed_origins"]}),
            metadata=boss.metadata,
        )
        op = await on_duty(app)
        context = await browser.new_context(**DEVICES["desktop"], locale="en-US")
        page = await context.new_page()
        errors = watch_errors(page)
        fetched = await serve_shop(page, SHOP, app.http_port, app.demo["site"])
        welcomed, pages = asyncio.Event(), asyncio.Event()

        def watch(ws: WebSocket) -> None:
            ws.on("framereceived", lambda f: welcomed.set() if '"welcome"' in str(f) else None)
            ws.on("framesent", lambda f: pages.set() if '"type":"page"' in str(f) else None)

        page.on("websocket", watch)
        await page.goto(f"{SHOP}/")
        await asyncio.wait_for(welcomed.wait(), 10)
        # Before the panel is loaded, the embed reports an in-page navigation.
        assert not [url for url in fetched if "widget-panel" in url]
        await page.evaluate("location.hash = 'sizes'")
        await asyncio.wait_for(pages.wait(), 10)
        await page.locator(f"{W} .la").click()
        composer = page.locator(f"{W} .cp textarea")
        await expect(composer).to_be_visible()
        parley = f"http://127.0.0.1:{app.http_port}/"
        panel = [url for url in fetched if "widget-panel" in url]
        assert panel and all(url.startswith(parley) for url in panel)  # from Parley's origin
        await composer.fill("Hello from the shop")
        await composer.press("Enter")
        message = await visitor_message(op)
        assert message.text == "Hello from the shop"
        info = await op.api.conversations.GetVisitorInfo(
            control_pb2.GetVisitorInfoRequest(conversation_id=message.conversation_id),
            metadata=op.metadata,
        )
        assert [p.url for p in info.pages] == [f"{SHOP}/", f"{SHOP}/#sizes"]
        op.say(message.conversation_id, "r1", "Welcome to the shop")
        theirs = page.locator(f"{W} .m:not(.me) .tx")
        await expect(theirs).to_have_text("Welcome to the shop")
        await shot(page, "desktop-another-origin")
        assert errors == []

        # An origin the site does not list: its socket is refused (403), so
        # the widget says it cannot reach the chat and offers no composer.
        other = await context.new_page()
        await serve_shop(other, "http://127.0.0.3:8080", app.http_port, app.demo["site"])
        await other.goto("http://127.0.0.3:8080/")
        await other.locator(f"{W} .la").click()
        await expect(other.locator(f"{W} .bn")).to_have_text(re.compile("cannot reach the chat"))
        await expect(other.locator(f"{W} .cp textarea")).to_be_hidden()
        await shot(other, "desktop-origin-not-allowed")
        await boss.close()
        await context.close()
