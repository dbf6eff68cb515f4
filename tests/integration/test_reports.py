"""Reports over time through the real server on a fake clock: two chats in
Europe/Paris on the day its clocks go forward, figures worked out by hand, a
day's figures drilled down with ListConversations, the hours of the day; who may
read a report (view_statistics), another account's site, and bad input."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from engine.runtime import FakeClock
from parley.v1 import control_pb2 as pb
from parley.v1 import operator_pb2
from tests.integration.helpers import Visitor, owner, running
from tests.integration.test_history import indexed, reason_of
from tests.integration.test_routing import advance, chat_up, staff
from tests.integration.test_tenancy import account_b

START = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # 03:30 in Paris, just after the change


async def heard(v: Visitor, text: str) -> None:
    """The visitor has the operator's message (past the notices before it)."""
    while (await v.recv("msg")).get("text") != text:
        pass


def _close(conv: str) -> operator_pb2.OperatorCommand:
    return operator_pb2.OperatorCommand(close=operator_pb2.CloseConversation(conversation_id=conv))


async def test_a_day_of_chats_in_the_sites_timezone(tmp_path: Path) -> None:
    clock = FakeClock(wall_ms=int(START.timestamp() * 1000))
    async with running(tmp_path, clock=clock, history=True) as app:
        assert app.demo is not None
        site = app.demo["site"]
        boss = await owner(app)
        md = boss.metadata
        await boss.api.sites.UpdateSite(
            pb.UpdateSiteRequest(
                site=pb.Site(id=site, timezone="Europe/Paris"),
                update_mask=FieldMask(paths=["timezone"]),
            ),
            metadata=md,
        )
        ana = await staff(app, boss, "Ana", max_chats=1)
        v1, first = await chat_up(app)  # t = 0, Ana takes it at once
        await ana.recv("assigned")
        await advance(app, clock, 5)
        v2, second = await chat_up(app)  # t = 5, waits: Ana is full
        await advance(app, clock, 7)
        ana.say(first, "a", "Hello!")  # first response 12 s
        await heard(v1, "Hello!")
        await advance(app, clock, 30)
        ana.send_commands(_close(first))  # 42 s long; the second is Ana's now (37 s wait)
        await v1.recv("closed")
        await ana.recv("assigned")
        v1.send({"type": "rate", "score": 4, "comment": ""})
        await v1.recv("rated")
        await advance(app, clock, 3)
        ana.say(second, "b", "Sorry for the wait")  # first response 40 s
        await heard(v2, "Sorry for the wait")
        await advance(app, clock, 60)
        ana.send_commands(_close(second))  # 100 s long
        await v2.recv("closed")
        await indexed(app)

        request = pb.GetReportRequest(site_id=site, start_date="2026-03-28", end_date="2026-03-29")
        got = await boss.api.reports.GetReport(request, metadata=md)
        assert got.timezone == "Europe/Paris"
        saturday, sunday = got.rows
        assert (saturday.day, saturday.chats, sunday.day, sunday.chats) == (
            "2026-03-28",
            0,
            "2026-03-29",
            2,
        )
        assert sunday.end_time_ms - sunday.start_time_ms == 23 * 3600 * 1000
        assert (sunday.answered, sunday.first_response_p50_ms, sunday.first_response_p90_ms) == (
            2,
            12_000,
            40_000,
        )
        assert (sunday.waited, sunday.wait_p50_ms, sunday.wait_p90_ms) == (2, 0, 37_000)
        assert (sunday.duration_average_ms, sunday.duration_p50_ms, sunday.duration_p90_ms) == (
            71_000,
            42_000,
            100_000,
        )
        assert (sunday.ratings, sunday.rating_average, sunday.missed) == (1, 4.0, 0)
        assert got.total.chats == 2

        # The day's figures are its chats: the same site, bounds and status.
        listed = await boss.api.conversations.ListConversations(
            pb.ListConversationsRequest(
                filter=pb.ConversationFilter(
                    site_id=site,
                    start_time_ms=sunday.start_time_ms,
                    end_time_ms=sunday.end_time_ms,
                    statuses=["closed"],
                )
            ),
            metadata=md,
        )
        assert {c.id for c in listed.conversations} == {first, second}

        mine = await boss.api.reports.GetReport(
            pb.GetReportRequest(site_id=site, operator_id=ana.id, start_date="2026-03-29"),
            metadata=md,
        )
        assert [r.chats for r in mine.rows] == [2]
        hours = await boss.api.reports.GetReport(
            pb.GetReportRequest(site_id=site, start_date="2026-03-29", group_by="hour"),
            metadata=md,
        )
        assert {r.hour: r.chats for r in hours.rows if r.chats} == {3: 2}

        # Ana (role operator) has no view_statistics.
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await ana.api.reports.GetReport(request, metadata=ana.metadata)
        assert refused.value.code() is grpc.StatusCode.PERMISSION_DENIED


async def test_bad_reports_are_refused_with_reasons(tmp_path: Path) -> None:
    async with running(tmp_path, history=True) as app:
        assert app.demo is not None and app.engine is not None
        site = app.demo["site"]
        boss = await owner(app)
        md = boss.metadata
        other_id, _password = await account_b(app)
        b_site = await app.engine.directory.create_site(other_id, "B shop", [])
        get = boss.api.reports.GetReport
        for request, want in (
            (pb.GetReportRequest(site_id=b_site.id), (grpc.StatusCode.NOT_FOUND, "UNKNOWN_SITE")),
            (
                pb.GetReportRequest(site_id=site, department_id="nope"),
                (grpc.StatusCode.NOT_FOUND, "UNKNOWN_DEPARTMENT"),
            ),
            (
                pb.GetReportRequest(site_id=site, operator_id="nope"),
                (grpc.StatusCode.NOT_FOUND, "UNKNOWN_OPERATOR"),
            ),
            (
                pb.GetReportRequest(site_id=site, start_date="2026-03-29", end_date="2026-03-28"),
                (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_TIME_RANGE"),
            ),
            (
                pb.GetReportRequest(site_id=site, start_date="2025-01-01", end_date="2026-01-02"),
                (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_TIME_RANGE"),
            ),
            (
                pb.GetReportRequest(site_id=site, start_date="29/03/2026"),
                (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_DATE"),
            ),
            (
                pb.GetReportRequest(site_id=site, group_by="week"),
                (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_GROUP_BY"),
            ),
        ):
            assert await reason_of(get(request, metadata=md)) == want, request
        year = await get(
            pb.GetReportRequest(site_id=site, start_date="2025-01-01", end_date="2026-01-01"),
            metadata=md,
        )
        assert len(year.rows) == 366 and year.total.chats == 0
