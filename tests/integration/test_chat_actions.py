"""Operators' views and chat actions on the real server: websocket visitors,
gRPC operators. Visibility: an operator never receives a chat it may not see,
in any view or event."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from google.protobuf.field_mask_pb2 import FieldMask

from engine.runtime import FakeClock
from parley.v1 import common_pb2, control_pb2, operator_pb2
from tests.integration.helpers import Operator, Visitor, owner, running, settled, visitor_url
from tests.integration.test_routing import advance, chat_up, gone, staff


def act(conv: str, **action: Any) -> operator_pb2.OperatorCommand:
    return operator_pb2.OperatorCommand(
        action=operator_pb2.ChatAction(conversation_id=conv, **action)
    )


async def listed(op: Operator, conv: str, view: str | None = None) -> Any:
    """The next listing of ``conv`` (in ``view``) this operator gets."""
    while True:
        event = await op.recv("listed")
        if event.card.conversation_id == conv and (view is None or event.view == view):
            return event


async def unlisted(op: Operator, conv: str) -> None:
    while (await op.recv("unlisted")).conversation_id != conv:
        pass


async def error(op: Operator) -> Any:
    return await op.recv("error")


async def outcome(op: Operator, conv: str) -> str:
    """How a claim on ``conv`` ended for ``op``: "assigned", or the error's code,
    whichever its stream says first."""
    while True:
        kind, event = await op.first("assigned", "error")
        if kind == "error":
            return str(event.code)
        if event.conversation_id == conv:
            return "assigned"


def listings(op: Operator) -> set[str]:
    """Every conversation id this operator has been shown so far."""
    seen = set()
    for which, event in op.received():
        if which == "listed":
            seen.add(event.card.conversation_id)
        elif which in ("assigned", "message"):
            seen.add(event.conversation_id)
    return seen


async def setup(app: Any) -> tuple[Operator, Operator, Operator, Operator, str]:
    """Ana and Cy serve Support, Bo serves Sales (a second department); the
    owner sees everything."""
    assert app.demo is not None
    boss = await owner(app)
    sales = await boss.api.departments.CreateDepartment(
        control_pb2.CreateDepartmentRequest(
            department=control_pb2.Department(site_id=app.demo["site"], name="Sales")
        ),
        metadata=boss.metadata,
    )
    me = await boss.api.auth.GetMe(control_pb2.GetMeRequest(), metadata=boss.metadata)
    boss.id = me.id
    ana = await staff(app, boss, "Ana", max_chats=1)
    bo = await staff(app, boss, "Bo", departments=[sales.id])
    await boss.open()
    return boss, ana, bo, await staff(app, boss, "Cy", max_chats=1), sales.id


async def test_views_follow_what_each_operator_may_see(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        boss, ana, bo, cy, sales = await setup(app)
        support = app.demo["department"]  # type: ignore[index]
        _, conv = await chat_up(app, department=support)
        assert (await listed(ana, conv, "mine")).card.operator_ids == [ana.id]
        assert (await listed(cy, conv, "others")).card.status == "active"
        assert (await listed(boss, conv, "others")).card.department_id == support
        _, waiting = await chat_up(app, department=support)  # Ana and Cy are full
        assert (await listed(cy, waiting, "new")).card.status == "queued"
        # Ana sends her chat to Sales: Cy loses sight of it, Bo gains it.
        ana.send_commands(act(conv, transfer_to_department_id=sales))
        await unlisted(cy, conv)
        assert (await listed(bo, conv, "mine")).card.department_id == sales
        assert (await listed(boss, conv)).card.department_id == sales
        # Bo never saw anything of Support.
        await settled(app, bo)
        assert listings(bo) == {conv}


async def test_join_invite_transfer_and_leave(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        boss, ana, bo, cy, _sales = await setup(app)
        v, conv = await chat_up(app, department=app.demo["department"])
        assert (await v.recv("joined"))["operator"] == "Ana"
        # Cy joins (she may see Support's chats); the visitor is told.
        cy.send_commands(act(conv, join=operator_pb2.JoinChat()))
        assert (await v.recv("joined"))["operator"] == "Cy"
        assert (await cy.recv("assigned")).conversation_id == conv
        # Joining twice is a clear error.
        cy.send_commands(act(conv, join=operator_pb2.JoinChat()))
        assert (await error(cy)).code == "already_in_chat"
        # Bo (Sales) cannot see the chat: to him it does not exist.
        bo.send_commands(act(conv, join=operator_pb2.JoinChat()))
        assert (await error(bo)).code == "unknown_conversation"
        # Nobody by that id, and not oneself.
        ana.send_commands(act(conv, invite_operator_id="onobody000"))
        assert (await error(ana)).code == "unknown_operator"
        ana.send_commands(act(conv, invite_operator_id=ana.id))
        assert (await error(ana)).code == "invalid_argument"
        # Cy leaves; Ana invites Bo in (an invite is not limited to what he sees).
        cy.send_commands(act(conv, leave=operator_pb2.LeaveChat()))
        ana.send_commands(act(conv, invite_operator_id=bo.id))
        assert (await bo.recv("assigned")).conversation_id == conv
        assert (await v.recv("joined"))["operator"] == "Bo"
        # Ana hands the chat to Bo and leaves it.
        ana.send_commands(act(conv, transfer_to_operator_id=bo.id))
        await listed(ana, conv, "others")  # no longer hers
        ana.say(conv, "late", "still here?")
        assert (await error(ana)).code == "not_participant"
        bo.say(conv, "b1", "Bo here, I have your case")
        got = await v.recv("msg")
        while got["from"] != "operator":
            got = await v.recv("msg")
        assert got["text"] == "Bo here, I have your case"
        # The transcript tells the story in system notices.
        transcript = await boss.api.conversations.ListMessages(
            control_pb2.ListMessagesRequest(conversation_id=conv), metadata=boss.metadata
        )
        notices = [m.text for m in transcript.messages if m.author_kind == 3]
        assert notices == [
            "Ana joined the chat",
            "Cy joined the chat",
            "Cy left the chat",
            "Ana invited Bo",
            "Ana transferred the chat to Bo",
        ]


async def test_the_last_operator_leaving_sends_the_chat_back_to_the_queue(
    tmp_path: Path,
) -> None:
    async with running(tmp_path) as app:
        boss, ana, _bo, cy, _sales = await setup(app)
        v, conv = await chat_up(app, department=app.demo["department"])
        assert (await ana.recv("assigned")).conversation_id == conv
        ana.send_commands(act(conv, leave=operator_pb2.LeaveChat()))
        # Cy is free; Ana has room again but is the one who left: whoever the
        # queue picks, the chat is not lost.
        joined = [(await v.recv("joined"))["operator"] for _ in range(2)]
        assert joined[0] == "Ana" and joined[1] in ("Ana", "Cy")
        del boss, cy


async def test_invisible_join_is_hidden_until_the_operator_writes(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        boss, ana, _bo, _cy, _sales = await setup(app)
        v, conv = await chat_up(app, department=app.demo["department"])
        await v.recv("joined")
        boss.send_commands(act(conv, join=operator_pb2.JoinChat(invisible=True)))
        assert (await boss.recv("assigned")).conversation_id == conv
        card = (await listed(ana, conv, "mine")).card
        while boss.id not in card.invisible_operator_ids:
            card = (await listed(ana, conv, "mine")).card
        assert card.operator_ids == [ana.id]
        ana.say(conv, "a1", "Let me check")
        await v.recv("msg")
        # A whisper between operators: the owner sees it, the visitor never does.
        ana.send_commands(
            operator_pb2.OperatorCommand(
                whisper=operator_pb2.OperatorSend(
                    conversation_id=conv, client_msg_id="w1", text="refund it?"
                )
            )
        )
        note = await boss.recv("message")
        while note.text != "refund it?":
            note = await boss.recv("message")
        assert note.author_kind == common_pb2.AUTHOR_KIND_NOTE
        await settled(app, v)
        assert not any("Owner" in str(f) or "refund" in str(f) for f in v.frames())
        # The owner writes: now the visitor is told, then reads the message.
        boss.say(conv, "o1", "Yes, approved")
        assert (await v.recv("joined"))["operator"] == "Owner"
        texts = []
        while "Yes, approved" not in texts:
            texts.append((await v.recv("msg"))["text"])
        assert "refund it?" not in texts
        # A resume replays the chat without the whisper or the invisible join.
        back = await Visitor(visitor_url(app)).connect()
        await back.hello(token=v.welcome["token"])
        await back.round_trip()
        replay = [f["text"] for f in back.frames() if f["type"] == "msg"]
        assert "Yes, approved" in replay and "refund it?" not in replay
        assert not any("invisibly" in t for t in replay)


async def test_take_over_and_a_race_for_it(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        assert app.demo is not None
        boss, ana, _bo, cy, _sales = await setup(app)
        v, conv = await chat_up(app, department=app.demo["department"])
        await v.recv("joined")
        # Cy's role may not take over; the owner's may.
        cy.send_commands(act(conv, take_over=operator_pb2.TakeOver()))
        assert (await error(cy)).code == "permission_denied"
        await boss.api.roles.CreateRole(
            control_pb2.CreateRoleRequest(
                role=control_pb2.Role(
                    name="lead", permissions=["chat", "take_over", "view_department_chats"]
                )
            ),
            metadata=boss.metadata,
        )
        lead = await staff(app, boss, "Lea", max_chats=3, role="lead")
        # A take-over is a claim on the taker: the owner needs a free slot too.
        await boss.api.operators.UpdateOperator(
            control_pb2.UpdateOperatorRequest(
                operator=control_pb2.Operator(id=boss.id, max_chats=3),
                update_mask=FieldMask(paths=["max_chats"]),
            ),
            metadata=boss.metadata,
        )
        # Both take over from Ana at once: one wins, the other is told it changed.
        from_ana = operator_pb2.TakeOver(from_operator_id=ana.id)
        boss.send_commands(act(conv, take_over=from_ana))
        lead.send_commands(act(conv, take_over=from_ana))
        answers = {op: await outcome(op, conv) for op in (boss, lead)}
        winners = [op for op, answer in answers.items() if answer == "assigned"]
        assert len(winners) == 1, answers
        (loser,) = {boss, lead} - set(winners)
        assert answers[loser] == "owner_changed", answers
        # Nor is the chat shown to the loser later.
        await settled(app, boss, lead)
        shown = [e for k, e in loser.received() if k == "assigned" and e.conversation_id == conv]
        assert not shown, shown
        name = "Owner" if winners[0] is boss else "Lea"
        joined = await v.recv("joined")
        assert joined["operator"] == name
        transcript = await boss.api.conversations.ListMessages(
            control_pb2.ListMessagesRequest(conversation_id=conv), metadata=boss.metadata
        )
        assert transcript.messages[-1].text == f"{name} took over the chat from Ana"
        ana.say(conv, "x", "hello?")
        assert (await error(ana)).code == "not_participant"


async def test_on_hold_frees_the_slot_and_coming_back_respects_the_limit(
    tmp_path: Path,
) -> None:
    async with running(tmp_path) as app:
        _boss, ana, _bo, cy, _sales = await setup(app)
        v1, first = await chat_up(app, department=app.demo["department"])
        assert (await ana.recv("assigned")).conversation_id == first
        v2, second = await chat_up(app, department=app.demo["department"])
        assert (await cy.recv("assigned")).conversation_id == second
        v3, third = await chat_up(app, department=app.demo["department"])
        assert (await v3.recv("queued"))["position"] == 1
        ana.send_commands(act(first, chat_status="on_hold"))
        assert (await ana.recv("assigned")).conversation_id == third  # her slot freed
        ana.send_commands(act(first, chat_status="active"))
        assert (await error(ana)).code == "at_capacity"
        ana.send_commands(act(first, chat_status="sleeping"))
        assert (await error(ana)).code == "invalid_argument"
        card = (await listed(ana, first, "mine")).card
        while card.chat_status != "on_hold":
            card = (await listed(ana, first, "mine")).card
        del v1, v2


async def test_actions_on_closed_and_unknown_chats_are_refused(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        boss, ana, _bo, cy, _sales = await setup(app)
        v, conv = await chat_up(app, department=app.demo["department"])
        await v.recv("joined")
        ana.send_commands(
            operator_pb2.OperatorCommand(close=operator_pb2.CloseConversation(conversation_id=conv))
        )
        await v.recv("closed")
        for command, code in (
            (act(conv, leave=operator_pb2.LeaveChat()), "conversation_closed"),
            (act(conv, invite_operator_id=cy.id), "conversation_closed"),
            (act(conv, chat_status="on_hold"), "conversation_closed"),
            (act("snotthere0-aaaaaaaaaaaa", join=operator_pb2.JoinChat()), "unknown_conversation"),
            (act(conv, transfer_to_department_id="dnowhere00"), "conversation_closed"),
        ):
            ana.send_commands(command)
            assert (await error(ana)).code == code, command
        cy.send_commands(act(conv, leave=operator_pb2.LeaveChat()))
        assert (await error(cy)).code in ("not_participant", "conversation_closed")
        del boss


async def test_a_missed_chat_is_listed_and_its_answer_reaches_the_returning_visitor(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    async with running(tmp_path, clock=clock, abandon_seconds=30) as app:
        boss, ana, _bo, cy, _sales = await setup(app)
        await chat_up(app, department=app.demo["department"])
        await chat_up(app, department=app.demo["department"])  # Ana and Cy are full
        v, conv = await chat_up(
            app, "Do you deliver on Sundays?", department=app.demo["department"]
        )
        await v.recv("queued")
        token = v.welcome["token"]
        await v.close()
        await gone(app, conv)
        await advance(app, clock, 31)
        card = (await listed(cy, conv, "missed")).card
        assert card.missed and card.status == "closed"
        # Cy answers the missed chat; the visitor is away.
        cy.send_commands(act(conv, join=operator_pb2.JoinChat()))
        await cy.recv("assigned")
        cy.say(conv, "r1", "Yes, we deliver on Sundays.")
        assert (await cy.recv("ack")).conversation_id == conv
        await unlisted(cy, conv)  # answered: no longer missed
        back = await Visitor(visitor_url(app)).connect()
        await back.hello(token=token)
        await back.round_trip()
        answers = [f for f in back.frames() if f["type"] == "msg"]
        # Operators' notes stay with them; the visitor sees who answered, and what.
        assert [f["text"] for f in answers] == ["Cy joined the chat", "Yes, we deliver on Sundays."]
        # Delivered once: the next visit does not repeat it.
        again = await Visitor(visitor_url(app)).connect()
        await again.hello(token=token)
        await settled(app, again)
        assert [f for f in again.frames() if f["type"] == "msg"] == []
        del boss, ana


async def test_no_message_is_lost_or_doubled_while_a_chat_moves(tmp_path: Path) -> None:
    async with running(tmp_path, visitor_rate=10_000, visitor_burst=10_000) as app:
        boss, ana, _bo, cy, _sales = await setup(app)
        v, conv = await chat_up(app, department=app.demo["department"])
        await v.recv("joined")
        count = 200

        def talk(lines: range) -> None:
            for i in lines:
                v.send({"type": "msg", "cid": f"m{i}", "text": f"line {i}"})

        # The transfer starts with half the lines stored and more on their way.
        talk(range(count // 2))
        acked = set()
        while f"m{count // 4}" not in acked:
            acked.add((await v.recv("ack"))["cid"])
        ana.send_commands(act(conv, transfer_to_operator_id=cy.id))
        talk(range(count // 2, count))
        while len(acked) < count:
            acked.add((await v.recv("ack"))["cid"])
        # Cy got the chat and, through the replay then live delivery, every line once.
        seen: list[str] = []
        async with asyncio.timeout(10):
            while len([t for t in seen if t.startswith("line ")]) < count:
                message = await cy.recv("message")
                if message.conversation_id == conv:
                    seen.append(message.text)
        # In the order written: the replay and the live delivery meet without a
        # gap, a repeat or a swap.
        lines = [t for t in seen if t.startswith("line ")]
        assert lines == [f"line {i}" for i in range(count)]
        transcript = await boss.api.conversations.ListMessages(
            control_pb2.ListMessagesRequest(conversation_id=conv, page_size=1000),
            metadata=boss.metadata,
        )
        assert not transcript.next_page_token  # the whole transcript in one page
        stored = [m.client_msg_id for m in transcript.messages if m.client_msg_id.startswith("m")]
        assert stored == [f"m{i}" for i in range(count)]  # stored in the order written
        seqs = [m.seq for m in transcript.messages]
        assert seqs == list(range(1, len(seqs) + 1))


async def test_two_operators_picking_the_same_chat(tmp_path: Path) -> None:
    """Both pick one waiting chat at once: one gets it, the other a clear error,
    and the chat has one operator."""
    async with running(tmp_path) as app:
        assert app.demo is not None
        boss, ana, _bo, cy, _sales = await setup(app)
        for op in (ana, cy):  # online, but neither takes chats from the queue
            await boss.api.operators.UpdateOperator(
                control_pb2.UpdateOperatorRequest(
                    operator=control_pb2.Operator(id=op.id, auto_distribution=False),
                    update_mask=FieldMask(paths=["auto_distribution"]),
                ),
                metadata=boss.metadata,
            )
        v, conv = await chat_up(app, department=app.demo["department"])
        await v.recv("queued")
        pick = operator_pb2.OperatorCommand(
            pick=operator_pb2.PickConversation(conversation_id=conv)
        )
        ana.send_commands(pick)
        cy.send_commands(pick)
        answers = {op: await outcome(op, conv) for op in (ana, cy)}
        winners = [op for op, answer in answers.items() if answer == "assigned"]
        codes = [answer for answer in answers.values() if answer != "assigned"]
        assert len(winners) == 1 and codes[0] in ("being_offered", "not_waiting"), answers
        joined = await v.recv("joined")
        assert joined["operator"] == ("Ana" if winners[0] is ana else "Cy")
        card = (await listed(boss, conv, "others")).card
        while card.status != "active":
            card = (await listed(boss, conv, "others")).card
        assert card.operator_ids == [winners[0].id]


async def test_not_waiting_is_a_note_and_writing_goes_on(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        boss, ana, _bo, _cy, _sales = await setup(app)
        v, conv = await chat_up(app, department=app.demo["department"])  # type: ignore[index]
        await v.recv("joined")
        ana.send_commands(act(conv, chat_status="not_waiting"))
        card = (await listed(boss, conv)).card
        while card.chat_status != "not_waiting":
            card = (await listed(boss, conv)).card
        ana.say(conv, "still", "I will email you the details")
        got = await v.recv("msg")
        while got["from"] != "operator":
            got = await v.recv("msg")
        assert got["text"] == "I will email you the details"
        await settled(app, v)
        assert not any("not waiting" in str(f) for f in v.frames())
