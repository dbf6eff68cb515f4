"""Retention per site through the real server on a fake clock: bounds of the
settings, then a sweep deletes closed chats past their days (from the store's
file and the history index) and truncates old visitors' addresses, keeping
what is younger."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
from google.protobuf.field_mask_pb2 import FieldMask

from engine.persistence.codec import decode
from engine.persistence.schema import SNAPSHOTS
from engine.retention import DAY_MS, SWEEP_SECONDS, truncate_address
from engine.runtime.clock import FakeClock
from parley.v1 import control_pb2 as pb
from tests.integration.helpers import on_duty, owner, running
from tests.integration.test_privacy import chat, files_holding, refusal, settled_and_indexed


def test_addresses_are_cut_to_their_network() -> None:
    assert truncate_address("203.0.113.7") == "203.0.0.0"
    assert truncate_address("2001:db8:aa:1::5") == "2001:db8::"
    assert truncate_address("not an address") == ""


async def test_retention_bounds_then_a_sweep_deletes_and_truncates(tmp_path: Path) -> None:
    clock = FakeClock()
    async with running(tmp_path, clock=clock, history=True) as app:
        boss = await owner(app)
        meta = boss.metadata
        site = app.demo["site"]

        def update(**fields: int) -> object:
            return boss.api.sites.UpdateSite(
                pb.UpdateSiteRequest(
                    site=pb.Site(id=site, **fields), update_mask=FieldMask(paths=list(fields))
                ),
                metadata=meta,
            )

        for days in (0, 100_000, -1):
            assert await refusal(update(transcript_retention_days=days)) == (  # type: ignore[arg-type]
                grpc.StatusCode.INVALID_ARGUMENT,
                "INVALID_RETENTION",
            )
        got = await update(transcript_retention_days=30, address_retention_days=7)  # type: ignore[misc]
        assert (got.transcript_retention_days, got.address_retention_days) == (30, 7)

        op = await on_duty(app)
        old_visitor, old = await chat(app, op, "ancient wombat91", "old@shop.example")
        await settled_and_indexed(app)
        # 31 days on: the sweep (hourly on the engine's clock) finds it past its time.
        app.engine.retention.done.clear()
        clock.advance(31 * DAY_MS / 1000 + SWEEP_SECONDS)
        await asyncio.wait_for(app.engine.retention.done.wait(), 10)
        await op.close()
        op = await on_duty(app)  # a fresh session, a month on
        _new_visitor, new = await chat(app, op, "young wombat12", "new@shop.example")
        await settled_and_indexed(app)
        app.engine.system.passivate_all()  # visitors' actors out of memory
        await app.engine.settle()
        app.engine.retention.done.clear()
        clock.advance(SWEEP_SECONDS)
        await asyncio.wait_for(app.engine.retention.done.wait(), 10)
        await settled_and_indexed(app)

        assert app.engine.conversation_doc(old) is None
        assert app.engine.conversation_doc(new) is not None
        data = app.config.data_dir
        assert app.engine.store.compaction_pending
        raw = SNAPSHOTS.get(app.engine.store, "visitor", old_visitor)
        assert raw is not None
        ip = decode(raw)["info"]["ip"]
        assert ip == "127.0.0.0"  # 127.0.0.1, past 7 days
        boss = await owner(app)  # its token expired meanwhile
        meta = boss.metadata
        events = await boss.api.audit.ListAuditEvents(
            pb.ListAuditEventsRequest(kind="retention.sweep"), metadata=meta
        )
        assert events.events and all(list(e.target_ids) == [site] for e in events.events)
        assert "transcripts" in [f for e in events.events for f in e.fields]

    # The swept text leaves the data file when the store next opens.
    async with running(tmp_path, history=True) as app:
        assert app.engine is not None and app.engine.store.compactions == 1
    assert files_holding(data, b"ancient wombat91") == []
    assert files_holding(data, b"young wombat12")
