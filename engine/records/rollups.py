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
"""

from __future__ import annotations

import sqlite3
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

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
"""


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


def apply(conn: sqlite3.Connection, outcome: Outcome, sign: int) -> None:
    """Add (sign 1) or take away (-1) a chat's outcome."""
    o = outcome
    whos = ("", *o.operators)
    counts = tuple(sign * v for v in o.counts())
    conn.executemany(_ADD_COUNTS, [(o.site, who, o.quarter, o.dept, *counts) for who in whos])
    conn.executemany(
        _ADD_HIST,
        [(o.site, who, o.quarter, o.dept, m, b, sign) for who in whos for m, b in o.bins()],
    )
    if sign < 0:  # what fell to nothing goes, so a rebuild holds the same rows
        keys = [(o.site, who, o.quarter, o.dept) for who in whos]
        conn.executemany(
            "DELETE FROM report_counts WHERE site = ? AND who = ? AND quarter = ? AND dept = ?"
            " AND chats = 0",
            keys,
        )
        conn.executemany(
            "DELETE FROM report_hist WHERE site = ? AND who = ? AND quarter = ? AND dept = ?"
            " AND n = 0",
            keys,
        )


def change(conn: sqlite3.Connection, old: Outcome | None, new: Outcome | None) -> None:
    """Replace a chat's outcome in the rollups."""
    if old == new:
        return
    if old is not None:
        apply(conn, old, -1)
    if new is not None:
        apply(conn, new, 1)


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
