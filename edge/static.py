"""Static answers of the edge's HTTP side: the widget script, the demo page and
its stylesheet, the operators' console (``/console``: its page, modules and
stylesheet), and a health check. Files are read once at import; nothing is
read from a path the request names.

Every answer carries the browser's protections, in one place (:func:`headers`):

* pages (the demo page) have a strict Content-Security-Policy: scripts, styles,
  images, connections and a web app manifest from this origin only, nothing inline (the demo page's
  style is a served file), no ``<base>`` or form posts, and no framing
  (``frame-ancestors 'none'`` and, for older browsers, ``X-Frame-Options: DENY``);
* JSON answers and the upgrade refusals allow nothing at all and cannot be framed;
* the widget script is meant for other sites' pages, so it may be loaded
  cross-origin (``Cross-Origin-Resource-Policy: cross-origin``, for hosts that
  isolate themselves with COEP); the host page's own CSP governs it there;
* all of them: ``X-Content-Type-Options: nosniff`` (a response is only what its
  Content-Type says) and ``Referrer-Policy: no-referrer``.

The widget is two scripts as built by esbuild (committed; rebuilt by
``scripts/build_assets.py``): ``/widget.js``, the small embed every page loads,
and ``/widget-panel.js``, the panel the embed imports (a module, so it is also
sent with ``Access-Control-Allow-Origin: *``: a module from another origin needs
CORS, and the file is public). The console's code is one file built the same
way, served with its page, stylesheets, manifest and icon. Each is
gzip-compressed once at import for browsers that accept it
(``Content-Encoding: gzip``, ``Vary: Accept-Encoding``), with an ETag of its
content: a page load revalidates it and gets ``304 Not Modified``.
"""

from __future__ import annotations

import gzip
import hashlib
import html
from dataclasses import dataclass
from http import HTTPStatus
from importlib import resources
from typing import TYPE_CHECKING, Any

import orjson
from picows import WSUpgradeResponse, WSUpgradeResponseWithListener

if TYPE_CHECKING:
    from edge.server import BaseEdge


_FILES = resources.files("edge").joinpath("static")


@dataclass(frozen=True, slots=True)
class Asset:
    """A file as served: its bytes, gzipped, its ETag and its type."""

    body: bytes
    gz: bytes
    etag: str
    content_type: str
    cors: bool = False  # a module imported across origins

    @classmethod
    def of(cls, body: bytes, content_type: str, cors: bool = False) -> Asset:
        # mtime 0: the same bytes on every start, so the ETag holds across restarts.
        gz = gzip.compress(body, compresslevel=9, mtime=0)
        etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
        return cls(body, gz, etag, content_type, cors)

    @classmethod
    def read(cls, name: str, cors: bool = False) -> Asset:
        """A built script of the static folder (the widget's, the console's)."""
        return cls.of(_FILES.joinpath(name).read_bytes(), JS, cors)


DEMO_CSS = _FILES.joinpath("demo.css").read_bytes()
DEMO_PAGE = _FILES.joinpath("demo.html").read_text(encoding="utf-8")

PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; "
    "connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
NOTHING_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

HTML = "text/html; charset=utf-8"
JSON = "application/json"
JS = "application/javascript; charset=utf-8"
CSS = "text/css; charset=utf-8"
MANIFEST = "application/manifest+json"
SVG = "image/svg+xml"

WIDGET = Asset.read("widget.min.js")
PANEL = Asset.read("widget-panel.min.js", cors=True)
WIDGET_JS, WIDGET_GZ, WIDGET_ETAG = WIDGET.body, WIDGET.gz, WIDGET.etag
SCRIPTS = {"/widget.js": WIDGET, "/widget-panel.js": PANEL}


def _console_files() -> dict[str, Asset]:
    """The console's files by the path they are served at: its page at
    ``/console``, its code at ``/console/console.js`` (its modules as one file,
    built by esbuild: ``console.min.js``), and each stylesheet, the web app
    manifest and its icon at ``/console/<name>`` (the manifest lets a browser
    install the console as an app; the page's policy allows it from this
    origin). The modules themselves are sources, not served."""
    folder = _FILES.joinpath("console")
    kinds = {".css": CSS, ".html": HTML, ".webmanifest": MANIFEST, ".svg": SVG}
    out: dict[str, Asset] = {}
    for entry in folder.iterdir():
        kind = kinds.get(entry.name[entry.name.rfind(".") :])
        if kind is not None and entry.is_file():
            out[f"/console/{entry.name}"] = Asset.of(entry.read_bytes(), kind)
    out["/console"] = out["/console/"] = out.pop("/console/index.html")
    out["/console/console.js"] = Asset.read("console.min.js")
    return out


CONSOLE = _console_files()


def headers(content_type: str) -> dict[str, str]:
    """The headers of an answer of ``content_type``: the policies above."""
    out = {
        "Content-Type": content_type,
        "Cache-Control": "no-cache",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
    if content_type == JS:
        out["Cross-Origin-Resource-Policy"] = "cross-origin"
    elif content_type != CSS:
        out["Content-Security-Policy"] = PAGE_CSP if content_type == HTML else NOTHING_CSP
        out["X-Frame-Options"] = "DENY"
    return out


def _page(status: int, body: bytes, content_type: str) -> WSUpgradeResponseWithListener:
    if status == 200:
        response = WSUpgradeResponse.create_ok_response(body, headers(content_type))
    else:
        response = WSUpgradeResponse.create_error_response(status, body, headers(content_type))
    return WSUpgradeResponseWithListener(response, None)


def json_error(status: int, code: str, message: str) -> WSUpgradeResponseWithListener:
    """A refusal as JSON ``{"error": code, "message": message}``."""
    return _page(status, orjson.dumps({"error": code, "message": message}), JSON)


def _accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding header takes gzip (not with ``q=0``)."""
    for part in accept_encoding.lower().split(","):
        coding, _, params = part.partition(";")
        if coding.strip() in ("gzip", "x-gzip", "*"):
            q = params.strip().removeprefix("q=").strip() if "q=" in params else "1"
            try:
                return float(q) > 0
            except ValueError:
                return False
    return False


def send_asset(
    if_none_match: str, accept_encoding: str, asset: Asset
) -> WSUpgradeResponseWithListener:
    """A served file (a widget script, a console file): gzipped when accepted;
    304 when the page has it."""
    extra = {"ETag": asset.etag, "Vary": "Accept-Encoding"}
    if asset.cors:
        extra["Access-Control-Allow-Origin"] = "*"
    policy = headers(asset.content_type)
    if asset.etag in (tag.strip() for tag in if_none_match.split(",")):
        # picows builds error answers from 400 up only: an empty OK, renumbered.
        response = WSUpgradeResponse.create_ok_response(b"", {**policy, **extra})
        response.status = HTTPStatus.NOT_MODIFIED
        return WSUpgradeResponseWithListener(response, None)
    body = asset.body
    if _accepts_gzip(accept_encoding):
        body, extra["Content-Encoding"] = asset.gz, "gzip"
    response = WSUpgradeResponse.create_ok_response(body, {**policy, **extra})
    return WSUpgradeResponseWithListener(response, None)


def _header(request_headers: Any, name: str) -> str:
    value = request_headers.get(name) if request_headers is not None else None
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    return value or ""


def respond(
    path: str, edge: BaseEdge, request_headers: Any = None
) -> WSUpgradeResponseWithListener:
    asset = SCRIPTS.get(path) or CONSOLE.get(path)
    if asset is not None:
        return send_asset(
            _header(request_headers, "if-none-match"),
            _header(request_headers, "accept-encoding"),
            asset,
        )
    if path == "/healthz":
        status, health = edge.health()
        return _page(status, orjson.dumps(health), JSON)
    if path in ("/", "/demo") and edge.demo_site:
        return _page(200, DEMO_PAGE.replace("{site}", html.escape(edge.demo_site)).encode(), HTML)
    if path == "/demo.css" and edge.demo_site:
        return _page(200, DEMO_CSS, CSS)
    return _page(404, orjson.dumps({"error": "not_found"}), JSON)
