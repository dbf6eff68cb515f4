"""Weekly hours: when a department takes chats, when an operator receives them.

A schedule is written as entries separated by ";", each a day or a day range and a
time range in the local time of a timezone:

    mon-fri 09:00-17:30; sat 10:00-14:00; fri 22:00-02:00

An end at or before the start runs past midnight into the next day (the Friday
entry above ends on Saturday at 02:00); ``24:00`` is the end of a day and ``daily``
is every day. An empty schedule is always open. Entries may not overlap.
Times are in the zone's local wall time (``zoneinfo``), so 09:00 stays 09:00
across daylight saving changes.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.errors import InvalidArgument

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEK = 7 * 24 * 60  # minutes
MAX_SPEC = 1000
_ENTRY = re.compile(
    r"^(?P<days>[a-z]{3,5}(?:-[a-z]{3})?)\s+(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})$"
)


def _bad(message: str) -> InvalidArgument:
    return InvalidArgument("invalid_schedule", message)


def _minutes(text: str, allow_24: bool) -> int:
    hours, _, minutes = text.partition(":")
    h, m = int(hours), int(minutes)
    if m > 59 or h > 24 or (h == 24 and (m or not allow_24)):
        raise _bad(f"{text!r} is not a time of day (00:00-23:59, or 24:00 as an end)")
    return h * 60 + m


def _days(text: str) -> list[int]:
    if text == "daily":
        return list(range(7))
    first, _, last = text.partition("-")
    if first not in DAYS or (last and last not in DAYS):
        raise _bad(f"{text!r} is not a day or day range (mon, mon-fri, daily)")
    start = DAYS.index(first)
    if not last:
        return [start]
    end = DAYS.index(last)
    return [(start + i) % 7 for i in range((end - start) % 7 + 1)]


@lru_cache(maxsize=4096)
def parse(spec: str) -> tuple[tuple[int, int], ...]:
    """The schedule's intervals in minutes of the week from Monday 00:00, each
    [start, end) with end up to a day past the week's end; raises
    ``InvalidArgument`` (code ``invalid_schedule``) naming the bad part."""
    if len(spec) > MAX_SPEC:
        raise _bad(f"a schedule is at most {MAX_SPEC} characters")
    intervals: list[tuple[int, int]] = []
    for raw in spec.lower().split(";"):
        entry = " ".join(raw.split())
        if not entry:
            continue
        match = _ENTRY.match(entry)
        if match is None:
            raise _bad(f"{raw.strip()!r} must look like 'mon-fri 09:00-17:00'")
        start = _minutes(match["start"], allow_24=False)
        end = _minutes(match["end"], allow_24=True)
        if end == start:
            raise _bad(f"{raw.strip()!r} is empty: its start and end are the same")
        length = end - start if end > start else end + 1440 - start
        for day in _days(match["days"]):
            begin = day * 1440 + start
            intervals.append((begin, begin + length))
    intervals.sort()
    # Overlap, including an entry that runs past Sunday midnight into Monday.
    for (_a_start, a_end), (b_start, _b_end) in zip(intervals, intervals[1:], strict=False):
        if b_start < a_end:
            raise _bad(f"entries overlap around {_label(b_start)}")
    if intervals and intervals[-1][1] > WEEK and intervals[-1][1] - WEEK > intervals[0][0]:
        raise _bad(f"entries overlap around {_label(intervals[0][0])}")
    return tuple(intervals)


def _label(minute: int) -> str:
    minute %= WEEK
    day, rest = divmod(minute, 1440)
    return f"{DAYS[day]} {rest // 60:02d}:{rest % 60:02d}"


def normalize(spec: str) -> str:
    """The spec validated and tidied (lowercase, single spaces, '; ' between)."""
    parse(spec)
    return "; ".join(" ".join(part.split()) for part in spec.lower().split(";") if part.strip())


def check_timezone(name: str) -> str:
    """An IANA zone name ("Europe/Paris"), or ``invalid_timezone``."""
    try:
        if not name or len(name) > 64:
            raise ValueError(name)
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidArgument(
            "invalid_timezone",
            f"timezone {name[:60]!r} is not a known IANA zone (like Europe/Paris)",
            field="timezone",
        ) from None
    return name


@lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def week_minute(wall_ms: int, timezone: str) -> int:
    """Minutes since Monday 00:00 local time in ``timezone`` at ``wall_ms``."""
    local = datetime.fromtimestamp(wall_ms / 1000, UTC).astimezone(_zone(timezone))
    return local.weekday() * 1440 + local.hour * 60 + local.minute


def is_open(spec: str, timezone: str, wall_ms: int) -> bool:
    intervals = parse(spec)
    if not intervals:
        return True
    now = week_minute(wall_ms, timezone)
    return any(start <= m < end for start, end in intervals for m in (now, now + WEEK))
