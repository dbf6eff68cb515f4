"""The visitor session: the engine side of one visitor connection.

Front ends (the websocket edge and the gRPC visitor channel) hand it commands
through :mod:`engine.chat.dispatch` and translate the events pushed to their sink.
It identifies the visitor (hello), keeps the departments it sees, opens its chat
with the first message (holding the messages sent while the chat opens), and
forwards posts, typing, reads, ratings and the offline form to the actors. A
session is itself the sink its conversation delivers to; it forwards to the front
end's sink.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from time import perf_counter
from typing import TYPE_CHECKING, Any, TypedDict

from engine.chat import ids, notify, policies
from engine.chat.events import (
    Ack,
    Closed,
    CommandFailed,
    Departments,
    DepartmentState,
    Event,
    Invitation,
    InvitationEnded,
    OperatorJoined,
    PrechatSaved,
    Rated,
    Sink,
    TicketSaved,
    TranscriptSent,
)
from engine.chat.kinds import CONVERSATION, LOBBY, PRESENCE, VISITOR
from engine.chat.lobby_messages import InvitationAnswered, VisitorGone, VisitorSeen
from engine.chat.messages import (
    CloseConversation,
    ConversationCommand,
    GetConversation,
    GetVisitor,
    Identify,
    InvitationWords,
    MarkRead,
    MissedDelivered,
    OpenConversation,
    PageView,
    Post,
    Rate,
    Register,
    ReplayMissed,
    SetTyping,
    Subscribe,
    Unsubscribe,
    UnwatchSite,
    Visit,
    WatchSite,
)
from engine.chat.messages import VisitorCommand as VisitorActorCommand
from engine.chat.records import EMAIL_RE, Site, Ticket, language_of
from engine.chat.sessions.common import (
    MAX_EMAIL,
    MAX_NAME,
    MAX_PREVIEW,
    MAX_TICKETS,
    MAX_TITLE,
    MAX_URL,
    TEXT_ERRORS,
    after_hello,
    failure,
    overloaded,
    sink_has_room,
    sink_when_room,
)
from engine.chat.widget_look import widget_doc
from engine.delivery import transcripts
from engine.errors import (
    FailedPrecondition,
    InvalidArgument,
    PermissionDenied,
    Refused,
    Unavailable,
)
from engine.persistence.schema import VISITOR_TOKENS
from engine.runtime import MailboxFull, Ref

if TYPE_CHECKING:
    from engine.app import Engine

SUSPENDED = "chat is not available on this site now"  # its account is suspended


class Welcome(TypedDict):
    """What a completed hello tells the visitor."""

    visitor_id: str
    token: str
    conversation_id: str
    last_seq: int
    departments: Departments
    widget: dict[str, Any]  # the site's look, words and pre-chat form
    email_transcripts: bool  # the account can email: a transcript may be asked for


class VisitorSession:
    """One visitor connection."""

    # One per connected visitor: slots keep an idle visitor's session near a
    # third of its size with an instance dictionary.
    __slots__ = (
        "engine", "site", "sink", "visitor_id", "name", "department_id", "region_id",
        "language", "group_id", "page_url", "email", "given_name", "view", "ip",
        "user_agent", "_watching", "_tickets", "conversation_id", "last_conversation_id",
        "_visitor", "_conversation", "_left", "detached", "_opening", "_held", "referrer",
        "returning", "page_title", "invitation", "_in_lobby", "tz_offset", "_mailing",
    )  # fmt: skip

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
        self.given_name = False  # a name the visitor gave (else "Visitor 1234")
        self.view: Departments | None = None  # the site's departments, as last pushed
        self.ip = ""  # the front end sets these from the connection
        self.user_agent = ""
        self._watching = False
        self._tickets = 0
        self.conversation_id = ""
        self.last_conversation_id = ""  # the last one closed: what a rating is for
        self._visitor: Ref[VisitorActorCommand] | None = None
        self._conversation: Ref[ConversationCommand] | None = None
        # The chat closed while connected: still subscribed (operators' answers
        # to a missed chat reach the visitor live) until a new one opens or the
        # connection ends.
        self._left: Ref[ConversationCommand] | None = None
        self.detached = False  # the connection is gone: nothing more subscribes
        self._opening = False
        self._held: list[tuple[str, str]] = []
        self.referrer = ""
        self.returning = False  # came back with a token
        self.page_title = ""
        # An operator's invitation on screen (its words open the chat it starts).
        self.invitation: Invitation | None = None
        self._in_lobby = False
        self.tz_offset = 0  # minutes from UTC, as the hello said (transcripts' times)
        # Transcripts being put in the outbox; made on the first (most sessions never ask).
        self._mailing: set[asyncio.Task[None]] | None = None

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
        conversation_id: str = "",
    ) -> Welcome:
        """Identify the visitor (a new one without a valid token) and resume its
        open conversation from ``last_seq``, which is of ``conversation_id`` when
        named (another chat's seq: the open one from its start). A name or email
        given replaces a returning visitor's. Returns the welcome's fields."""
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
        if directory.suspended(self.site.account_id):
            raise PermissionDenied("account_suspended", SUSPENDED)
        if not department_id and not region_id:
            depts = [d for d in directory.departments.values() if d.site_id == self.site.id]
            if len(depts) == 1:
                department_id = depts[0].id
        self._choose(department_id, region_id)
        self.page_url = page_url
        self.page_title = page_title
        self.referrer = referrer
        self.language = language_of(language)
        self.group_id = directory.group_for_page(self.site.id, page_url)
        self.email = email
        self.tz_offset = tz_offset_minutes
        store = self.engine.store
        visitor_id = ""
        if token:
            found = VISITOR_TOKENS.get(store, ids.token_digest(token))
            if found is not None:
                site_id, candidate = found
                if site_id == self.site.id:  # a token is bound to its site
                    visitor_id = candidate
                    self.returning = True
        if not visitor_id:
            visitor_id = "v" + ids.random_id(15)
            token = ids.new_token()
            new = Register(self.site.id, name, email, ids.token_digest(token))
            await self.engine.system.ref(VISITOR, visitor_id).ask(new)
        if directory.blocked(self.site.id, self.ip, visitor_id, self.engine.clock.wall_ms()):
            raise PermissionDenied("blocked", "chat is not available to you on this site")
        self.visitor_id = visitor_id
        visitor = self.engine.system.ref(VISITOR, visitor_id)
        state = await visitor.ask(GetVisitor())
        open_id, stored_name, last, missed = state[:4]
        self.last_conversation_id = last
        if self.returning and (name and name != stored_name or email and email != state.email):
            visitor.tell(Identify(name, email))  # the operators see the new name
        self.name = name or stored_name or f"Visitor {visitor_id[-4:]}"
        self.given_name = bool(name or stored_name)
        self.email = email or state.email
        # The seq is of the chat the hello names; none named: of the open one
        # (the protocol before the name), else of the last one closed.
        seq_of = conversation_id or open_id or last
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
        presence = self.engine.system.ref(PRESENCE, self.site.account_id)
        # Each registration is marked before its ask, so that a detach during
        # the ask undoes it (in the same mailbox, after it).
        self._watching = True
        self.view = await presence.ask(WatchSite(self.site.id, self))
        self._still_here()
        self._visitor = visitor
        seen = 0
        if (
            # The chat on the visitor's screen closed while it was away: what it
            # missed of it, then the close; nothing for one that saw the close.
            last_seq > 0
            and last
            and seq_of == last
            and await self._missed_close(last, last_seq)
            and missed == last
        ):
            visitor.tell(MissedDelivered(missed))  # its answers came with it
            missed = ""
        if open_id:
            self._conversation = self.engine.system.ref(CONVERSATION, open_id)
            self.conversation_id = open_id
            # The reply comes once the replay of what it missed is done: pages
            # of a long chat may take longer than an ordinary ask.
            after = last_seq if seq_of == open_id else 0
            subscribe = Subscribe(self, after, "visitor")
            seen = await self._conversation.ask(subscribe, timeout=REPLAY_TIMEOUT)
            self._still_here()
        if missed:
            # Operators answered a chat this visitor left: it hears them now.
            ref = self.engine.system.ref(CONVERSATION, missed)
            await ref.ask(ReplayMissed(self), timeout=REPLAY_TIMEOUT)
            self._still_here()  # else it has not heard them: they wait for next time
            visitor.tell(MissedDelivered(missed))
        self._in_lobby = True
        self._seen()
        return {
            "visitor_id": visitor_id,
            "token": token,
            "conversation_id": open_id,
            "last_seq": seen,
            "departments": self.departments(),
            "widget": widget_doc(self.site),
            "email_transcripts": self.engine.deliveries.mail_settings(self.site.account_id).ready,
        }

    async def _missed_close(self, conversation_id: str, last_seq: int) -> bool:
        """Replay a closed chat after ``last_seq`` (its close included) if the
        visitor has not seen the close; True if it did. The session stays
        subscribed, as to a chat closed while connected."""
        ref = self.engine.system.ref(CONVERSATION, conversation_id)
        try:
            summary = await ref.ask(GetConversation())
        except Refused:
            return False
        self._still_here()
        if summary.visitor_id != self.visitor_id or not last_seq < summary.closed_seq:
            return False
        self._left = ref
        await ref.ask(Subscribe(self, last_seq, "visitor"), timeout=REPLAY_TIMEOUT)
        self._still_here()
        return True

    def _still_here(self) -> None:
        """Raise if the connection ended during the last ask."""
        if self.detached:
            raise Unavailable("disconnected", "the connection closed during hello")

    def _choose(self, department_id: str, region_id: str) -> None:
        directory = self.engine.directory
        if region_id and not department_id:
            raise InvalidArgument("invalid_argument", "a region is chosen with its department")
        if department_id:
            dept = directory.department(department_id, self.site.id)
            if region_id:
                directory.region(region_id, dept.id)
        self.department_id, self.region_id = department_id, region_id

    @after_hello()
    def page(self, url: str, title: str) -> None:
        """The visitor moved to another page (the trail operators see)."""
        if not url or len(url) > MAX_URL or len(title) > MAX_TITLE:
            self.sink.push(CommandFailed("invalid_argument", "a page is a URL and a short title"))
            return
        self.page_url, self.page_title = url, title
        self._seen()
        assert self._visitor is not None  # after hello
        with contextlib.suppress(MailboxFull):
            self._visitor.tell(PageView(url, title, self.engine.clock.wall_ms()))

    @after_hello()
    def choose(self, department_id: str, region_id: str = "") -> None:
        """Pick the department (and region) before the first message; the sink
        gets the departments again, saying which is chosen and if it is offline."""
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

    @after_hello()
    def leave_ticket(self, name: str, email: str, text: str) -> None:
        """The offline form: store the request durably; the sink gets TicketSaved."""
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
        refusal = self.engine.quota_refusal(self.site.id)
        if refusal is not None:
            self.sink.push(refusal)
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

        # The request and what it owes the outbox (operators' emails, webhooks):
        # one commit.
        ops = [self.engine.ticket_op(ticket), *notify.ticket_ops(self.engine, ticket)]
        self.engine.store.write(ops, saved)

    @after_hello("client_msg_id")
    def send(self, client_msg_id: str, text: str) -> None:
        """Post a message; the sink gets an Ack with its seq after it is stored."""
        code = policies.check_client_msg_id(client_msg_id) or policies.check_text(text)
        if code is not None:
            self.sink.push(CommandFailed(code, TEXT_ERRORS[code], False, client_msg_id))
            return
        if self.engine.backlog.full:
            # The engine's backlog is full: refused here, before the budget is
            # spent or an actor runs (the chat would refuse it as well; this is
            # the cheap place, so the excess costs little of the capacity).
            self.engine.meters.refused("overloaded")
            self.sink.push(overloaded(client_msg_id, self.conversation_id))
            return
        self._spend_and_open(client_msg_id, text, False)

    def _spend_and_open(self, client_msg_id: str, text: str, by_form: bool) -> None:
        # A suspended account's site takes nothing more, from visitors whose
        # hello came before the suspension too.
        if self.engine.directory.suspended(self.site.account_id):
            self.sink.push(CommandFailed("account_suspended", SUSPENDED, False, client_msg_id))
            return
        # The site's storage quota, then the visitor's hourly budget: a message
        # the quota refuses spends nothing.
        refusal = self.engine.quota_refusal(self.site.id)
        if refusal is not None:
            self.sink.push(refusal._replace(client_msg_id=client_msg_id))
            return
        budget = self.engine.message_budget
        wait = budget.spend(self.visitor_id, self.engine.clock.monotonic())
        if wait:
            self.sink.push(budget.refusal(wait, client_msg_id))
            return
        self._post_or_open(client_msg_id, text, by_form)

    def _post_or_open(self, client_msg_id: str, text: str, by_form: bool) -> None:
        if self._conversation is None:
            if not self._opening:
                refusal = self._form_refusal(by_form) or (
                    self._invited() if self.invitation is not None else self._refusal()
                )
                if refusal is not None:
                    self.sink.push(refusal._replace(client_msg_id=client_msg_id))
                    return
            self._held.append((client_msg_id, text))
            if not self._opening:
                self._open()
            return
        self._post(client_msg_id, text)

    def _invited(self) -> CommandFailed | None:
        """An answer to an invitation opens a chat without the department
        chosen (the inviter's on this site is taken) and while the department
        shows offline: the inviter waits for it (and if it cannot take it, the
        chat is routed as usual)."""
        if not self.department_id and self.invitation is not None:
            directory = self.engine.directory
            op = directory.operators.get(self.invitation.operator_id)
            for dept_id in op.department_ids if op is not None else ():
                dept = directory.departments.get(dept_id)
                if dept is not None and dept.site_id == self.site.id:
                    self.department_id = dept_id
                    break
        return self._refusal() if not self.department_id else None

    def _current_site(self) -> Site:
        """The site's settings now (an admin may change them while connected)."""
        return self.engine.directory.sites.get(self.site.id) or self.site

    def _form_refusal(self, by_form: bool) -> CommandFailed | None:
        """A required field of the pre-chat form the visitor has not given
        (``by_form``: the chat opens with the form's question)."""
        site = self._current_site()
        if site.prechat_name == "required" and not self.given_name:
            return CommandFailed("name_required", "the pre-chat form needs your name")
        if site.prechat_email == "required" and not self.email:
            return CommandFailed("email_required", "the pre-chat form needs your email")
        if site.prechat_question == "required" and not by_form:
            return CommandFailed("question_required", "the pre-chat form needs your question")
        return None

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
            if self.detached:
                return  # gone meanwhile: the chat waits for the visitor's return
            if error is not None:
                for cid, _ in held:
                    refusal = failure(error, cid)
                    self.engine.meters.refused(refusal.code)
                    self.sink.push(refusal)
                return
            self.conversation_id = conversation_id
            self._seen()
            self._leave_closed()
            self._conversation = self.engine.system.ref(CONVERSATION, conversation_id)
            self._conversation.tell(Subscribe(self, 0, "visitor"))
            for cid, text in held:
                self._post(cid, text)

        words = None
        invitation = self.invitation
        if invitation is not None:  # the first answer accepts it
            self.invitation = None
            lobby = self.engine.system.ref(LOBBY, self.site.account_id)
            _after_queued(
                lobby, InvitationAnswered(self.visitor_id, invitation.invitation_id, True)
            )
            words = InvitationWords(
                invitation.operator_id, invitation.operator_name, invitation.text
            )
        try:
            self._visitor.tell(
                OpenConversation(
                    self.department_id, self.language, self.region_id, self.group_id, words
                ),
                opened,
            )
        except MailboxFull as error:
            opened(None, error)

    def _post(self, client_msg_id: str, text: str) -> None:
        conversation = self._conversation
        assert conversation is not None
        conv_id = self.conversation_id
        sink = self.sink
        meters = self.engine.meters
        started = perf_counter()

        def acked(seq: Any, error: BaseException | None) -> None:
            if error is None:
                # The ack leaves once the message is stored: this is its latency.
                meters.ack_seconds.observe(perf_counter() - started)
                meters.visitor_messages += 1
                sink.push(Ack(conv_id, client_msg_id, seq))
            else:
                refusal = failure(error, client_msg_id, conv_id)
                meters.refused(refusal.code)
                sink.push(refusal)

        try:
            conversation.tell(
                Post("visitor", self.visitor_id, self.name, client_msg_id, text, self), acked
            )
        except MailboxFull as error:
            acked(None, error)

    @after_hello("client_msg_id")
    def prechat(self, name: str, email: str, question: str, client_msg_id: str) -> None:
        """The pre-chat form: the visitor's name and email (a returning one's
        replace what it gave before; the operators see them), then its question
        as the chat's first message, posted with ``client_msg_id``. A field the site
        requires and the form left empty is refused with a code naming it,
        and nothing of the form is taken then."""
        name, email, question = name.strip(), email.strip(), question.strip()
        site = self._current_site()
        problem: CommandFailed | None = None
        if len(name) > MAX_NAME:
            problem = CommandFailed("invalid_argument", f"a name has at most {MAX_NAME} characters")
        elif email and (not EMAIL_RE.match(email) or len(email) > MAX_EMAIL):
            problem = CommandFailed("invalid_email", "that is not an email address")
        elif site.prechat_name == "required" and not (name or self.given_name):
            problem = CommandFailed("name_required", "the pre-chat form needs your name")
        elif site.prechat_email == "required" and not (email or self.email):
            problem = CommandFailed("email_required", "the pre-chat form needs your email")
        elif site.prechat_question == "required" and not question and self._conversation is None:
            problem = CommandFailed("question_required", "the pre-chat form needs your question")
        elif question and (
            policies.check_client_msg_id(client_msg_id) or policies.check_text(question)
        ):
            code = policies.check_client_msg_id(client_msg_id) or policies.check_text(question)
            assert code is not None
            problem = CommandFailed(code, TEXT_ERRORS[code])
        if problem is not None:
            self.sink.push(problem._replace(client_msg_id=client_msg_id))
            return
        name = name if site.prechat_name != "off" else ""
        email = email if site.prechat_email != "off" else ""
        if name or email:
            assert self._visitor is not None  # after hello
            if (name and name != self.name) or (email and email != self.email):
                self._visitor.tell(Identify(name, email))
            self.name, self.email = name or self.name, email or self.email
            self.given_name = self.given_name or bool(name)
            self._seen()
        self.sink.push(PrechatSaved(self.name if self.given_name else "", self.email))
        if question:
            self._spend_and_open(client_msg_id, question, True)

    @after_hello()
    def close_conversation(self) -> None:
        if self._conversation is None:
            self.sink.push(CommandFailed("no_conversation", "there is no open conversation"))
            return
        conv_id = self.conversation_id

        def done(_value: Any, error: BaseException | None) -> None:
            if error is not None:
                self.sink.push(failure(error, conversation_id=conv_id))

        self._conversation.tell(CloseConversation("visitor", self.visitor_id), done)

    @after_hello()
    def typing(self, active: bool, preview: str) -> None:
        """Tell the chat's operators the visitor is typing (with the draft, which
        only operators allowed to preview see)."""
        if self._conversation is None:
            return  # nobody to tell before the first message
        # A typing notice that does not fit in a full mailbox is not worth an error.
        with contextlib.suppress(MailboxFull):
            self._conversation.tell(
                SetTyping(
                    "visitor", self.visitor_id, self.name, active, preview[:MAX_PREVIEW], self
                )
            )

    @after_hello()
    def read(self, seq: int) -> None:
        """The visitor has read its conversation up to ``seq``."""
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

    @after_hello()
    def rate(self, score: int, comment: str) -> None:
        """Rate the conversation that closed last (or the open one, which is refused
        until it closes); the sink gets Rated or the refusal."""
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
            self.engine.system.ref(CONVERSATION, target).tell(
                Rate(self.visitor_id, score, comment), done
            )
        except MailboxFull as error:
            done(None, error)

    @after_hello()
    def decline_invitation(self) -> None:
        """The visitor dismissed the operator's invitation (the inviter is told)."""
        if self.invitation is None:
            self.sink.push(CommandFailed("no_invitation", "there is no invitation to decline"))
            return
        invitation_id = self.invitation.invitation_id
        self.invitation = None
        lobby = self.engine.system.ref(LOBBY, self.site.account_id)
        _after_queued(lobby, InvitationAnswered(self.visitor_id, invitation_id, False))

    @after_hello()
    def email_transcript(self, email: str) -> None:
        """Email the open (else the last) conversation's transcript to ``email``
        ("": the hello's; engine/delivery/transcripts.py); the sink gets
        TranscriptSent once it is in the outbox, or the refusal."""
        conversation_id = self.conversation_id or self.last_conversation_id
        if not conversation_id:
            self.sink.push(CommandFailed("no_conversation", "there is no chat to send"))
            return
        if len(email) > MAX_EMAIL:
            self.sink.push(CommandFailed("invalid_address", "an email address is too long"))
            return
        sink, engine = self.sink, self.engine

        async def mail() -> None:
            try:
                to, _outbox_id = await transcripts.email_transcript(
                    engine,
                    self.site.account_id,
                    conversation_id,
                    self.visitor_id,
                    email.strip() or self.email,
                    self.tz_offset,
                )
            except Exception as error:  # refusals, and bugs (logged by failure)
                sink.push(failure(error, conversation_id=conversation_id))
                return
            sink.push(TranscriptSent(conversation_id, to))

        task = asyncio.get_running_loop().create_task(mail())
        mailing = self._mailing
        if mailing is None:
            mailing = self._mailing = set()
        mailing.add(task)
        task.add_done_callback(mailing.discard)

    def _seen(self) -> None:
        """Tell the lobby what operators see of this connection now."""
        if not self._in_lobby or self.detached:
            return
        seen = VisitorSeen(
            self.site.id,
            self.visitor_id,
            self,
            self.name,
            self.page_url,
            self.page_title,
            self.referrer,
            self.language,
            self.returning,
            self.conversation_id,
        )
        _after_queued(self.engine.system.ref(LOBBY, self.site.account_id), seen)

    def push(self, event: Event) -> None:
        if type(event) is Invitation:
            self.invitation = event
        elif type(event) is InvitationEnded:
            if self.invitation is not None and self.invitation.invitation_id == event.invitation_id:
                self.invitation = None
        elif type(event) is Departments:
            self.view = event
            event = self.departments()
        elif type(event) is OperatorJoined and not self.site.widget_avatars:
            event = event._replace(avatar_url="")  # the site shows no faces
        elif type(event) is Closed and event.conversation_id == self.conversation_id:
            # The next message opens a new conversation; a rating goes to this one.
            self._leave_closed()
            self._left, self._conversation = self._conversation, None
            self.last_conversation_id = self.conversation_id
            self.conversation_id = ""
            self._seen()
        self.sink.push(event)

    def has_room(self) -> bool:
        """Whether the connection has room for more of a replay (see sink_has_room)."""
        return sink_has_room(self.sink)

    def when_room(self, wake: Callable[[], None]) -> bool:
        """Whether the connection will wake a waiting replay (see sink_when_room)."""
        return sink_when_room(self.sink, wake)

    def _leave_closed(self) -> None:
        if self._left is not None:
            _after_queued(self._left, Unsubscribe(self))
            self._left = None

    def detach(self) -> None:
        """The connection ended: leave everything this session joined. Sent after
        what is queued (a subscribe still waiting in the mailbox must not be
        overtaken by its own undoing)."""
        self.detached = True
        self._leave_closed()
        if self._conversation is not None:
            _after_queued(self._conversation, Unsubscribe(self))
            self._conversation = None
        if self._watching:
            self._watching = False
            presence = self.engine.system.ref(PRESENCE, self.site.account_id)
            _after_queued(presence, UnwatchSite(self.site.id, self))
        if self._in_lobby:
            self._in_lobby = False
            lobby = self.engine.system.ref(LOBBY, self.site.account_id)
            _after_queued(lobby, VisitorGone(self.visitor_id, self))


def _text_code(client_msg_id: str, text: str) -> str | None:
    return policies.check_client_msg_id(client_msg_id) or policies.check_text(text)


REPLAY_TIMEOUT = 120.0  # seconds a resume may take to replay what was missed


def _after_queued(ref: Ref[Any], message: object) -> None:
    """Tell ``message`` behind what is queued; a full mailbox takes it ahead
    (never refused) rather than lose a clean-up."""
    try:
        ref.tell(message)
    except MailboxFull:
        ref.tell_system(message)


def _for_language(state: DepartmentState, language: str, enabled: bool) -> DepartmentState:
    speaks = not language or "*" in state.languages or language in state.languages
    online = state.online and enabled and speaks
    if online == state.online:
        return state
    return state._replace(online=online, regions=())
