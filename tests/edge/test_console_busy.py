"""The console when the server is too busy to take a reply: the refusal
(``overloaded``, retryable, with ``retry_after_ms``) is not shown as a failure;
the reply goes again after the hint with the same client id, and the visitor
gets every reply once."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import expect

from tests.edge.test_console import LAPTOP, chat_opened, operator_text, shot, sign_in
from tests.edge.test_widget import attached, watch_errors
from tests.integration.helpers import running

REPLIES = 12


async def test_replies_refused_as_busy_go_again_after_the_hint(
    tmp_path: Path, chromium_cdp: str
) -> None:
    # One unstored message at a time for the whole engine: replies sent in one
    # go are mostly refused overloaded, and taken when sent again.
    async with running(tmp_path, message_backlog=1) as app, attached(chromium_cdp) as browser:
        assert app.engine is not None
        context = await browser.new_context(**LAPTOP, locale="en-US")
        page = await context.new_page()
        errors = watch_errors(page)
        await sign_in(page, app)
        visitor, transcript = await chat_opened(page, app, "Ada", "Hello")

        # The replies leave in one task of the page: one burst at the server.
        await page.evaluate(
            """(n) => {
              const box = document.getElementById("composer");
              for (let i = 0; i < n; i++) {
                box.value = "reply " + i;
                box.dispatchEvent(new KeyboardEvent("keydown", {key: "Enter", bubbles: true}));
              }
            }""",
            REPLIES,
        )
        got = [await operator_text(visitor) for _ in range(REPLIES)]
        assert sorted(got) == sorted(f"reply {i}" for i in range(REPLIES))  # each once
        assert app.engine.meters.refusals.get("overloaded", 0) > 0  # the path was taken
        own = transcript.locator(".msg.own:not(.pending)")
        await expect(own).to_have_count(REPLIES)
        await expect(transcript.locator(".failed")).to_have_count(0)
        await shot(page, "busy-replies-sent-again")
        # Nothing more comes: a round trip on the visitor's socket after the
        # engine settled, and no reply doubled.
        await app.engine.settle()
        await visitor.round_trip()
        replies = [f for f in visitor.frames() if f["type"] == "msg" and f["from"] == "operator"]
        assert len(replies) == REPLIES
        assert errors == []
        await context.close()
