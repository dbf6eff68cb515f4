"""Typing indicators both ways; the visitor's draft only for operators whose role
has typing_preview, and never on a site that switched it off (PRODUCT.md C2, E4)."""

from __future__ import annotations

from pathlib import Path

import pytest

from parley.v1 import common_pb2, control_pb2, operator_pb2
from tests.integration.helpers import Operator, Visitor, demo_operator, owner, running, visitor_url


def typing_command(conv: str, active: bool) -> operator_pb2.OperatorCommand:
    return operator_pb2.OperatorCommand(
        typing=operator_pb2.OperatorTyping(conversation_id=conv, active=active)
    )


async def chat_with(app: object, op: Operator, site: str | None = None) -> tuple[Visitor, str]:
    v = await Visitor(visitor_url(app, site=site)).connect()  # type: ignore[arg-type]
    await v.hello()
    v.send({"type": "msg", "cid": "1", "text": "hi"})
    conv = (await v.recv("ack"))["conversation"]
    await op.recv("assigned")
    return v, conv


async def test_typing_both_ways_without_preview_for_plain_operators(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        op = await demo_operator(app)
        await op.open()
        v = await Visitor(visitor_url(app)).connect()
        v.send({"type": "typing", "active": True})
        assert (await v.recv("error"))["code"] == "no_hello"
        await v.hello()
        v.send({"type": "typing", "active": "yes"})
        assert (await v.recv("error"))["code"] == "bad_frame"
        v.send({"type": "typing", "active": True, "text": "x" * 5000})
        assert (await v.recv("error"))["code"] == "bad_frame"
        v.send({"type": "msg", "cid": "1", "text": "hi"})
        conv = (await v.recv("ack"))["conversation"]
        await op.recv("assigned")

        v.send({"type": "typing", "active": True, "text": "my order num"})
        notice = await op.recv("typing")
        assert notice.conversation_id == conv and notice.active
        assert notice.author_kind == common_pb2.AUTHOR_KIND_VISITOR
        assert notice.preview == ""  # the operator role may not peek

        op.send_commands(typing_command(conv, True))
        seen = await v.recv("typing")
        assert seen == {
            "type": "typing",
            "conversation": conv,
            "from": "operator",
            "name": "Demo operator",
            "active": True,
        }
        op.send_commands(typing_command("snosuchsit-aaaaaaaaaaaa", True))
        assert (await op.recv("error")).code == "unknown_conversation"
        await v.close()
        await op.close()


@pytest.mark.parametrize("site_allows", [True, False])
async def test_preview_needs_the_permission_and_the_site(tmp_path: Path, site_allows: bool) -> None:
    async with running(tmp_path) as app:
        boss = await owner(app)
        md = boss.metadata
        site = await boss.api.sites.CreateSite(
            control_pb2.CreateSiteRequest(
                site=control_pb2.Site(name="Peek shop", typing_preview=site_allows)
            ),
            metadata=md,
        )
        assert site.typing_preview is site_allows
        dept = await boss.api.departments.CreateDepartment(
            control_pb2.CreateDepartmentRequest(
                department=control_pb2.Department(site_id=site.id, name="Sales")
            ),
            metadata=md,
        )
        await boss.api.roles.CreateRole(
            control_pb2.CreateRoleRequest(
                role=control_pb2.Role(name="peeker", permissions=["chat", "typing_preview"])
            ),
            metadata=md,
        )
        await boss.api.operators.CreateOperator(
            control_pb2.CreateOperatorRequest(
                operator=control_pb2.Operator(
                    email="pk@parley.local",
                    display_name="Pk",
                    role="peeker",
                    department_ids=[dept.id],
                ),
                password="peeker-pass",
            ),
            metadata=md,
        )
        pk = await Operator(app).login("pk@parley.local", "peeker-pass")
        await pk.open()
        v, conv = await chat_with(app, pk, site=site.id)
        v.send({"type": "typing", "active": True, "text": "my order num"})
        notice = await pk.recv("typing")
        assert notice.preview == ("my order num" if site_allows else "")
        v.send({"type": "typing", "active": False, "text": "leftover"})
        stopped = await pk.recv("typing")
        assert not stopped.active and stopped.preview == ""
        await v.close()
        await pk.close()
        await boss.close()
