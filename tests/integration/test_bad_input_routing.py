"""Malformed, oversized and unauthorised input to the routing and chat-work
entry points: each gets a clear error and the connection goes on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from parley.v1 import control_pb2, operator_pb2
from tests.integration.helpers import Operator, Visitor, owner, running, visitor_url
from tests.integration.test_routing import chat_up, staff


async def refused(v: Visitor, frame: dict[str, Any]) -> str:
    v.send(frame)
    return str((await v.recv("error"))["code"])


async def test_visitor_frames_refuse_bad_input(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        assert app.demo is not None
        boss = await owner(app)
        dept = app.demo["department"]
        other = await boss.api.departments.CreateDepartment(
            control_pb2.CreateDepartmentRequest(
                department=control_pb2.Department(site_id=app.demo["site"], name="Sales")
            ),
            metadata=boss.metadata,
        )
        far = await boss.api.regions.CreateRegion(
            control_pb2.CreateRegionRequest(
                region=control_pb2.Region(department_id=other.id, name="Far")
            ),
            metadata=boss.metadata,
        )
        await staff(app, boss, "Ana")
        v = await Visitor(visitor_url(app)).connect()
        for frame in (
            {"type": "choose", "department": dept},
            {"type": "ticket", "email": "a@b.test", "text": "hi"},
            {"type": "page", "url": "https://shop.test/"},
        ):
            assert await refused(v, frame) == "no_hello", frame
        long = "x" * 2001
        for fields, code in (
            ({"tz": 900}, "bad_frame"),
            ({"tz": "+1"}, "bad_frame"),
            ({"title": 5}, "bad_frame"),
            ({"page": long}, "invalid_argument"),
            ({"referrer": long}, "invalid_argument"),
            ({"title": "t" * 301}, "invalid_argument"),
            ({"language": "l" * 36}, "invalid_argument"),
            ({"region": far.id}, "invalid_argument"),  # a region needs its department
            ({"department": dept, "region": far.id}, "unknown_region"),
            ({"department": "dnothere00"}, "unknown_department"),
        ):
            assert await refused(v, {"type": "hello", "v": 1, **fields}) == code, fields
        await v.hello()  # still usable
        for frame, code in (
            ({"type": "choose"}, "bad_frame"),
            ({"type": "choose", "department": 3}, "bad_frame"),
            ({"type": "choose", "department": "dnothere00"}, "unknown_department"),
            ({"type": "choose", "department": dept, "region": far.id}, "unknown_region"),
            ({"type": "page"}, "bad_frame"),
            ({"type": "page", "url": long}, "invalid_argument"),
            ({"type": "page", "url": "https://shop.test/", "title": "t" * 301}, "invalid_argument"),
            ({"type": "ticket", "email": ["x"], "text": "hi"}, "bad_frame"),
            ({"type": "ticket", "text": "hi"}, "invalid_argument"),
            ({"type": "ticket", "email": "a@b.test", "text": "y" * 4001}, "invalid_argument"),
            (
                {"type": "ticket", "email": "a@b.test", "text": "hi", "name": "n" * 101},
                "invalid_argument",
            ),
        ):
            assert await refused(v, frame) == code, frame
        for _ in range(3):
            v.send({"type": "ticket", "email": "a@b.test", "text": "call me"})
            await v.recv("ticket_saved")
        assert await refused(v, {"type": "ticket", "email": "a@b.test", "text": "4th"}) == (
            "too_many_tickets"
        )
        # Once the chat has started, its department is fixed.
        v.send({"type": "choose", "department": dept})
        await v.recv("departments")
        v.send({"type": "msg", "cid": "1", "text": "hello"})
        await v.recv("ack")
        assert await refused(v, {"type": "choose", "department": other.id}) == "conversation_open"


async def test_operator_commands_refuse_bad_input(tmp_path: Path) -> None:
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
        tess = await staff(app, boss, "Tess", role="trainee")
        _v, conv = await chat_up(app)
        await ana.recv("assigned")

        def cmd(**kw: Any) -> operator_pb2.OperatorCommand:
            return operator_pb2.OperatorCommand(**kw)

        def act(**kw: Any) -> operator_pb2.OperatorCommand:
            return cmd(action=operator_pb2.ChatAction(conversation_id=conv, **kw))

        cases: list[tuple[Operator, Any, str]] = [
            (ana, cmd(status=operator_pb2.SetStatus(status="sleeping")), "invalid_argument"),
            (ana, cmd(answer=operator_pb2.OfferAnswer(conversation_id=conv)), "no_offer"),
            (
                ana,
                cmd(pick=operator_pb2.PickConversation(conversation_id="../x")),
                "unknown_conversation",
            ),
            (ana, cmd(action=operator_pb2.ChatAction(conversation_id=conv)), "unknown_command"),
            (ana, act(chat_status=""), "invalid_argument"),
            (ana, act(transfer_to_department_id="dnothere00"), "unknown_department"),
            (ana, act(join=operator_pb2.JoinChat()), "already_in_chat"),
            (ana, act(join=operator_pb2.JoinChat(invisible=True)), "permission_denied"),
            (tess, act(join=operator_pb2.JoinChat(invisible=True)), "permission_denied"),
            (tess, act(invite_operator_id=ana.id), "permission_denied"),
            (
                tess,
                cmd(pick=operator_pb2.PickConversation(conversation_id=conv)),
                "permission_denied",
            ),
            (
                tess,
                cmd(
                    whisper=operator_pb2.OperatorSend(
                        conversation_id=conv, client_msg_id="w", text="hi"
                    )
                ),
                "unknown_conversation",  # out of a trainee's sight: as a made-up id
            ),
            (
                ana,
                cmd(
                    whisper=operator_pb2.OperatorSend(
                        conversation_id=conv, client_msg_id="w", text="z" * 4001
                    )
                ),
                "message_too_long",
            ),
            (
                ana,
                cmd(
                    direct=operator_pb2.DirectSend(
                        to_operator_id=tess.id, client_msg_id="", text="hi"
                    )
                ),
                "bad_client_msg_id",
            ),
            (
                ana,
                cmd(
                    direct=operator_pb2.DirectSend(
                        to_operator_id=tess.id, client_msg_id="d", text="z" * 4001
                    )
                ),
                "message_too_long",
            ),
        ]
        for op, command, code in cases:
            op.send_commands(command)
            got = await op.recv("error")
            assert got.code == code, (command, got)
        # After all that, Ana's chat goes on.
        ana.say(conv, "ok", "Still here")
        assert (await ana.recv("ack")).conversation_id == conv
