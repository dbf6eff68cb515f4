"""Sessions: the engine side of one client connection.

Front ends (the websocket edge, the gRPC visitor channel, the operator session
stream) translate their wire format into calls on these classes and translate the
events pushed to their sink back. All chat rules stay here and in the actors, so
every front end behaves the same. A session is itself the sink its conversations
deliver to; it forwards to the front end's sink.
"""

from __future__ import annotations

import contextlib
import re
from typing import TYPE_CHECKING, Any

from engine.chat import ids, policies
from engine.chat.events import Ack, Closed, CommandFailed, Event, Rated, Sink, Typing
from engine.chat.messages import (
    AttachSession,
    CloseConversation,
    DetachSession,
    GetVisitor,
    MarkRead,
    OpenConversation,
    Post,
    Rate,
    SetTyping,
    Subscribe,
    Unsubscribe,
)
from engine.chat.permissions import TYPING_PREVIEW
from engine.chat.records import Site
from engine.chat.visitor import visitor_snapshot
from engine.errors import FailedPrecondition, InvalidArgument, NotFound, Refused
from engine.persistence.codec import snapshot_key
from engine.runtime import MailboxFull, Ref

if TYPE_CHECKING:
    from engine.app import Engine
    from engine.chat.auth import Principal

CONVERSATION_ID = re.compile(r"^s[a-z2-7]{9}-[a-z2-7]{12}$")
MAX_NAME = 100
MAX_PREVIEW = 1000  # characters of a typing preview
MAX_EMAIL = 254


def failure(
    error: BaseException, client_msg_id: str = "", conversation_id: str = ""
) -> CommandFailed:
    """The event that tells a client its command was refused."""
    if isinstance(error, Refused):
        return CommandFailed(
            error.code, error.message, error.retryable, client_msg_id, conversation_id
        )
    if isinstance(error, MailboxFull):
        return CommandFailed(
            "overloaded", "the server is busy; resend later", True, client_msg_id, conversation_id
        )
    return CommandFailed(
        "internal", "the server could not handle this", True, client_msg_id, conversation_id
    )


class VisitorSession:
    """One visitor connection."""

    def __init__(self, engine: Engine, site: Site, sink: Sink) -> None:
        self.engine = engine
        self.site = site
        self.sink = sink
        self.visitor_id = ""
        self.name = ""
        self.department_id = ""
        self.conversation_id = ""
        self.last_conversation_id = ""  # the last one closed: what a rating is for
        self._visitor: Ref | None = None
        self._conversation: Ref | None = None
        self._opening = False
        self._held: list[tuple[str, str]] = []

    @property
    def ready(self) -> bool:
        return self._visitor is not None

    async def hello(
        self,
        *,
        department_id: str = "",
        token: str = "",
        last_seq: int = 0,
        name: str = "",
        email: str = "",
    ) -> dict[str, Any]:
        """Identify the visitor (a new one without a valid token) and resume its
        open conversation from ``last_seq``. Returns the welcome's fields."""
        if self._visitor is not None:
            raise FailedPrecondition("already_hello", "hello was sent already")
        if len(name) > MAX_NAME or len(email) > MAX_EMAIL:
            raise InvalidArgument("invalid_argument", "name or email is too long")
        if last_seq < 0:
            raise InvalidArgument("invalid_argument", "last_seq must be >= 0")
        directory = self.engine.directory
        if department_id:
            directory.department(department_id, self.site.id)
        else:
            depts = [d for d in directory.departments.values() if d.site_id == self.site.id]
            if len(depts) != 1:
                raise InvalidArgument(
                    "department_required", "this site has several departments: choose one"
                )
            department_id = depts[0].id
        self.department_id = department_id
        store = self.engine.store
        visitor_id = ""
        if token:
            raw = store.get("vtokens", ids.token_digest(token))
            if raw is not None:
                site_id, _, candidate = raw.decode().partition(" ")
                if site_id == self.site.id:  # a token is bound to its site
                    visitor_id = candidate
        if not visitor_id:
            visitor_id = "v" + ids.random_id(15)
            token = ids.new_token()
            await store.write_async(
                [
                    ("vtokens", ids.token_digest(token), f"{self.site.id} {visitor_id}".encode()),
                    (
                        "snapshots",
                        snapshot_key("visitor", visitor_id),
                        visitor_snapshot(self.site.id, name, email, ""),
                    ),
                ]
            )
        self.visitor_id = visitor_id
        visitor = self.engine.system.ref("visitor", visitor_id)
        conversation_id, stored_name, last = await visitor.ask(GetVisitor())
        self.last_conversation_id = last
        self.name = stored_name or name or f"Visitor {visitor_id[-4:]}"
        self._visitor = visitor
        seen = 0
        if conversation_id:
            self._conversation = self.engine.system.ref("conversation", conversation_id)
            self.conversation_id = conversation_id
            seen = await self._conversation.ask(Subscribe(self, last_seq, "visitor"))
        return {
            "visitor_id": visitor_id,
            "token": token,
            "conversation_id": conversation_id,
            "last_seq": seen,
        }

    def send(self, client_msg_id: str, text: str) -> None:
        """Post a message; the sink gets an Ack with its seq after it is stored."""
        if self._visitor is None:
            self.sink.push(CommandFailed("no_hello", "send hello first", False, client_msg_id))
            return
        code = policies.check_client_msg_id(client_msg_id) or policies.check_text(text)
        if code is not None:
            self.sink.push(CommandFailed(code, _TEXT_ERRORS[code], False, client_msg_id))
            return
        if self._conversation is None:
            self._held.append((client_msg_id, text))
            if not self._opening:
                self._open()
            return
        self._post(client_msg_id, text)

    def _open(self) -> None:
        assert self._visitor is not None
        self._opening = True

        def opened(conversation_id: Any, error: BaseException | None) -> None:
            self._opening = False
            held, self._held = self._held, []
            if error is not None:
                for cid, _ in held:
                    self.sink.push(failure(error, cid))
                return
            self.conversation_id = conversation_id
            self._conversation = self.engine.system.ref("conversation", conversation_id)
            self._conversation.tell(Subscribe(self, 0, "visitor"))
            for cid, text in held:
                self._post(cid, text)

        try:
            self._visitor.tell(OpenConversation(self.department_id), opened)
        except MailboxFull as error:
            opened(None, error)

    def _post(self, client_msg_id: str, text: str) -> None:
        conversation = self._conversation
        assert conversation is not None
        conv_id = self.conversation_id
        sink = self.sink

        def acked(seq: Any, error: BaseException | None) -> None:
            if error is None:
                sink.push(Ack(conv_id, client_msg_id, seq))
            else:
                sink.push(failure(error, client_msg_id, conv_id))

        try:
            conversation.tell(
                Post("visitor", self.visitor_id, self.name, client_msg_id, text, self), acked
            )
        except MailboxFull as error:
            acked(None, error)

    def close_conversation(self) -> None:
        if self._conversation is None:
            self.sink.push(CommandFailed("no_conversation", "there is no open conversation"))
            return
        conv_id = self.conversation_id

        def done(_value: Any, error: BaseException | None) -> None:
            if error is not None:
                self.sink.push(failure(error, conversation_id=conv_id))

        self._conversation.tell(CloseConversation("visitor", self.visitor_id), done)

    def typing(self, active: bool, preview: str) -> None:
        """Tell the chat's operators the visitor is typing (with the draft, which
        only operators allowed to preview see)."""
        if self._visitor is None:
            self.sink.push(CommandFailed("no_hello", "send hello first"))
            return
        if self._conversation is None:
            return  # nobody to tell before the first message
        # A typing notice that does not fit in a full mailbox is not worth an error.
        with contextlib.suppress(MailboxFull):
            self._conversation.tell(
                SetTyping(
                    "visitor", self.visitor_id, self.name, active, preview[:MAX_PREVIEW], self
                )
            )

    def read(self, seq: int) -> None:
        """The visitor has read its conversation up to ``seq``."""
        if self._visitor is None:
            self.sink.push(CommandFailed("no_hello", "send hello first"))
            return
        if self._conversation is None:
            self.sink.push(CommandFailed("no_conversation", "there is no open conversation"))
            return
        conv_id = self.conversation_id

        def done(_value: Any, error: BaseException | None) -> None:
            if error is not None:
                self.sink.push(failure(error, conversation_id=conv_id))

        try:
            self._conversation.tell(
                MarkRead("visitor", self.visitor_id, self.name, seq, self), done
            )
        except MailboxFull as error:
            done(None, error)

    def rate(self, score: int, comment: str) -> None:
        """Rate the conversation that closed last (or the open one, which is refused
        until it closes); the sink gets Rated or the refusal."""
        if self._visitor is None:
            self.sink.push(CommandFailed("no_hello", "send hello first"))
            return
        target = self.conversation_id or self.last_conversation_id
        if not target:
            self.sink.push(CommandFailed("no_conversation", "there is no chat to rate"))
            return

        def done(value: Any, error: BaseException | None) -> None:
            if error is None:
                self.sink.push(Rated(target, value))
            else:
                self.sink.push(failure(error, conversation_id=target))

        try:
            self.engine.system.ref("conversation", target).tell(
                Rate(self.visitor_id, score, comment), done
            )
        except MailboxFull as error:
            done(None, error)

    def push(self, event: Event) -> None:
        if type(event) is Closed and event.conversation_id == self.conversation_id:
            # The next message opens a new conversation; a rating goes to this one.
            self._conversation = None
            self.last_conversation_id = self.conversation_id
            self.conversation_id = ""
        self.sink.push(event)

    def detach(self) -> None:
        if self._conversation is not None:
            self._conversation.tell_system(Unsubscribe(self))
            self._conversation = None


_TEXT_ERRORS = {
    "empty_message": "a message needs some text",
    "message_too_long": f"a message has at most {policies.MAX_TEXT} characters",
    "bad_client_msg_id": f"client message id must be 1 to {policies.MAX_CLIENT_MSG_ID} characters",
}


class OperatorSession:
    """One operator session stream."""

    def __init__(self, engine: Engine, principal: Principal, sink: Sink) -> None:
        self.engine = engine
        self.principal = principal
        self.sink = sink
        self.operator_id = principal.operator_id
        self.display_name = ""
        self._operator = engine.system.ref("operator", principal.operator_id)
        self._attached = False
        self._may_preview = TYPING_PREVIEW in engine.directory.role_permissions(
            principal.account_id, principal.role
        )

    @property
    def ready(self) -> bool:
        return self._attached

    async def hello(self, resume: dict[str, int]) -> tuple[str, int]:
        if self._attached:
            raise FailedPrecondition("already_hello", "hello was sent already")
        if any(not CONVERSATION_ID.match(c) or s < 0 for c, s in resume.items()):
            raise InvalidArgument("invalid_argument", "a resume point names a bad conversation")
        name, max_chats = await self._operator.ask(AttachSession(self, dict(resume)))
        self.display_name = name
        self._attached = True
        return name, max_chats

    def _conversation(self, conversation_id: str) -> Ref:
        if not CONVERSATION_ID.match(conversation_id):
            raise NotFound("unknown_conversation", f"no conversation {conversation_id!r}")
        return self.engine.system.ref("conversation", conversation_id)

    def send(self, conversation_id: str, client_msg_id: str, text: str) -> None:
        if not self._attached:
            self.sink.push(
                CommandFailed("no_hello", "send hello first", False, client_msg_id, conversation_id)
            )
            return
        code = policies.check_client_msg_id(client_msg_id) or policies.check_text(text)
        if code is not None:
            self.sink.push(
                CommandFailed(code, _TEXT_ERRORS[code], False, client_msg_id, conversation_id)
            )
            return
        sink = self.sink

        def acked(seq: Any, error: BaseException | None) -> None:
            if error is None:
                sink.push(Ack(conversation_id, client_msg_id, seq))
            else:
                sink.push(failure(error, client_msg_id, conversation_id))

        try:
            self._conversation(conversation_id).tell(
                Post("operator", self.operator_id, self.display_name, client_msg_id, text, self),
                acked,
            )
        except (NotFound, MailboxFull) as error:
            acked(None, error)

    def close_conversation(self, conversation_id: str) -> None:
        self._command(conversation_id, CloseConversation("operator", self.operator_id))

    def typing(self, conversation_id: str, active: bool) -> None:
        self._command(
            conversation_id,
            SetTyping("operator", self.operator_id, self.display_name, active, "", self),
        )

    def read(self, conversation_id: str, seq: int) -> None:
        self._command(
            conversation_id,
            MarkRead("operator", self.operator_id, self.display_name, seq, self),
        )

    def _command(self, conversation_id: str, message: object) -> None:
        """Send ``message`` to a conversation; a refusal comes back as an event."""
        if not self._attached:
            self.sink.push(CommandFailed("no_hello", "send hello first"))
            return

        def done(_value: Any, error: BaseException | None) -> None:
            if error is not None:
                self.sink.push(failure(error, conversation_id=conversation_id))

        try:
            self._conversation(conversation_id).tell(message, done)
        except (NotFound, MailboxFull) as error:
            done(None, error)

    def push(self, event: Event) -> None:
        if type(event) is Typing and event.preview and not self._may_preview:
            event = event._replace(preview="")
        self.sink.push(event)

    def detach(self) -> None:
        if self._attached:
            self._attached = False
            self._operator.tell_system(DetachSession(self))
