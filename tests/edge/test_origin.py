"""Origin checks: exact scheme, host and port; lookalikes are refused before the
websocket upgrade."""

from __future__ import annotations

from pathlib import Path

import pytest
from picows import WSError

from edge.server import origin_allowed
from engine.chat.records import Site
from tests.integration.helpers import Visitor, running, visitor_url

SITE = Site("sabcdefghi", "a1", "Shop", ("https://example.com", "http://localhost:8080"))


@pytest.mark.parametrize(
    "origin",
    [
        "https://example.com",
        "https://EXAMPLE.com",
        "http://localhost:8080",
        None,
    ],
)
def test_allowed_origins_pass(origin: str | None) -> None:
    assert origin_allowed(SITE, origin)


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil-example.com",
        "https://example.com.evil.org",
        "https://example.com:443.evil.org",
        "https://sub.example.com",
        "null",
        "",
        "http://example.com",  # scheme swapped
        "https://example.com:8443",  # port swapped
        "http://localhost:8081",
        "https://localhost:8080",
        "https://example.com@evil.org",
        "https://example.com/path",
        "https://examp1e.com",
    ],
)
def test_lookalikes_are_refused(origin: str) -> None:
    assert not origin_allowed(SITE, origin)


async def test_lookalikes_are_refused_before_the_upgrade(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        port = app.http_port
        for origin in (
            f"http://127.0.0.1:{port}.evil.org",
            f"https://127.0.0.1:{port}",
            f"http://127.0.0.1:{port + 1}",
            "null",
            f"http://evil-localhost:{port}",
        ):
            with pytest.raises(WSError) as info:
                await Visitor(visitor_url(app)).connect(origin=origin)
            assert "403" in str(info.value), origin
        ok = await Visitor(visitor_url(app)).connect(origin=f"http://localhost:{port}")
        await ok.hello()
        await ok.close()
