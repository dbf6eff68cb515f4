"""The audit log through the real server: configuration changes, logins that
worked and failed, a password reset and an invisible join leave events with
ids and field names only; ListAuditEvents pages newest first and filters by
kind, actor and time; only view_audit may read it."""

from __future__ import annotations

import contextlib
from pathlib import Path

import grpc
from google.protobuf.field_mask_pb2 import FieldMask

from parley.v1 import control_pb2 as pb
from parley.v1 import operator_pb2
from tests.integration.helpers import Operator, on_duty, owner, running
from tests.integration.test_privacy import chat, refusal


async def test_changes_and_sensitive_actions_are_logged_by_id(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        op = await on_duty(app)
        boss = await owner(app)
        meta = boss.metadata
        site = app.demo["site"]
        op.id = (await op.api.auth.GetMe(pb.GetMeRequest(), metadata=op.metadata)).id
        boss.id = (await boss.api.auth.GetMe(pb.GetMeRequest(), metadata=meta)).id
        await boss.api.sites.UpdateSite(
            pb.UpdateSiteRequest(
                site=pb.Site(id=site, name="Secret Shop Name"),
                update_mask=FieldMask(paths=["name"]),
            ),
            metadata=meta,
        )
        with contextlib.suppress(grpc.aio.AioRpcError):
            await Operator(app).login(app.demo["email"], "wrong password!")
        await boss.api.operators.ResetPassword(
            pb.ResetPasswordRequest(operator_id=op.id, new_password="fresh-password-1"),
            metadata=meta,
        )
        op_id = op.id
        op = await on_duty_again(app)
        op.id = op_id
        await boss.open()
        _visitor, conv = await chat(app, op, "hello there", "cy@shop.example", close=False)
        boss.send_commands(
            operator_pb2.OperatorCommand(
                action=operator_pb2.ChatAction(
                    conversation_id=conv, join=operator_pb2.JoinChat(invisible=True)
                )
            )
        )
        assert (await boss.recv("assigned")).conversation_id == conv
        await app.engine.settle()

        listed = await boss.api.audit.ListAuditEvents(pb.ListAuditEventsRequest(), metadata=meta)
        events = list(listed.events)
        kinds = [e.kind for e in events]
        assert kinds[0] == "chat.join_invisible"  # newest first
        assert [e.at_ms for e in events] == sorted((e.at_ms for e in events), reverse=True)
        update = next(e for e in events if e.kind == "Sites.UpdateSite")
        assert (list(update.target_ids), list(update.fields), update.outcome) == (
            [site],
            ["name"],
            "ok",
        )
        assert update.actor_id == boss.id and update.address == "127.0.0.1"
        logins = [e for e in events if e.kind == "Auth.Login"]
        assert {e.outcome for e in logins} >= {"ok", "bad_credentials"}
        failed = next(e for e in logins if e.outcome == "bad_credentials")
        assert failed.actor_id == "" and op.id in failed.target_ids
        reset = next(e for e in events if e.kind == "Operators.ResetPassword")
        assert list(reset.target_ids) == [op.id] and list(reset.fields) == [
            "operator_id",
            "new_password",
        ]
        join = events[0]
        assert (join.actor_id, list(join.target_ids)) == (boss.id, [conv])
        text = str(listed).lower()
        assert "secret shop name" not in text and "fresh-password" not in text

        # Filters and pages.
        only = await boss.api.audit.ListAuditEvents(
            pb.ListAuditEventsRequest(kind="Operators.ResetPassword"), metadata=meta
        )
        assert [e.id for e in only.events] == [reset.id]
        mine = await boss.api.audit.ListAuditEvents(
            pb.ListAuditEventsRequest(actor_id=boss.id), metadata=meta
        )
        assert mine.events and all(e.actor_id == boss.id for e in mine.events)
        window = await boss.api.audit.ListAuditEvents(
            pb.ListAuditEventsRequest(since_ms=update.at_ms, until_ms=update.at_ms + 1),
            metadata=meta,
        )
        assert update.id in [e.id for e in window.events]
        assert all(e.at_ms == update.at_ms for e in window.events)
        paged, token = [], ""
        while True:
            page = await boss.api.audit.ListAuditEvents(
                pb.ListAuditEventsRequest(page_size=2, page_token=token), metadata=meta
            )
            paged.extend(e.id for e in page.events)
            token = page.next_page_token
            if not token:
                break
        assert paged == [e.id for e in events]

        assert await refusal(
            op.api.audit.ListAuditEvents(pb.ListAuditEventsRequest(), metadata=op.metadata)
        ) == (grpc.StatusCode.PERMISSION_DENIED, "PERMISSION_DENIED")


async def on_duty_again(app: object) -> Operator:
    """The demo operator after its password was reset, online again."""
    demo = app.demo  # type: ignore[attr-defined]
    op = await Operator(app).login(demo["email"], "fresh-password-1")  # type: ignore[arg-type]
    await op.open()
    return op
