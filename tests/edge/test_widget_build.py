"""The widget and the console as built and served: the committed minified
builds are what esbuild makes of their sources now (run scripts/build_assets.py
after editing one), and the edge sends them gzipped to browsers that accept
it, with an ETag and Vary, and a 304 to a page that has them; the console's
page, stylesheets, manifest and icon likewise, each with its own type and
policy."""

from __future__ import annotations

import asyncio
import gzip
import importlib.util
import urllib.error
import urllib.request
from pathlib import Path
from types import ModuleType

from edge import static
from tests.integration.helpers import running

ROOT = Path(__file__).resolve().parents[2]


def _build_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_assets", ROOT / "scripts/build_assets.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_build_is_fresh(tmp_path: Path) -> None:
    build = _build_module()
    built = build.build(tmp_path)
    assert [p.name for p in built] == ["widget.min.js", "widget-panel.min.js", "console.min.js"]
    served = (static.WIDGET, static.PANEL, static.CONSOLE["/console/console.js"])
    for path, asset in zip(built, served, strict=True):
        committed = (ROOT / "edge/static" / path.name).read_bytes()
        assert path.read_bytes() == committed, (
            f"{path.name} is stale: run python scripts/build_assets.py"
        )
        assert committed == asset.body


def _get(url: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


async def get(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    return await asyncio.to_thread(_get, url, {k.replace("_", "-"): v for k, v in headers.items()})


async def test_the_widget_is_sent_gzipped_with_its_etag(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        url = f"http://127.0.0.1:{app.http_port}/widget.js"
        status, headers, body = await get(url, Accept_Encoding="gzip, deflate, br")
        assert status == 200
        assert headers["Content-Encoding"] == "gzip"
        assert headers["Vary"] == "Accept-Encoding"
        assert headers["Content-Type"] == "application/javascript; charset=utf-8"
        assert headers["Cross-Origin-Resource-Policy"] == "cross-origin"
        assert gzip.decompress(body) == static.WIDGET_JS
        assert len(body) == int(headers["Content-Length"]) < 3 * 1024
        assert "Access-Control-Allow-Origin" not in headers
        etag = headers["ETag"]
        assert etag.startswith('"') and etag.endswith('"')

        # No gzip asked for (or refused with q=0): the plain bytes, same ETag.
        for accept in ("", "identity", "gzip;q=0, identity"):
            status, plain_headers, plain = await get(url, Accept_Encoding=accept)
            assert (status, plain) == (200, static.WIDGET_JS), accept
            assert "Content-Encoding" not in plain_headers
            assert plain_headers["ETag"] == etag

        # A page that has it revalidates: 304, no body.
        status, again, body = await get(url, If_None_Match=etag, Accept_Encoding="gzip")
        assert (status, body) == (304, b"")
        assert again["ETag"] == etag
        status, _headers, body = await get(url, If_None_Match='"stale"', Accept_Encoding="gzip")
        assert status == 200 and gzip.decompress(body) == static.WIDGET_JS

        # The panel likewise, and open to other origins' pages (it is a module).
        url = f"http://127.0.0.1:{app.http_port}/widget-panel.js"
        status, headers, body = await get(url, Accept_Encoding="gzip")
        assert (status, headers["Content-Encoding"]) == (200, "gzip")
        assert gzip.decompress(body) == static.PANEL.body
        assert headers["Access-Control-Allow-Origin"] == "*"
        assert headers["Cross-Origin-Resource-Policy"] == "cross-origin"
        status, _headers, body = await get(url, If_None_Match=headers["ETag"])
        assert (status, body) == (304, b"")


async def test_the_console_files_are_sent_gzipped_and_revalidated(tmp_path: Path) -> None:
    """A console's reload asks again for its page and every module: each is
    answered 304 with its policy, nothing sent again; a first load gets them
    gzipped."""
    async with running(tmp_path) as app:
        base = f"http://127.0.0.1:{app.http_port}"
        status, headers, body = await get(f"{base}/console", Accept_Encoding="gzip")
        assert (status, headers["Content-Encoding"]) == (200, "gzip")
        assert gzip.decompress(body) == static.CONSOLE["/console"].body
        assert headers["Content-Type"] == static.HTML
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert headers["X-Frame-Options"] == "DENY"
        status, again, body = await get(f"{base}/console", If_None_Match=headers["ETag"])
        assert (status, body) == (304, b"")
        # The answer that says "keep yours" keeps the page's policy too.
        assert again["Content-Security-Policy"] == headers["Content-Security-Policy"]

        sent = unchanged = 0
        for path, asset in static.CONSOLE.items():
            status, headers, body = await get(base + path, Accept_Encoding="gzip")
            assert status == 200, path
            assert headers["Content-Type"] == asset.content_type, path
            assert gzip.decompress(body) == asset.body, path
            sent += len(body)
            status, _headers, body = await get(base + path, If_None_Match=headers["ETag"])
            assert (status, body) == (304, b""), path
            status, plain_headers, plain = await get(base + path)
            assert (status, plain) == (200, asset.body), path
            assert "Content-Encoding" not in plain_headers
            unchanged += len(plain)
        # Compressed, the console's files come to under a third of their size.
        assert sent * 3 < unchanged, (sent, unchanged)
        # Code changed since (another ETag): sent whole.
        status, _headers, body = await get(f"{base}/console/console.js", If_None_Match='"old"')
        assert (status, body) == (200, static.CONSOLE["/console/console.js"].body)
        # The modules are the bundle's sources, not served one by one.
        status, _headers, _body = await get(f"{base}/console/app.js")
        assert status == 404
