"""Attachments through the real edge and gRPC: a visitor's file reaches the
operator and an operator's the visitor; type, size, quota and chat checks
refuse before anything is kept; downloads only to the chat's people, with
their protective headers; erasure takes the files off the disk."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import field_mask_pb2

from control.runner import Parley
from engine.retention import DAY_MS, SWEEP_SECONDS
from engine.runtime.clock import FakeClock
from parley.v1 import control_pb2 as pb
from parley.v1 import operator_pb2
from tests.integration.attach_clients import EXE, PNG, get_file, grpc_upload, ws_upload
from tests.integration.helpers import (
    Operator,
    Visitor,
    error_info,
    on_duty,
    owner,
    running,
    settled,
    visitor_url,
)

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"


def stored_files(app: Parley) -> list[Path]:
    """The stored files (temporary ones left out)."""
    root = app.config.data_dir / "files"
    return sorted(p for p in root.rglob("*") if p.is_file() and p.parent.name != "tmp")


def files_holding(app: Parley, needle: bytes) -> list[Path]:
    """Every file under the data directory whose bytes hold ``needle``."""
    data = app.config.data_dir
    return [f for f in data.rglob("*") if f.is_file() and needle in f.read_bytes()]


async def open_chat(app: Parley, op: Operator) -> tuple[Visitor, str]:
    v = await Visitor(visitor_url(app)).connect()
    await v.hello(name="Ann")
    v.send({"type": "msg", "cid": "m1", "text": "hello"})
    conv = (await v.recv("ack"))["conversation"]
    assert (await op.recv("assigned")).conversation_id == conv
    return v, conv


async def refusal(call: Any) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value.code(), error_info(caught.value).reason


async def test_files_both_ways_with_their_headers(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        op = await on_duty(app)
        v, conv = await open_chat(app, op)
        token = v.welcome["token"]

        done = await ws_upload(app, token, conv, PNG, name="../holiday photo.png", cid="f1")
        assert done["type"] == "done", done
        digest = hashlib.sha256(PNG).hexdigest()
        assert done["file"] == {
            "sha256": digest, "name": "holiday photo.png", "type": "image/png", "size": len(PNG)
        }  # fmt: skip
        message = await op.recv("message")
        while not message.attachment.sha256:  # the chat's earlier messages first
            message = await op.recv("message")
        assert (message.seq, message.author_kind) == (done["seq"], 1)
        a = message.attachment
        assert (a.sha256, a.name, a.content_type, a.size) == (
            digest, "holiday photo.png", "image/png", len(PNG)
        )  # fmt: skip
        assert (a.width, a.height) == (2, 3)
        echo = await v.recv("msg")
        while "file" not in echo:
            echo = await v.recv("msg")
        assert echo["file"]["sha256"] == digest and echo["cid"] == "f1"

        # The operator reads it over HTTP (its token) and over gRPC.
        bearer = {"Authorization": f"Bearer {op.token}"}
        status, headers, body = await get_file(app, conv, digest, bearer)
        assert (status, body) == (200, PNG)
        assert headers["Content-Type"] == "image/png"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Content-Disposition"].startswith('attachment; filename="holiday photo.png"')
        assert "sandbox" in headers["Content-Security-Policy"]
        assert headers["Cache-Control"].startswith("private")
        _s, inline, _b = await get_file(app, conv, digest, bearer, "?inline=1")
        assert inline["Content-Disposition"].startswith("inline;")
        got = await op.api.attachments.DownloadAttachment(
            pb.DownloadAttachmentRequest(conversation_id=conv, sha256=digest), metadata=op.metadata
        )
        assert got.data == PNG and got.attachment.name == "holiday photo.png"

        # The operator sends a PDF back in pieces; the visitor gets it and reads it.
        reply = await grpc_upload(op, conv, PDF, "terms.pdf", "o1", piece=20)
        assert reply.seq > done["seq"] and reply.attachment.content_type == "application/pdf"
        arrived = await v.recv("msg")
        while arrived.get("cid") != "o1":
            arrived = await v.recv("msg")
        assert arrived["file"]["name"] == "terms.pdf" and arrived["from"] == "operator"
        pdf_digest = arrived["file"]["sha256"]
        status, headers, body = await get_file(app, conv, pdf_digest, {"X-Parley-Visitor": token})
        assert (status, body) == (200, PDF)
        assert headers["Content-Type"] == "application/pdf"
        assert headers["Content-Disposition"].startswith("attachment;")
        # inline is for image previews only
        _s, h, _b = await get_file(app, conv, pdf_digest, {"X-Parley-Visitor": token}, "?inline=1")
        assert h["Content-Disposition"].startswith("attachment;")

        # Both are in the transcript, and each file is 0600 in a 0700 folder.
        history = await op.api.conversations.ListMessages(
            pb.ListMessagesRequest(conversation_id=conv), metadata=op.metadata
        )
        names = [m.attachment.name for m in history.messages if m.attachment.sha256]
        assert names == ["holiday photo.png", "terms.pdf"]
        for path in stored_files(app):
            assert path.stat().st_mode & 0o777 == 0o600
            assert path.parent.stat().st_mode & 0o777 == 0o700
        await v.close()


async def test_refusals_keep_nothing(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        op = await on_duty(app)
        boss = await owner(app)
        v, conv = await open_chat(app, op)
        token = v.welcome["token"]

        refused = await ws_upload(app, token, conv, EXE, name="cute-cat.png")
        assert refused["code"] == "attachment_type_refused"
        html = b"<!DOCTYPE html><html><script>alert(1)</script></html>"
        assert (await ws_upload(app, token, conv, html, name="a.txt"))["code"] == (
            "attachment_type_refused"
        )
        # More bytes than declared: refused at the first byte too many.
        lied = await ws_upload(app, token, conv, PNG, size=100)
        assert lied["code"] == "attachment_too_large"

        # The site's limits, set through UpdateSite's mask.
        site = app.demo["site"] if app.demo else ""
        updated = await boss.api.sites.UpdateSite(
            pb.UpdateSiteRequest(
                site=pb.Site(id=site, attachment_max_kb=8, attachment_quota_mb=1),
                update_mask=field_mask_pb2.FieldMask(
                    paths=["attachment_max_kb", "attachment_quota_mb"]
                ),
            ),
            metadata=boss.metadata,
        )
        assert (updated.attachment_max_kb, updated.attachment_quota_mb) == (8, 1)
        big = (await ws_upload(app, token, conv, PNG))["code"]  # 10 KiB > 8
        assert big == "attachment_too_large"
        await boss.api.sites.UpdateSite(
            pb.UpdateSiteRequest(
                site=pb.Site(id=site, attachment_max_kb=800),
                update_mask=field_mask_pb2.FieldMask(paths=["attachment_max_kb"]),
            ),
            metadata=boss.metadata,
        )
        first = PNG + b"\x01" * 600_000
        assert (await ws_upload(app, token, conv, first, cid="q1"))["type"] == "done"
        second = PNG + b"\x02" * 600_000  # 1.2 MB together: over the 1 MiB
        assert (await ws_upload(app, token, conv, second, cid="q2"))["code"] == (
            "attachment_quota_full"
        )
        code, reason = await refusal(grpc_upload(op, conv, second, "b.png", "q3"))
        assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "ATTACHMENT_QUOTA_FULL")

        # Not in the chat: another visitor, and an operator who sees it but is not in it.
        other = await Visitor(visitor_url(app)).connect()
        await other.hello()
        stranger = await ws_upload(app, other.welcome["token"], conv, PDF)
        assert stranger["code"] == "not_in_chat"
        code, reason = await refusal(grpc_upload(boss, conv, PDF, "x.pdf", "b1"))
        assert (code, reason) == (grpc.StatusCode.PERMISSION_DENIED, "NOT_IN_CHAT")
        assert (await ws_upload(app, "no-such-token", conv, PDF))["code"] == "unauthenticated"

        # One file stored, nothing half-written, nothing else served.
        (kept,) = stored_files(app)
        assert kept.read_bytes() == first
        assert not list((app.config.data_dir / "files" / "tmp").iterdir())
        digest = hashlib.sha256(first).hexdigest()
        ok, _h, _b = await get_file(app, conv, digest, {"X-Parley-Visitor": token})
        assert ok == 200
        theirs = {"X-Parley-Visitor": other.welcome["token"]}
        status, _h, body = await get_file(app, conv, digest, theirs)
        assert status == 404 and b"unknown_conversation" in body
        status, _h, _b = await get_file(app, conv, digest, {})
        assert status == 401
        guessed = hashlib.sha256(second).hexdigest()  # never stored: refused
        status, _h, body = await get_file(app, conv, guessed, {"X-Parley-Visitor": token})
        assert status == 404 and b"unknown_attachment" in body
        # A file is served only to a chat that references it.
        _w, conv2 = await open_chat_as(other, op)
        status, _h, body = await get_file(app, conv2, digest, theirs)
        assert status == 404 and b"unknown_attachment" in body
        await settled(app, v)
        assert not [f for f in v.frames() if f["type"] == "msg" and f.get("cid") == "q2"]
        await v.close()
        await other.close()


async def open_chat_as(v: Visitor, op: Operator) -> tuple[Visitor, str]:
    v.send({"type": "msg", "cid": "m1", "text": "me too"})
    conv = (await v.recv("ack"))["conversation"]
    await op.recv("assigned")
    return v, conv


def _close(conv: str) -> Any:
    return operator_pb2.OperatorCommand(close=operator_pb2.CloseConversation(conversation_id=conv))


async def test_erasure_removes_the_files_no_other_chat_has(tmp_path: Path) -> None:
    only_ann = PNG + b"ann's own"
    async with running(tmp_path) as app:
        op = await on_duty(app)
        boss = await owner(app)
        ann, conv_a = await open_chat(app, op)
        bob, conv_b = await open_chat(app, op)
        for v, conv, data in ((ann, conv_a, PNG), (ann, conv_a, only_ann), (bob, conv_b, PNG)):
            done = await ws_upload(app, v.welcome["token"], conv, data, cid=f"f{len(data)}")
            assert done["type"] == "done", done
        for conv, v in ((conv_a, ann), (conv_b, bob)):
            op.send_commands(_close(conv))
            await v.recv("closed")
        exported = await boss.api.visitors.ExportVisitor(
            pb.ExportVisitorRequest(visitor_id=ann.welcome["visitor"]), metadata=boss.metadata
        )
        assert b'"sha256":"' + hashlib.sha256(only_ann).hexdigest().encode() in exported.document
        assert files_holding(app, b"ann's own")
        await boss.api.visitors.EraseVisitor(
            pb.EraseVisitorRequest(visitor_id=ann.welcome["visitor"]), metadata=boss.metadata
        )
        assert not files_holding(app, b"ann's own")  # gone from the disk
        # Bob's chat still has the shared picture: kept, and served to him.
        digest = hashlib.sha256(PNG).hexdigest()
        status, _h, body = await get_file(
            app, conv_b, digest, {"X-Parley-Visitor": bob.welcome["token"]}
        )
        assert (status, body) == (200, PNG)
        await ann.close()
        await bob.close()


async def test_retention_removes_the_files_with_the_transcripts(tmp_path: Path) -> None:
    clock = FakeClock()
    async with running(tmp_path, clock=clock) as app:
        assert app.demo is not None
        boss = await owner(app)
        await boss.api.sites.UpdateSite(
            pb.UpdateSiteRequest(
                site=pb.Site(id=app.demo["site"], transcript_retention_days=1),
                update_mask=field_mask_pb2.FieldMask(paths=["transcript_retention_days"]),
            ),
            metadata=boss.metadata,
        )
        op = await on_duty(app)
        v, conv = await open_chat(app, op)
        old = PNG + b"kept for a day"
        assert (await ws_upload(app, v.welcome["token"], conv, old))["type"] == "done"
        op.send_commands(_close(conv))
        await v.recv("closed")
        await v.close()
        assert files_holding(app, b"kept for a day")
        await app.engine.settle()
        app.engine.retention.done.clear()
        clock.advance(2 * DAY_MS / 1000 + SWEEP_SECONDS)
        await asyncio.wait_for(app.engine.retention.done.wait(), 10)
        assert app.engine.retention.last.conversations == 1
        assert not files_holding(app, b"kept for a day")
