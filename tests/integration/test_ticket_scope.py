"""Tickets follow the chats' visibility, through the real server: an operator
sees the offline requests of its own departments (or all, with the permission
to see all chats); one of another site's department sees none of this site's."""

from __future__ import annotations

from pathlib import Path

from parley.v1 import control_pb2
from tests.integration.helpers import Operator, Visitor, demo_operator, owner, running, visitor_url


async def tickets(op: Operator, site: str) -> list[str]:
    reply = await op.api.tickets.ListTickets(
        control_pb2.ListTicketsRequest(site_id=site), metadata=op.metadata
    )
    return [t.email for t in reply.tickets]


async def test_an_operator_of_another_sites_department_sees_no_tickets(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        assert app.demo is not None
        boss = await owner(app)
        other = await boss.api.sites.CreateSite(
            control_pb2.CreateSiteRequest(
                site=control_pb2.Site(
                    name="other", allowed_origins=["https://other.test"], typing_preview=True
                )
            ),
            metadata=boss.metadata,
        )
        desk = await boss.api.departments.CreateDepartment(
            control_pb2.CreateDepartmentRequest(
                department=control_pb2.Department(site_id=other.id, name="Desk")
            ),
            metadata=boss.metadata,
        )
        await boss.api.operators.CreateOperator(
            control_pb2.CreateOperatorRequest(
                operator=control_pb2.Operator(
                    email="olga@other.test", display_name="Olga", department_ids=[desk.id]
                ),
                password="a long password",
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
