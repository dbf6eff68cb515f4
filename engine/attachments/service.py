"""Attachments: who may send a file to a chat, the limits, and its message.

An upload names a conversation the uploader is in (the visitor of the chat, by
its token; an operator in it, by its session's principal). :meth:`Attachments.begin`
checks that and the site's limits before a byte is stored: the file's declared
size against the largest allowed (``attachment_too_large``), the site's files
and the uploads under way against its quota (``attachment_quota_full``), and a
rate of uploads per person (``rate_limited``). The bytes go to a temporary file
as they arrive (never past the declared size); :meth:`Attachments.finish`
checks the type from the bytes (``attachment_type_refused``), makes the file
durable, then posts the file's message to the conversation: its reply, the
seq, comes after the journal's commit, so an acknowledged attachment has both
its bytes and its message on disk (``store.py``).

Reading is the same check the other way round: the visitor of the chat, or an
operator who has the chat in sight; and the file must be referenced by that
conversation (``files`` in the schema), so knowing a digest gives nothing.

Refusals (``engine.errors``): ``InvalidArgument`` (too large, type refused, a
bad name or size, an incomplete file), ``FailedPrecondition`` (quota full, the
chat closed), ``PermissionDenied`` ``not_in_chat``, ``NotFound``
(``unknown_conversation``, ``unknown_attachment``), ``Unavailable``
``rate_limited`` (retryable).
"""

from __future__ import annotations

import asyncio
import secrets
import unicodedata
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from engine.attachments.sniff import HEAD, TextCheck, detect, dimensions
from engine.attachments.store import DIGEST, FileStore, TempFile
from engine.chat import ids
from engine.chat.auth import Principal
from engine.chat.board import in_scope
from engine.chat.events import FileRef
from engine.chat.kinds import CONVERSATION
from engine.chat.messages import ConversationSummary, GetConversation, Post
from engine.chat.permissions import CHAT
from engine.chat.policies import check_client_msg_id
from engine.chat.visibility import CONVERSATION_ID, chat_in_sight, scope_of, unknown_conversation
from engine.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    Unavailable,
)
from engine.persistence.schema import CONVERSATIONS, FILE_REFS, VISITOR_TOKENS, ConversationDoc

if TYPE_CHECKING:
    from engine.app import Engine

DEFAULT_MAX_KB = 10 * 1024  # 10 MiB a file
DEFAULT_QUOTA_MB = 1024  # 1 GiB a site
MAX_NAME = 200  # characters of a file's name
UPLOADS_PER_MINUTE = 20  # per person
UPLOADS_AT_ONCE = 2  # per person
HELD_SECONDS = 300.0  # an upload over calls left idle this long is dropped


@dataclass(frozen=True, slots=True)
class Uploader:
    """Who sends or reads a file: the chat's visitor or an operator."""

    kind: str  # "visitor" | "operator"
    id: str
    name: str
    site_id: str


@dataclass(slots=True)
class Upload:
    """One file being received."""

    uploader: Uploader
    conversation_id: str
    name: str
    size: int  # as declared: never more is taken
    client_msg_id: str
    temp: TempFile
    text: TextCheck = field(default_factory=TextCheck)
    head: bytearray = field(default_factory=bytearray)
    done: bool = False

    @property
    def received(self) -> int:
        return self.temp.size


def clean_name(name: str) -> str:
    """A file's name as shown: its last path part, without control or format
    characters, at most MAX_NAME characters; refused when nothing is left."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip()
    if not name or name in (".", ".."):
        raise InvalidArgument("invalid_argument", "a file needs a name", field="name")
    return name[:MAX_NAME]


class Attachments:
    """The engine's attachments: the files on disk and the rules around them."""

    def __init__(self, engine: Engine, files: FileStore) -> None:
        self.engine = engine
        self.files = files
        self.reserved: dict[str, int] = {}  # site -> bytes of uploads under way
        self._recent: dict[str, deque[float]] = {}  # uploader -> start times, last minute
        self._open: dict[str, int] = {}  # uploader -> uploads under way
        self.held: dict[str, tuple[Upload, float]] = {}  # upload id -> upload, deadline

    # -- limits --------------------------------------------------------------------

    def max_bytes(self, site_id: str) -> int:
        site = self.engine.directory.sites.get(site_id)
        kb = site.attachment_max_kb if site is not None else 0
        return (kb or DEFAULT_MAX_KB) * 1024

    def quota_bytes(self, site_id: str) -> int:
        site = self.engine.directory.sites.get(site_id)
        mb = site.attachment_quota_mb if site is not None else 0
        return (mb or DEFAULT_QUOTA_MB) * 1024 * 1024

    # -- who -----------------------------------------------------------------------

    async def visitor(self, token: str, conversation_id: str) -> Uploader:
        """The chat's visitor, by its token; else ``not_in_chat``."""
        found = VISITOR_TOKENS.get(self.engine.store, ids.token_digest(token)) if token else None
        if found is None:
            raise Unauthenticated("unauthenticated", "a visitor token is required")
        site_id, visitor_id = found
        summary = await self._summary(conversation_id)
        if summary.visitor_id != visitor_id or summary.site_id != site_id:
            raise PermissionDenied("not_in_chat", "this chat is not yours")
        return Uploader("visitor", visitor_id, summary.visitor_name, site_id)

    async def operator(self, principal: Principal, conversation_id: str) -> Uploader:
        """An operator who may see the chat (its scope), by its principal."""
        directory = self.engine.directory
        if CHAT not in directory.role_permissions(principal.account_id, principal.role):
            raise PermissionDenied("permission_denied", "your role does not chat")
        summary = await chat_in_sight(self.engine, principal, conversation_id)
        name = directory.operator(principal.operator_id).display_name
        return Uploader("operator", principal.operator_id, name, summary.site_id)

    async def _summary(self, conversation_id: str) -> ConversationSummary:
        if not CONVERSATION_ID.match(conversation_id):
            raise unknown_conversation(conversation_id)
        ref = self.engine.system.ref(CONVERSATION, conversation_id)
        try:
            return await ref.ask(GetConversation())
        except NotFound:
            raise unknown_conversation(conversation_id) from None

    # -- sending -------------------------------------------------------------------

    async def begin(
        self, who: Uploader, conversation_id: str, name: str, size: int, client_msg_id: str
    ) -> Upload:
        """Check everything that can be checked before the bytes; reserve the
        size in the site's quota. The caller then ``add``s, and ``finish``es
        or ``abort``s."""
        name = clean_name(name)
        if check_client_msg_id(client_msg_id) is not None:
            raise InvalidArgument("bad_client_msg_id", "client_msg_id is 1 to 64 characters")
        if size <= 0:
            raise InvalidArgument("invalid_argument", "the file is empty", field="size")
        summary = await self._summary(conversation_id)
        participants = (*summary.operators, *summary.invisible)
        if who.kind == "operator" and who.id not in participants:
            raise PermissionDenied("not_in_chat", "join the chat to send it a file")
        if summary.status == "closed":
            raise FailedPrecondition("conversation_closed", "the conversation is closed")
        site = who.site_id
        limit = self.max_bytes(site)
        if size > limit:
            raise InvalidArgument(
                "attachment_too_large", f"a file may have {limit // 1024} KiB at most"
            )
        if self.files.usage(site) + self.reserved.get(site, 0) + size > self.quota_bytes(site):
            raise FailedPrecondition("attachment_quota_full", "this site's space for files is full")
        self._take_rate(who)
        self.reserved[site] = self.reserved.get(site, 0) + size
        key = f"{who.kind}:{who.id}"
        self._open[key] = self._open.get(key, 0) + 1
        return Upload(who, conversation_id, name, size, client_msg_id, self.files.temp())

    def _take_rate(self, who: Uploader) -> None:
        key = f"{who.kind}:{who.id}"
        now = self.engine.clock.monotonic()
        recent = self._recent.setdefault(key, deque())
        while recent and recent[0] <= now - 60.0:
            recent.popleft()
        if len(recent) >= UPLOADS_PER_MINUTE or self._open.get(key, 0) >= UPLOADS_AT_ONCE:
            raise Unavailable("rate_limited", "too many files at once: wait a little")
        recent.append(now)

    def add(self, upload: Upload, data: bytes) -> None:
        """The next bytes of the file (never past its declared size)."""
        if upload.received + len(data) > upload.size:
            raise InvalidArgument("attachment_too_large", "more bytes than the size declared")
        if len(upload.head) < HEAD:
            upload.head += data[: HEAD - len(upload.head)]
        upload.text.feed(data)
        upload.temp.write(data)

    async def finish(self, upload: Upload) -> tuple[int, FileRef]:
        """Check the type, store the file, post its message: (seq, the file)
        once both are durable. Refusals leave nothing stored."""
        try:
            if upload.received != upload.size:
                raise InvalidArgument(
                    "attachment_incomplete", f"{upload.received} of {upload.size} bytes came"
                )
            upload.text.feed(b"", final=True)
            head = bytes(upload.head)
            kind = detect(head, upload.text)
            if kind is None:
                raise InvalidArgument(
                    "attachment_type_refused",
                    "files of this type are not accepted: images, PDF and plain text are",
                )
            who = upload.uploader
            digest = await asyncio.to_thread(self.files.commit, who.site_id, upload.temp)
            width, height = dimensions(kind, head)
            ref = FileRef(digest, upload.name, kind, upload.size, width, height)
            key = (who.site_id, digest)
            self.files.pending[key] = self.files.pending.get(key, 0) + 1
            try:
                seq = await self._post(upload, ref)
            finally:
                left = self.files.pending.pop(key) - 1
                if left:
                    self.files.pending[key] = left
            return seq, ref
        finally:
            self.abort(upload)

    async def _post(self, upload: Upload, ref: FileRef) -> int:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[int] = loop.create_future()

        def acked(seq: int | None, error: BaseException | None) -> None:
            if done.done():
                return
            if error is not None:
                done.set_exception(error)
            else:
                done.set_result(seq or 0)

        who = upload.uploader
        post = Post(who.kind, who.id, who.name, upload.client_msg_id, ref.name, None, ref)
        self.engine.system.ref(CONVERSATION, upload.conversation_id).tell(post, acked)
        return await done

    def abort(self, upload: Upload) -> None:
        """Give the upload's reservation back and drop its temporary file
        (a no-op once done)."""
        if upload.done:
            return
        upload.done = True
        upload.temp.discard()
        who = upload.uploader
        site = who.site_id
        self.reserved[site] = max(0, self.reserved.get(site, 0) - upload.size)
        key = f"{who.kind}:{who.id}"
        left = self._open.get(key, 1) - 1
        if left:
            self._open[key] = left
        else:
            self._open.pop(key, None)

    # -- uploads in pieces over calls (the gRPC API) --------------------------------

    def hold(self, upload: Upload) -> str:
        """Keep an upload between calls; its id. Idle ones are dropped after
        HELD_SECONDS (checked whenever one is held or taken)."""
        self._expire()
        upload_id = secrets.token_urlsafe(16)
        self.held[upload_id] = (upload, self.engine.clock.monotonic() + HELD_SECONDS)
        return upload_id

    def take(self, upload_id: str, who: Uploader) -> Upload:
        """The held upload of this uploader (its idle time starts again)."""
        self._expire()
        entry = self.held.get(upload_id)
        if entry is None or entry[0].uploader != who:
            raise NotFound("unknown_upload", "no such upload (it may have expired)")
        self.held[upload_id] = (entry[0], self.engine.clock.monotonic() + HELD_SECONDS)
        return entry[0]

    def release(self, upload_id: str) -> None:
        self.held.pop(upload_id, None)

    def _expire(self) -> None:
        now = self.engine.clock.monotonic()
        for upload_id, (upload, deadline) in list(self.held.items()):
            if deadline < now:
                del self.held[upload_id]
                self.abort(upload)

    # -- reading ----------------------------------------------------------------------
    # Synchronous, from the conversation's stored record (the edge answers an
    # HTTP request in the callback that parsed it): a reader is the chat's
    # visitor, or an operator whose scope takes in the chat as last recorded.

    def _record(self, conversation_id: str) -> ConversationDoc:
        doc = None
        if CONVERSATION_ID.match(conversation_id):
            doc = CONVERSATIONS.get(self.engine.store, conversation_id)
        if doc is None:
            raise unknown_conversation(conversation_id)
        return doc

    def visitor_reader(self, token: str, conversation_id: str) -> Uploader:
        """The chat's visitor, by its token."""
        found = VISITOR_TOKENS.get(self.engine.store, ids.token_digest(token)) if token else None
        if found is None:
            raise Unauthenticated("unauthenticated", "a visitor token is required")
        doc = self._record(conversation_id)
        if (doc["site"], doc["visitor"]) != found:
            raise unknown_conversation(conversation_id)
        return Uploader("visitor", found[1], doc["visitor_name"], found[0])

    def operator_reader(self, principal: Principal, conversation_id: str) -> Uploader:
        """An operator with the chat in sight (as ``chat_in_sight`` decides)."""
        directory = self.engine.directory
        permissions = directory.role_permissions(principal.account_id, principal.role)
        if CHAT not in permissions:
            raise PermissionDenied("permission_denied", "your role does not chat")
        doc = self._record(conversation_id)
        site = directory.sites.get(doc["site"])
        if site is None or site.account_id != principal.account_id:
            raise unknown_conversation(conversation_id)
        me = principal.operator_id
        participants = [o[0] for o in doc["operators"]] + [o[0] for o in doc.get("invisible", ())]
        depts = directory.operator(me).department_ids
        if not in_scope(scope_of(permissions), me, depts, doc["dept"], participants):
            raise unknown_conversation(conversation_id)
        return Uploader("operator", me, directory.operator(me).display_name, site.id)

    def read(self, who: Uploader, conversation_id: str, digest: str) -> tuple[FileRef, bytes]:
        """The file as the conversation references it (its name and type) and
        its bytes; ``unknown_attachment`` otherwise."""
        missing = NotFound("unknown_attachment", "no such file in this chat")
        if not DIGEST.match(digest):
            raise missing
        doc = FILE_REFS.get(self.engine.store, who.site_id, digest, conversation_id)
        if doc is None:
            raise missing
        try:
            data = self.files.read(who.site_id, digest)
        except FileNotFoundError:
            raise missing from None
        ref = FileRef(digest, doc["n"], doc["t"], doc["z"], doc.get("w", 0), doc.get("h", 0))
        return ref, data
