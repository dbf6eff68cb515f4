"""The visitor channel for embedding services, health and reflection."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from engine.runtime import FakeClock
from parley.v1 import control_pb2, visitor_pb2, visitor_pb2_grpc
from tests.integration.helpers import demo_operator, owner, running
from tests.integration.test_routing import advance, dropped


async def visitor_stream(app: Any, token: str) -> tuple[Any, asyncio.Queue[Any]]:
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{app.grpc_port}")
    stub = visitor_pb2_grpc.VisitorChannelStub(channel)
    outbox: asyncio.Queue[Any] = asyncio.Queue()

    async def commands() -> Any:
        while (item := await outbox.get()) is not None:
            yield visitor_pb2.VisitorCommandBatch(commands=[item])

    call = stub.Connect(commands(), metadata=[("authorization", f"Bearer {token}")])
    return call, outbox


async def next_event(call: Any, kind: str) -> Any:
    async with asyncio.timeout(5):
        while True:
            batch = await call.read()
            for event in batch.events:
                if event.WhichOneof("event") == kind:
                    return getattr(event, kind)


async def test_visitor_channel_chats_like_the_websocket(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        assert app.demo is not None
        boss = await owner(app)
        op = await demo_operator(app)
        await op.open()
        call, outbox = await visitor_stream(app, boss.token)
        outbox.put_nowait(
            visitor_pb2.VisitorCommand(
                send=visitor_pb2.VisitorSend(client_msg_id="early", text="before hello")
            )
        )
        assert (await next_event(call, "error")).code == "no_hello"
        outbox.put_nowait(
            visitor_pb2.VisitorCommand(hello=visitor_pb2.VisitorHello(site_id="snosuchsit"))
        )
        assert (await next_event(call, "error")).code == "unknown_site"
        outbox.put_nowait(
            visitor_pb2.VisitorCommand(
                hello=visitor_pb2.VisitorHello(site_id=app.demo["site"], name="App user")
            )
        )
        welcome = await next_event(call, "welcome")
        assert welcome.token
        outbox.put_nowait(
            visitor_pb2.VisitorCommand(
                send=visitor_pb2.VisitorSend(client_msg_id="m1", text="from the mobile app")
            )
        )
        assert (await next_event(call, "ack")).seq == 1
        message = await op.recv("message")
        assert message.text == "from the mobile app"
        outbox.put_nowait(None)
        call.cancel()
        await op.close()
        await boss.close()


async def test_visitor_channel_routes_like_the_websocket(tmp_path: Path) -> None:
    """Departments in the welcome and live, choose, the offline form."""
    async with running(tmp_path) as app:
        assert app.demo is not None
        boss = await owner(app)
        sales = await boss.api.departments.CreateDepartment(
            control_pb2.CreateDepartmentRequest(
                department=control_pb2.Department(site_id=app.demo["site"], name="Sales")
            ),
            metadata=boss.metadata,
        )
        call, outbox = await visitor_stream(app, boss.token)
        outbox.put_nowait(
            visitor_pb2.VisitorCommand(
                hello=visitor_pb2.VisitorHello(
                    site_id=app.demo["site"], page_url="https://shop.test/", language="en-US"
                )
            )
        )
        welcome = await next_event(call, "welcome")
        names = {d.name: d.online for d in welcome.departments.departments}
        assert names == {"Sales": False, "Support": False}
        assert welcome.departments.chosen_department_id == ""  # two: the visitor chooses
        outbox.put_nowait(
            visitor_pb2.VisitorCommand(send=visitor_pb2.VisitorSend(client_msg_id="a", text="hi"))
        )
        assert (await next_event(call, "error")).code == "department_required"
        outbox.put_nowait(
            visitor_pb2.VisitorCommand(choose=visitor_pb2.VisitorChoose(department_id=sales.id))
        )
        chosen = await next_event(call, "departments")
        assert chosen.chosen_department_id == sales.id and chosen.offline
        outbox.put_nowait(
            visitor_pb2.VisitorCommand(send=visitor_pb2.VisitorSend(client_msg_id="b", text="hi"))
        )
        assert (await next_event(call, "error")).code == "offline"
        outbox.put_nowait(
            visitor_pb2.VisitorCommand(
                ticket=visitor_pb2.VisitorTicket(email="app@user.test", text="call me")
            )
        )
        saved = await next_event(call, "ticket")
        tickets = await boss.api.tickets.ListTickets(
            control_pb2.ListTicketsRequest(site_id=app.demo["site"]), metadata=boss.metadata
        )
        assert [(t.id, t.department_id, t.language) for t in tickets.tickets] == [
            (saved.ticket_id, sales.id, "en")
        ]
        # The demo operator (Support) comes online: the visitor hears it.
        op = await demo_operator(app)
        await op.open()
        live = await next_event(call, "departments")
        assert {d.name: d.online for d in live.departments} == {"Sales": False, "Support": True}
        outbox.put_nowait(None)
        call.cancel()
        await op.close()
        await boss.close()


async def test_visitor_channel_needs_a_service_role(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        op = await demo_operator(app)  # role operator: not allowed
        call, outbox = await visitor_stream(app, op.token)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await call.read()
        assert info.value.code() is grpc.StatusCode.PERMISSION_DENIED
        outbox.put_nowait(None)
        await op.close()


# The control plane's services, as control.proto names them.
CONTROL_PLANE = [
    "Auth",
    "Sites",
    "Departments",
    "Regions",
    "Groups",
    "LinkRules",
    "Operators",
    "Roles",
    "Templates",
    "Blocks",
    "Tickets",
    "Conversations",
    "DirectMessages",
    "Reports",
    "Accounts",
    "Server",
]


async def test_health_and_reflection(tmp_path: Path) -> None:
    async with (
        running(tmp_path) as app,
        grpc.aio.insecure_channel(f"127.0.0.1:{app.grpc_port}") as channel,
    ):
        health = health_pb2_grpc.HealthStub(channel)
        reply = await health.Check(
            health_pb2.HealthCheckRequest(service="parley.v1.OperatorSession")
        )
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)

        async def ask() -> Any:
            yield reflection_pb2.ServerReflectionRequest(list_services="")

        async for answer in stub.ServerReflectionInfo(ask()):
            names = {s.name for s in answer.list_services_response.service}
            break
        assert {
            *(f"parley.v1.{name}" for name in CONTROL_PLANE),
            "parley.v1.OperatorSession",
            "parley.v1.VisitorChannel",
            "grpc.health.v1.Health",
        } <= names


async def test_operator_list_shows_who_is_online(tmp_path: Path) -> None:
    # A dropped session counts as offline only after the grace period.
    clock = FakeClock()
    async with running(tmp_path, clock=clock, grace_seconds=30) as app:
        assert app.demo is not None
        boss = await owner(app)
        op = await demo_operator(app)

        async def online() -> bool:
            reply = await boss.api.operators.ListOperators(
                control_pb2.ListOperatorsRequest(), metadata=boss.metadata
            )
            return next(o.online for o in reply.operators if o.id == app.demo["operator"])

        assert not await online()
        await op.open()
        assert await online()
        await op.close()
        await dropped(app, app.demo["operator"])
        await advance(app, clock, 29)
        assert await online()  # within the grace period
        await advance(app, clock, 2)
        assert not await online()
        await boss.close()
