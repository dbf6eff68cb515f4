"""Backups of a running server and restores that begin a new epoch, through the
real server: a backup made while a visitor talks holds every message acknowledged
before it began, a restore of it serves them, and clients holding seqs of the old
epoch are told so and given their chats from the start, once."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path
from typing import Any

import grpc
import orjson
import pytest

from edge.bridge.protocol import hello_frame
from engine.backup import RestoreRefused, restore
from parley.v1 import control_pb2, operator_pb2, visitor_pb2
from tests.edge.console import Console
from tests.integration.helpers import (
    Operator,
    Visitor,
    error_info,
    on_duty,
    owner,
    running,
    visitor_url,
)
from tests.integration.test_grpc_extras import visitor_stream


async def _talk(visitor: Visitor, start: int, end: int, acked: dict[str, int]) -> None:
    for i in range(start, end):
        visitor.send({"type": "msg", "cid": f"c{i}", "text": f"m{i}"})
        ack = await visitor.recv("ack")
        acked[ack["cid"]] = ack["seq"]


async def test_backup_during_traffic_restores_every_acknowledged_message(tmp_path: Path) -> None:
    target = tmp_path / "backup"
    # Sixty messages as fast as their acks come: past the default frame rate
    # per visitor on a quick run (a rate_limited error, which _talk does not take).
    async with running(tmp_path, history=True, visitor_rate=10_000, visitor_burst=10_000) as app:
        assert app.admin is not None and app.engine is not None
        admin = await Operator(app).login(app.admin["email"], app.admin["password"])
        operator = await on_duty(app)  # a site takes chats while someone is online
        visitor = await Visitor(visitor_url(app)).connect()
        welcome = await visitor.hello(name="Ann")
        old_epoch = welcome["epoch"]
        assert old_epoch == app.engine.epoch and welcome["epoch_changed"] is False
        acked: dict[str, int] = {}
        await _talk(visitor, 0, 5, acked)
        talking = asyncio.create_task(_talk(visitor, 5, 60, acked))
        await asyncio.sleep(0)  # the talk is under way when the backup begins
        before = dict(acked)  # acknowledged before the backup was asked for
        request = control_pb2.CreateBackupRequest(path=str(target))
        made = await admin.api.server.CreateBackup(request, metadata=admin.metadata)
        await talking
        last = max(acked.values())
        await visitor.close()
        await admin.close()
        await operator.close()

    # What was written: private, described by its manifest.
    assert stat.S_IMODE(target.stat().st_mode) == 0o700
    for path in target.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    manifest = orjson.loads((target / "manifest.json").read_bytes())
    assert manifest["format"] == "parley-backup"
    assert manifest["epoch"] == made.epoch != old_epoch
    assert manifest["sha256"] == made.sha256 and manifest["commit"] == made.commit > 0
    assert {"owner-credentials.json", "admin-credentials.json"} <= set(made.files)
    assert not (target / "history").exists()

    data = tmp_path / "second" / "data"
    restored, aside = restore(target, data)
    assert restored.epoch == made.epoch and aside is None
    async with running(tmp_path / "second", history=True) as app:
        assert app.engine is not None and app.engine.epoch == made.epoch
        # A visitor back with seqs of the old epoch: told first, then its chat from
        # the start, each message once, then the welcome saying so.
        visitor = await Visitor(visitor_url(app)).connect()
        welcome = await visitor.hello(token=welcome["token"], last_seq=last, epoch=old_epoch)
        assert welcome["epoch"] == made.epoch and welcome["epoch_changed"] is True
        frames = [f for f in visitor.frames() if f["type"] in ("epoch_changed", "msg", "welcome")]
        assert frames[0] == {"type": "epoch_changed", "epoch": made.epoch}
        replay = [f for f in frames if f["type"] == "msg"]
        seqs = [f["seq"] for f in replay]
        assert seqs == list(range(1, len(seqs) + 1))  # from the start, no gap, none twice
        got = {f["cid"]: f["seq"] for f in replay if f["from"] == "visitor"}
        for cid, seq in before.items():  # every message acknowledged before the backup
            assert got.get(cid) == seq, cid
        for cid, seq in got.items():  # and nothing that was not sent
            assert acked[cid] == seq and seq <= welcome["last_seq"]
        await visitor.close()

        # With the new epoch, a resume is an ordinary one.
        again = await Visitor(visitor_url(app)).connect()
        fresh = await again.hello(
            token=welcome["token"], last_seq=welcome["last_seq"], epoch=made.epoch
        )
        assert fresh["epoch_changed"] is False
        assert not [f for f in again.frames() if f["type"] in ("epoch_changed", "msg")]
        await again.close()

        # An operator stream: the notice comes before anything else, ready says so.
        creds = orjson.loads((data / "demo-credentials.json").read_bytes())
        operator = await Operator(app).login(creds["email"], creds["password"])
        await operator.open(hello=False)
        hello = operator_pb2.OperatorHello(epoch=old_epoch)
        operator.send_commands(operator_pb2.OperatorCommand(hello=hello))
        ready = await operator.recv("ready")
        assert ready.epoch == made.epoch and ready.epoch_changed
        kinds = [kind for kind, _ in operator.received()]
        assert kinds[0] == "epoch_changed" and kinds.index("ready") > 0
        await operator.close()

        # The console, through the web bridge: the same, its hello's epoch passed on.
        console = await Console(app).connect()
        chat = replay[0]["conversation"]
        console.send_raw(hello_frame(operator.token, {chat: last}, epoch=old_epoch))
        assert (await console.event()).epoch == made.epoch
        assert console.seen[0].WhichOneof("event") == "epoch_changed"  # before the replay
        ready = await console.event("ready")
        assert ready.epoch_changed
        again_seqs = []
        while len(again_seqs) < len(seqs):
            message = await console.event("message")
            if message.conversation_id == chat:
                again_seqs.append(message.seq)
        assert again_seqs == seqs  # the chat from its start, once
        await console.close()

        # An embedding service's visitor channel (gRPC): told first, then the chat.
        boss = await owner(app)
        call, outbox = await visitor_stream(app, boss.token)
        outbox.put_nowait(
            visitor_pb2.VisitorCommand(
                hello=visitor_pb2.VisitorHello(
                    site_id=chat.split("-")[0], token=welcome["token"], last_seq=last,
                    epoch=old_epoch,
                )
            )
        )  # fmt: skip
        got: list[visitor_pb2.VisitorEvent] = []
        async with asyncio.timeout(10):
            while not got or got[-1].WhichOneof("event") != "welcome":
                got.extend((await call.read()).events)
        assert got[0].WhichOneof("event") == "epoch_changed"
        assert got[0].epoch_changed.epoch == made.epoch
        assert got[-1].welcome.epoch == made.epoch and got[-1].welcome.epoch_changed
        channel_seqs = [e.message.seq for e in got if e.WhichOneof("event") == "message"]
        assert channel_seqs == seqs
        outbox.put_nowait(None)
        call.cancel()


async def test_backup_refusals_and_foreign_or_damaged_backups(tmp_path: Path) -> None:
    target = tmp_path / "backup"
    async with running(tmp_path, history=True) as app:
        assert app.admin is not None and app.owner is not None
        admin = await Operator(app).login(app.admin["email"], app.admin["password"])
        owner = await Operator(app).login(app.owner["email"], app.owner["password"])
        busy = tmp_path / "busy"
        busy.mkdir()
        (busy / "x").write_text("x")
        a_file = tmp_path / "a-file"  # a directory cannot be made under it, even as root
        a_file.write_text("x")
        a_file.chmod(0o644)
        cases: list[tuple[Operator, str, grpc.StatusCode, str]] = [
            (admin, "relative/dir", grpc.StatusCode.INVALID_ARGUMENT, "BACKUP_PATH_RELATIVE"),
            (
                admin,
                str(a_file / "backup"),
                grpc.StatusCode.FAILED_PRECONDITION,
                "BACKUP_NOT_WRITABLE",
            ),
            (admin, str(busy), grpc.StatusCode.FAILED_PRECONDITION, "BACKUP_DIR_NOT_EMPTY"),
            (admin, "", grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT"),
            (owner, str(target), grpc.StatusCode.PERMISSION_DENIED, "PERMISSION_DENIED"),
        ]
        for who, path, status, reason in cases:
            request = control_pb2.CreateBackupRequest(path=path)
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await who.api.server.CreateBackup(request, metadata=who.metadata)
            assert caught.value.code() == status, path
            assert error_info(caught.value).reason == reason
        request = control_pb2.CreateBackupRequest(path=str(target))
        await admin.api.server.CreateBackup(request, metadata=admin.metadata)
        # A running server's data directory is not restored over.
        with pytest.raises(RestoreRefused) as refused:
            restore(target, tmp_path / "data", force=True)
        assert refused.value.code == "data_dir_in_use"
        await admin.close()
        await owner.close()

    def refused(backup: Path, edit: Any) -> str:
        copy = tmp_path / f"copy-{edit.__name__}"
        copy.mkdir(mode=0o700)
        for path in backup.iterdir():
            (copy / path.name).write_bytes(path.read_bytes())
        edit(copy)
        with pytest.raises(RestoreRefused) as caught:
            restore(copy, tmp_path / f"into-{edit.__name__}")
        assert not (tmp_path / f"into-{edit.__name__}").exists()
        return caught.value.code

    def flip_a_byte(copy: Path) -> None:
        raw = bytearray((copy / "data.mdb").read_bytes())
        raw[len(raw) // 2] ^= 0x01
        (copy / "data.mdb").write_bytes(bytes(raw))

    def foreign(copy: Path) -> None:
        (copy / "manifest.json").write_bytes(b'{"name": "someone else\'s"}')

    def no_manifest(copy: Path) -> None:
        (copy / "manifest.json").unlink()

    def newer(copy: Path) -> None:
        doc = orjson.loads((copy / "manifest.json").read_bytes())
        (copy / "manifest.json").write_bytes(orjson.dumps({**doc, "schema_version": 999}))

    assert refused(target, flip_a_byte) == "backup_corrupt"
    assert refused(target, foreign) == "not_a_backup"
    assert refused(target, no_manifest) == "not_a_backup"
    assert refused(target, newer) == "backup_newer_schema"

    # The stopped server's data directory holds data: only with force, kept aside.
    with pytest.raises(RestoreRefused) as caught:
        restore(target, tmp_path / "data")
    assert caught.value.code == "data_dir_not_empty"
    _, aside = restore(target, tmp_path / "data", force=True)
    assert aside is not None and (aside / "lmdb" / "data.mdb").exists()
    assert (tmp_path / "data" / "lmdb" / "data.mdb").exists()
