"""No existence oracle, through the real server: a chat out of an operator's
sight answers ``send``, ``whisper``, ``typing``, ``read`` and ``close`` exactly
as a made-up id does (``unknown_conversation``), for an operator of the same
account whose role sees only its own chats and for one of another account."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from parley.v1 import control_pb2, operator_pb2
from tests.integration.helpers import Operator, owner, running, settled
from tests.integration.test_routing import chat_up, staff

MADE_UP = "sabcdefghi-abcdefghijkl"  # well formed, no such chat

Command = Callable[[str], operator_pb2.OperatorCommand]
COMMANDS: dict[str, Command] = {
    "send": lambda c: operator_pb2.OperatorCommand(
        send=operator_pb2.OperatorSend(conversation_id=c, client_msg_id="m", text="hi")
    ),
    "whisper": lambda c: operator_pb2.OperatorCommand(
        whisper=operator_pb2.OperatorSend(conversation_id=c, client_msg_id="w", text="hi")
    ),
    "typing": lambda c: operator_pb2.OperatorCommand(
        typing=operator_pb2.OperatorTyping(conversation_id=c, active=True)
    ),
    "read": lambda c: operator_pb2.OperatorCommand(
        read=operator_pb2.OperatorRead(conversation_id=c, seq=1)
    ),
    "close": lambda c: operator_pb2.OperatorCommand(
        close=operator_pb2.CloseConversation(conversation_id=c)
    ),
}


async def answer(op: Operator, command: operator_pb2.OperatorCommand, conv: str) -> tuple[str, str]:
    """The refusal's code and message, the chat's id written out of it."""
    op.send_commands(command)
    error = await op.recv("error")
    assert error.conversation_id == conv
    return error.code, error.message.replace(conv, "<id>")


async def test_a_chat_out_of_sight_answers_as_a_made_up_one(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        assert app.demo is not None
        boss = await owner(app)
        await boss.api.roles.CreateRole(
            control_pb2.CreateRoleRequest(
                role=control_pb2.Role(name="trainee", permissions=["chat"])
            ),
            metadata=boss.metadata,
        )
        ana = await staff(app, boss, "Ana")
        tess = await staff(app, boss, "Tess", role="trainee", auto_distribution=False)
        v, conv = await chat_up(app)
        await ana.recv("assigned")
        for name, command in COMMANDS.items():
            made_up = await answer(tess, command(MADE_UP), MADE_UP)
            assert made_up[0] == "unknown_conversation", name
            assert await answer(tess, command(conv), conv) == made_up, name
        await settled(app, tess, ana)
        # Nothing reached the chat: no message, note, typing or close from Tess.
        assert not [e for k, e in ana.received() if k == "message" and e.text == "hi"]
        assert not [k for k, e in ana.received() if k in ("typing", "closed")]
        await v.close()


async def test_a_chat_in_sight_may_say_one_is_not_in_it(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        boss = await owner(app)
        ana = await staff(app, boss, "Ana")
        cy = await staff(app, boss, "Cy", auto_distribution=False)  # sees its department's
        v, conv = await chat_up(app)
        await ana.recv("assigned")
        while (await cy.recv("listed")).card.conversation_id != conv:
            pass
        code, _ = await answer(cy, COMMANDS["send"](conv), conv)
        assert code == "not_participant"
        await v.close()
