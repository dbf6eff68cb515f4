"""Statistics, the blacklist, usage and one's own auto-accept, on the real server."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from engine.runtime import FakeClock
from parley.v1 import control_pb2
from tests.integration.helpers import Visitor, owner, running, visitor_url
from tests.integration.test_routing import advance, chat_up, staff


async def test_live_statistics_per_department(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        assert app.demo is not None
        boss = await owner(app)
        ana = await staff(app, boss, "Ana", max_chats=1)
        await staff(app, boss, "Cy", max_chats=1, online=False)
        v, conv = await chat_up(app)
        await ana.recv("assigned")
        ana.say(conv, "a", "Hello!")
        await v.recv("msg")
        await chat_up(app)  # waits: Ana is full
        stats = await boss.api.reports.GetStatistics(
            control_pb2.GetStatisticsRequest(site_id=app.demo["site"]), metadata=boss.metadata
        )
        (support,) = stats.departments
        assert (support.waiting, support.active, support.operators_online) == (1, 1, 1)
        assert support.first_response_ms > 0
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await ana.api.reports.GetStatistics(
                control_pb2.GetStatisticsRequest(site_id=app.demo["site"]), metadata=ana.metadata
            )
        assert refused.value.code() is grpc.StatusCode.PERMISSION_DENIED


async def test_the_blacklist_keeps_addresses_and_visitors_out(tmp_path: Path) -> None:
    clock = FakeClock()
    async with running(tmp_path, clock=clock) as app:
        assert app.demo is not None
        boss = await owner(app)
        md, site = boss.metadata, app.demo["site"]
        await staff(app, boss, "Ana")
        v, _conv = await chat_up(app)
        visitor_id = v.welcome["visitor"]
        block = await boss.api.blocks.CreateBlock(
            control_pb2.CreateBlockRequest(
                block=control_pb2.Block(
                    site_id=site, kind="visitor", value=visitor_id, reason="abuse"
                )
            ),
            metadata=md,
        )
        again = await Visitor(visitor_url(app)).connect()
        again.send({"type": "hello", "v": 1, "token": v.welcome["token"]})
        assert (await again.recv("error"))["code"] == "blocked"
        # A network block, for a minute: then it lapses.
        await boss.api.blocks.CreateBlock(
            control_pb2.CreateBlockRequest(
                block=control_pb2.Block(site_id=site, kind="ip", value="127.0.0.0/8"),
                expires_in_seconds=60,
            ),
            metadata=md,
        )
        anyone = await Visitor(visitor_url(app)).connect()
        anyone.send({"type": "hello", "v": 1})
        assert (await anyone.recv("error"))["code"] == "blocked"
        await advance(app, clock, 61)
        later = await Visitor(visitor_url(app)).connect()
        assert (await later.hello())["visitor"]
        blocks = await boss.api.blocks.ListBlocks(
            control_pb2.ListBlocksRequest(site_id=site), metadata=md
        )
        # Both, the lapsed one too (created in the same millisecond: in either order).
        assert sorted(b.kind for b in blocks.blocks) == ["ip", "visitor"]
        await boss.api.blocks.DeleteBlock(
            control_pb2.DeleteBlockRequest(block_id=block.id), metadata=md
        )
        back = await Visitor(visitor_url(app)).connect()
        assert (await back.hello(token=v.welcome["token"]))["visitor"] == visitor_id
        for bad in (
            control_pb2.Block(site_id=site, kind="ip", value="999.1.1.1"),
            control_pb2.Block(site_id=site, kind="ip", value="0.0.0.0/0"),
            control_pb2.Block(site_id=site, kind="visitor", value="nope"),
            control_pb2.Block(site_id=site),
            control_pb2.Block(site_id="snosuchsit", kind="ip", value="10.0.0.1"),
        ):
            request = control_pb2.CreateBlockRequest(block=bad)
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await boss.api.blocks.CreateBlock(request, metadata=md)
            assert refused.value.code() in (
                grpc.StatusCode.INVALID_ARGUMENT,
                grpc.StatusCode.NOT_FOUND,
            ), request


async def test_usage_and_own_auto_accept(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        boss = await owner(app)
        ana = await staff(app, boss, "Ana")
        _v, _conv = await chat_up(app)
        usage = await boss.api.reports.GetUsage(
            control_pb2.GetUsageRequest(), metadata=boss.metadata
        )
        assert (usage.sites, usage.departments, usage.conversations) == (1, 1, 1)
        assert usage.operators >= 3 and usage.messages >= 1 and usage.store_bytes > 0
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await ana.api.reports.GetUsage(control_pb2.GetUsageRequest(), metadata=ana.metadata)
        assert refused.value.code() is grpc.StatusCode.PERMISSION_DENIED
        me = await ana.auth.UpdateMe(
            control_pb2.UpdateMeRequest(
                operator=control_pb2.Operator(auto_accept=False),
                update_mask=FieldMask(paths=["auto_accept"]),
            ),
            metadata=ana.metadata,
        )
        assert not me.auto_accept
        _v2, conv2 = await chat_up(app)
        assert (await ana.recv("offered")).conversation_id == conv2
