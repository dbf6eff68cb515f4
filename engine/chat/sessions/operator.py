"""The operator session: the engine side of one operator session stream.

It attaches to the operator actor (which replays the operator's chats from the
resume points), watches the operators list and the chat board, and carries the
operator's commands to the chat actors: messages, whispers, typing, reads,
status, answers to offers, picks from the New pool, chat actions (join, invite,
transfer, take over, chat status) and direct messages to colleagues. What the
operator may see and do is decided in :mod:`engine.chat.visibility` and the
permission table; a refusal comes back on the sink.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from engine.chat import policies
from engine.chat.events import (
    Ack,
    Assigned,
    ChatCard,
    ChatListed,
    ChatUnlisted,
    Closed,
    CommandFailed,
    Event,
    OperatorPresence,
    Sink,
    Typing,
)
from engine.chat.internal import pair_id
from engine.chat.kinds import BOARD, CONVERSATION, INTERNAL, LOBBY, OPERATOR, PRESENCE, QUEUE
from engine.chat.lobby_messages import UnwatchLobby, WatchLobby
from engine.chat.messages import (
    AnswerOffer,
    AttachSession,
    CloseConversation,
    ConversationCommand,
    DetachSession,
    GetConversation,
    InviteOperator,
    JoinChat,
    LeaveChat,
    MarkRead,
    OperatorCommand,
    Pick,
    Post,
    RescopeBoard,
    SendDirect,
    SetChatStatus,
    SetStatus,
    SetTyping,
    TakeOver,
    TransferToDepartment,
    TransferToOperator,
    UnwatchBoard,
    UnwatchOperators,
    WatchBoard,
    WatchOperators,
)
from engine.chat.permissions import CHAT_ACTIONS, TYPING_PREVIEW, VIEW_OPERATORS, require
from engine.chat.sessions.common import (
    TEXT_ERRORS,
    after_hello,
    failure,
    overloaded,
    sink_has_room,
    sink_when_room,
)
from engine.chat.visibility import (
    CONVERSATION_ID,
    card_in_sight,
    may_pick,
    scope_of,
    unknown_conversation,
)
from engine.errors import FailedPrecondition, InvalidArgument, NotFound, Refused
from engine.runtime import AskTimeout, MailboxFull, Ref, Reply

if TYPE_CHECKING:
    from engine.app import Engine
    from engine.chat.auth import Principal

log = logging.getLogger("parley.session")


MAX_REFS = 256  # chat references a session keeps (see OperatorSession._refs)


class OperatorSession:
    """One operator session stream."""

    def __init__(self, engine: Engine, principal: Principal, sink: Sink) -> None:
        self.engine = engine
        self.principal = principal
        self.sink = sink
        self.operator_id = principal.operator_id
        self.display_name = ""
        self.max_chats = 0
        self._operator = engine.system.ref(OPERATOR, principal.operator_id)
        self._attached = False
        permissions = engine.directory.role_permissions(principal.account_id, principal.role)
        self.permissions = permissions
        self._may_preview = TYPING_PREVIEW in permissions
        self.scope = scope_of(permissions)
        self._board = engine.system.ref(BOARD, principal.account_id)
        self._watching_board = False
        # References to the chats this session sends to: a reference binds to
        # its actor once and finds it again after a passivation, so each send
        # need not make one and look the actor up (kept to the last few).
        self._refs: dict[str, Ref[ConversationCommand]] = {}
        self._presence = engine.system.ref(PRESENCE, principal.account_id)
        self._watching = False
        self._lobby = engine.system.ref(LOBBY, principal.account_id)
        self._watching_lobby = False
        self.status = ""
        # The chats its views show and its own (from the board's and its actor's
        # events): a refusal on any other chat says it does not exist.
        self._in_sight: set[str] = set()
        self._departments = engine.directory.operator(principal.operator_id).department_ids

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
        self.max_chats = max_chats
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

    async def watch(self) -> None:
        """After hello: the operators list (when the role may see it), then the board."""
        if VIEW_OPERATORS in self.permissions:
            await self.watch_operators()
        await self.watch_board()
        if not self._watching_lobby and self._attached:
            # The count of visitors online, coalesced (a second at most).
            self._watching_lobby = True
            self._lobby.tell_system(WatchLobby(self))

    async def watch_board(self) -> None:
        """Push the operator's views (mine, new, others, missed) to the sink as
        ChatListed events, then each change."""
        if self._watching_board or not self._attached:
            return
        self._watching_board = True
        op = self.engine.directory.operator(self.operator_id)
        self._departments = op.department_ids
        listed = await self._board.ask(
            WatchBoard(self, self.operator_id, self.scope, op.department_ids)
        )
        for card, view in listed:
            self.push(ChatListed(card, view))

    @after_hello("conversation_id")
    async def act(self, conversation_id: str, action: str, **fields: Any) -> None:
        """A chat action (join, leave, invite, transfer, take over, chat status),
        checked against the role and what the operator may see; a refusal comes
        back on the sink, success as the chat's own events."""
        try:
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
        require(self.permissions, self.principal.role, permission)
        if action == "chat_status":
            await conversation.ask(SetChatStatus(me, fields["status"]))
            return
        card = await card_in_sight(self.engine, self.principal, self.scope, conv_id)
        if invisible or action == "take_over":
            await self._audited(conv_id, action, invisible, fields, _owner(card))
        elif action == "join":
            await conversation.ask(JoinChat(me, name, invisible))
        elif action == "invite":
            target = directory.operator(fields["operator_id"], self.principal.account_id)
            await conversation.ask(InviteOperator(me, target.id))
        elif action == "transfer":
            if fields.get("department_id"):
                await conversation.ask(TransferToDepartment(me, fields["department_id"]))
            else:
                target = directory.operator(fields["operator_id"], self.principal.account_id)
                await conversation.ask(TransferToOperator(me, target.id))

    async def _audited(
        self, conv_id: str, action: str, invisible: bool, fields: dict[str, Any], owner: str
    ) -> None:
        """An invisible join or a take-over, then its event in the audit log
        (engine/audit.py), refused ones too: right after the conversation's commit."""
        me, name = self.operator_id, self.display_name
        conversation = self._conversation(conv_id)
        kind = "chat.join_invisible" if invisible else "chat.take_over"
        from_id = fields.get("from_id") or owner
        targets = [conv_id] if invisible else [conv_id, from_id]
        account_id = self.principal.account_id
        try:
            if invisible:
                await conversation.ask(JoinChat(me, name, True))
            else:
                await conversation.ask(TakeOver(me, name, from_id))
        except Refused as error:
            self.engine.audit.record(account_id, me, kind, targets, outcome=error.code)
            raise
        self.engine.audit.record(account_id, me, kind, targets)

    @after_hello("client_msg_id")
    def direct(self, to_id: str, client_msg_id: str, text: str) -> None:
        """A message to a colleague (internal chat). Both operators' sessions get
        it once stored; a refusal comes back with the client id."""
        code = policies.check_client_msg_id(client_msg_id) or policies.check_text(text)
        problem = TEXT_ERRORS.get(code or "", "")
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
            self.engine.system.ref(INTERNAL, pair_id(self.operator_id, to_id)).tell(
                SendDirect(self.operator_id, self.display_name, to_id, client_msg_id, text),
                stored,
            )
        except MailboxFull as error:
            stored(None, error)

    def whisper(self, conversation_id: str, client_msg_id: str, text: str) -> None:
        """A note in the chat that only operators see."""
        self.send(conversation_id, client_msg_id, text, note=True)

    @after_hello()
    def set_status(self, status: str) -> None:
        def done(value: Any, error: BaseException | None) -> None:
            if error is not None:
                self.sink.push(failure(error))
            else:
                self.status = value

        self._operator_command(SetStatus(status), done)

    @after_hello()
    def answer_offer(self, conversation_id: str, accept: bool) -> None:
        def done(_value: Any, error: BaseException | None) -> None:
            if error is not None:
                self.sink.push(failure(error, conversation_id=conversation_id))

        self._operator_command(AnswerOffer(conversation_id, accept), done)

    def _operator_command(self, message: OperatorCommand, done: Reply) -> None:
        try:
            self._operator.tell(message, done)
        except MailboxFull as error:
            done(None, error)

    @after_hello("conversation_id")
    async def pick(self, conversation_id: str) -> None:
        """Take a waiting chat from the New pool of one of the operator's
        departments; it arrives as an assignment, or the sink gets the refusal."""
        try:
            require(self.permissions, self.principal.role, CHAT_ACTIONS["pick"])
            summary = await self._conversation(conversation_id).ask(GetConversation())
            may_pick(self.engine, self.operator_id, summary)
            queue = self.engine.system.ref(QUEUE, summary.department_id)
            await queue.ask(Pick(conversation_id, self.operator_id))
        except (Refused, MailboxFull, AskTimeout) as error:
            self.sink.push(failure(error, conversation_id=conversation_id))

    def _conversation(self, conversation_id: str) -> Ref[ConversationCommand]:
        ref = self._refs.get(conversation_id)
        if ref is not None:
            return ref
        if not CONVERSATION_ID.match(conversation_id):
            raise NotFound("unknown_conversation", f"no conversation {conversation_id!r}")
        refs = self._refs
        if len(refs) >= MAX_REFS:
            refs.clear()  # a few lookups again, never an unbounded dict
        ref = refs[conversation_id] = self.engine.system.ref(CONVERSATION, conversation_id)
        return ref

    @after_hello("conversation_id", "client_msg_id")
    def send(self, conversation_id: str, client_msg_id: str, text: str, note: bool = False) -> None:
        code = policies.check_client_msg_id(client_msg_id) or policies.check_text(text)
        if code is not None:
            self.sink.push(
                CommandFailed(code, TEXT_ERRORS[code], False, client_msg_id, conversation_id)
            )
            return
        sink = self.sink
        meters = self.engine.meters
        if self.engine.backlog.full:  # refused before any actor runs (visitor.py)
            meters.refused("overloaded")
            sink.push(overloaded(client_msg_id, conversation_id))
            return

        def acked(seq: Any, error: BaseException | None) -> None:
            if error is None:
                meters.operator_messages += 1
                sink.push(Ack(conversation_id, client_msg_id, seq))
            else:
                refusal = self._refusal(error, client_msg_id, conversation_id)
                meters.refused(refusal.code)
                sink.push(refusal)

        try:
            kind = "note" if note else "operator"
            self._conversation(conversation_id).tell(
                Post(kind, self.operator_id, self.display_name, client_msg_id, text, self),
                acked,
            )
        except (NotFound, MailboxFull) as error:
            acked(None, error)

    @after_hello()
    def close_conversation(self, conversation_id: str) -> None:
        self._command(conversation_id, CloseConversation("operator", self.operator_id))

    @after_hello()
    def typing(self, conversation_id: str, active: bool) -> None:
        self._command(
            conversation_id,
            SetTyping("operator", self.operator_id, self.display_name, active, "", self),
        )

    @after_hello()
    def read(self, conversation_id: str, seq: int) -> None:
        self._command(
            conversation_id,
            MarkRead("operator", self.operator_id, self.display_name, seq, self),
        )

    def _command(self, conversation_id: str, message: ConversationCommand) -> None:
        """Send ``message`` to a conversation; a refusal comes back as an event."""

        def done(_value: Any, error: BaseException | None) -> None:
            if error is not None:
                self.sink.push(self._refusal(error, conversation_id=conversation_id))

        try:
            self._conversation(conversation_id).tell(message, done)
        except (NotFound, MailboxFull) as error:
            done(None, error)

    def narrow(self, principal: Principal) -> None:
        """The operator's role, its permissions or departments changed (the
        stream's access re-checked and still holds): what the session may do and
        see follows at once. Commands check ``permissions`` as they come; the
        board re-evaluates the views; the operators list stops without
        VIEW_OPERATORS."""
        permissions = self.engine.directory.role_permissions(principal.account_id, principal.role)
        op = self.engine.directory.operators.get(self.operator_id)
        departments = op.department_ids if op is not None else ()
        if (
            principal == self.principal
            and permissions == self.permissions
            and departments == self._departments
        ):
            return  # a re-check that changed nothing (the first one, a token revoked elsewhere)
        self.principal = principal
        self._departments = departments
        self.permissions = permissions
        self._may_preview = TYPING_PREVIEW in permissions
        self.scope = scope_of(permissions)
        if self._watching and VIEW_OPERATORS not in permissions:
            self._watching = False
            self._presence.tell_system(UnwatchOperators(self))
        if self._watching_board:
            try:
                self._board.tell(RescopeBoard(self, self.scope, departments))
            except MailboxFull:
                log.warning("board of %s full: views not re-scoped", principal.account_id)

    def push(self, event: Event) -> None:
        if type(event) is Typing:
            if event.preview and not self._may_preview:
                event = event._replace(preview="")
        elif type(event) is ChatListed:
            self._in_sight.add(event.card.conversation_id)
        elif type(event) is ChatUnlisted:
            self._in_sight.discard(event.conversation_id)
        elif type(event) is Assigned:
            self._in_sight.add(event.conversation_id)
        elif type(event) is Closed:
            # Its actor rests now; a later command makes the reference again.
            self._refs.pop(event.conversation_id, None)
        self.sink.push(event)

    def has_room(self) -> bool:
        """Whether the stream has room for more of a replay (see sink_has_room)."""
        return sink_has_room(self.sink)

    def when_room(self, wake: Callable[[], None]) -> bool:
        """Whether the stream will wake a waiting replay (see sink_when_room)."""
        return sink_when_room(self.sink, wake)

    def _refusal(
        self, error: BaseException, client_msg_id: str = "", conversation_id: str = ""
    ) -> CommandFailed:
        """The refusal of a command on a chat: one the operator is not in and
        may not see is unknown, exactly as a made-up id (no existence oracle);
        one in sight may say that the operator is not in it."""
        if (
            isinstance(error, Refused)
            and error.code == "not_participant"
            and conversation_id not in self._in_sight
        ):
            error = unknown_conversation(conversation_id)
        return failure(error, client_msg_id, conversation_id)

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
        if self._watching_lobby:
            self._watching_lobby = False
            self._lobby.tell_system(UnwatchLobby(self))


def _owner(card: ChatCard) -> str:
    """Whom a take-over takes the chat from when the caller names nobody."""
    if not card.operators:
        raise FailedPrecondition("no_owner", "nobody has this chat: pick it instead")
    return card.operators[0]
