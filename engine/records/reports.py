"""Reports over time: a site's, a department's or an operator's chats by day or
by hour of the day, in the site's timezone, read from the rollups.

A report covers whole local days, ``start_date`` to ``end_date`` inclusive (at
most :data:`MAX_DAYS`), and counts the chats that started in them and are
closed (open chats join when they close). Each day is the span of UTC quarter
hours from its local midnight to the next (23 or 25 hours on a daylight-saving
change); an hour of the day gathers that hour of every day (the hour a clock
skips is empty, the one it repeats holds both). The rollups are kept as chats
close (``engine/records/rollups.py``), so a report reads a few rows per quarter
hour, never the chats themselves; by day, in the zone the site's day rollups
are kept in (its own, unless it changed it a moment ago), a few rows per day.

Every figure of a day drills down to its chats: ``ListConversations`` with the
same site (department, operator), the day's ``start_time_ms``/``end_time_ms``,
status ``closed`` and, for missed, abandoned or no_operator, that ``ended``
filter. Refusals: ``invalid_date`` (not YYYY-MM-DD), ``invalid_time_range``
(ends before it starts, or longer than a year), ``invalid_group_by``; a site,
department or operator of another account is unknown.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from engine.errors import InvalidArgument
from engine.records.history import check_kept
from engine.records.rollups import (
    QUARTER_MS,
    Sums,
    kept_zone,
    merge,
    percentile_ms,
    read_days,
    read_sums,
)

if TYPE_CHECKING:
    from engine.app import Engine
    from engine.chat.auth import Principal

MAX_DAYS = 366
GROUPS = ("day", "hour")
TOTAL = -1  # the label of the whole range


@dataclass(frozen=True, slots=True)
class ReportQuery:
    site_id: str
    department_id: str = ""
    operator_id: str = ""
    start_date: str = ""
    end_date: str = ""
    group_by: str = "day"


@dataclass(frozen=True, slots=True)
class ReportRow:
    """The figures of a day, an hour of the day or the whole range."""

    day: str = ""  # YYYY-MM-DD when grouped by day
    hour: int = 0  # 0-23 when grouped by hour
    start_ms: int = 0  # the span in UTC ms (a day's, or the range's for the total)
    end_ms: int = 0
    chats: int = 0
    missed: int = 0
    abandoned: int = 0
    no_operator: int = 0
    answered: int = 0
    first_response_p50_ms: int = 0
    first_response_p90_ms: int = 0
    waited: int = 0
    wait_p50_ms: int = 0
    wait_p90_ms: int = 0
    duration_average_ms: int = 0
    duration_p50_ms: int = 0
    duration_p90_ms: int = 0
    ratings: int = 0
    rating_average: float = 0.0


@dataclass(frozen=True, slots=True)
class Report:
    timezone: str
    rows: tuple[ReportRow, ...]
    total: ReportRow


def _bad(code: str, message: str, field: str) -> InvalidArgument:
    return InvalidArgument(code, message, field=field)


def parse_day(text: str, field: str) -> date:
    try:
        if len(text) != 10:
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise _bad("invalid_date", f"{field} is a date as YYYY-MM-DD", field) from None


def check_range(start_date: str, end_date: str, today: date) -> tuple[date, date]:
    """The range's first and last day (an empty end: the start; both empty:
    today); refuses a backwards or too long one."""
    first = parse_day(start_date, "start_date") if start_date else today
    last = parse_day(end_date, "end_date") if end_date else first
    if last < first:
        raise _bad("invalid_time_range", "end_date is on or after start_date", "end_date")
    if (last - first).days + 1 > MAX_DAYS:
        raise _bad("invalid_time_range", f"a report covers at most {MAX_DAYS} days", "end_date")
    return first, last


def local_ms(day: date, hour: int, zone: ZoneInfo) -> int:
    """UTC ms of ``hour``:00 local time on ``day`` (a skipped hour: the
    moment the clock jumps, so its span is empty)."""
    moment = datetime(day.year, day.month, day.day, tzinfo=zone) + timedelta(hours=hour)
    # Wall-clock addition: datetime + timedelta keeps the wall time, then
    # the zone's offset at that wall time (fold 0: before a repeat or a jump).
    return int(moment.timestamp() * 1000)


def _quarter(ms: int) -> int:
    return -(-ms // QUARTER_MS)  # local midnights fall on quarter hours in every zone


def day_spans(first: date, last: date, zone: ZoneInfo) -> list[tuple[int, int, int]]:
    days = (last - first).days + 1
    edges = [local_ms(first + timedelta(days=i), 0, zone) for i in range(days + 1)]
    return [(i, _quarter(edges[i]), _quarter(edges[i + 1])) for i in range(days)]


def hour_spans(first: date, last: date, zone: ZoneInfo) -> list[tuple[int, int, int]]:
    spans = []
    for i in range((last - first).days + 1):
        day = first + timedelta(days=i)
        edges = [local_ms(day, h, zone) for h in range(24)]
        edges.append(local_ms(day + timedelta(days=1), 0, zone))
        for h in range(24):
            lo, hi = _quarter(edges[h]), _quarter(edges[h + 1])
            if hi > lo:
                spans.append((h, lo, hi))
    return spans


def row_of(sums: Sums | None, **where: int | str) -> ReportRow:
    """A report row from a span's sums."""
    if sums is None:
        return ReportRow(**where)  # type: ignore[arg-type]
    chats, missed, abandoned, no_op, answered, waited, duration, rated, rating_sum = sums.counts
    fr, wait, dur = (sums.hist.get(m, {}) for m in range(3))
    return ReportRow(
        **where,  # type: ignore[arg-type]
        chats=chats,
        missed=missed,
        abandoned=abandoned,
        no_operator=no_op,
        answered=answered,
        first_response_p50_ms=percentile_ms(fr, 0.5),
        first_response_p90_ms=percentile_ms(fr, 0.9),
        waited=waited,
        wait_p50_ms=percentile_ms(wait, 0.5),
        wait_p90_ms=percentile_ms(wait, 0.9),
        duration_average_ms=duration // chats if chats else 0,
        duration_p50_ms=percentile_ms(dur, 0.5),
        duration_p90_ms=percentile_ms(dur, 0.9),
        ratings=rated,
        rating_average=round(rating_sum / rated, 2) if rated else 0.0,
    )


async def get_report(engine: Engine, p: Principal, q: ReportQuery) -> Report:
    """The report the query asks for; refuses bad input before reading."""
    directory = engine.directory
    site = directory.site(q.site_id, p.account_id)
    if q.department_id:
        directory.department(q.department_id, site.id)
    if q.operator_id:
        directory.operator(q.operator_id, p.account_id)
    if q.group_by and q.group_by not in GROUPS:
        raise _bad("invalid_group_by", f"group_by is one of {', '.join(GROUPS)}", "group_by")
    zone = ZoneInfo(site.timezone)
    today = datetime.fromtimestamp(engine.clock.wall_ms() / 1000, UTC).astimezone(zone).date()
    first, last = check_range(q.start_date, q.end_date, today)
    check_kept(engine)
    by_hour = q.group_by == "hour"
    return await engine.history.read(
        lambda conn: report_of(
            conn, site.id, site.timezone, q.department_id, q.operator_id, first, last, by_hour
        )
    )


def report_of(
    conn: sqlite3.Connection,
    site_id: str,
    timezone: str,
    department_id: str,
    operator_id: str,
    first: date,
    last: date,
    by_hour: bool,
) -> Report:
    """The report of checked arguments, read from the rollups on ``conn``."""
    zone = ZoneInfo(timezone)
    days = day_spans(first, last, zone)
    start_q, end_q = days[0][1], days[-1][2]
    if not by_hour and kept_zone(conn, site_id) == timezone:
        # A row a day from the day rollups (kept in this zone), the total added
        # up here: the same figures as the quarters give, read 96 times cheaper.
        by_day = read_days(
            conn, site_id, operator_id, department_id, first.toordinal(), last.toordinal()
        )
        base = first.toordinal()
        sums = {day - base: s for day, s in by_day.items()}
        whole = merge(sums.values())
        if whole is not None:
            sums[TOTAL] = whole
    else:
        spans = hour_spans(first, last, zone) if by_hour else days
        sums = read_sums(
            conn, site_id, operator_id, department_id, [*spans, (TOTAL, start_q, end_q)]
        )
    if by_hour:
        rows = [row_of(sums.get(h), hour=h) for h in range(24)]
    else:
        rows = [
            row_of(
                sums.get(i),
                day=(first + timedelta(days=i)).isoformat(),
                start_ms=lo * QUARTER_MS,
                end_ms=hi * QUARTER_MS,
            )
            for i, lo, hi in days
        ]
    total = row_of(sums.get(TOTAL), start_ms=start_q * QUARTER_MS, end_ms=end_q * QUARTER_MS)
    return Report(timezone, tuple(rows), total)
