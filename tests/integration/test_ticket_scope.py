"""Tickets follow the chats' visibility, through the real server: an operator
sees the offline requests of its own departments (or all, with the permission
to see all chats); one of another site's department sees none of this site's."""

from __future__ import annotations

from pathlib import Path

from parley.v1 import control_pb2
from tests.integration.helpers import Operator, Visitor, demo_operator, owner, running, visitor_url


async def tickets(op: Operator, site: str) -> list[str]:
    reply = await op.control.ListTickets(
        control_pb2.ListTicketsRequest(site_id=site), metadata=op.metadata
    )
    return [t.email for t in reply.tickets]


async def test_an_operator_of_another_sites_department_sees_no_tickets(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        assert app.demo is not None
        boss = await owner(app)
        other = await boss.control.CreateSite(
            control_pb2.CreateSiteRequest(name="other", allowed_origins=["https://other.test"]),
            metadata=boss.metadata,
        )
        desk = await boss.control.CreateDepartment(
            control_pb2.CreateDepartmentRequest(site_id=other.id, name="Desk"),
            metadata=boss.metadata,
        )
        await boss.control.AddOperator(
            control_pb2.AddOperatorRequest(
                email="olga@other.test",
                password="a long password",
                display_name="Olga",
                department_ids=[desk.id],
            ),
            metadata=boss.metadata,
        )
        # Nobody is online: a visitor of the demo site leaves a request.
        v = await Visitor(visitor_url(app)).connect()
        await v.hello(name="Ola")
        v.send({"type": "ticket", "name": "Ola", "email": "ola@x.test", "text": "Call me"})
        await v.recv("ticket_saved")
        await v.close()

        site = app.demo["site"]
        olga = await Operator(app).login("olga@other.test", "a long password")
        assert await tickets(olga, site) == []  # not her department's
        assert await tickets(await demo_operator(app), site) == ["ola@x.test"]  # his
        assert await tickets(boss, site) == ["ola@x.test"]  # sees all chats
