"""The server's log: one line per event in either format, the same request id in
an RPC's unexpected failure and in its log line, the format chosen like every
other setting, and nothing secret or written in a chat at info level."""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
import orjson
import pytest

from control.config import ConfigError, load
from control.logs import HumanFormatter, JsonFormatter
from engine.persistence.schema import TICKETS
from parley.v1 import control_pb2
from tests.integration.helpers import Visitor, owner, running
from tests.integration.process import serve
from tests.integration.test_durability import on_duty


@contextmanager
def captured(name: str, formatter: logging.Formatter) -> Iterator[io.StringIO]:
    """What logger NAME writes while inside, formatted by FORMATTER."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter)
    logger = logging.getLogger(name)
    logger.addHandler(handler)
    try:
        yield out
    finally:
        logger.removeHandler(handler)


def failed_record() -> logging.LogRecord:
    try:
        raise ValueError("boom\nsecond line")
    except ValueError:
        return logging.LogRecord(
            "parley.grpc", logging.ERROR, __file__, 1, "call %s failed", ("X",), sys.exc_info()
        )


def test_a_failure_with_its_traceback_is_one_line_in_both_formats() -> None:
    record = failed_record()
    record.request_id = "abc123"
    doc = orjson.loads(JsonFormatter().format(record))
    assert (doc["level"], doc["logger"], doc["message"]) == (
        "error",
        "parley.grpc",
        "call X failed",
    )
    assert doc["request_id"] == "abc123"
    assert "ValueError: boom" in doc["traceback"] and doc["time"].endswith("+00:00")
    human = HumanFormatter().format(record)
    assert "\n" not in human
    assert "ERROR parley.grpc: call X failed request_id=abc123 | Traceback" in human
    assert "ValueError: boom | second line" in human


def test_the_log_format_is_a_setting(tmp_path: Path) -> None:
    assert load({}, {}).log_format == "human"
    assert load({}, {"PARLEY_LOG_FORMAT": "json"}).log_format == "json"
    config = tmp_path / "parley.toml"
    config.write_text('log_format = "json"\n')
    assert load({}, {}, config).log_format == "json"
    assert load({"log_format": "human"}, {}, config).log_format == "human"  # the flag wins
    config.write_text('log_format = "xml"\n')
    with pytest.raises(ConfigError) as caught:
        load({}, {}, config)
    assert [str(p) for p in caught.value.problems] == [
        f"log_format in {config}: must be human or json, got 'xml'"
    ]


async def test_an_internal_error_and_its_log_line_share_a_request_id(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        assert app.engine is not None and app.demo is not None
        boss = await owner(app)
        # A ticket record the code cannot read: a bug's failure, not a refusal.
        await app.engine.store.write_async([TICKETS.put(app.demo["site"], "t-bad", {"x": 1})])
        with (
            captured("parley.grpc", JsonFormatter()) as out,
            pytest.raises(grpc.aio.AioRpcError) as caught,
        ):
            await boss.api.tickets.ListTickets(
                control_pb2.ListTicketsRequest(site_id=app.demo["site"]),
                metadata=boss.metadata,
            )
        assert caught.value.code() is grpc.StatusCode.INTERNAL
        detail = caught.value.details() or ""
        assert detail.startswith("internal: the server could not handle this (request id ")
        rid = detail.rsplit(" ", 1)[-1].rstrip(")")
        lines = [orjson.loads(line) for line in out.getvalue().splitlines()]
        assert [(d["request_id"], d["level"]) for d in lines] == [(rid, "error")]
        assert lines[0]["message"] == "/parley.v1.Tickets/ListTickets failed"
        assert "Traceback" in lines[0]["traceback"]
        assert "TypeError" in lines[0]["traceback"] and "TypeError" not in detail


async def test_serve_logs_json_lines_without_secrets_or_chat_text(tmp_path: Path) -> None:
    served = await serve(
        tmp_path / "d", "--log-format", "json", PARLEY_OWNER_PASSWORD="owner-secret-123"
    )
    try:
        channel, call = await on_duty(served.info)  # so the visitor's message is stored
        visitor = await Visitor(served.visitor_url()).connect()
        await visitor.hello(name="Bob")
        visitor.send({"type": "msg", "cid": "c1", "text": "my card is 4111 1111"})
        await visitor.recv("ack", timeout=30)  # a loaded machine starts slowly
        await visitor.close()
        call.cancel()
        await channel.close()
    finally:
        code = await served.stop()
    log = "".join(served.stderr)
    assert code == 0, log
    docs = [orjson.loads(line) for line in served.stderr]  # each line is JSON
    messages = [d["message"] for d in docs]
    assert any(m.startswith("serving: HTTP on 127.0.0.1:") for m in messages), messages
    assert "stopping on SIGTERM" in messages and messages[-1] == "stopped", log
    assert all({"time", "level", "logger", "message"} <= d.keys() for d in docs)
    assert "4111" not in log and "owner-secret-123" not in log
    assert "owner-secret-123" in "".join(served.stdout)  # the banner's, once


def test_a_command_failing_by_a_bug_names_its_log_line(caplog: pytest.LogCaptureFixture) -> None:
    """In a stream, a command that fails by a bug answers `internal` with the
    request id its traceback is logged under; a refusal logs nothing."""
    from engine.chat.sessions.common import failure
    from engine.errors import NotFound

    with caplog.at_level(logging.ERROR, logger="parley.sessions"):
        try:
            raise ZeroDivisionError("boom")
        except ZeroDivisionError as error:
            failed = failure(error, "c1", "conv")
        refused = failure(NotFound("unknown_conversation", "no such chat"))
    (record,) = caplog.records
    rid = record.request_id  # type: ignore[attr-defined]
    assert failed.code == "internal" and failed.message.endswith(f"(request id {rid})")
    assert record.exc_info is not None and record.exc_info[0] is ZeroDivisionError
    assert (failed.client_msg_id, failed.conversation_id) == ("c1", "conv")
    assert refused.code == "unknown_conversation" and "request id" not in refused.message
