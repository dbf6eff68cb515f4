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
from collections.abc import Callable
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
from edge.ping import control_bucket, control_frame
from engine.attachments import Upload, Uploader
from engine.attachments.sniff import IMAGES
from engine.chat.events import FileRef
from engine.chat.ids import site_of_conversation as site_of
from engine.errors import InvalidArgument, Refused

if TYPE_CHECKING:
    from edge.server import Edge
    from engine.app import Engine

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
        return UploadConnection(
            edge, edge.engine, _header(request, "origin"), _header(request, "host")
        )
    method = request.method
    status, headers, body = answer(
        edge.engine,
        method.decode("latin-1") if isinstance(method, bytes) else str(method),
        path,
        query,
        _header(request, "origin"),
        _header(request, "authorization") or "",
        _header(request, VISITOR_HEADER) or "",
    )
    return _respond(status, body, headers)


def answer(
    engine: Engine,
    method: str,
    path: str,
    query: str,
    origin: str | None,
    authorization: str,
    visitor: str,
) -> tuple[int, dict[str, str], bytes]:
    """A file's GET (or its preflight) under FILES_PREFIX: status, headers, body.
    The same answer in both modes (split mode's engine answers an edge's)."""
    parts = path[len(FILES_PREFIX) :].split("/")
    if not path.startswith(FILES_PREFIX) or len(parts) != 2:
        return _error(404, "not_found", "no such file", {})
    conversation_id, digest = parts
    cors = _cors(engine, conversation_id, origin)
    if method == "OPTIONS":
        preflight = {
            **cors,
            "Access-Control-Allow-Methods": "GET",
            "Access-Control-Allow-Headers": VISITOR_HEADER,
            "Access-Control-Max-Age": "600",
        }
        return 204, {**static.headers(static.JSON), **preflight}, b""
    if method != "GET":
        return _error(405, "bad_request", "use GET", {})
    inline = "inline=1" in query.split("&")
    attachments = engine.attachments
    try:
        who: Uploader
        if authorization[:7].lower() == "bearer ":
            principal = engine.auth.authenticate(authorization[7:].strip())
            who = attachments.operator_reader(principal, conversation_id)
        else:
            who = attachments.visitor_reader(visitor, conversation_id)
        ref, data = attachments.read(who, conversation_id, digest)
    except Refused as error:
        return _error(_STATUS.get(type(error).__name__, 400), error.code, error.message, cors)
    return 200, {**file_headers(ref, inline), **cors}, data


def _error(
    status: int, code: str, message: str, cors: dict[str, str]
) -> tuple[int, dict[str, str], bytes]:
    body = orjson.dumps({"error": code, "message": message})
    return status, {**static.headers(static.JSON), **cors}, body


def _cors(engine: Engine, conversation_id: str, origin: str | None) -> dict[str, str]:
    """Cross-origin reading for the pages of the chat's site (the widget's host)."""
    if origin is None:
        return {}
    site = engine.directory.sites.get(site_of(conversation_id))
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


_STATUS = {
    "Unauthenticated": 401,
    "PermissionDenied": 403,
    "NotFound": 404,
    "InvalidArgument": 400,
    "FailedPrecondition": 409,
    "Unavailable": 503,
}


class UploadSession:
    """One upload's logic: a header frame, binary frames, an answer, closed.
    ``out`` writes a text frame (``b""``: none) and closes the websocket after
    it when given a close code. Split mode's engine runs it for an edge's
    upload websocket (``edge/link/files.py``), the one-process server for its
    own (:class:`UploadConnection`)."""

    def __init__(
        self,
        engine: Engine,
        origin: str | None,
        console_origin: bool,
        out: Callable[[bytes, int, str], None],
    ) -> None:
        self.engine = engine
        self.origin = origin
        self.console_origin = console_origin  # the page may open a console here
        self.out = out
        self.upload: Upload | None = None
        self.busy: asyncio.Future[None] | None = None  # the begin or the finish
        self.ended = False

    def gone(self) -> None:
        """The websocket closed: an upload under way is dropped."""
        self.ended = True
        if self.upload is not None and self.busy is None:
            self.engine.attachments.abort(self.upload)  # a finish cleans up itself

    def frame(self, payload: bytes, text: bool) -> None:
        """A whole frame from the client."""
        if self.ended:
            return
        if self.upload is None and self.busy is None and text:
            self._begin(payload)
        elif self.upload is not None and self.busy is None and not text:
            self._piece(payload)
        else:
            self.refuse("bad_frame", "a header frame, then the file's bytes after 'ready'")

    def _begin(self, payload: bytes) -> None:
        if len(payload) > MAX_HEADER:
            self.refuse("bad_frame", f"the header has at most {MAX_HEADER} bytes")
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
            self.refuse("bad_frame", "the header is JSON: token, as, conversation, name, size, cid")
            return
        self.busy = asyncio.ensure_future(self._open(doc))

    async def _open(self, doc: dict[str, Any]) -> None:
        engine = self.engine
        attachments = engine.attachments
        conversation = doc["conversation"]
        try:
            if doc.get("as") == "operator":
                if not self.console_origin:
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
            self.refuse(error.code, error.message)
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
            self.refuse("bad_frame", f"a piece has at most {MAX_PIECE} bytes")
            return
        try:
            self.engine.attachments.add(upload, data)
        except Refused as error:
            self.refuse(error.code, error.message)
            return
        self._send({"type": "progress", "received": upload.received})
        if upload.received == upload.size:
            self.busy = asyncio.ensure_future(self._finish(upload))

    async def _finish(self, upload: Upload) -> None:
        try:
            seq, ref = await self.engine.attachments.finish(upload)
        except Refused as error:
            self.refuse(error.code, error.message, retryable=error.retryable)
            return
        except Exception:  # a bug: logged, the client told, the upload gone
            log.exception("attachment upload failed")
            self.refuse("internal", "the server could not store the file")
            return
        finally:
            self.upload = None
        f = {"sha256": ref.digest, "name": ref.name, "type": ref.content_type, "size": ref.size}
        doc = {"type": "done", "seq": seq, "cid": upload.client_msg_id, "file": f}
        self.ended = True
        self.out(orjson.dumps(doc), 1000, "done")

    def refuse(self, code: str, message: str, retryable: bool = False) -> None:
        """Say why, drop the upload, close."""
        if self.upload is not None and self.busy is None:
            self.engine.attachments.abort(self.upload)
            self.upload = None
        self.ended = True
        self.out(refusal(code, message, retryable), CLOSE_REFUSED, code)

    def _send(self, doc: dict[str, Any]) -> None:
        self.out(orjson.dumps(doc), 0, "")


def refusal(code: str, message: str, retryable: bool = False) -> bytes:
    """An upload's error frame."""
    return orjson.dumps({"type": "error", "code": code, "message": message, "retryable": retryable})


class UploadConnection(WSListener):
    """One upload websocket of the one-process server."""

    def __init__(self, edge: Edge, engine: Engine, origin: str | None, host: str | None) -> None:
        self.transport: WSTransport | None = None
        console = console_origin_allowed(origin, host, edge.config.console_origins)
        self.session = UploadSession(engine, origin, console, self._out)
        self.control = control_bucket()

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.transport = None
        self.session.gone()

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        kind = frame.msg_type
        if kind is WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()
        elif kind is WSMsgType.PING or kind is WSMsgType.PONG:
            control_frame(transport, frame, self.control)
        elif self.session.ended:
            return
        elif not frame.fin or kind is WSMsgType.CONTINUATION:
            self.session.refuse("bad_frame", "send whole frames")
        else:
            self.session.frame(frame.get_payload_as_bytes(), kind is WSMsgType.TEXT)

    def _out(self, frame: bytes, close_code: int, reason: str) -> None:
        write_upload(self.transport, frame, close_code, reason)


def write_upload(transport: WSTransport | None, frame: bytes, close_code: int, reason: str) -> None:
    """Write an upload session's output to its websocket: the text frame, if
    any, then the close, if a code is given."""
    if transport is None:
        return
    if frame:
        transport.send(WSMsgType.TEXT, frame)
    if close_code:
        transport.send_close(cast(WSCloseCode, close_code), reason.encode()[:120])
        transport.disconnect()


def _origin_refused() -> Refused:
    return InvalidArgument("origin_not_allowed", "this page's origin may not send files here")
