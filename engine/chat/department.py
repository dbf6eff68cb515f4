"""The DepartmentQueue actor: the waiting line of one department.

First come, first served: only the head of the line is offered, one claim at a
time, to the operator the policy chooses (free capacity, least loaded, then
longest idle). The operator accepts or refuses (it is the authority on its own
limit); a refusal updates the queue's view and the next operator is tried.
Every waiting visitor is told its position whenever it changes. The line is the
queue's snapshot, saved on every change.
"""

from __future__ import annotations

from typing import Any

from engine.chat.messages import (
    AssignTo,
    Claim,
    ClaimResult,
    ConversationInfo,
    Dequeue,
    Enqueue,
    GetQueue,
    OperatorAvailable,
    OperatorGone,
    QueuePositionChanged,
    Released,
)
from engine.chat.policies import Candidate, choose_operator
from engine.errors import InvalidArgument
from engine.persistence.codec import decode, encode
from engine.runtime import Actor, Context


class DepartmentQueue(Actor):
    def __init__(self, key: str, snapshot: bytes | None) -> None:
        self.id = key
        self.waiting: list[ConversationInfo] = []
        self.operators: dict[str, Candidate] = {}
        self.claiming: str | None = None
        if snapshot:
            self.waiting = [ConversationInfo(*doc) for doc in decode(snapshot)["waiting"]]

    def snapshot(self) -> bytes | None:
        return encode(
            {
                "waiting": [
                    [i.conversation_id, i.site_id, i.department_id, i.visitor_id, i.visitor_name]
                    for i in self.waiting
                ]
            }
        )

    def can_passivate(self) -> bool:
        # Its view of who is online lives only here: keep it while anyone is.
        return not self.waiting and not self.operators and self.claiming is None

    def _positions(self, ctx: Context, start: int = 0) -> None:
        for index in range(start, len(self.waiting)):
            conv_id = self.waiting[index].conversation_id
            ctx.ref("conversation", conv_id).tell(QueuePositionChanged(index + 1))

    def receive(self, message: Any, ctx: Context) -> Any:
        match message:
            case Enqueue(info):
                if all(w.conversation_id != info.conversation_id for w in self.waiting):
                    self.waiting.append(info)
                    ctx.save_snapshot()
                    self._positions(ctx, len(self.waiting) - 1)
                self._try_assign(ctx)
                return len(self.waiting)
            case Dequeue(conv_id):
                for index, info in enumerate(self.waiting):
                    if info.conversation_id == conv_id:
                        del self.waiting[index]
                        ctx.save_snapshot()
                        self._positions(ctx, index)
                        break
                return None
            case OperatorAvailable(op_id, load, max_chats, idle_since):
                self.operators[op_id] = Candidate(op_id, load, max_chats, idle_since)
                self._try_assign(ctx)
                return None
            case OperatorGone(op_id):
                self.operators.pop(op_id, None)
                return None
            case ClaimResult():
                self._claim_result(message, ctx)
                return None
            case GetQueue():
                return [info.conversation_id for info in self.waiting]
        raise InvalidArgument("unknown_command", f"queue cannot handle {message!r}")

    def _try_assign(self, ctx: Context) -> None:
        if self.claiming is not None or not self.waiting:
            return
        chosen = choose_operator(self.operators.values())
        if chosen is None:
            return
        info = self.waiting[0]
        self.claiming = info.conversation_id
        me = ctx.self_ref
        op_id = chosen.operator_id

        def on_reply(value: Any, error: BaseException | None) -> None:
            if error is not None or value is None:
                me.tell_system(ClaimResult(info.conversation_id, op_id, False, 0, 0))
            else:
                accepted, load, max_chats = value
                me.tell_system(ClaimResult(info.conversation_id, op_id, accepted, load, max_chats))

        ctx.ref("operator", op_id).tell(Claim(info), on_reply)

    def _claim_result(self, result: ClaimResult, ctx: Context) -> None:
        self.claiming = None
        op = self.operators.get(result.operator_id)
        if result.max_chats == 0 and not result.accepted:
            self.operators.pop(result.operator_id, None)  # failed or gone
        elif op is not None:
            self.operators[result.operator_id] = Candidate(
                result.operator_id, result.load, result.max_chats, op.idle_since
            )
        if result.accepted:
            index = next(
                (
                    i
                    for i, w in enumerate(self.waiting)
                    if w.conversation_id == result.conversation_id
                ),
                None,
            )
            if index is None:
                # The visitor left while the claim was out: give the slot back.
                ctx.ref("operator", result.operator_id).tell(Released(result.conversation_id))
            else:
                del self.waiting[index]
                ctx.save_snapshot()
                directory = ctx.services.directory
                name = directory.operators[result.operator_id].display_name
                ctx.ref("conversation", result.conversation_id).tell(
                    AssignTo(result.operator_id, name)
                )
                self._positions(ctx, index)
        self._try_assign(ctx)
