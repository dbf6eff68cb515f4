"""Static answers of the edge's HTTP side: the widget script, the demo page and
a health check. Files are read once at import; nothing is read from a path the
request names."""

from __future__ import annotations

import html
from importlib import resources
from typing import TYPE_CHECKING

import orjson
from picows import WSUpgradeResponse, WSUpgradeResponseWithListener

if TYPE_CHECKING:
    from edge.server import Edge


def compact_script(source: bytes) -> bytes:
    """A script as served: without its comment-only lines and its indentation.

    Nothing inside a line changes and every line break stays, so the code means
    the same (no string in the widget spans lines) and the source, readable and
    commented, needs no build step; the widget comes out about a tenth smaller
    gzipped."""
    lines = (line.strip() for line in source.decode().splitlines())
    return "\n".join(ln for ln in lines if ln and not ln.startswith("//")).encode() + b"\n"


WIDGET_JS = compact_script(resources.files("edge").joinpath("static/widget.js").read_bytes())

DEMO_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Parley demo shop</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font:16px sans-serif;max-width:40em;margin:3em auto;padding:0 1em}}</style>
</head><body>
<h1>Parley demo shop</h1>
<p>This page embeds the Parley visitor widget for the demo site <code>{site}</code>.
Open the chat with the round button at the bottom right; an operator answers over a gRPC session,
for example from a terminal with <code>parley login</code> as the demo operator, then
<code>parley chat</code> (the server printed the exact commands).</p>
<script src="/widget.js" data-site="{site}" async></script>
</body></html>
"""


def _page(status: int, body: bytes, content_type: str) -> WSUpgradeResponseWithListener:
    headers = {
        "Content-Type": content_type,
        "Cache-Control": "no-cache",
        "X-Content-Type-Options": "nosniff",
    }
    if status == 200:
        response = WSUpgradeResponse.create_ok_response(body, headers)
    else:
        response = WSUpgradeResponse.create_error_response(status, body, headers)
    return WSUpgradeResponseWithListener(response, None)


def respond(path: str, edge: Edge) -> WSUpgradeResponseWithListener:
    if path == "/widget.js":
        return _page(200, WIDGET_JS, "application/javascript; charset=utf-8")
    if path == "/healthz":
        return _page(
            200,
            orjson.dumps({"status": "ok", "connections": len(edge.connections)}),
            "application/json",
        )
    if path in ("/", "/demo") and edge.demo_site:
        body = DEMO_PAGE.format(site=html.escape(edge.demo_site)).encode()
        return _page(200, body, "text/html; charset=utf-8")
    return _page(404, orjson.dumps({"error": "not_found"}), "application/json")
