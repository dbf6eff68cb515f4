"""What a conversation knows, how it is stored and how others see it.

:class:`ConversationState` is the Conversation actor's state: the routing info,
status, participants (visible and invisible), its journal of messages and its
subscribers. The functions of the lifecycle, the operators' actions and the
receipts all work on it. It is recovered on activation from the conversation's
record (``conversations``, see ``engine/persistence/schema.py``), which is its
snapshot: the record is written in the same commit as the notice of the event
that changes it (start, join, close), through :meth:`ConversationState.notice`.
Besides the record it has two more views: the board's card of the chat
(:meth:`~ConversationState.card`) and the summary a ``GetConversation`` asks for.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from engine.chat.conversation.subscribers import Subscribers
from engine.chat.events import ChatCard, MessageEvent
from engine.chat.journal import MESSAGES, Backlog, Journal
from engine.chat.kinds import BOARD
from engine.chat.messages import (
    CardChanged,
    Committed,
    ConversationInfo,
    ConversationSummary,
    InviteOperator,
    TakeOver,
    TransferToOperator,
)
from engine.chat.services import Context
from engine.errors import FailedPrecondition, NotFound, PermissionDenied
from engine.persistence.schema import CONVERSATIONS, ConversationDoc, Op, Reader
from engine.runtime import Reply

ClaimAction = InviteOperator | TransferToOperator | TakeOver
"""The actions that need a colleague's operator actor to accept the chat first."""


class ConversationState:
    """One conversation's state; the actor holds one (``engine/chat/conversation/actor.py``)."""

    def __init__(self, key: str) -> None:
        self.id = key
        self.info: ConversationInfo | None = None  # None until started
        self.status = "new"  # new | queued | active | closed
        self.operators: dict[str, str] = {}  # id -> name, in the order they came
        self.invisible: dict[str, str] = {}  # joined without the visitor knowing
        self.position = 0  # in the waiting line, and the estimated wait
        self.eta = 0
        self.closed_reason = ""
        self.answered = False  # an operator has written to the visitor
        self.missed = False  # closed before anyone answered
        self.chat_status = ""  # "" | on_hold | not_waiting
        self.updated_ms = 0
        self.closed_seq = 0  # the close notice's seq: a missed chat's replies follow it
        self._closing: MessageEvent | None = None  # the close notice, until stamped
        self.first_response_ms = 0
        self.assigned_ms = 0  # wall time an operator first took the chat (the wait's end)
        self.created_ms = 0
        self.rating = 0  # 1-5 once the visitor rated the closed chat
        self.comment = ""
        self.closed_ms = 0  # wall time of the close (0 while open)
        self.closed_by = ""  # "<kind>:<id>" of who closed it: visitor, operator or system
        # How far each side has read (kept in memory: a receipt is a courtesy,
        # not a record).
        self.read_up_to = {"visitor": 0, "operator": 0}
        # Invite, transfer and take-over claims: one in flight, the others wait
        # for it and are checked again when it is done (actions.py).
        self.claiming = False
        self.waiting_claims: deque[tuple[ClaimAction, Reply | None]] = deque()
        # Messages and notices; notices carry the record (``state=record_op``).
        # Nothing here keeps a method bound to this state: a closed chat's
        # state is freed when its actor leaves memory, not by a full collection.
        self.journal = Journal(key, MESSAGES, Committed)
        self.subscribers = Subscribers(self.journal)
        self.on_post = self.subscribers.posted  # bound once: one per message otherwise

    # -- the record -----------------------------------------------------------------

    def recover(self, store: Reader, backlog: Backlog | None = None) -> None:
        """On activation: the journal's last seq (one read, whatever the length)
        and the record, if the conversation was started. ``backlog``: the
        engine's count of unstored messages."""
        self.journal.open(store, backlog)
        doc = CONVERSATIONS.get(store, self.id)
        if doc is None:
            return
        stored = doc.get("info") or [
            self.id,
            doc["site"],
            doc["dept"],
            doc["visitor"],
            doc["visitor_name"],
        ]
        self.info = ConversationInfo(self.id, *stored[1:])
        self.status = doc["status"]
        self.operators = dict(doc["operators"])
        self.created_ms = doc["created_ms"]
        self.rating = doc.get("rating", 0)
        self.comment = doc.get("comment", "")
        self.closed_reason = doc.get("closed_reason", "")
        self.invisible = dict(doc.get("invisible", ()))
        self.answered = doc.get("answered", False)
        self.missed = doc.get("missed", False)
        self.chat_status = doc.get("chat_status", "")
        self.closed_seq = doc.get("closed_seq", 0)
        self.first_response_ms = doc.get("first_response_ms", 0)
        self.assigned_ms = doc.get("assigned_ms", 0)
        self.closed_ms = doc.get("closed_ms", 0)
        self.closed_by = doc.get("closed_by", "")

    def record_op(self, draft: MessageEvent | None = None, seq: int = 0) -> Op:
        """The write of the record as it is now; with a notice's ``draft`` and
        ``seq``, the record stored with that notice. The close notice's seq is
        known only here, where it is stamped: it goes in the record written with
        it, so a chat activated again (after a passivation) knows where the
        answers to a missed chat begin."""
        assert self.info is not None
        if draft is not None and draft is self._closing:
            self.closed_seq = seq
            self._closing = None
        doc: ConversationDoc = {
            "site": self.info.site_id,
            "dept": self.info.department_id,
            "visitor": self.info.visitor_id,
            "visitor_name": self.info.visitor_name,
            "info": self.info.to_list(),
            "closed_reason": self.closed_reason,
            "invisible": [list(i) for i in self.invisible.items()],
            "answered": self.answered,
            "missed": self.missed,
            "chat_status": self.chat_status,
            "closed_seq": self.closed_seq,
            "first_response_ms": self.first_response_ms,
            "assigned_ms": self.assigned_ms,
            "status": self.status,
            "operators": [list(o) for o in self.operators.items()],
            "created_ms": self.created_ms,
            "rating": self.rating,
            "comment": self.comment,
            "closed_ms": self.closed_ms,
            "closed_by": self.closed_by,
        }
        return CONVERSATIONS.put(self.id, doc)

    @property
    def idle(self) -> bool:
        """Nobody subscribed, nothing being written or replayed, no claim out:
        the actor may be passivated."""
        return not self.subscribers and self.journal.idle and not self.claiming

    # -- checks ---------------------------------------------------------------------

    def require(self) -> ConversationInfo:
        if self.info is None:
            raise NotFound("unknown_conversation", f"no conversation {self.id!r}")
        return self.info

    def open_for_action(self) -> ConversationInfo:
        info = self.require()
        if self.status == "closed":
            raise FailedPrecondition("conversation_closed", "the conversation is closed")
        return info

    def participant(self, op_id: str) -> str:
        """The name of an operator in the chat, visible or not."""
        name = self.operators.get(op_id) or self.invisible.get(op_id)
        if name is None:
            raise PermissionDenied("not_participant", "you are not in this conversation")
        return name

    def avatar_of(self, operator_id: str, ctx: Context) -> str:
        """An operator's avatar URL ("" for none)."""
        op = ctx.services.directory.operators.get(operator_id)
        return op.avatar_url if op is not None else ""

    # -- notices --------------------------------------------------------------------

    def notice(
        self,
        text: str,
        after: Callable[[], None] | None,
        ctx: Context,
        kind: str = "system",
        extra: list[Op] | None = None,
        code: tuple[str, ...] = (),
        closes: bool = False,
    ) -> None:
        """A notice in the transcript; ``kind`` "note" keeps it from the visitor.
        ``after`` runs once it is stored and delivered. The record is stored
        with it, and ``extra`` writes, in the same commit."""
        draft = MessageEvent(self.id, 0, kind, "", "", text, "", 0, notice=code)
        if closes:
            self._closing = draft  # its seq is the chat's closed_seq (record_op)
        self.journal.append(
            draft,
            ctx,
            on_committed=self._noticed,
            tag=after,
            extra=extra or (),
            state=self.record_op,
        )

    def _noticed(self, event: MessageEvent, after: Callable[[], None] | None) -> None:
        """A notice is stored: to the subscribers, then ``after``."""
        self.subscribers.posted(event, None)
        if after is not None:
            after()

    # -- what others see ------------------------------------------------------------

    def card(self, ctx: Context) -> None:
        """Tell the account's board how this chat looks now."""
        info = self.require()
        site = ctx.services.directory.sites.get(info.site_id)
        if site is None:
            return
        self.updated_ms = ctx.clock.wall_ms()
        card = ChatCard(
            self.id,
            info.site_id,
            info.department_id,
            info.visitor_id,
            info.visitor_name,
            self.status,
            tuple(self.operators),
            tuple(self.invisible),
            self.missed and not self.answered,  # answered: dealt with, off the list
            self.chat_status,
            self.created_ms,
            self.updated_ms,
            self.first_response_ms,
        )
        ctx.ref(BOARD, site.account_id).tell(CardChanged(card))

    def summary(self) -> ConversationSummary:
        info = self.require()
        return ConversationSummary(
            id=self.id,
            site_id=info.site_id,
            department_id=info.department_id,
            visitor_id=info.visitor_id,
            visitor_name=info.visitor_name,
            status=self.status,
            operators=dict(self.operators),
            last_seq=self.journal.last_seq,
            rating=self.rating,
            visitor_connected=self.subscribers.visitors > 0,
            invisible=dict(self.invisible),
            missed=self.missed,
            chat_status=self.chat_status,
            closed_seq=self.closed_seq,
        )
