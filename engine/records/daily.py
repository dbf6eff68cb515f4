"""The daily report by email: at the start of each operator's day, yesterday's
figures, to every operator who asked for them (``mail_notifications``
"daily", ``parley profile --mail-notify daily``).

Whose day: the operator's timezone, or when it has none, the timezone of the
site of its first department (else of the account's first site; else UTC).
What it covers: the previous local day of that timezone (23 or 25 hours long
on a daylight-saving change), read from the reports' rollups
(``engine/records/rollups.py``), never from the chats themselves: the
operator's own chats, and the departments it may see (its own; every
department of the account for a role that sees all chats), each with chats,
missed, answered, first response and wait (medians), average duration and
rating. Everything a person named (sites, departments, operators) is escaped in
the HTML part (``engine/delivery/compose.py``).

Exactly once per operator and local day: the report's email and the mark of
its day (``mailmarks``: ``daily`` / operator id -> the day) are written in one
commit, so a crash, a restart or a kill -9 keeps both or neither, and a report
is written only for a day after the marked one. The due day is always
yesterday: a server down for days sends, when it is back, the report of the
latest day it missed, one, not one per day. An operator who has just asked
gets yesterday's at once (it has no mark yet). The report waits (no mark) while
the account has no SMTP server set, and is not sent at all by a server without
the history index (``--no-history``: asking for it is refused ``history_off``).

Time is the engine's clock (a FakeClock in tests): a timer falls due at the
next local midnight of the operators who asked (at most every
:data:`CHECK_SECONDS`, to see new operators and changed timezones), and each
check first lets the history index take in every commit made before it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sqlite3
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from engine.chat.permissions import VIEW_ALL_CHATS
from engine.chat.records import Operator
from engine.delivery import compose
from engine.errors import FailedPrecondition
from engine.persistence.schema import MAIL_MARKS, Op
from engine.records.reports import ReportRow, day_spans, row_of
from engine.records.rollups import merge, read_sums
from engine.runtime import Timer

if TYPE_CHECKING:
    from engine.app import Engine

log = logging.getLogger("parley.daily")

CHECK_SECONDS = 60.0  # the longest wait between two checks
INDEX_WAIT = 10.0  # seconds a check waits for the history index to catch up
TOPIC = "daily"


def check_opt_in(engine: Engine, topics: list[str]) -> None:
    """Refuse to ask for the daily report on a server that keeps no reports."""
    if TOPIC in topics and not engine.history_on:
        raise FailedPrecondition(
            "history_off",
            "the daily report is read from the history index, which this server does not "
            "keep (it was started with --no-history)",
            field="mail_notifications",
        )


def timezone_of(engine: Engine, op: Operator) -> str:
    """The operator's day: its timezone, else its first department's site's,
    else the account's first site's, else UTC."""
    if op.timezone:
        return op.timezone
    directory = engine.directory
    for dept_id in op.department_ids:
        dept = directory.departments.get(dept_id)
        site = directory.sites.get(dept.site_id) if dept is not None else None
        if site is not None:
            return site.timezone or "UTC"
    sites = directory.list_sites(op.account_id)
    return (sites[0].timezone or "UTC") if sites else "UTC"


def local_day(wall_ms: int, timezone: str) -> date:
    return datetime.fromtimestamp(wall_ms / 1000, UTC).astimezone(ZoneInfo(timezone)).date()


def next_midnight_ms(wall_ms: int, timezone: str) -> int:
    """UTC ms of the next local midnight after ``wall_ms``."""
    day = local_day(wall_ms, timezone) + timedelta(days=1)
    midnight = datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(timezone))
    return int(midnight.timestamp() * 1000)


@dataclass(frozen=True, slots=True)
class Scope:
    """What one operator's report reads: (label, site id, department id) rows
    besides its own chats on every site of the account."""

    account_id: str
    operator_id: str
    sites: tuple[str, ...]
    departments: tuple[tuple[str, str, str], ...]


def scope_of(engine: Engine, op: Operator) -> Scope:
    directory = engine.directory
    sites = tuple(s.id for s in directory.list_sites(op.account_id))
    held = directory.role_permissions(op.account_id, op.role)
    if VIEW_ALL_CHATS in held:
        wanted = [d for d in directory.departments.values() if d.site_id in sites]
    else:
        wanted = [directory.departments[i] for i in op.department_ids if i in directory.departments]
    names = {s.id: s.name for s in directory.list_sites(op.account_id)}
    rows = sorted(
        (f"{names.get(d.site_id, '')} / {d.name}" if len(sites) > 1 else d.name, d.site_id, d.id)
        for d in wanted
    )
    return Scope(op.account_id, op.id, sites, tuple(rows))


def read_report(
    conn: sqlite3.Connection, *, scope: Scope, tz: str, day: date
) -> list[tuple[str, ReportRow]]:
    """The report's rows (label, figures) for one local day, from the rollups:
    the operator's own chats first, then each department, then their total."""
    ((_label, lo, hi),) = day_spans(day, day, ZoneInfo(tz))
    span = [(0, lo, hi)]
    mine = [
        s
        for site in scope.sites
        if (s := read_sums(conn, site, scope.operator_id, "", span).get(0)) is not None
    ]
    rows = [("Your chats", row_of(merge(mine)))]
    departments = []
    for label, site, dept in scope.departments:
        sums = read_sums(conn, site, "", dept, span).get(0)
        if sums is not None:
            departments.append(sums)
        rows.append((label, row_of(sums)))
    if len(scope.departments) > 1:
        rows.append(("All these departments", row_of(merge(departments))))
    return rows


class DailyReports:
    """The timer and the checks of one engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._timer: Timer | None = None
        self._aim_ms = 0  # the moment the timer was armed for
        self._running: asyncio.Task[int] | None = None
        self._due: list[int] = []  # the moments of the ticks not checked yet
        self.sent = 0  # reports written to the outbox (tests and logs)
        self.checked = asyncio.Event()  # set when a check ends (tests wait on it)

    def start(self) -> None:
        if not self.engine.history_on:
            log.info("no daily reports: this server keeps no history index")
            return
        self._tick()

    async def stop(self) -> None:
        """No more checks; one under way is cancelled (what it wrote is whole)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        running, self._running = self._running, None
        if running is not None and not running.done():
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)

    def changed(self) -> asyncio.Future[int] | None:
        """An operator asked for the report or changed its timezone: check now
        (it gets yesterday's at once), not at the next timer. The check that
        will see it, for a caller to answer once it is done."""
        if self._timer is None:
            return None  # not started (no loop, or no history index)
        self._due.append(self.engine.clock.wall_ms())
        if self._running is None or self._running.done():
            self.checked.clear()
            self._running = asyncio.ensure_future(self._check_logged())
        return self._running

    def _wanting(self) -> list[Operator]:
        return [
            op
            for op in self.engine.directory.operators.values()
            if TOPIC in op.mail_notifications and not op.disabled
        ]

    def _tick(self) -> None:
        # The moment aimed at, should the clock say a hair before it (a timer's
        # delay is a float): a midnight is a midnight.
        now = max(self.engine.clock.wall_ms(), self._aim_ms)
        wait_ms = int(CHECK_SECONDS * 1000)
        for op in self._wanting():
            try:
                wait_ms = min(wait_ms, next_midnight_ms(now, timezone_of(self.engine, op)) - now)
            except (ValueError, KeyError):  # a zone this machine no longer knows
                continue
        wait_ms = max(1, wait_ms)
        self._aim_ms = now + wait_ms
        self._timer = self.engine.clock.call_later(wait_ms / 1000, self._tick)
        # Each tick is checked at its own moment, in order (a check under way
        # takes the ones that fall due meanwhile next).
        self._due.append(now)
        if self._running is not None and not self._running.done():
            return
        self.checked.clear()
        self._running = asyncio.ensure_future(self._check_logged())

    async def _check_logged(self) -> int:
        written = 0
        try:
            while self._due:
                written += await self.check(self._due.pop(0))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("daily reports failed")
            self._due.clear()
        finally:
            self.checked.set()
        return written

    async def check(self, now_ms: int) -> int:
        """Write the report of each operator whose yesterday (at ``now_ms``) has
        none yet; how many were written."""
        engine = self.engine
        due: list[tuple[Operator, str, date]] = []
        for op in self._wanting():
            if not engine.deliveries.mail_settings(op.account_id).ready:
                continue  # waits for the account's SMTP server (no mark)
            timezone = timezone_of(engine, op)
            day = local_day(now_ms, timezone) - timedelta(days=1)
            mark = MAIL_MARKS.get(engine.store, "daily", op.id)
            if mark is not None and str(mark.get("day", "")) >= day.isoformat():
                continue
            due.append((op, timezone, day))
        if not due:
            return 0
        # Chats closed just before midnight: in the index before it is read.
        await asyncio.to_thread(engine.history.wait_current, INDEX_WAIT)
        written = 0
        for op, timezone, day in due:
            current = engine.directory.operators.get(op.id)
            if current is None or TOPIC not in current.mail_notifications or current.disabled:
                continue  # changed its mind, or was removed, meanwhile
            rows = await engine.history.read(
                functools.partial(
                    read_report, scope=scope_of(engine, current), tz=timezone, day=day
                )
            )
            await engine.store.write_async(self._ops(current, timezone, day, rows, now_ms))
            written += 1
        self.sent += written
        return written

    def _ops(
        self,
        op: Operator,
        timezone: str,
        day: date,
        rows: list[tuple[str, ReportRow]],
        now_ms: int,
    ) -> list[Op]:
        """The report's email and its day's mark: one commit."""
        directory = self.engine.directory
        account = directory.accounts.get(op.account_id)
        mail = compose.daily_report(
            account.name if account is not None else "",
            op.display_name,
            day.isoformat(),
            timezone,
            [(label, _figures(row)) for label, row in rows],
        )
        return [
            # Dated when it fell due (the start of the operator's day).
            self.engine.deliveries.email_op(op.account_id, op.email, mail, now_ms),
            MAIL_MARKS.put("daily", op.id, {"day": day.isoformat(), "ms": now_ms}),
        ]


def _seconds(ms: int, any_: int) -> str:
    """A time in ms, or "-" when no chat had one (``any_`` 0)."""
    if not any_:
        return "-"
    s = ms // 1000
    return f"{s // 60} min {s % 60:02d} s" if s >= 60 else f"{s} s"


def _figures(row: ReportRow) -> list[str]:
    """A row's figures as the report shows them, in :data:`compose.DAILY_COLUMNS` order."""
    return [
        str(row.chats),
        str(row.missed),
        str(row.answered),
        _seconds(row.first_response_p50_ms, row.answered),
        _seconds(row.wait_p50_ms, row.waited),
        _seconds(row.duration_average_ms, row.chats),
        f"{row.rating_average:.1f} ({row.ratings})" if row.ratings else "-",
    ]
