"""The daily report by email on a fake clock, against a real SMTP server in the
test's loop: sent at the operator's local midnight (its own timezone, or its
site's), covering the day before as the rollups hold it, across Europe/Paris's
spring-forward day (23 hours); once a day, also across a restart after days
down (the latest day only); escaped; bad timezones and a server without the
history index refused with their codes."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from control.runner import Parley
from engine.runtime import FakeClock
from parley.v1 import control_pb2 as pb
from parley.v1 import operator_pb2
from tests.delivery.receivers import Inbox, parts, smtp_server
from tests.delivery.test_mail import FAST, drained, mail_to
from tests.integration.helpers import Operator, error_info, owner, running
from tests.integration.test_history import indexed
from tests.integration.test_routing import advance, chat_up, staff

# Saturday 2026-03-28, 22:40 in Paris (UTC+1); the clocks go forward that night.
START = datetime(2026, 3, 28, 21, 40, tzinfo=UTC)


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


async def me_update(op: Operator, **fields: Any) -> pb.Operator:
    topics = fields.pop("mail_notifications", None)
    given = pb.Operator(**fields)
    paths = list(fields)
    if topics is not None:
        given.mail_notifications.extend(topics)
        paths.append("mail_notifications")
    return await op.api.auth.UpdateMe(
        pb.UpdateMeRequest(operator=given, update_mask=FieldMask(paths=paths)),
        metadata=op.metadata,
    )


async def checked(app: Parley) -> None:
    """The daily check the last timer started has ended, and its mail is out."""
    assert app.engine is not None
    await asyncio.wait_for(app.engine.daily.checked.wait(), 15)
    await drained(app)


async def until(app: Parley, clock: FakeClock, moment: datetime, step: float = 600.0) -> None:
    """Move the clock to ``moment`` (no chat open meanwhile: big steps)."""
    await advance(app, clock, (ms(moment) - clock.wall_ms()) / 1000, step=step)
    await checked(app)


def figures(mail: Any, label: str) -> list[str]:
    """The figures of the report's row ``label`` (plain text part)."""
    text, _html = parts(mail)
    for line in text.splitlines():
        if line.startswith(label + "  "):
            return re.split(r"\s{2,}", line[len(label) :].strip())
    raise AssertionError(f"no row {label!r} in:\n{text}")


def reports_to(inbox: Inbox, address: str) -> list[Any]:
    return [m for m in inbox.raw if m["To"] == address and "Your day" in str(m["Subject"])]


async def relogin(app: Parley, op: Operator) -> Operator:
    fresh = await Operator(app).login("ana@routing.test", "a long password")
    fresh.id = op.id
    await fresh.open()
    return fresh


async def one_chat(app: Parley, clock: FakeClock, ana: Operator, seconds: float) -> str:
    """A chat Ana takes, answers after 5 s and closes after ``seconds``."""
    visitor, conv = await chat_up(app)
    await ana.recv("assigned")
    await advance(app, clock, 5, step=5)
    ana.say(conv, "a", "Hello!")
    while (await visitor.recv("msg")).get("text") != "Hello!":
        pass
    await advance(app, clock, seconds - 5, step=min(30, seconds - 5))
    ana.send_commands(
        operator_pb2.OperatorCommand(close=operator_pb2.CloseConversation(conversation_id=conv))
    )
    await visitor.recv("closed")
    await visitor.close()
    return conv


async def test_the_daily_report_at_local_midnight_across_a_dst_change(tmp_path: Path) -> None:
    inbox = Inbox()
    server, port = await smtp_server(inbox)
    clock = FakeClock(wall_ms=ms(START))
    try:
        async with running(tmp_path, clock=clock, delivery=FAST, history=True) as app:
            assert app.engine is not None and app.demo is not None
            boss = await owner(app)
            await mail_to(boss, port)
            # The site in New York; the owner in Paris, by its own timezone.
            await boss.api.sites.UpdateSite(
                pb.UpdateSiteRequest(
                    site=pb.Site(id=app.demo["site"], timezone="America/New_York"),
                    update_mask=FieldMask(paths=["timezone"]),
                ),
                metadata=boss.metadata,
            )
            await boss.api.departments.UpdateDepartment(
                pb.UpdateDepartmentRequest(
                    department=pb.Department(id=app.demo["department"], name="<b>Help</b> & Co"),
                    update_mask=FieldMask(paths=["name"]),
                ),
                metadata=boss.metadata,
            )
            me = await me_update(boss, timezone="Europe/Paris", mail_notifications=["daily"])
            assert me.timezone == "Europe/Paris" and list(me.mail_notifications) == ["daily"]
            ana = await staff(app, boss, "Ana", max_chats=2)
            ana_me = await me_update(ana, mail_notifications=["daily"])
            assert ana_me.timezone == ""  # none: its department's site's day (New York)
            await advance(app, clock, 61, step=61)  # the next check
            await checked(app)
            # Asked today: yesterday's report at once (nothing in it), one each.
            first = await inbox.wait_for(2)
            assert sorted(str(m["Subject"]) for m in first) == [
                "Your day in chats: 2026-03-27 at default",
                "Your day in chats: 2026-03-27 at default",
            ]

            # 22:41 Saturday in Paris: a chat of Saturday.
            await one_chat(app, clock, ana, 60)
            await indexed(app)
            await until(app, clock, datetime(2026, 3, 28, 22, 59, 59, tzinfo=UTC))
            assert len(reports_to(inbox, me.email)) == 1  # not midnight yet in Paris
            await until(app, clock, datetime(2026, 3, 28, 23, 0, 1, tzinfo=UTC), step=2)
            (saturday,) = await _new(inbox, me.email, 2)
            assert str(saturday["Subject"]) == "Your day in chats: 2026-03-28 at default"
            # Sent at Paris midnight (23:00 UTC): its Date says so.
            assert saturday["Date"] == "Sat, 28 Mar 2026 23:00:00 +0000"
            assert figures(saturday, "Your chats")[:3] == ["0", "0", "0"]  # the owner took none
            help_row = figures(saturday, "<b>Help</b> & Co")
            assert help_row[:3] == ["1", "0", "1"] and help_row[3] == "5 s"
            _text, html = parts(saturday)
            assert "&lt;b&gt;Help&lt;/b&gt; &amp; Co" in html and "<b>Help" not in html

            # Sunday in Paris is 23 hours long: a chat at 01:30 (UTC+1), the jump
            # at 02:00, a chat at 23:30 (UTC+2); Monday's midnight is 22:00 UTC.
            await until(app, clock, datetime(2026, 3, 29, 0, 30, tzinfo=UTC))
            await one_chat(app, clock, ana, 30)
            await until(app, clock, datetime(2026, 3, 29, 21, 30, tzinfo=UTC))
            ana = await relogin(app, ana)  # a session lasts 12 hours
            await one_chat(app, clock, ana, 90)
            await indexed(app)
            await until(app, clock, datetime(2026, 3, 29, 22, 0, 1, tzinfo=UTC), step=900)
            (sunday,) = await _new(inbox, me.email, 3)
            assert str(sunday["Subject"]) == "Your day in chats: 2026-03-29 at default"
            assert sunday["Date"] == "Sun, 29 Mar 2026 22:00:00 +0000"
            row = figures(sunday, "<b>Help</b> & Co")
            assert row[:3] == ["2", "0", "2"] and row[5] == "1 min 00 s"  # (30 + 90) / 2
            # Ana's day is New York's: her Saturday report came at its midnight
            # (04:00 UTC, EDT), with her own chat of that day in it.
            ana_reports = reports_to(inbox, ana_me.email)
            assert [str(m["Subject"]).split(": ")[1][:10] for m in ana_reports] == [
                "2026-03-27",
                "2026-03-28",
            ]
            assert ana_reports[1]["Date"] == "Sun, 29 Mar 2026 04:00:00 +0000"
            # 22:40 UTC Saturday is 18:40 in New York, and 00:30 UTC Sunday is
            # 20:30: both on her Saturday.
            assert figures(ana_reports[1], "Your chats")[:3] == ["2", "0", "2"]

            # Once a day: the rest of Monday brings nothing more.
            await until(app, clock, datetime(2026, 3, 30, 21, 59, tzinfo=UTC), step=1800)
            assert len(reports_to(inbox, me.email)) == 3

        # Down from Monday night to Thursday: back up, the latest day only (Wednesday).
        clock = FakeClock(wall_ms=ms(datetime(2026, 4, 2, 9, 0, tzinfo=UTC)))
        async with running(tmp_path, clock=clock, delivery=FAST, history=True) as app:
            await checked(app)
            (wednesday,) = await _new(inbox, me.email, 4)
            assert str(wednesday["Subject"]) == "Your day in chats: 2026-04-01 at default"
            await advance(app, clock, 3600, step=600)
            await checked(app)
            assert len(reports_to(inbox, me.email)) == 4
            assert len(inbox.raw) == len(inbox.by_id)  # nothing sent twice
    finally:
        server.close()
        await server.wait_closed()


async def _new(inbox: Inbox, address: str, total: int) -> list[Any]:
    """Wait until ``address`` has ``total`` reports; the ones past the first before."""
    try:
        async with asyncio.timeout(10):
            while len(reports_to(inbox, address)) < total:
                await inbox.wait_for(len(inbox.by_id) + 1)
    except TimeoutError:
        got = [(m["To"], str(m["Subject"]), m["Date"]) for m in inbox.raw]
        raise AssertionError(f"{total} reports to {address} expected; got {got}") from None
    return reports_to(inbox, address)[total - 1 :]


async def test_bad_timezones_and_no_history_are_refused(tmp_path: Path) -> None:
    async with running(tmp_path, history=True) as app:
        boss = await owner(app)
        for bad in ("Mars/Olympus", "Europe/Nowhere", "../etc/passwd", "x" * 100):
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await me_update(boss, timezone=bad)
            assert info.value.code() is grpc.StatusCode.INVALID_ARGUMENT
            assert error_info(info.value).reason == "INVALID_TIMEZONE"
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await me_update(boss, mail_notifications=["weekly"])
        assert info.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        unchanged = await boss.api.auth.GetMe(pb.GetMeRequest(), metadata=boss.metadata)
        assert unchanged.timezone == "" and list(unchanged.mail_notifications) == []
    async with running(tmp_path / "nohistory", history=False) as app:
        boss = await owner(app)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await me_update(boss, mail_notifications=["daily"])
        assert error_info(info.value).reason == "HISTORY_OFF"
        assert (await me_update(boss, mail_notifications=["missed"])).mail_notifications == [
            "missed"
        ]
