"""Bad input on the real servers: a clear error, and everyone else carries on."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import pytest
from picows import WSError

from engine.chat import ids
from engine.persistence.codec import encode
from parley.v1 import common_pb2, control_pb2, operator_pb2
from tests.integration.helpers import (
    Operator,
    Visitor,
    demo_operator,
    on_duty,
    owner,
    running,
    settled,
    visitor_url,
)


async def test_bad_frames_get_error_frames_and_the_chat_goes_on(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        await on_duty(app)
        bystander = await Visitor(visitor_url(app)).connect()
        await bystander.hello()
        v = await Visitor(visitor_url(app)).connect()

        v.send({"type": "msg", "cid": "early", "text": "before hello"})
        err = await v.recv("error")
        assert err["code"] == "no_hello" and err["cid"] == "early"

        cases = [
            (b"{not json", "bad_json"),
            (b'{"type": "teleport"}', "unknown_type"),
            (b"[1, 2]", "bad_frame"),
            (b'{"type": "msg", "cid": 5, "text": "x"}', "bad_frame"),
            (b'{"type": "msg", "cid": "a", "text": "\xff\xfe"}', "bad_utf8"),
            (b'{"type": "hello", "v": 9}', "bad_version"),
            (b'{"type": "msg", "cid": "big", "text": "' + b"x" * 20_000 + b'"}', "too_large"),
        ]
        for raw, code in cases:
            v.send_raw(raw)
            assert (await v.recv("error"))["code"] == code, raw[:40]
        v.send_raw(b'{"type":"ping"}', binary=True)
        assert (await v.recv("error"))["code"] == "binary_frame"

        # After all that, the same connection and the bystander still chat.
        await v.hello()
        v.send({"type": "msg", "cid": "fine", "text": "hello"})
        assert (await v.recv("ack"))["seq"] == 1
        bystander.send({"type": "msg", "cid": "b", "text": "me too"})
        assert (await bystander.recv("ack"))["seq"] == 1


async def test_unknown_department_and_long_message(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        await on_duty(app)
        v = await Visitor(visitor_url(app)).connect()
        v.send({"type": "hello", "v": 1, "department": "dunknown00"})
        err = await v.recv("error")
        assert err["code"] == "unknown_department"
        await v.hello()  # the connection is still usable
        v.send({"type": "msg", "cid": "l", "text": "y" * 5000})
        assert (await v.recv("error"))["code"] == "message_too_long"
        v.send({"type": "msg", "cid": "ok", "text": "fine"})
        assert (await v.recv("ack"))["seq"] == 1
        v.send({"type": "hello", "v": 1})
        assert (await v.recv("error"))["code"] == "already_hello"


async def test_frame_over_the_hard_limit_closes_with_1009(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        await on_duty(app)
        other = await Visitor(visitor_url(app)).connect()
        await other.hello()
        v = await Visitor(visitor_url(app)).connect()
        v.send_raw(b"x" * (70 * 1024))
        gone = await v.recv("_disconnected")
        assert gone["code"] in (1009, None)
        other.send({"type": "msg", "cid": "c", "text": "still here"})
        assert (await other.recv("ack"))["seq"] == 1


async def test_unknown_site_and_foreign_origin_are_refused_before_upgrade(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        with pytest.raises(WSError) as info:
            await Visitor(visitor_url(app, site="snosuchsit")).connect()
        assert "404" in str(info.value)
        with pytest.raises(WSError) as info:
            await Visitor(visitor_url(app)).connect(origin="http://evil.example")
        assert "403" in str(info.value)
        ok = await Visitor(visitor_url(app)).connect(origin=f"http://127.0.0.1:{app.http_port}")
        await ok.hello()


async def test_hello_deadline_closes_silent_connections(tmp_path: Path) -> None:
    async with running(tmp_path, hello_timeout=0.3) as app:
        v = await Visitor(visitor_url(app)).connect()
        assert (await v.recv("error"))["code"] == "hello_timeout"
        assert (await v.recv("_disconnected"))["code"] == 4408


async def test_rate_limit_refuses_floods(tmp_path: Path) -> None:
    async with running(tmp_path, visitor_rate=1.0, visitor_burst=5.0) as app:
        v = await Visitor(visitor_url(app)).connect()
        await v.hello()
        for _i in range(8):
            v.send({"type": "ping"})
        codes = [(await v.recv())["type"] for _ in range(8)]
        assert codes.count("pong") <= 5 and "error" in codes


async def test_wrong_password_and_bad_tokens(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        assert app.demo is not None
        op = Operator(app)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await op.login(app.demo["email"], "wrong password")
        assert info.value.code() is grpc.StatusCode.UNAUTHENTICATED
        assert "bad_credentials" in (info.value.details() or "")

        # Missing token.
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await op.api.sites.ListSites(control_pb2.ListSitesRequest())
        assert info.value.code() is grpc.StatusCode.UNAUTHENTICATED

        # Expired token.
        assert app.engine is not None
        token = ids.new_token()
        await app.engine.store.write_async(
            [
                (
                    "tokens",
                    ids.token_digest(token),
                    encode({"operator_id": app.demo["operator"], "expires_ms": 1}),
                )
            ]
        )
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await op.api.sites.ListSites(
                control_pb2.ListSitesRequest(), metadata=[("authorization", f"Bearer {token}")]
            )
        assert info.value.code() is grpc.StatusCode.UNAUTHENTICATED
        assert "token_expired" in (info.value.details() or "")

        # A session stream with no token is refused too.
        op.token = "garbage"
        await op.open(hello=False)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await op.recv()
        assert info.value.code() is grpc.StatusCode.UNAUTHENTICATED
        await op.close()


async def test_operator_role_cannot_administer(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        op = await demo_operator(app)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await op.api.sites.CreateSite(
                control_pb2.CreateSiteRequest(site=control_pb2.Site(name="x", typing_preview=True)),
                metadata=op.metadata,
            )
        assert info.value.code() is grpc.StatusCode.PERMISSION_DENIED
        boss = await owner(app)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await boss.api.sites.CreateSite(
                control_pb2.CreateSiteRequest(
                    site=control_pb2.Site(
                        name="bad", allowed_origins=["not a url"], typing_preview=True
                    )
                ),
                metadata=boss.metadata,
            )
        assert info.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await boss.api.departments.ListDepartments(
                control_pb2.ListDepartmentsRequest(site_id="snosuchsit"), metadata=boss.metadata
            )
        assert info.value.code() is grpc.StatusCode.NOT_FOUND
        await op.close()
        await boss.close()


async def test_operator_commands_before_hello_and_on_unknown_conversations(
    tmp_path: Path,
) -> None:
    async with running(tmp_path) as app:
        op = await demo_operator(app)
        await op.open(hello=False)
        op.say("sabcdefghi-abcdefghijkl", "c1", "hello?")
        err = await op.recv("error")
        assert err.code == "no_hello"
        op.send_commands(
            operator_pb2.OperatorCommand(
                hello=operator_pb2.OperatorHello(
                    resume=[common_pb2.ResumePoint(conversation_id="../etc", after_seq=1)]
                )
            )
        )
        assert (await op.recv("error")).code == "invalid_argument"
        op.send_commands(operator_pb2.OperatorCommand(hello=operator_pb2.OperatorHello()))
        await op.recv("ready")
        op.say("sabcdefghi-abcdefghijkl", "c2", "anyone?")
        assert (await op.recv("error")).code == "unknown_conversation"
        op.say("nonsense", "c3", "anyone?")
        assert (await op.recv("error")).code == "unknown_conversation"
        op.say("sabcdefghi-abcdefghijkl", "", "no id")
        assert (await op.recv("error")).code == "bad_client_msg_id"
        await op.close()


async def test_operator_cannot_write_into_someone_elses_chat(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        assert app.demo is not None
        boss = await owner(app)
        await boss.api.operators.CreateOperator(
            control_pb2.CreateOperatorRequest(
                operator=control_pb2.Operator(
                    email="eve@parley.local",
                    display_name="Eve",
                    department_ids=[app.demo["department"]],
                ),
                password="eve-password",
                max_chats=0,
            ),
            metadata=boss.metadata,
        )
        ana = await demo_operator(app)
        await ana.open()
        v = await Visitor(visitor_url(app)).connect()
        await v.hello()
        v.send({"type": "msg", "cid": "1", "text": "hi"})
        conv = (await ana.recv("assigned")).conversation_id
        eve = await Operator(app).login("eve@parley.local", "eve-password")
        await eve.open()
        eve.say(conv, "e1", "I am not in this chat")
        assert (await eve.recv("error")).code == "not_participant"
        await settled(app, eve, ana)
        assert not [e for kind, e in eve.received() if kind == "message"]
        assert "I am not in this chat" not in [e.text for k, e in ana.received() if k == "message"]
        await asyncio.gather(ana.close(), eve.close(), boss.close())


async def test_login_brute_force_is_throttled_over_grpc(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        assert app.demo is not None
        op = Operator(app)
        codes = []
        for _ in range(6):
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await op.login(app.demo["email"], "not the password")
            codes.append(info.value.code())
        assert codes[:5] == [grpc.StatusCode.UNAUTHENTICATED] * 5
        assert codes[5] is grpc.StatusCode.UNAVAILABLE
        assert "throttled" in (info.value.details() or "")
        assert "not the password" not in (info.value.details() or "")
        await op.close()


async def test_connections_per_address_are_limited(tmp_path: Path) -> None:
    async with running(tmp_path, max_per_ip=2) as app:
        first = await Visitor(visitor_url(app)).connect()
        second = await Visitor(visitor_url(app)).connect()
        third = await Visitor(visitor_url(app)).connect()
        assert (await third.recv("error"))["code"] == "too_many_connections"
        assert (await third.recv("_disconnected"))["code"] == 4429
        await first.hello()
        await first.close()
        async with asyncio.timeout(5):
            while app.edge is not None and len(app.edge.connections) > 1:
                await asyncio.sleep(0.01)
        fourth = await Visitor(visitor_url(app)).connect()  # a slot came free
        await fourth.hello()
        await second.hello()
        await asyncio.gather(second.close(), fourth.close())
        async with asyncio.timeout(5):
            while app.edge is not None and app.edge.per_ip:
                await asyncio.sleep(0.01)


async def test_frames_are_limited_per_address_across_connections(tmp_path: Path) -> None:
    async with running(tmp_path, ip_rate=1.0, ip_burst=6.0) as app:
        a = await Visitor(visitor_url(app)).connect()
        b = await Visitor(visitor_url(app)).connect()
        for _ in range(4):
            a.send({"type": "ping"})
            b.send({"type": "ping"})
        answers = [(await a.recv())["type"] for _ in range(4)]
        answers += [(await b.recv())["type"] for _ in range(4)]
        # Each connection alone is under its own limit; together they are not.
        assert answers.count("pong") == 6 and answers.count("error") == 2
