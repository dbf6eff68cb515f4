"""Weekly hours (``engine/chat/schedule.py``): parsing, refusals that name the
bad part, overnight and week-wrapping entries, and local wall time across a
daylight saving change."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from engine.chat import schedule
from engine.errors import InvalidArgument

MON = 0
DAY = 1440


def at(text: str, zone: str = "UTC") -> int:
    """Wall milliseconds of a local time in ``zone``."""
    return int(datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).timestamp() * 1000)


def test_entries_become_minutes_of_the_week() -> None:
    assert schedule.parse("") == ()
    assert schedule.parse("mon 09:00-17:30") == ((9 * 60, 17 * 60 + 30),)
    assert schedule.parse("sat-mon 10:00-11:00") == (
        (MON * DAY + 600, MON * DAY + 660),
        (5 * DAY + 600, 5 * DAY + 660),
        (6 * DAY + 600, 6 * DAY + 660),
    )
    assert len(schedule.parse("daily 08:00-09:00")) == 7
    assert schedule.parse("tue 00:00-24:00") == ((DAY, 2 * DAY),)
    # Past midnight into the next day, and past Sunday into the next week.
    assert schedule.parse("fri 22:00-02:00") == ((4 * DAY + 1320, 5 * DAY + 120),)
    assert schedule.parse("sun 23:00-01:00") == ((6 * DAY + 1380, 7 * DAY + 60),)


def test_normalize_tidies_case_spaces_and_separators() -> None:
    assert schedule.normalize("  MON-Fri   09:00 - 17:00 ;;sat 10:00-12:00;") == (
        "mon-fri 09:00 - 17:00; sat 10:00-12:00"
    )
    assert schedule.normalize("") == ""


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("mon", "must look like"),
        ("fun 09:00-10:00", "not a day"),
        ("funday 09:00-10:00", "must look like"),
        ("mon-xyz 09:00-10:00", "not a day"),
        ("mon 09:60-10:00", "not a time"),
        ("mon 24:00-10:00", "not a time"),  # 24:00 ends a day, never starts one
        ("mon 25:00-26:00", "not a time"),
        ("mon 09:00-09:00", "is empty"),
        ("mon 09:00-12:00; mon 11:00-13:00", "overlap around mon 11:00"),
        ("sun 23:00-02:00; mon 01:00-03:00", "overlap around mon 01:00"),
        ("mon 09:00-10:00;" * 100, "at most 1000"),
    ],
)
def test_bad_schedules_say_what_is_wrong(spec: str, words: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        schedule.parse(spec)
    assert info.value.code == "invalid_schedule"
    assert words in info.value.message


def test_timezones_are_checked() -> None:
    assert schedule.check_timezone("Europe/Oslo") == "Europe/Oslo"
    for bad in ("Mars/Base", "", "../etc/passwd"):
        with pytest.raises(InvalidArgument, match="not a known IANA zone"):
            schedule.check_timezone(bad)


def test_open_hours_in_local_time() -> None:
    spec = "mon-fri 09:00-17:00"
    assert schedule.is_open("", "UTC", 0)  # no schedule: always open
    assert schedule.is_open(spec, "UTC", at("2026-03-02T09:00"))  # a Monday
    assert not schedule.is_open(spec, "UTC", at("2026-03-02T17:00"))  # the end is out
    assert not schedule.is_open(spec, "UTC", at("2026-03-07T12:00"))  # Saturday
    # 09:00 in Tokyo is 00:00 UTC: open by Tokyo's hours, not by UTC's.
    assert schedule.is_open(spec, "Asia/Tokyo", at("2026-03-02T00:30"))
    assert not schedule.is_open(spec, "UTC", at("2026-03-02T00:30"))


def test_overnight_and_week_wrapping_hours() -> None:
    assert schedule.is_open("fri 22:00-02:00", "UTC", at("2026-03-07T01:59"))  # Saturday
    assert not schedule.is_open("fri 22:00-02:00", "UTC", at("2026-03-07T02:00"))
    # Sunday night into Monday morning of the next week.
    assert schedule.is_open("sun 23:00-01:00", "UTC", at("2026-03-09T00:30"))


def test_wall_time_holds_across_daylight_saving() -> None:
    # New York moves its clocks on 8 March 2026: 09:00 local is 14:00 UTC
    # before and 13:00 UTC after, and opens the desk both times.
    zone = "America/New_York"
    for day in ("2026-03-06", "2026-03-09"):
        assert schedule.is_open("mon-fri 09:00-10:00", zone, at(f"{day}T09:00", zone))
        assert not schedule.is_open("mon-fri 09:00-10:00", zone, at(f"{day}T08:59", zone))
    assert schedule.week_minute(at("2026-03-09T09:00", zone), zone) == 9 * 60
