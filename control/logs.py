"""The server's log: one line per event, for people or for machines.

``human`` (the default) reads ``2026-11-27 16:40:48,123 INFO parley.serve:
message key=value``; ``json`` writes one JSON object a line, with ``time`` (ISO
8601, UTC), ``level``, ``logger``, ``message`` and the fields the call gave as
``extra`` (``request_id`` on an RPC's unexpected failure). A traceback stays on
its event's line: in JSON as its ``traceback`` field, in the human form after
``|`` with its own line breaks shown as `` | ``, so a log shipper or ``grep``
never sees half an event.

What is logged is the caller's business, with one rule the code keeps: nothing
at info level names a secret (passwords, tokens) or what anyone wrote in a chat.
Parley's own loggers (``parley.*``) log from info up, everyone else's (gRPC's,
the websocket library's) from warnings up.
"""

from __future__ import annotations

import datetime
import logging
import sys
from typing import Any, TextIO

import orjson

LOG_FORMATS = ("human", "json")

# A LogRecord's own attributes; any other is a field the call gave as ``extra``.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}


def fields_of(record: logging.LogRecord) -> dict[str, Any]:
    """The ``extra`` fields of RECORD, by name."""
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD}


def _traceback(formatter: logging.Formatter, record: logging.LogRecord) -> str:
    if record.exc_info:
        return formatter.formatException(record.exc_info)
    return record.exc_text or ""


class JsonFormatter(logging.Formatter):
    """One JSON object a line."""

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.datetime.fromtimestamp(record.created, datetime.UTC)
        doc: dict[str, Any] = {
            "time": moment.isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in fields_of(record).items():
            doc.setdefault(key, value)
        trace = _traceback(self, record)
        if trace:
            doc["traceback"] = trace
        return orjson.dumps(doc, default=repr).decode()


class HumanFormatter(logging.Formatter):
    """Time, level, logger and message, then the extra fields as key=value."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        record.message = record.getMessage()
        record.asctime = self.formatTime(record)
        line = self.formatMessage(record)
        extra = fields_of(record)
        if extra:
            line += " " + " ".join(f"{k}={v}" for k, v in extra.items())
        trace = _traceback(self, record)
        if trace:
            line += " | " + trace.replace("\n", " | ")
        return line.replace("\n", " | ")


def configure(log_format: str, stream: TextIO | None = None) -> None:
    """Send every log line to STREAM (standard error) in LOG_FORMAT, replacing
    any handler the root logger had."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}, got {log_format!r}")
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else HumanFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("parley").setLevel(logging.INFO)
