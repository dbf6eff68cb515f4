"""Reports' rollups: what each closed chat adds to its quarter hour, kept in the index.

A closed chat counts once, in the quarter hour (UTC, 15 minutes) it started in,
for its department as a whole (``who`` = "") and for each operator the record
names as in the chat when it ended. The index keeps the sums per (site, who,
quarter, department) in ``report_counts`` and, for the times whose percentiles
a report gives (first response, wait, duration), a histogram per quarter in
``report_hist``. A report adds quarters up into the days or hours of the site's
timezone when it is read (``engine/records/reports.py``), so the rollups hold
no timezone: a site that changes its zone, or a day 23 or 25 hours long, needs
no rebuild.

Why histograms and not stored samples: a sample per chat is a second copy of
the conversations table, and a percentile over a year would sort every chat of
it; a histogram is a few rows per quarter that merge by adding, whatever the
range. The bins are exact to the second below two minutes (where first response
and wait live) and 5% wide above, so a percentile is the lower bound of the bin
it falls in (see :data:`BOUNDS`).

Rollups change with the record, never by scanning: when the index applies a
record (``Writer.doc``) it takes the chat's old :class:`Outcome` away and adds
the new one (a rating given after the close, a missed chat answered later), in
the same SQLite transaction, so a rebuild from LMDB gives the same tables as
the live index (rows that fall to zero are deleted).

Beside the quarter hours, the same sums are kept per local day of the site's
timezone (``report_day_counts``, ``report_day_hist``; the zone they are kept
in is ``report_zones``), so a year's report by day reads a row per day, not
ninety-six. A chat's local day is that of its quarter's start, so both give
the same figures whatever the zone's daylight-saving changes. The index reads
the site's timezone from the store when it applies a record; when the site
changed zone, that site's days are added up again from its quarters
(:func:`keep_days_in`), and until then a report in the new zone reads the
quarters (``engine/records/reports.py`` compares the zones).
"""

from __future__ import annotations

import sqlite3
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

QUARTER_MS = 15 * 60 * 1000
METRICS = ("first_response", "wait", "duration")


def _bounds() -> tuple[int, ...]:
    bounds = list(range(120))
    s = 120
    while s < 86_400 * 30:
        bounds.append(s)
        s = max(s + 1, s * 105 // 100)
    return tuple(bounds)


BOUNDS = _bounds()  # each bin's lower bound in seconds: 0, 1, ... 119, 120, 126, ...

ROLLUP_SCHEMA = """
CREATE TABLE IF NOT EXISTS report_counts(
    site TEXT NOT NULL, who TEXT NOT NULL, quarter INTEGER NOT NULL, dept TEXT NOT NULL,
    chats INTEGER NOT NULL, missed INTEGER NOT NULL, abandoned INTEGER NOT NULL,
    no_operator INTEGER NOT NULL, answered INTEGER NOT NULL, waited INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL, rated INTEGER NOT NULL, rating_sum INTEGER NOT NULL,
    PRIMARY KEY(site, who, quarter, dept)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS report_hist(
    site TEXT NOT NULL, who TEXT NOT NULL, quarter INTEGER NOT NULL, dept TEXT NOT NULL,
    metric INTEGER NOT NULL, bin INTEGER NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY(site, who, quarter, dept, metric, bin)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS report_zones(site TEXT PRIMARY KEY, zone TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS report_day_counts(
    site TEXT NOT NULL, who TEXT NOT NULL, day INTEGER NOT NULL, dept TEXT NOT NULL,
    chats INTEGER NOT NULL, missed INTEGER NOT NULL, abandoned INTEGER NOT NULL,
    no_operator INTEGER NOT NULL, answered INTEGER NOT NULL, waited INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL, rated INTEGER NOT NULL, rating_sum INTEGER NOT NULL,
    PRIMARY KEY(site, who, dept, day)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS report_day_hist(
    site TEXT NOT NULL, who TEXT NOT NULL, day INTEGER NOT NULL, dept TEXT NOT NULL,
    metric INTEGER NOT NULL, bin INTEGER NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY(site, who, dept, day, metric, bin)
) WITHOUT ROWID;
"""
# The day rollups' rows of every department together (a site's or an
# operator's report reads these, not one row per department); never an id.
ALL_DEPARTMENTS = "*"
ROLLUP_TABLES = (
    "report_counts",
    "report_hist",
    "report_zones",
    "report_day_counts",
    "report_day_hist",
)


@lru_cache(maxsize=64)
def zone_info(name: str) -> ZoneInfo:
    """A timezone by name; UTC for one this machine does not know."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def day_of(quarter: int, zone: ZoneInfo) -> int:
    """The local day (``date.toordinal``) a quarter hour starts in. A report's
    day is the quarters from the one its local midnight falls in (rounded up):
    exactly the quarters whose start is on that local day."""
    moment = datetime.fromtimestamp(quarter * QUARTER_MS / 1000, UTC).astimezone(zone)
    return moment.date().toordinal()


def bin_of(ms: int) -> int:
    """The histogram bin of a time in ms."""
    return bisect_right(BOUNDS, max(0, ms) // 1000) - 1


def bin_floor_ms(b: int) -> int:
    return BOUNDS[b] * 1000


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a closed chat adds to the rollups."""

    site: str
    dept: str
    quarter: int
    operators: tuple[str, ...]  # in the chat when it ended (visibly)
    missed: bool
    ended: str
    first_response_ms: int  # 0: nobody answered
    wait_ms: int  # -1: no operator took it
    duration_ms: int
    rating: int  # 0: not rated

    def counts(self) -> tuple[int, ...]:
        """The report_counts columns from chats on, in order."""
        return (
            1,
            int(self.missed),
            int(self.ended == "abandoned"),
            int(self.ended == "no_operator"),
            int(self.first_response_ms > 0),
            int(self.wait_ms >= 0),
            self.duration_ms,
            int(self.rating > 0),
            self.rating,
        )

    def bins(self) -> list[tuple[int, int]]:
        """(metric, bin) of each time this chat has."""
        found = [(2, bin_of(self.duration_ms))]
        if self.first_response_ms > 0:
            found.append((0, bin_of(self.first_response_ms)))
        if self.wait_ms >= 0:
            found.append((1, bin_of(self.wait_ms)))
        return found


def outcome_of(
    site: str,
    dept: str,
    status: str,
    operators: Iterable[str],
    created_ms: int,
    closed_ms: int,
    ended: str,
    missed: bool,
    rating: int,
    first_response_ms: int,
    assigned_ms: int,
) -> Outcome | None:
    """A chat's outcome once it is closed (None while open)."""
    if status != "closed" or not site:
        return None
    return Outcome(
        site=site,
        dept=dept,
        quarter=created_ms // QUARTER_MS,
        operators=tuple(dict.fromkeys(operators)),
        missed=missed,
        ended=ended,
        first_response_ms=first_response_ms,
        wait_ms=max(0, assigned_ms - created_ms) if assigned_ms else -1,
        duration_ms=max(0, closed_ms - created_ms),
        rating=rating,
    )


_COUNT_COLUMNS = (
    "chats, missed, abandoned, no_operator, answered, waited, duration_ms, rated, rating_sum"
)
_ADD_COUNTS = (
    f"INSERT INTO report_counts(site, who, quarter, dept, {_COUNT_COLUMNS})"
    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(site, who, quarter, dept) DO UPDATE SET "
    + ", ".join(f"{c} = {c} + excluded.{c}" for c in _COUNT_COLUMNS.split(", "))
)
_ADD_HIST = (
    "INSERT INTO report_hist(site, who, quarter, dept, metric, bin, n) VALUES (?,?,?,?,?,?,?)"
    " ON CONFLICT(site, who, quarter, dept, metric, bin) DO UPDATE SET n = n + excluded.n"
)


_ADD_DAY_COUNTS = _ADD_COUNTS.replace("report_counts", "report_day_counts").replace(
    "quarter", "day"
)
_ADD_DAY_HIST = _ADD_HIST.replace("report_hist", "report_day_hist").replace("quarter", "day")


def apply(conn: sqlite3.Connection, outcome: Outcome, sign: int, zone: ZoneInfo) -> None:
    """Add (sign 1) or take away (-1) a chat's outcome, to its quarter hour and
    to its local day in ``zone`` (the site's, as :func:`keep_days_in` keeps)."""
    o = outcome
    whos = ("", *o.operators)
    counts = tuple(sign * v for v in o.counts())
    day = day_of(o.quarter, zone)
    keys = {
        "quarter": [(o.site, who, o.quarter, o.dept) for who in whos],
        "day": [(o.site, who, day, dept) for who in whos for dept in (o.dept, ALL_DEPARTMENTS)],
    }
    for level, add_counts, add_hist in (
        ("quarter", _ADD_COUNTS, _ADD_HIST),
        ("day", _ADD_DAY_COUNTS, _ADD_DAY_HIST),
    ):
        conn.executemany(add_counts, [(*key, *counts) for key in keys[level]])
        conn.executemany(add_hist, [(*key, m, b, sign) for key in keys[level] for m, b in o.bins()])
    if sign < 0:  # what fell to nothing goes, so a rebuild holds the same rows
        for table, level, zero in (
            ("report_counts", "quarter", "chats"),
            ("report_hist", "quarter", "n"),
            ("report_day_counts", "day", "chats"),
            ("report_day_hist", "day", "n"),
        ):
            conn.executemany(
                f"DELETE FROM {table} WHERE site = ? AND who = ? AND {level} = ? AND dept = ?"
                f" AND {zero} = 0",
                keys[level],
            )


def change(
    conn: sqlite3.Connection, old: Outcome | None, new: Outcome | None, zone: ZoneInfo
) -> None:
    """Replace a chat's outcome in the rollups (days in ``zone``, the site's)."""
    if old == new:
        return
    if old is not None:
        apply(conn, old, -1, zone)
    if new is not None:
        apply(conn, new, 1, zone)


def kept_zone(conn: sqlite3.Connection, site: str) -> str | None:
    """The timezone a site's day rollups are kept in (None: none kept yet)."""
    row = conn.execute("SELECT zone FROM report_zones WHERE site = ?", (site,)).fetchone()
    return str(row[0]) if row is not None else None


def keep_days_in(conn: sqlite3.Connection, site: str, zone: str) -> None:
    """Make the site's day rollups those of ``zone``: when they are kept in
    another, add the site's quarters up again into the days of this one (in
    the caller's transaction)."""
    if kept_zone(conn, site) == zone:
        return
    tz = zone_info(zone)
    conn.execute("DELETE FROM report_day_counts WHERE site = ?", (site,))
    conn.execute("DELETE FROM report_day_hist WHERE site = ?", (site,))
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS quarter_day(quarter INTEGER, day INTEGER)")
    conn.execute("DELETE FROM temp.quarter_day")
    conn.executemany(
        "INSERT INTO temp.quarter_day(quarter, day) VALUES (?, ?)",
        [
            (q, day_of(q, tz))
            for (q,) in conn.execute(
                "SELECT DISTINCT quarter FROM report_counts WHERE site = ?", (site,)
            ).fetchall()
        ],
    )
    sums = ", ".join(f"sum(r.{c})" for c in _COUNT_COLUMNS.split(", "))
    for dept in ("r.dept", "?"):  # each department's days, then all of them together
        every = () if dept == "r.dept" else (ALL_DEPARTMENTS,)
        conn.execute(
            f"INSERT INTO report_day_counts(site, who, day, dept, {_COUNT_COLUMNS})"
            f" SELECT r.site, r.who, q.day, {dept}, {sums} FROM report_counts r"
            " JOIN temp.quarter_day q ON q.quarter = r.quarter WHERE r.site = ?"
            f" GROUP BY r.site, r.who, q.day{', r.dept' if not every else ''}",
            (*every, site),
        )
        conn.execute(
            "INSERT INTO report_day_hist(site, who, day, dept, metric, bin, n)"
            f" SELECT r.site, r.who, q.day, {dept}, r.metric, r.bin, sum(r.n)"
            " FROM report_hist r JOIN temp.quarter_day q ON q.quarter = r.quarter"
            " WHERE r.site = ?"
            f" GROUP BY r.site, r.who, q.day{', r.dept' if not every else ''}, r.metric, r.bin",
            (*every, site),
        )
    conn.execute(
        "INSERT INTO report_zones(site, zone) VALUES (?, ?)"
        " ON CONFLICT(site) DO UPDATE SET zone = excluded.zone",
        (site, zone),
    )


# -- reading ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sums:
    """One span's sums and histograms (a day, an hour of the day, the total)."""

    counts: tuple[int, ...]  # as Outcome.counts, summed
    hist: dict[int, dict[int, int]]  # metric -> bin -> chats


def read_sums(
    conn: sqlite3.Connection,
    site: str,
    who: str,
    dept: str,
    spans: Sequence[tuple[int, int, int]],
) -> dict[int, Sums]:
    """Sums per label of ``spans`` ((label, first quarter, end quarter); a
    label may have many spans, as an hour of the day has one a day)."""
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS spans(label INTEGER, lo INTEGER, hi INTEGER)")
    conn.execute("DELETE FROM temp.spans")
    conn.executemany("INSERT INTO temp.spans(label, lo, hi) VALUES (?, ?, ?)", spans)
    where = "r.site = ? AND r.who = ? AND r.quarter >= s.lo AND r.quarter < s.hi"
    params: list[str] = [site, who]
    if dept:
        where += " AND r.dept = ?"
        params.append(dept)
    sums = ", ".join(f"sum(r.{c})" for c in _COUNT_COLUMNS.split(", "))
    counts = {
        row[0]: tuple(int(v) for v in row[1:])
        for row in conn.execute(
            f"SELECT s.label, {sums} FROM temp.spans s JOIN report_counts r ON {where}"
            " GROUP BY s.label",
            params,
        )
    }
    hist: dict[int, dict[int, dict[int, int]]] = {}
    for label, metric, b, n in conn.execute(
        f"SELECT s.label, r.metric, r.bin, sum(r.n) FROM temp.spans s JOIN report_hist r"
        f" ON {where} GROUP BY s.label, r.metric, r.bin",
        params,
    ):
        hist.setdefault(label, {}).setdefault(metric, {})[b] = int(n)
    return {label: Sums(c, hist.get(label, {})) for label, c in counts.items()}


def read_days(
    conn: sqlite3.Connection, site: str, who: str, dept: str, first: int, last: int
) -> dict[int, Sums]:
    """Sums per local day (``date.toordinal``), ``first`` to ``last``, from the
    day rollups (kept in the zone :func:`kept_zone` says)."""
    # One department's rows, or all of them together: a range of the key, in order.
    where = "site = ? AND who = ? AND dept = ? AND day >= ? AND day <= ?"
    params = (site, who, dept or ALL_DEPARTMENTS, first, last)
    counts = {
        row[0]: tuple(int(v) for v in row[1:])
        for row in conn.execute(
            f"SELECT day, {_COUNT_COLUMNS} FROM report_day_counts WHERE {where}", params
        )
    }
    hist: dict[int, dict[int, dict[int, int]]] = {}
    for day, metric, b, n in conn.execute(
        f"SELECT day, metric, bin, n FROM report_day_hist WHERE {where}", params
    ):
        hist.setdefault(day, {}).setdefault(metric, {})[b] = int(n)
    return {day: Sums(c, hist.get(day, {})) for day, c in counts.items()}


def merge(parts: Iterable[Sums]) -> Sums | None:
    """Spans' sums added up (None: no span had any)."""
    parts = list(parts)
    if not parts:
        return None
    counts = tuple(sum(column) for column in zip(*(p.counts for p in parts), strict=True))
    hist: dict[int, dict[int, int]] = {}
    for part in parts:
        for metric, bins in part.hist.items():
            into = hist.setdefault(metric, {})
            for b, n in bins.items():
                into[b] = into.get(b, 0) + n
    return Sums(counts, hist)


def percentile_ms(bins: dict[int, int], q: float) -> int:
    """The nearest-rank percentile ``q`` (0-1) of a histogram: the lower bound
    of the bin holding the ceil(q * n)-th time (0 with no times)."""
    n = sum(bins.values())
    if not n:
        return 0
    rank = max(1, -(-int(q * 100) * n // 100))
    seen = 0
    for b in sorted(bins):
        seen += bins[b]
        if seen >= rank:
            return bin_floor_ms(b)
    return bin_floor_ms(max(bins))
