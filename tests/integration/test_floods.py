"""Floods on the real servers: malformed frames are rate limited like good ones."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
import orjson
import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from control.runner import Parley
from engine.chat.limits import Limits
from engine.runtime import FakeClock
from parley.v1 import control_pb2
from tests.control.test_cli import cli
from tests.integration.helpers import (
    Operator,
    Visitor,
    on_duty,
    owner,
    running,
    settled,
    visitor_url,
)


async def test_a_flood_of_malformed_frames_is_rate_limited(tmp_path: Path) -> None:
    """300 malformed frames at once: a few parse errors (the burst), then
    rate_limited, then the connection closed as a flood (4429) -- not 300
    bad_json answers, and not closed as a mere run of bad frames (4400)."""
    # A token every 100 s: no refill during the test, however slow the machine.
    async with running(tmp_path, visitor_rate=0.01, visitor_burst=5.0) as app:
        await on_duty(app)
        bystander = await Visitor(visitor_url(app)).connect()
        await bystander.hello()
        v = await Visitor(visitor_url(app)).connect()
        for _ in range(300):
            v.send_raw(b"{not json")
        codes: list[str] = []
        while True:
            frame = await v.recv()
            if frame["type"] == "_disconnected":
                break
            assert frame["type"] == "error"
            codes.append(frame["code"])
        assert frame["code"] == 4429
        assert codes.count("bad_json") == 5  # the burst
        assert codes.count("rate_limited") >= 40
        assert set(codes) == {"bad_json", "rate_limited"}
        # Another visitor of the same address, with its own bucket, still chats.
        bystander.send({"type": "msg", "cid": "b", "text": "still here"})
        assert (await bystander.recv("ack"))["seq"] == 1


async def answer(v: Visitor, cid: str = "") -> dict[str, Any]:
    """The server's answer to the visitor's msg ``cid`` (or, with no cid, to its
    ticket): its ack, ticket_saved or error; frames of other kinds stay queued."""
    skipped: list[dict[str, Any]] = []
    try:
        while True:
            frame = await v.recv()
            if frame["type"] in ("ack", "error") and frame.get("cid", "") == cid:
                return frame
            if frame["type"] == "ticket_saved" and not cid:
                return frame
            if frame["type"] == "_disconnected":
                raise ConnectionResetError(frame)
            skipped.append(frame)
    finally:
        v.backlog[:0] = skipped


async def said(v: Visitor, text: str) -> None:
    """Wait for a msg frame with ``text`` (notices before it are passed over)."""
    while (await v.recv("msg"))["text"] != text:
        pass


async def other_site(app: Parley) -> tuple[str, Operator]:
    """A second site of the account, with a department and an operator on duty."""
    boss = await owner(app)
    site = await boss.api.sites.CreateSite(
        control_pb2.CreateSiteRequest(
            site=control_pb2.Site(name="Other shop", typing_preview=True)
        ),
        metadata=boss.metadata,
    )
    dept = await boss.api.departments.CreateDepartment(
        control_pb2.CreateDepartmentRequest(
            department=control_pb2.Department(site_id=site.id, name="Sales")
        ),
        metadata=boss.metadata,
    )
    await boss.api.operators.CreateOperator(
        control_pb2.CreateOperatorRequest(
            operator=control_pb2.Operator(
                email="bo@other.test", display_name="Bo", department_ids=[dept.id], role="operator"
            ),
            password="a long password",
            max_chats=5,
        ),
        metadata=boss.metadata,
    )
    bo = await Operator(app).login("bo@other.test", "a long password")
    await bo.open()
    return site.id, bo


async def test_one_site_flooded_to_its_quota_leaves_the_others_chatting(tmp_path: Path) -> None:
    """Visitors of one site write until its small quota is spent: then its new
    messages and offline requests are refused with quota_exceeded (nothing of
    them stored), its operator can still answer, and a visitor of another site
    chats as if nothing happened."""
    quota = 40_000
    limits = Limits(site_quota_bytes=quota, visitor_messages_per_hour=0)
    async with running(tmp_path, limits=limits) as app:
        assert app.demo is not None and app.engine is not None
        store = app.engine.store
        flooded = app.demo["site"]
        op = await on_duty(app)
        other, bo = await other_site(app)

        acked = 0
        refusal: dict[str, Any] = {}
        conversation = ""
        for round_ in range(6):  # a new visitor every few messages, as an abuser would
            v = await Visitor(visitor_url(app)).connect()
            await v.hello()
            for i in range(4):
                cid = f"f{round_}-{i}"
                v.send({"type": "msg", "cid": cid, "text": "x" * 4000})
                frame = await answer(v, cid)
                if frame["type"] == "error":
                    refusal = frame
                    break
                acked += 1
                conversation = frame["conversation"]
            if refusal:
                break
            await v.close()
        assert refusal["code"] == "quota_exceeded" and not refusal["retryable"]
        assert 0 < acked * 4000 >= quota - 4000 and store.site_bytes(flooded) >= quota
        spent = store.site_bytes(flooded)

        # New visitors of the flooded site: no message, no offline request.
        late = await Visitor(visitor_url(app)).connect()
        await late.hello()
        late.send({"type": "msg", "cid": "l1", "text": "hello?"})
        assert (await answer(late, "l1"))["code"] == "quota_exceeded"
        late.send({"type": "ticket", "name": "Ann", "email": "ann@shop.test", "text": "call me"})
        assert (await answer(late))["code"] == "quota_exceeded"
        await settled(app, late)
        assert store.site_bytes(flooded) == spent  # nothing more was stored

        # Its operator can still answer the chat that is open.
        op.say(conversation, "r1", "We are looking into it.")
        await said(v, "We are looking into it.")

        # The other site goes on chatting, both ways.
        w = await Visitor(visitor_url(app, other)).connect()
        await w.hello()
        w.send({"type": "msg", "cid": "w1", "text": "Do you sell hats?"})
        assert (await answer(w, "w1"))["type"] == "ack"
        got = await bo.recv("message", timeout=10)
        while got.text != "Do you sell hats?":
            got = await bo.recv("message", timeout=10)
        bo.say(got.conversation_id, "b1", "Yes, many.")
        await said(w, "Yes, many.")
        w.send({"type": "ticket", "name": "Wu", "email": "wu@shop.test", "text": "and scarves?"})
        assert (await answer(w))["type"] == "ticket_saved"
        assert store.site_bytes(other) < quota


async def test_a_visitor_over_the_hourly_budget_is_told_when_to_retry(tmp_path: Path) -> None:
    """Three messages an hour: the fourth is refused rate_limited with the wait
    (20 minutes for the next one), others are not affected, and once the time
    has passed the same message goes through."""
    clock = FakeClock()
    limits = Limits(visitor_messages_per_hour=3)
    async with running(tmp_path, clock=clock, limits=limits) as app:
        await on_duty(app)
        v = await Visitor(visitor_url(app)).connect()
        await v.hello()
        for i in range(3):
            v.send({"type": "msg", "cid": f"m{i}", "text": "hi"})
            assert (await answer(v, f"m{i}"))["type"] == "ack"
        v.send({"type": "msg", "cid": "m3", "text": "one more"})
        refused = await answer(v, "m3")
        assert refused["code"] == "rate_limited" and refused["retryable"]
        assert "retry in 1200 s" in refused["message"], refused
        # Reconnecting with the same identity does not reset it.
        again = await Visitor(visitor_url(app)).connect()
        await again.hello(token=v.welcome["token"])
        again.send({"type": "msg", "cid": "m3", "text": "one more"})
        assert (await answer(again, "m3"))["code"] == "rate_limited"
        other = await Visitor(visitor_url(app)).connect()
        await other.hello()
        other.send({"type": "msg", "cid": "o1", "text": "me?"})
        assert (await answer(other, "o1"))["type"] == "ack"
        clock.advance(1200)
        again.send({"type": "msg", "cid": "m3", "text": "one more"})
        assert (await answer(again, "m3"))["type"] == "ack"


async def test_an_admin_sets_one_sites_quota(tmp_path: Path) -> None:
    """No server-wide quota; the owner gives the demo site 1 MiB from the CLI:
    visitors fill it and are refused quota_exceeded, the other site has no
    quota and goes on; the quota set back to 0 (the default: none) lets the
    site chat again. A quota out of range is refused and changes nothing."""
    limits = Limits(site_quota_bytes=0, visitor_messages_per_hour=0)
    async with running(tmp_path, limits=limits) as app:
        assert app.owner is not None and app.demo is not None and app.engine is not None
        flooded = app.demo["site"]
        await on_duty(app)
        other, bo = await other_site(app)
        login = ["login", "--email", app.owner["email"], "--password", app.owner["password"]]
        assert (await cli(app, tmp_path, *login)).exit_code == 0

        async def set_quota(megabytes: str) -> dict[str, Any]:
            r = await cli(app, tmp_path, "--json", "site", "quota", megabytes, "--site", flooded)
            assert r.exit_code == 0, r.output
            doc: dict[str, Any] = orjson.loads(r.output)
            return doc

        assert (await set_quota("1"))["quota_mb"] == 1
        boss = await owner(app)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await boss.api.sites.UpdateSite(
                control_pb2.UpdateSiteRequest(
                    site=control_pb2.Site(id=flooded, quota_mb=2**32 - 1),
                    update_mask=FieldMask(paths=["quota_mb"]),
                ),
                metadata=boss.metadata,
            )
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert app.engine.directory.sites[flooded].quota_mb == 1

        codes: list[str] = []
        for round_ in range(10):  # 40 messages of 4,000 characters per visitor
            v = await Visitor(visitor_url(app)).connect()
            await v.hello()
            cids = [f"f{round_}-{i}" for i in range(40)]
            for cid in cids:
                v.send({"type": "msg", "cid": cid, "text": "x" * 4000})
            for cid in cids:
                frame = await answer(v, cid)
                codes.append(frame.get("code", "ack"))
            if "quota_exceeded" in codes:
                break
            await v.close()
        assert set(codes) == {"ack", "quota_exceeded"}
        assert app.engine.store.site_bytes(flooded) >= 1 << 20

        w = await Visitor(visitor_url(app, other)).connect()
        await w.hello()
        w.send({"type": "msg", "cid": "w1", "text": "x" * 4000})
        assert (await answer(w, "w1"))["type"] == "ack"

        assert (await set_quota("0")).get("quota_mb", 0) == 0  # JSON leaves a zero out
        v.send({"type": "msg", "cid": "again", "text": "back"})
        assert (await answer(v, "again"))["type"] == "ack"
        await bo.close()
