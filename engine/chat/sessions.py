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
from engine.chat.board import in_scope
from engine.chat.events import (
    Ack,
    ChatCard,
    ChatListed,
    Closed,
    CommandFailed,
    Departments,
    DepartmentState,
    Event,
    OperatorPresence,
    Rated,
    Sink,
    TicketSaved,
    Typing,
)
from engine.chat.internal import pair_id
from engine.chat.messages import (
    AnswerOffer,
    AttachSession,
    CloseConversation,
    DetachSession,
    GetCard,
    GetConversation,
    GetVisitor,
    InviteOperator,
    JoinChat,
    LeaveChat,
    MarkRead,
    MissedDelivered,
    OpenConversation,
    PageView,
    Pick,
    Post,
    Rate,
    ReplayMissed,
    SendDirect,
    SetChatStatus,
    SetStatus,
    SetTyping,
    Subscribe,
    TakeOver,
    TransferToDepartment,
    TransferToOperator,
    Unsubscribe,
    UnwatchBoard,
    UnwatchOperators,
    UnwatchSite,
    Visit,
    WatchBoard,
    WatchOperators,
    WatchSite,
)
from engine.chat.permissions import CHAT_ACTIONS, TYPING_PREVIEW, VIEW_SCOPES
from engine.chat.records import EMAIL_RE, Site, Ticket, language_of
from engine.chat.visitor import visitor_snapshot
from engine.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied, Refused
from engine.persistence.schema import SNAPSHOTS, VISITOR_TOKENS
from engine.runtime import AskTimeout, MailboxFull, Ref

if TYPE_CHECKING:
    from engine.app import Engine
    from engine.chat.auth import Principal

CONVERSATION_ID = re.compile(r"^s[a-z2-7]{9}-[a-z2-7]{12}$")
MAX_NAME = 100
MAX_PREVIEW = 1000  # characters of a typing preview
MAX_EMAIL = 254
MAX_URL = 2000
MAX_TITLE = 300
MAX_TICKETS = 3  # offline requests per connection


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
        self.region_id = ""
        self.language = ""
        self.group_id = ""
        self.page_url = ""
        self.email = ""
        self.view: Departments | None = None  # the site's departments, as last pushed
        self.ip = ""  # the front end sets these from the connection
        self.user_agent = ""
        self._watching = False
        self._tickets = 0
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
        region_id: str = "",
        page_url: str = "",
        language: str = "",
        page_title: str = "",
        referrer: str = "",
        tz_offset_minutes: int = 0,
    ) -> dict[str, Any]:
        """Identify the visitor (a new one without a valid token) and resume its
        open conversation from ``last_seq``. Returns the welcome's fields."""
        if self._visitor is not None:
            raise FailedPrecondition("already_hello", "hello was sent already")
        if len(name) > MAX_NAME or len(email) > MAX_EMAIL:
            raise InvalidArgument("invalid_argument", "name or email is too long")
        if (
            len(page_url) > MAX_URL
            or len(referrer) > MAX_URL
            or len(page_title) > MAX_TITLE
            or len(language) > 35
        ):
            raise InvalidArgument(
                "invalid_argument", "a page, referrer, title or language is too long"
            )
        if not -14 * 60 <= tz_offset_minutes <= 14 * 60:
            raise InvalidArgument("invalid_argument", "tz offset is -840 to 840 minutes")
        if last_seq < 0:
            raise InvalidArgument("invalid_argument", "last_seq must be >= 0")
        directory = self.engine.directory
        if not department_id and not region_id:
            depts = [d for d in directory.departments.values() if d.site_id == self.site.id]
            if len(depts) == 1:
                department_id = depts[0].id
        self._choose(department_id, region_id)
        self.page_url = page_url
        self.language = language_of(language)
        self.group_id = directory.group_for_page(self.site.id, page_url)
        self.email = email
        store = self.engine.store
        visitor_id = ""
        if token:
            found = VISITOR_TOKENS.get(store, ids.token_digest(token))
            if found is not None:
                site_id, candidate = found
                if site_id == self.site.id:  # a token is bound to its site
                    visitor_id = candidate
        if not visitor_id:
            visitor_id = "v" + ids.random_id(15)
            token = ids.new_token()
            await store.write_async(
                [
                    VISITOR_TOKENS.put(ids.token_digest(token), self.site.id, visitor_id),
                    SNAPSHOTS.put(
                        "visitor", visitor_id, visitor_snapshot(self.site.id, name, email, "")
                    ),
                ]
            )
        if directory.blocked(self.site.id, self.ip, visitor_id, self.engine.clock.wall_ms()):
            raise PermissionDenied("blocked", "chat is not available to you on this site")
        self.visitor_id = visitor_id
        visitor = self.engine.system.ref("visitor", visitor_id)
        conversation_id, stored_name, last, missed = await visitor.ask(GetVisitor())
        self.last_conversation_id = last
        self.name = stored_name or name or f"Visitor {visitor_id[-4:]}"
        visitor.tell(
            Visit(
                self.ip,
                self.user_agent[:MAX_URL],
                referrer,
                page_url,
                page_title,
                self.language,
                tz_offset_minutes,
                self.engine.clock.wall_ms(),
            )
        )
        presence = self.engine.system.ref("presence", self.site.account_id)
        self.view = await presence.ask(WatchSite(self.site.id, self))
        self._watching = True
        self._visitor = visitor
        seen = 0
        if conversation_id:
            self._conversation = self.engine.system.ref("conversation", conversation_id)
            self.conversation_id = conversation_id
            seen = await self._conversation.ask(Subscribe(self, last_seq, "visitor"))
        if missed:
            # Operators answered a chat this visitor left: it hears them now.
            ref = self.engine.system.ref("conversation", missed)
            await ref.ask(ReplayMissed(self))
            visitor.tell(MissedDelivered(missed))
        return {
            "visitor_id": visitor_id,
            "token": token,
            "conversation_id": conversation_id,
            "last_seq": seen,
            "departments": self.departments(),
        }

    def _choose(self, department_id: str, region_id: str) -> None:
        directory = self.engine.directory
        if region_id and not department_id:
            raise InvalidArgument("invalid_argument", "a region is chosen with its department")
        if department_id:
            dept = directory.department(department_id, self.site.id)
            if region_id:
                directory.region(region_id, dept.id)
        self.department_id, self.region_id = department_id, region_id

    def page(self, url: str, title: str) -> None:
        """The visitor moved to another page (the trail operators see)."""
        if self._visitor is None:
            self.sink.push(CommandFailed("no_hello", "send hello first"))
            return
        if not url or len(url) > MAX_URL or len(title) > MAX_TITLE:
            self.sink.push(CommandFailed("invalid_argument", "a page is a URL and a short title"))
            return
        self.page_url = url
        with contextlib.suppress(MailboxFull):
            self._visitor.tell(PageView(url, title, self.engine.clock.wall_ms()))

    def choose(self, department_id: str, region_id: str = "") -> None:
        """Pick the department (and region) before the first message; the sink
        gets the departments again, saying which is chosen and if it is offline."""
        if self._visitor is None:
            self.sink.push(CommandFailed("no_hello", "send hello first"))
            return
        if self._conversation is not None or self._opening:
            self.sink.push(
                CommandFailed("conversation_open", "the chat has started in its department")
            )
            return
        try:
            self._choose(department_id, region_id)
        except Refused as error:
            self.sink.push(failure(error))
            return
        self.sink.push(self.departments())

    def departments(self) -> Departments:
        """The departments as this visitor sees them: online counts its language."""
        view = self.view
        if view is None:
            return Departments(self.site.id, (), self.department_id, True)
        language = self.language
        enabled = not language or self.site.language_enabled(language)
        states = tuple(_for_language(state, language, enabled) for state in view.departments)
        offline = True
        for state in states:
            if state.department_id == self.department_id:
                offline = not state.online or (
                    bool(self.region_id)
                    and bool(state.regions)
                    and not any(r.region_id == self.region_id and r.online for r in state.regions)
                )
        return Departments(view.site_id, states, self.department_id, offline)

    def offline(self) -> bool:
        return self.departments().offline

    def leave_ticket(self, name: str, email: str, text: str) -> None:
        """The offline form: store the request durably; the sink gets TicketSaved."""
        if self._visitor is None:
            self.sink.push(CommandFailed("no_hello", "send hello first"))
            return
        name, email = name.strip(), email.strip()
        problem = ""
        if not EMAIL_RE.match(email) or len(email) > MAX_EMAIL:
            problem = "the offline form needs an email address to answer to"
        elif len(name) > MAX_NAME:
            problem = f"a name has at most {MAX_NAME} characters"
        elif policies.check_text(text) is not None:
            problem = f"the message must be 1 to {policies.MAX_TEXT} characters"
        if problem:
            self.sink.push(CommandFailed("invalid_argument", problem))
            return
        if self._tickets >= MAX_TICKETS:
            self.sink.push(CommandFailed("too_many_tickets", "your message was received already"))
            return
        self._tickets += 1
        ticket = Ticket(
            id="t" + ids.random_id(12),
            site_id=self.site.id,
            department_id=self.department_id,
            visitor_id=self.visitor_id,
            name=name or self.name,
            email=email,
            text=text,
            created_ms=self.engine.clock.wall_ms(),
            language=self.language,
            page_url=self.page_url,
        )
        sink = self.sink

        def saved(error: BaseException | None) -> None:
            if error is None:
                sink.push(TicketSaved(ticket.id))
            else:
                self._tickets -= 1
                sink.push(failure(error))

        self.engine.store.write([self.engine.ticket_op(ticket)], saved)

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
            if not self._opening:
                refusal = self._refusal()
                if refusal is not None:
                    self.sink.push(refusal._replace(client_msg_id=client_msg_id))
                    return
            self._held.append((client_msg_id, text))
            if not self._opening:
                self._open()
            return
        self._post(client_msg_id, text)

    def _refusal(self) -> CommandFailed | None:
        """Why a new chat cannot open now, if it cannot."""
        if not self.department_id:
            return CommandFailed(
                "department_required", "this site has several departments: choose one"
            )
        if self.offline():
            return CommandFailed(
                "offline", "nobody can chat right now: leave a message with the offline form"
            )
        return None

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
            self._visitor.tell(
                OpenConversation(self.department_id, self.language, self.region_id, self.group_id),
                opened,
            )
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
        if type(event) is Departments:
            self.view = event
            event = self.departments()
        elif type(event) is Closed and event.conversation_id == self.conversation_id:
            # The next message opens a new conversation; a rating goes to this one.
            self._conversation = None
            self.last_conversation_id = self.conversation_id
            self.conversation_id = ""
        self.sink.push(event)

    def detach(self) -> None:
        if self._conversation is not None:
            self._conversation.tell_system(Unsubscribe(self))
            self._conversation = None
        if self._watching:
            self._watching = False
            presence = self.engine.system.ref("presence", self.site.account_id)
            presence.tell_system(UnwatchSite(self.site.id, self))


def scope_of(permissions: frozenset[str]) -> str:
    """Which chats a role sees: own, department or all (the widest held)."""
    scope = "own"
    for name in ("department", "all"):
        if VIEW_SCOPES[name] in permissions:
            scope = name
    return scope


async def chat_in_sight(engine: Engine, principal: Principal, conversation_id: str) -> Any:
    """The conversation's summary when this operator may see it (it is in it,
    or its role sees its departments' or all chats); else the chat is unknown."""
    unknown = NotFound("unknown_conversation", f"no conversation {conversation_id[:40]!r}")
    if not CONVERSATION_ID.match(conversation_id):
        raise unknown
    directory = engine.directory
    summary = await engine.system.ref("conversation", conversation_id).ask(GetConversation())
    site = directory.sites.get(summary["site_id"])
    if site is None or site.account_id != principal.account_id:
        raise unknown
    me = principal.operator_id
    scope = scope_of(directory.role_permissions(principal.account_id, principal.role))
    participants = (*summary["operators"], *summary["invisible"])
    depts = directory.operator(me).department_ids
    if in_scope(scope, me, depts, summary["department_id"], participants):
        return summary
    raise unknown


def _owner(card: ChatCard) -> str:
    """Whom a take-over takes the chat from when the caller names nobody."""
    if not card.operators:
        raise FailedPrecondition("no_owner", "nobody has this chat: pick it instead")
    return card.operators[0]


def _for_language(state: DepartmentState, language: str, enabled: bool) -> DepartmentState:
    speaks = not language or "*" in state.languages or language in state.languages
    online = state.online and enabled and speaks
    if online == state.online:
        return state
    return state._replace(online=online, regions=())


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
        permissions = engine.directory.role_permissions(principal.account_id, principal.role)
        self.permissions = permissions
        self._may_preview = TYPING_PREVIEW in permissions
        self.scope = scope_of(permissions)
        self._board = engine.system.ref("board", principal.account_id)
        self._watching_board = False
        self._presence = engine.system.ref("presence", principal.account_id)
        self._watching = False
        self.status = ""

    @property
    def ready(self) -> bool:
        return self._attached

    async def hello(self, resume: dict[str, int]) -> tuple[str, int]:
        """Attach to the operator (its chats are replayed from ``resume``), then
        the operators list follows as OperatorPresence events."""
        if self._attached:
            raise FailedPrecondition("already_hello", "hello was sent already")
        if any(not CONVERSATION_ID.match(c) or s < 0 for c, s in resume.items()):
            raise InvalidArgument("invalid_argument", "a resume point names a bad conversation")
        name, max_chats, status = await self._operator.ask(AttachSession(self, dict(resume)))
        self.display_name = name
        self.status = status
        self._attached = True
        return name, max_chats

    async def watch_operators(self) -> None:
        """Push the operators list (then each change) to the sink."""
        if self._watching or not self._attached:
            return
        self._watching = True
        for op_id, name, status in await self._presence.ask(WatchOperators(self)):
            self.sink.push(OperatorPresence(op_id, name, status))

    async def watch_board(self) -> None:
        """Push the operator's views (mine, new, others, missed) to the sink as
        ChatListed events, then each change."""
        if self._watching_board or not self._attached:
            return
        self._watching_board = True
        op = self.engine.directory.operator(self.operator_id)
        listed = await self._board.ask(
            WatchBoard(self, self.operator_id, self.scope, op.department_ids)
        )
        for card, view in listed:
            self.sink.push(ChatListed(card, view))

    async def _visible(self, conversation_id: str) -> ChatCard:
        """The chat's card if this operator may see it; else the chat 'does not
        exist' (no hint that it does). Closed chats have left the lists: those
        who could see one are told it is closed."""
        card: ChatCard | None = await self._board.ask(GetCard(conversation_id))
        if card is None:
            summary = await chat_in_sight(self.engine, self.principal, conversation_id)
            if summary["status"] == "closed":
                raise FailedPrecondition("conversation_closed", "the conversation is closed")
            raise NotFound("unknown_conversation", f"no conversation {conversation_id[:40]!r}")
        op = self.engine.directory.operator(self.operator_id)
        participants = (*card.operators, *card.invisible)
        if not in_scope(
            self.scope, self.operator_id, op.department_ids, card.department_id, participants
        ):
            raise NotFound("unknown_conversation", f"no conversation {conversation_id[:40]!r}")
        return card

    def _need(self, permission: str) -> None:
        if permission not in self.permissions:
            raise PermissionDenied(
                "permission_denied",
                f"the {self.principal.role} role may not {permission.replace('_', ' ')}",
            )

    async def act(self, conversation_id: str, action: str, **fields: Any) -> None:
        """A chat action (join, leave, invite, transfer, take over, chat status),
        checked against the role and what the operator may see; a refusal comes
        back on the sink, success as the chat's own events."""
        try:
            if not self._attached:
                raise FailedPrecondition("no_hello", "send hello first")
            await self._act(conversation_id, action, fields)
        except (Refused, MailboxFull, AskTimeout) as error:
            self.sink.push(failure(error, conversation_id=conversation_id))

    async def _act(self, conv_id: str, action: str, fields: dict[str, Any]) -> None:
        me, name = self.operator_id, self.display_name
        directory = self.engine.directory
        conversation = self._conversation(conv_id)
        if action == "leave":
            await conversation.ask(LeaveChat(me))
            return
        invisible = action == "join" and bool(fields.get("invisible"))
        permission = CHAT_ACTIONS.get("join_invisible" if invisible else action)
        if permission is None:
            raise InvalidArgument("unknown_command", f"unknown chat action {action!r}")
        self._need(permission)
        if action == "chat_status":
            await conversation.ask(SetChatStatus(me, fields["status"]))
            return
        card = await self._visible(conv_id)
        if action == "join":
            await conversation.ask(JoinChat(me, name, invisible))
        elif action == "take_over":
            await conversation.ask(TakeOver(me, name, fields.get("from_id") or _owner(card)))
        elif action == "invite":
            target = directory.operator(fields["operator_id"], self.principal.account_id)
            await conversation.ask(InviteOperator(me, target.id))
        elif action == "transfer":
            if fields.get("department_id"):
                await conversation.ask(TransferToDepartment(me, fields["department_id"]))
            else:
                target = directory.operator(fields["operator_id"], self.principal.account_id)
                await conversation.ask(TransferToOperator(me, target.id))

    def direct(self, to_id: str, client_msg_id: str, text: str) -> None:
        """A message to a colleague (internal chat). Both operators' sessions get
        it once stored; a refusal comes back with the client id."""
        if not self._attached:
            self.sink.push(CommandFailed("no_hello", "send hello first", False, client_msg_id))
            return
        code = policies.check_client_msg_id(client_msg_id) or policies.check_text(text)
        problem = _TEXT_ERRORS.get(code or "", "")
        if not problem and to_id == self.operator_id:
            code, problem = "invalid_argument", "that is you"
        if not problem:
            try:
                self.engine.directory.operator(to_id, self.principal.account_id)
            except NotFound as error:
                code, problem = error.code, error.message
        if problem:
            self.sink.push(CommandFailed(code or "invalid_argument", problem, False, client_msg_id))
            return
        sink = self.sink

        def stored(_seq: Any, error: BaseException | None) -> None:
            if error is not None:
                sink.push(failure(error, client_msg_id))

        try:
            self.engine.system.ref("internal", pair_id(self.operator_id, to_id)).tell(
                SendDirect(self.operator_id, self.display_name, to_id, client_msg_id, text),
                stored,
            )
        except MailboxFull as error:
            stored(None, error)

    def whisper(self, conversation_id: str, client_msg_id: str, text: str) -> None:
        """A note in the chat that only operators see."""
        self.send(conversation_id, client_msg_id, text, note=True)

    def set_status(self, status: str) -> None:
        def done(value: Any, error: BaseException | None) -> None:
            if error is not None:
                self.sink.push(failure(error))
            else:
                self.status = value

        self._operator_command(SetStatus(status), done)

    def answer_offer(self, conversation_id: str, accept: bool) -> None:
        def done(_value: Any, error: BaseException | None) -> None:
            if error is not None:
                self.sink.push(failure(error, conversation_id=conversation_id))

        self._operator_command(AnswerOffer(conversation_id, accept), done)

    def _operator_command(self, message: object, done: Any) -> None:
        if not self._attached:
            self.sink.push(CommandFailed("no_hello", "send hello first"))
            return
        try:
            self._operator.tell(message, done)
        except MailboxFull as error:
            done(None, error)

    async def pick(self, conversation_id: str) -> None:
        """Take a waiting chat from the New pool of one of the operator's
        departments; it arrives as an assignment, or the sink gets the refusal."""
        try:
            if not self._attached:
                raise FailedPrecondition("no_hello", "send hello first")
            self._need(CHAT_ACTIONS["pick"])
            summary = await self._conversation(conversation_id).ask(GetConversation())
            op = self.engine.directory.operator(self.operator_id)
            if summary["site_id"] not in self.engine.directory.sites or (
                summary["department_id"] not in op.department_ids
            ):
                raise NotFound("unknown_conversation", f"no conversation {conversation_id!r}")
            queue = self.engine.system.ref("queue", summary["department_id"])
            await queue.ask(Pick(conversation_id, self.operator_id))
        except (Refused, MailboxFull, AskTimeout) as error:
            self.sink.push(failure(error, conversation_id=conversation_id))

    def _conversation(self, conversation_id: str) -> Ref:
        if not CONVERSATION_ID.match(conversation_id):
            raise NotFound("unknown_conversation", f"no conversation {conversation_id!r}")
        return self.engine.system.ref("conversation", conversation_id)

    def send(self, conversation_id: str, client_msg_id: str, text: str, note: bool = False) -> None:
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
            kind = "note" if note else "operator"
            self._conversation(conversation_id).tell(
                Post(kind, self.operator_id, self.display_name, client_msg_id, text, self),
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
        if self._watching:
            self._watching = False
            self._presence.tell_system(UnwatchOperators(self))
        if self._watching_board:
            self._watching_board = False
            self._board.tell_system(UnwatchBoard(self))
