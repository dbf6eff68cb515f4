"""Reports' rollups on a real LMDB store and SQLite index: figures against ones
worked out by hand across both daylight-saving changes of Europe/Paris, the
hours of the day, a rating given after the close, and the rebuild equal to the
live rollups; the bins and percentiles alone."""

from __future__ import annotations

import shutil
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.errors import InvalidArgument
from engine.persistence.lmdb_store import LmdbStore
from engine.persistence.schema import CONVERSATIONS, SITES
from engine.records import reports as reports_module
from engine.records.index import Writer, apply_touched, connect, index_path, open_index, rebuild
from engine.records.reports import check_range, day_spans, hour_spans, report_of
from engine.records.rollups import (
    BOUNDS,
    ROLLUP_TABLES,
    bin_floor_ms,
    bin_of,
    kept_zone,
    percentile_ms,
)
from engine.records.service import HistoryIndex

PARIS = "Europe/Paris"
TOKYO = "Asia/Tokyo"
ZONES = (PARIS, TOKYO, "UTC", "America/St_Johns", "Australia/Lord_Howe")
D28, D31 = date(2026, 3, 28), date(2026, 3, 31)
H = 3600 * 1000


def utc(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def doc(
    site: str,
    dept: str,
    created: str,
    operators: tuple[str, ...] = (),
    wait: int = -1,
    first_response: int = 0,
    duration: int = 60,
    rating: int = 0,
    reason: str = "",
    status: str = "closed",
) -> dict[str, Any]:
    """A record; times in seconds from the start (wait -1: nobody took it)."""
    start = utc(created)
    return {
        "info": ["x", site, dept, "v1", "V"],
        "status": status,
        "operators": [[o, o.upper()] for o in operators],
        "created_ms": start,
        "assigned_ms": start + wait * 1000 if wait >= 0 else 0,
        "first_response_ms": first_response * 1000,
        "rating": rating,
        "closed_reason": reason,
        "closed_by": "system:" if reason else "operator:o1",
        "closed_ms": start + duration * 1000 if status == "closed" else 0,
        "missed": bool(reason) and not operators,
    }


SPRING = {  # 2026-03-29: 02:00 CET -> 03:00 CEST (01:00 UTC); the day is 23 hours
    "sa-a": doc("sa", "d1", "2026-03-28T22:30", ("o1",), 10, 20, 300, 5),  # 23:30 on the 28th
    "sa-b": doc("sa", "d1", "2026-03-28T23:10", ("o1",), 5, 30, 600, 3),  # 00:10 on the 29th
    "sa-c": doc("sa", "d2", "2026-03-29T01:30", ("o2",), 40, 50, 120),  # 03:30 CEST
    "sa-d": doc("sa", "d1", "2026-03-29T21:50", duration=90, reason="abandoned"),  # 23:50
    "sa-e": doc("sa", "d2", "2026-03-29T22:10", duration=300, reason="no_operator"),  # 30th
    "sa-f": doc("sa", "d1", "2026-03-29T10:00", ("o1",), 1, 2, status="active"),  # open
    "sb-g": doc("sb", "d9", "2026-03-29T10:00", ("o1",), 1, 2, 60, 1),  # another site
}
AUTUMN = {  # 2026-10-25: 03:00 CEST -> 02:00 CET (01:00 UTC); the day is 25 hours
    "sa-h": doc("sa", "d1", "2026-10-25T00:30", ("o1",), 0, 4, 60, 4),  # 02:30 CEST
    "sa-i": doc("sa", "d1", "2026-10-25T01:30", ("o2",), 0, 8, 60, 2),  # 02:30 CET
    "sa-j": doc("sa", "d1", "2026-10-25T23:10", ("o2",), 0, 6, 60),  # 00:10 on the 26th
}


def put(store: LmdbStore, docs: dict[str, dict[str, Any]]) -> None:
    for conv, d in docs.items():
        store.write_now([CONVERSATIONS.put(conv, d)])  # type: ignore[arg-type]


def site(store: LmdbStore, site_id: str, timezone: str) -> None:
    store.write_now([SITES.put(site_id, {"id": site_id, "timezone": timezone})])  # type: ignore[arg-type]


@pytest.fixture(params=[PARIS, "UTC"])
def indexed(tmp_path: Path, request: Any) -> Any:
    """The chats indexed, the site's day rollups kept in Paris (the reports
    read days) or in UTC (the reports in Paris read the quarters)."""
    store = LmdbStore(tmp_path)
    index = HistoryIndex(tmp_path, store)
    index.start()
    site(store, "sa", request.param)
    put(store, SPRING | AUTUMN)
    assert index.wait_current()
    conn = connect(index.path)
    assert kept_zone(conn, "sa") == request.param
    yield store, index, conn
    conn.close()
    index.stop()
    store.close()


def report(conn: Any, first: str, last: str, dept: str = "", who: str = "", hour: bool = False):  # type: ignore[no-untyped-def]
    return report_of(
        conn, "sa", PARIS, dept, who, date.fromisoformat(first), date.fromisoformat(last), hour
    )


def test_days_across_the_spring_change_match_figures_worked_by_hand(indexed: Any) -> None:
    _store, _index, conn = indexed
    got = report(conn, "2026-03-28", "2026-03-30")
    assert [r.day for r in got.rows] == ["2026-03-28", "2026-03-29", "2026-03-30"]
    assert [r.chats for r in got.rows] == [1, 3, 1]
    sat, sun, mon = got.rows
    assert (sun.start_ms, sun.end_ms) == (utc("2026-03-28T23:00"), utc("2026-03-29T22:00"))
    assert sun.end_ms - sun.start_ms == 23 * H
    # The 29th: b (fr 30 s, wait 5 s, 600 s, rated 3), c (fr 50, wait 40, 120 s),
    # d (abandoned before anyone came, 90 s).
    assert (sun.missed, sun.abandoned, sun.no_operator, sun.answered, sun.waited) == (
        1,
        1,
        0,
        2,
        2,
    )
    assert (sun.first_response_p50_ms, sun.first_response_p90_ms) == (30_000, 50_000)
    assert (sun.wait_p50_ms, sun.wait_p90_ms) == (5_000, 40_000)
    assert sun.duration_average_ms == (600 + 120 + 90) * 1000 // 3
    assert sun.duration_p50_ms == 120_000
    assert sun.duration_p90_ms == bin_floor_ms(bin_of(600_000))
    assert 0.95 * 600_000 <= sun.duration_p90_ms <= 600_000
    assert (sun.ratings, sun.rating_average) == (1, 3.0)
    assert (sat.chats, sat.ratings, sat.rating_average, sat.first_response_p50_ms) == (
        1,
        1,
        5.0,
        20_000,
    )
    assert (mon.no_operator, mon.missed, mon.answered) == (1, 1, 0)
    total = got.total
    assert (total.chats, total.missed, total.answered, total.ratings) == (5, 2, 3, 2)
    assert total.rating_average == 4.0
    assert (total.start_ms, total.end_ms) == (utc("2026-03-27T23:00"), utc("2026-03-30T22:00"))


def test_departments_and_operators_have_their_own_figures(indexed: Any) -> None:
    _store, _index, conn = indexed
    o1 = report(conn, "2026-03-29", "2026-03-29", who="o1").total
    assert (o1.chats, o1.first_response_p50_ms, o1.rating_average) == (1, 30_000, 3.0)
    d2 = report(conn, "2026-03-28", "2026-03-30", dept="d2")
    assert [r.chats for r in d2.rows] == [0, 1, 1]
    assert report(conn, "2026-03-29", "2026-03-29", dept="d2", who="o1").total.chats == 0


def test_hours_of_the_day_gather_every_day(indexed: Any) -> None:
    _store, _index, conn = indexed
    spring = report(conn, "2026-03-28", "2026-03-30", hour=True)
    assert [r.hour for r in spring.rows] == list(range(24))
    busy = {r.hour: r.chats for r in spring.rows if r.chats}
    assert busy == {0: 2, 3: 1, 23: 2}
    autumn = report(conn, "2026-10-25", "2026-10-26", hour=True)
    assert {r.hour: r.chats for r in autumn.rows if r.chats} == {0: 1, 2: 2}  # 02:30 twice
    days = report(conn, "2026-10-25", "2026-10-26")
    sunday = days.rows[0]
    assert sunday.end_ms - sunday.start_ms == 25 * H
    assert [r.chats for r in days.rows] == [2, 1]
    assert (sunday.first_response_p50_ms, sunday.first_response_p90_ms) == (4_000, 8_000)


def test_a_rating_after_the_close_moves_the_figures_and_the_rebuild_agrees(
    indexed: Any, tmp_path: Path
) -> None:
    store, index, conn = indexed
    put(store, {"sa-c": {**SPRING["sa-c"], "rating": 1}, "sa-f": {**SPRING["sa-f"]}})
    closed_f = {**SPRING["sa-f"], "status": "closed", "closed_ms": utc("2026-03-29T10:05")}
    put(store, {"sa-f": closed_f})
    assert index.wait_current()
    sun = report(conn, "2026-03-29", "2026-03-29").total
    assert (sun.chats, sun.ratings, sun.rating_average) == (4, 2, 2.0)
    assert sun.duration_average_ms == (600 + 120 + 90 + 300) * 1000 // 4

    def rollups(path: Path) -> dict[str, list[Any]]:
        c = connect(path)
        try:
            return {t: sorted(c.execute(f"SELECT * FROM {t}").fetchall()) for t in ROLLUP_TABLES}
        finally:
            c.close()

    live = rollups(index.path)
    assert live["report_counts"]
    other = tmp_path / "copy"
    other.mkdir()
    shutil.copytree(tmp_path / "history", other / "history")
    rebuild(other, store)
    assert rollups(index_path(other)) == live


def test_a_site_that_changes_zone_has_its_days_added_up_again(indexed: Any) -> None:
    store, index, conn = indexed
    before = {tz: report_of(conn, "sa", tz, "", "", D28, D31, False) for tz in (PARIS, TOKYO)}
    site(store, "sa", TOKYO)
    assert index.wait_current()
    # Nothing applied for the site yet: its days stay in the old zone, and a
    # report in the new one reads the quarters meanwhile.
    assert kept_zone(conn, "sa") != TOKYO
    assert report_of(conn, "sa", TOKYO, "", "", D28, D31, False) == before[TOKYO]
    put(store, {"sa-k": doc("sa", "d1", "2026-03-30T16:30", ("o1",), 3, 4, 60)})  # 01:30 on 31st
    assert index.wait_current()
    assert kept_zone(conn, "sa") == TOKYO
    tokyo = report_of(conn, "sa", TOKYO, "", "", D28, D31, False)
    assert [r.chats for r in tokyo.rows] == [0, 3, 2, 1]  # by Tokyo's days, k on the 31st
    assert tokyo.rows[:3] == before[TOKYO].rows[:3]
    paris = report_of(conn, "sa", PARIS, "", "", D28, D31, False)  # now from the quarters
    assert [r.chats for r in paris.rows] == [
        r.chats + (i == 2) for i, r in enumerate(before[PARIS].rows)
    ]


def test_days_and_quarters_agree_whatever_the_zone(tmp_path: Path) -> None:
    """Many chats around both changes: a report read from the days equals the
    same report read from the quarters (the zone kept is another)."""
    store = LmdbStore(tmp_path)
    index = HistoryIndex(tmp_path, store)
    index.start()
    try:
        zones = (PARIS, "America/St_Johns", "Asia/Kolkata", "Australia/Lord_Howe")
        for i, tz in enumerate(zones):
            site(store, f"z{i}", tz)
        docs = {}
        for n in range(240):
            hours = (n * 7919) % (24 * 9)  # around 2026-03-27 and 2026-10-23 (9 days each)
            base = "2026-03-26T00:00" if n % 2 else "2026-10-22T00:00"
            start = utc(base) + hours * H + (n * 37 % 60) * 60_000
            created = datetime.fromtimestamp(start / 1000, UTC).strftime("%Y-%m-%dT%H:%M")
            docs[f"z{n % 4}-c{n:04d}"] = doc(
                f"z{n % 4}",
                ("d1", "d2")[n % 3 == 0],
                created,
                ("o1",),
                n % 50,
                n % 90,
                n % 900,
                n % 6,
            )
        put(store, docs)
        assert index.wait_current()
        conn = connect(index.path)
        for i, tz in enumerate(zones):
            assert kept_zone(conn, f"z{i}") == tz
            for first, last in (
                (date(2026, 3, 25), date(2026, 4, 5)),
                (date(2026, 10, 21), date(2026, 11, 1)),
            ):
                for dept, who in (("", ""), ("d1", ""), ("", "o1"), ("d2", "o1")):
                    days = report_of(conn, f"z{i}", tz, dept, who, first, last, False)
                    quarters = quarter_report(conn, f"z{i}", tz, dept, who, first, last)
                    assert days == quarters, (tz, dept, who)
        conn.close()
    finally:
        index.stop()
        store.close()


@settings(max_examples=25, deadline=None)
@given(
    starts=st.lists(st.integers(0, 40 * 24 * 4), min_size=1, max_size=25),
    zones=st.lists(st.sampled_from(ZONES), min_size=1, max_size=3),
    dept=st.sampled_from(("", "d1")),
    who=st.sampled_from(("", "o1")),
)
def test_days_equal_quarters_for_random_chats_and_zone_changes(
    starts: list[int], zones: list[str], dept: str, who: str
) -> None:
    """Chats at random quarter hours around the spring change, the site's zone
    changed between them: the report by day read from the day rollups equals
    the one read from the quarters, in the zone last set."""
    with tempfile.TemporaryDirectory() as tmp:
        store = LmdbStore(Path(tmp))
        conn = open_index(index_path(Path(tmp)))
        writer = Writer(conn)
        try:
            for n, quarter in enumerate(starts):
                site(store, "sa", zones[n % len(zones)])
                created = utc("2026-03-10T00:00") + quarter * 15 * 60_000 + n % 15 * 60_000
                when = datetime.fromtimestamp(created / 1000, UTC).strftime("%Y-%m-%dT%H:%M")
                ops = (("o1",), ("o2",), ())[n % 3]
                put(
                    store,
                    {
                        f"sa-c{n:03d}": doc(
                            "sa", ("d1", "d2")[n % 2], when, ops, n % 7, n % 11, n * 13 % 400, n % 6
                        )
                    },
                )
                conn.execute("BEGIN")
                apply_touched(store, writer, [f"sa-c{n:03d}"])
                conn.execute("COMMIT")
            zone = zones[(len(starts) - 1) % len(zones)]
            assert kept_zone(conn, "sa") == zone
            first, last = date(2026, 3, 9), date(2026, 4, 21)
            days = report_of(conn, "sa", zone, dept, who, first, last, False)
            assert days == quarter_report(conn, "sa", zone, dept, who, first, last)
        finally:
            conn.close()
            store.close()


def quarter_report(
    conn: Any, site_id: str, tz: str, dept: str, who: str, first: date, last: date
) -> Any:
    """The report as the quarters give it (the day rollups bypassed)."""
    original = reports_module.kept_zone
    reports_module.kept_zone = lambda _conn, _site: None  # type: ignore[assignment]
    try:
        return report_of(conn, site_id, tz, dept, who, first, last, False)
    finally:
        reports_module.kept_zone = original  # type: ignore[assignment]


def test_spans_follow_the_zone() -> None:
    paris = ZoneInfo(PARIS)
    spring = day_spans(date(2026, 3, 29), date(2026, 3, 29), paris)
    assert (spring[0][2] - spring[0][1]) * 15 == 23 * 60
    hours = hour_spans(date(2026, 3, 29), date(2026, 3, 29), paris)
    assert 2 not in {h for h, _lo, _hi in hours}  # 02:00-03:00 never happens that day
    autumn = hour_spans(date(2026, 10, 25), date(2026, 10, 25), paris)
    two = [(lo, hi) for h, lo, hi in autumn if h == 2]
    assert [(hi - lo) * 15 for lo, hi in two] == [120]  # 02:00-03:00 happens twice
    kolkata = day_spans(date(2026, 1, 1), date(2026, 1, 1), ZoneInfo("Asia/Kolkata"))
    assert kolkata[0][1] * 15 * 60_000 == utc("2025-12-31T18:30")


def test_bins_are_exact_below_two_minutes_and_5_percent_above() -> None:
    assert [bin_floor_ms(bin_of(s * 1000 + 999)) for s in (0, 1, 59, 119)] == [
        0,
        1000,
        59_000,
        119_000,
    ]
    for s in range(120, 200_000, 37):
        floor = bin_floor_ms(bin_of(s * 1000))
        assert s * 1000 * 0.95 <= floor <= s * 1000
    assert list(BOUNDS) == sorted(set(BOUNDS))


def test_percentiles_are_nearest_rank() -> None:
    bins = {bin_of(s * 1000): 1 for s in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10)}
    assert percentile_ms(bins, 0.5) == 5000
    assert percentile_ms(bins, 0.9) == 9000
    assert percentile_ms({}, 0.5) == 0
    assert percentile_ms({bin_of(7000): 3}, 0.9) == 7000


def test_a_range_is_checked() -> None:
    today = date(2026, 5, 1)
    assert check_range("", "", today) == (today, today)
    assert check_range("2025-01-01", "2026-01-01", today)[1] == date(2026, 1, 1)
    for start, end, code in (
        ("2026-05-02", "2026-05-01", "invalid_time_range"),
        ("2025-01-01", "2026-01-02", "invalid_time_range"),
        ("2026-5-1", "", "invalid_date"),
        ("2026-02-30", "", "invalid_date"),
        ("yesterday", "", "invalid_date"),
    ):
        with pytest.raises(InvalidArgument) as caught:
            check_range(start, end, today)
        assert caught.value.code == code, (start, end)
