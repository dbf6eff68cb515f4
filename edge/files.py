"""The edge's attachment routes: uploads over a websocket of their own, and
downloads over plain GET. The rules (who, limits, types) are
``engine/attachments/``; this module moves bytes and sets headers.

Why a websocket for uploads rather than a POST: picows answers HTTP requests
from their headers alone (it reads no request body), and a cross-origin POST
with the visitor's token in a header would need a CORS preflight from every
host page; a websocket has neither problem, sends binary frames without
base64, and gives the sender progress for free. It is its own connection, not
the chat's, so a file never delays chat frames nor spends the chat's frame
rate.

``/v1/upload`` (websocket): the client's first frame is text JSON
``{"token", "as": "visitor"|"operator", "conversation", "name", "size",
"cid"}``; the server answers ``{"type": "ready"}`` or an error; then binary
frames carry the bytes (up to 60 KiB each), each answered ``{"type":
"progress", "received"}``; the frame that completes the file is answered
``{"type": "done", "seq", "file": {...}}`` once the file and its message are
durable. Any refusal is ``{"type": "error", "code", "message"}``, then the
server closes. A visitor's page must be of the site's allowed origins, an
operator's of the console's.

``GET /v1/files/<conversation id>/<sha256>``: the visitor of the chat (its
token in ``X-Parley-Visitor``) or an operator who has the chat in sight
(``Authorization: Bearer <token>``), for a file that chat references. The
answer is ``Content-Disposition: attachment`` (``inline`` only for an image
asked with ``?inline=1``, a preview), of the type detected at upload, with
``nosniff``, a sandboxing CSP and private caching. Host pages of the site's
origins may fetch it cross-origin (CORS, preflight answered here).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote

import orjson
from picows import (
    WSCloseCode,
    WSFrame,
    WSListener,
    WSMsgType,
    WSTransport,
    WSUpgradeRequest,
    WSUpgradeResponse,
    WSUpgradeResponseWithListener,
)

from edge import static
from edge.bridge.origin import console_origin_allowed
from engine.attachments import Upload, Uploader
from engine.attachments.sniff import IMAGES
from engine.chat.events import FileRef
from engine.chat.ids import site_of_conversation as site_of
from engine.errors import InvalidArgument, Refused

if TYPE_CHECKING:
    from edge.server import Edge

log = logging.getLogger("parley.edge.files")

UPLOAD_PATH = "/v1/upload"
FILES_PREFIX = "/v1/files/"
MAX_HEADER = 4096  # bytes of the first (text) frame
MAX_PIECE = 60 * 1024  # bytes of one binary frame (under the edge's frame limit)
VISITOR_HEADER = "x-parley-visitor"
FILE_CSP = (
    "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; sandbox"
)
CLOSE_REFUSED = 4400  # the upload was refused (the error frame says why)


def _header(request: WSUpgradeRequest, name: str) -> str | None:
    headers = request.headers
    value = headers.get(name) if headers is not None else None
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    return value


def route(edge: Edge, request: WSUpgradeRequest, path: str, query: str) -> Any:
    """The answer to a request under UPLOAD_PATH or FILES_PREFIX."""
    if path == UPLOAD_PATH:
        if request.method not in (b"GET", "GET"):
            return static.json_error(405, "bad_request", "use GET")
        return UploadConnection(edge, _header(request, "origin"), _header(request, "host"))
    parts = path[len(FILES_PREFIX) :].split("/")
    if len(parts) != 2:
        return static.json_error(404, "not_found", "no such file")
    conversation_id, digest = parts
    origin = _header(request, "origin")
    cors = _cors(edge, conversation_id, origin)
    if request.method in (b"OPTIONS", "OPTIONS"):
        preflight = {
            **cors,
            "Access-Control-Allow-Methods": "GET",
            "Access-Control-Allow-Headers": VISITOR_HEADER,
            "Access-Control-Max-Age": "600",
        }
        return _respond(204, b"", {**static.headers(static.JSON), **preflight})
    if request.method not in (b"GET", "GET"):
        return static.json_error(405, "bad_request", "use GET")
    return download(edge, conversation_id, digest, request, "inline=1" in query.split("&"), cors)


def _cors(edge: Edge, conversation_id: str, origin: str | None) -> dict[str, str]:
    """Cross-origin reading for the pages of the chat's site (the widget's host)."""
    if origin is None:
        return {}
    site = edge.engine.directory.sites.get(site_of(conversation_id))
    if site is None or origin.rstrip("/").lower() not in site.allowed_origins:
        return {}
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}


def _respond(status: int, body: bytes, headers: dict[str, str]) -> WSUpgradeResponseWithListener:
    if status == 200:
        response = WSUpgradeResponse.create_ok_response(body, headers)
    else:
        response = WSUpgradeResponse.create_error_response(status, body, headers)
    return WSUpgradeResponseWithListener(response, None)


def file_headers(ref: FileRef, inline: bool) -> dict[str, str]:
    """The headers of a served file (see the module's docstring)."""
    ascii_name = "".join(c if 32 <= ord(c) < 127 and c not in '"\\;' else "_" for c in ref.name)
    how = "inline" if inline and ref.content_type in IMAGES else "attachment"
    disposition = f"{how}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(ref.name)}"
    return {
        "Content-Type": ref.content_type,
        "Content-Disposition": disposition,
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": FILE_CSP,
        "Cache-Control": "private, max-age=3600",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "Cross-Origin-Resource-Policy": "same-site",
    }


def download(
    edge: Edge,
    conversation_id: str,
    digest: str,
    request: WSUpgradeRequest,
    inline: bool,
    cors: dict[str, str],
) -> WSUpgradeResponseWithListener:
    """A GET of a file: the caller checked (see the module's docstring)."""
    attachments = edge.engine.attachments
    bearer = _header(request, "authorization") or ""
    try:
        who: Uploader
        if bearer[:7].lower() == "bearer ":
            principal = edge.engine.auth.authenticate(bearer[7:].strip())
            who = attachments.operator_reader(principal, conversation_id)
        else:
            token = _header(request, VISITOR_HEADER) or ""
            who = attachments.visitor_reader(token, conversation_id)
        ref, data = attachments.read(who, conversation_id, digest)
    except Refused as error:
        status = _STATUS.get(type(error).__name__, 400)
        body = orjson.dumps({"error": error.code, "message": error.message})
        return _respond(status, body, {**static.headers(static.JSON), **cors})
    return _respond(200, data, {**file_headers(ref, inline), **cors})


_STATUS = {
    "Unauthenticated": 401,
    "PermissionDenied": 403,
    "NotFound": 404,
    "InvalidArgument": 400,
    "FailedPrecondition": 409,
    "Unavailable": 503,
}


class UploadConnection(WSListener):
    """One upload: a header frame, binary frames, an answer, closed."""

    def __init__(self, edge: Edge, origin: str | None, host: str | None) -> None:
        self.edge = edge
        self.origin = origin
        self.host = host
        self.transport: WSTransport | None = None
        self.upload: Upload | None = None
        self.busy: asyncio.Task[None] | None = None  # the begin or the finish
        self.ended = False

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.transport = None
        self.ended = True
        if self.upload is not None and self.busy is None:
            self.edge.engine.attachments.abort(self.upload)  # a finish cleans up itself

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        kind = frame.msg_type
        if kind is WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()
            return
        if kind is WSMsgType.PING or kind is WSMsgType.PONG:
            return
        if self.ended:
            return
        if not frame.fin or kind is WSMsgType.CONTINUATION:
            self._refuse("bad_frame", "send whole frames")
            return
        payload = frame.get_payload_as_bytes()
        if self.upload is None and self.busy is None and kind is WSMsgType.TEXT:
            self._begin(payload)
        elif self.upload is not None and self.busy is None and kind is WSMsgType.BINARY:
            self._piece(payload)
        else:
            self._refuse("bad_frame", "a header frame, then the file's bytes after 'ready'")

    def _begin(self, payload: bytes) -> None:
        if len(payload) > MAX_HEADER:
            self._refuse("bad_frame", f"the header has at most {MAX_HEADER} bytes")
            return
        try:
            doc = orjson.loads(payload)
            if not isinstance(doc, dict):
                raise ValueError
            size = doc.get("size")
            fields = [doc.get(k) for k in ("token", "conversation", "name", "cid")]
            if not isinstance(size, int) or not all(isinstance(f, str) for f in fields):
                raise ValueError
        except ValueError:
            self._refuse(
                "bad_frame", "the header is JSON: token, as, conversation, name, size, cid"
            )
            return
        self.busy = asyncio.ensure_future(self._open(doc))

    async def _open(self, doc: dict[str, Any]) -> None:
        engine = self.edge.engine
        attachments = engine.attachments
        conversation = doc["conversation"]
        try:
            if doc.get("as") == "operator":
                if not console_origin_allowed(
                    self.origin, self.host, self.edge.config.console_origins
                ):
                    raise _origin_refused()
                principal = engine.auth.authenticate(doc["token"])
                who = await attachments.operator(principal, conversation)
            else:
                who = await attachments.visitor(doc["token"], conversation)
                site = engine.directory.sites.get(who.site_id)
                origin = self.origin
                if site is None or (
                    origin is not None and origin.rstrip("/").lower() not in site.allowed_origins
                ):
                    raise _origin_refused()
            upload = await attachments.begin(
                who, conversation, doc["name"], doc["size"], doc["cid"]
            )
        except Refused as error:
            self.busy = None
            self._refuse(error.code, error.message)
            return
        self.busy = None
        if self.ended:
            attachments.abort(upload)
            return
        self.upload = upload
        self._send({"type": "ready", "max_frame": MAX_PIECE})

    def _piece(self, data: bytes) -> None:
        upload = self.upload
        assert upload is not None
        if len(data) > MAX_PIECE:
            self._refuse("bad_frame", f"a piece has at most {MAX_PIECE} bytes")
            return
        try:
            self.edge.engine.attachments.add(upload, data)
        except Refused as error:
            self._refuse(error.code, error.message)
            return
        self._send({"type": "progress", "received": upload.received})
        if upload.received == upload.size:
            self.busy = asyncio.ensure_future(self._finish(upload))

    async def _finish(self, upload: Upload) -> None:
        try:
            seq, ref = await self.edge.engine.attachments.finish(upload)
        except Refused as error:
            self._refuse(error.code, error.message, retryable=error.retryable)
            return
        except Exception:  # a bug: logged, the client told, the upload gone
            log.exception("attachment upload failed")
            self._refuse("internal", "the server could not store the file")
            return
        finally:
            self.upload = None
        f = {"sha256": ref.digest, "name": ref.name, "type": ref.content_type, "size": ref.size}
        self._send({"type": "done", "seq": seq, "cid": upload.client_msg_id, "file": f})
        self._close(1000, "done")

    def _refuse(self, code: str, message: str, retryable: bool = False) -> None:
        if self.upload is not None and self.busy is None:
            self.edge.engine.attachments.abort(self.upload)
            self.upload = None
        self._send({"type": "error", "code": code, "message": message, "retryable": retryable})
        self._close(CLOSE_REFUSED, code)

    def _send(self, doc: dict[str, Any]) -> None:
        if self.transport is not None:
            self.transport.send(WSMsgType.TEXT, orjson.dumps(doc))

    def _close(self, code: int, reason: str) -> None:
        self.ended = True
        transport = self.transport
        if transport is not None:
            transport.send_close(cast(WSCloseCode, code), reason.encode()[:120])
            transport.disconnect()


def _origin_refused() -> Refused:
    return InvalidArgument("origin_not_allowed", "this page's origin may not send files here")
