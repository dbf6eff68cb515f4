"""The engine's EdgeLink service: edges attach here, one stream each.

``Attach`` checks the link secret before anything else, then runs two halves
side by side: a reader that hands each batch's items to the edge's
:class:`~edge.link.host.LinkHost` (which hosts the sessions), and the writer,
this generator, which yields whatever the host queued. When the stream ends,
by the edge, by a stop of the engine, or because the edge did not read,
every connection of that edge is ended in the engine; the edge reattaches and
resumes them.

``ConsoleLogin`` is the console's password login for an edge process (which
has no engine to ask): the engine checks it with the browser's address, as the
one-process server does. ``Upload`` and ``Download`` are an edge's file routes:
the engine runs the same :class:`~edge.files.UploadSession` and
:func:`~edge.files.answer` as the one-process server, the edge moves bytes.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator

import grpc

from control.grpc.calls import answered
from edge import files
from edge.link import secret as link_secret
from edge.link.host import LinkHost
from engine.app import Engine
from parley.link.v1 import link_pb2, link_pb2_grpc

log = logging.getLogger("parley.link")

MAX_PENDING = 100_000  # frames queued for one edge before it is cut and resumes
PIECE = 256 * 1024  # bytes of a file in one Download response


class EdgeLinkService(link_pb2_grpc.EdgeLinkServicer):
    def __init__(
        self,
        engine: Engine,
        secret: str,
        hello_timeout: float = 10.0,
        max_pending: int = MAX_PENDING,
    ) -> None:
        self.engine = engine
        self.secret = secret
        self.hello_timeout = hello_timeout
        self.max_pending = max_pending
        self.instance = secrets.token_hex(8)  # a new value at every start
        self.hosts: set[LinkHost] = set()

    async def _authentic(self, context: grpc.aio.ServicerContext[object, object]) -> None:
        given = None
        for key, value in context.invocation_metadata() or ():
            if key == link_secret.METADATA_KEY:
                given = value if isinstance(value, str) else value.decode("latin-1")
        if not link_secret.matches(given, self.secret):
            log.warning("an edge was refused: wrong or missing link secret")
            await context.abort(
                grpc.StatusCode.UNAUTHENTICATED,
                "wrong_link_secret: this edge's link secret is not the engine's",
            )

    async def Attach(
        self,
        request_iterator: AsyncIterator[link_pb2.AttachRequest],
        context: grpc.aio.ServicerContext[link_pb2.AttachRequest, link_pb2.AttachResponse],
    ) -> AsyncIterator[link_pb2.AttachResponse]:
        await self._authentic(context)  # type: ignore[arg-type]
        if self.engine.stopping:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "server_stopping: try again")
        host = LinkHost(self.engine, self.hello_timeout, self.max_pending)
        self.hosts.add(host)
        closed = self.engine.connections.stream_opened("edge", host.end)
        loop = asyncio.get_running_loop()
        reader = loop.create_task(self._read(host, request_iterator))
        log.info("an edge attached", extra={"edges": len(self.hosts)})
        try:
            yield link_pb2.AttachResponse(attached=link_pb2.Attached(engine_instance=self.instance))
            async for batch in host.batches():
                yield batch
        finally:
            closed()
            reader.cancel()
            host.detach_all()
            self.hosts.discard(host)
            log.info("an edge detached", extra={"edges": len(self.hosts)})

    async def _read(self, host: LinkHost, requests: AsyncIterator[link_pb2.AttachRequest]) -> None:
        try:
            async for request in requests:
                for item in request.items:
                    host.handle(item)
        except grpc.aio.AioRpcError:
            pass  # the edge went: the writer ends below
        except Exception:
            log.exception("an edge's link failed")
        finally:
            host.end()

    async def ConsoleLogin(
        self,
        request: link_pb2.ConsoleLoginRequest,
        context: grpc.aio.ServicerContext[
            link_pb2.ConsoleLoginRequest, link_pb2.ConsoleLoginResponse
        ],
    ) -> link_pb2.ConsoleLoginResponse:
        await self._authentic(context)  # type: ignore[arg-type]

        async def body() -> link_pb2.ConsoleLoginResponse:
            token, expires, _ = await self.engine.auth.login(
                request.email, request.password, request.ip
            )
            return link_pb2.ConsoleLoginResponse(token=token, expires_at_ms=expires)

        return await answered(context, "/parley.link.v1.EdgeLink/ConsoleLogin", body)

    async def Upload(
        self,
        request_iterator: AsyncIterator[link_pb2.UploadRequest],
        context: grpc.aio.ServicerContext[link_pb2.UploadRequest, link_pb2.UploadResponse],
    ) -> AsyncIterator[link_pb2.UploadResponse]:
        await self._authentic(context)  # type: ignore[arg-type]
        out: asyncio.Queue[link_pb2.UploadResponse | None] = asyncio.Queue()

        def write(frame: bytes, close_code: int, reason: str) -> None:
            out.put_nowait(
                link_pb2.UploadResponse(frame=frame, close_code=close_code, close_reason=reason)
            )
            if close_code:
                out.put_nowait(None)

        session: files.UploadSession | None = None

        async def read() -> None:
            nonlocal session
            try:
                async for request in request_iterator:
                    if session is None:
                        opening = request.open
                        session = files.UploadSession(
                            self.engine,
                            opening.origin if opening.HasField("origin") else None,
                            opening.console_origin,
                            write,
                        )
                    elif not session.ended:
                        session.frame(request.frame, request.text)
            finally:
                out.put_nowait(None)  # the edge's websocket closed

        reader = asyncio.get_running_loop().create_task(read())
        try:
            while (response := await out.get()) is not None:
                yield response
        finally:
            reader.cancel()
            if session is not None:
                session.gone()

    async def Download(
        self,
        request: link_pb2.DownloadRequest,
        context: grpc.aio.ServicerContext[link_pb2.DownloadRequest, link_pb2.DownloadResponse],
    ) -> AsyncIterator[link_pb2.DownloadResponse]:
        await self._authentic(context)  # type: ignore[arg-type]
        status, headers, body = files.answer(
            self.engine,
            request.method,
            request.path,
            request.query,
            request.origin if request.HasField("origin") else None,
            request.authorization,
            request.visitor,
        )
        headers["Content-Length"] = str(len(body))
        yield link_pb2.DownloadResponse(status=status, headers=headers, body=body[:PIECE])
        for start in range(PIECE, len(body), PIECE):
            yield link_pb2.DownloadResponse(body=body[start : start + PIECE])
