"""Attachments in the pages, in headless Chromium against a real server: the
visitor attaches an image in the widget, the operator sees its preview in the
console and sends a file back, the visitor sees it as a link; a refused file
is said in words on the visitor's side. With PARLEY_SHOTS=1, screenshots go to
/tmp/shots-attach/."""

from __future__ import annotations

import asyncio
import re
import struct
import zlib
from pathlib import Path

from playwright.async_api import Page, expect

from tests.conftest import TAKE_SHOTS
from tests.edge.test_console import LAPTOP, chat_row, sign_in
from tests.edge.test_widget import W, attached, watch_errors
from tests.integration.attach_clients import EXE
from tests.integration.helpers import running

SHOTS = Path("/tmp/shots-attach")
SHOTS.mkdir(parents=True, exist_ok=True)


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A real PNG of one colour (the standard library's zlib and CRC)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


PNG_40x30 = png(40, 30, (37, 99, 235))
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"


async def shot(page: Page, name: str) -> None:
    if not TAKE_SHOTS:
        return
    await page.screenshot(path=str(SHOTS / f"{name}.png"))


async def test_an_image_one_way_and_a_file_the_other(tmp_path: Path, chromium_cdp: str) -> None:
    async with running(tmp_path) as app, attached(chromium_cdp) as browser:
        assert app.demo is not None
        console = await (await browser.new_context(**LAPTOP, locale="en-US")).new_page()
        console_errors = watch_errors(console)
        await sign_in(console, app)

        widget = await (await browser.new_context(**LAPTOP, locale="en-US")).new_page()
        widget_errors = watch_errors(widget)
        await widget.goto(f"http://127.0.0.1:{app.http_port}/")
        await widget.locator(f"{W} .la").click()
        composer = widget.locator(f"{W} .cp textarea")
        await composer.fill("Here is the broken part")
        await composer.press("Enter")
        await expect(widget.locator(f"{W} .m.me .mt")).to_contain_text("Sent")

        row = await chat_row(console, "Visitor")
        await row.locator("button.open").click()
        transcript = console.locator("#transcript")
        await expect(transcript.locator(".msg.visitor .text")).to_have_text(
            ["Here is the broken part"]
        )

        # The visitor attaches an image: the console shows its preview.
        picker = widget.locator(f"{W} .cp input[type=file]")
        await picker.set_input_files(
            files=[{"name": "part.png", "mimeType": "image/png", "buffer": PNG_40x30}]
        )
        preview = transcript.locator(".attachment img.preview")
        await expect(preview).to_have_count(1, timeout=10_000)
        await expect(preview).to_have_attribute("src", re.compile("^blob:"))
        assert await preview.evaluate("img => img.decode().then(() => img.naturalWidth)") == 40
        await expect(transcript.locator(".attachment .file-link")).to_contain_text("part.png")
        await expect(widget.locator(f"{W} .fi img")).to_have_count(1)  # the visitor's own

        # The operator sends a PDF back with the paper clip: a link in the widget.
        await console.locator(".composer-row input[type=file]").set_input_files(
            files=[{"name": "manual.pdf", "mimeType": "application/pdf", "buffer": PDF}]
        )
        link = widget.locator(f"{W} .m:not(.me) .fi")
        await expect(link).to_have_text("manual.pdf", timeout=10_000)
        await expect(transcript.locator(".attachment .file-link")).to_have_count(2)
        await shot(console, "console-preview-and-file")
        async with widget.expect_download() as got:
            await link.click()
        download = await got.value
        assert download.suggested_filename == "manual.pdf"
        saved = await download.path()
        assert await asyncio.to_thread(Path(saved).read_bytes) == PDF

        # A program named like a picture is refused, in the visitor's words.
        await picker.set_input_files(
            files=[{"name": "kitten.png", "mimeType": "image/png", "buffer": EXE}]
        )
        await expect(widget.locator(f"{W} .up")).to_have_text("This kind of file cannot be sent.")
        await shot(widget, "widget-image-file-and-refusal")
        assert await widget.locator(f"{W} .fi").count() == 2
        assert not console_errors and not widget_errors, (console_errors, widget_errors)
