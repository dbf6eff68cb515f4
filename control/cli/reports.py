"""``parley report``: a site's, a department's or an operator's closed chats by
day or by hour of the day, in the site's timezone (``Reports.GetReport``).

A table by default (a TOTAL line last), ``--json`` for the reply as it came,
``--csv`` for a spreadsheet (times in seconds, one line per day or hour and the
total). A day's figures drill down to its chats with ``parley history list
--site ... --status closed --since 2026-03-29T00:00+01:00 --until
2026-03-30T00:00+02:00`` (the local midnights; ``--json`` gives each day's
bounds as start_time_ms and end_time_ms), with ``--ended missed`` (or
abandoned, no_operator) for those figures.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

import click

from control.cli.common import Ctx, pass_ctx, site_option, table
from parley.v1 import control_pb2

_HEADERS = (
    "CHATS",
    "MISSED",
    "ABANDONED",
    "NO OPERATOR",
    "1ST RESPONSE P50",
    "P90",
    "WAIT P50",
    "P90",
    "DURATION AVG",
    "RATINGS",
    "AVG RATING",
)
_CSV = (
    "chats",
    "missed",
    "abandoned",
    "no_operator",
    "answered",
    "first_response_p50_s",
    "first_response_p90_s",
    "waited",
    "wait_p50_s",
    "wait_p90_s",
    "duration_average_s",
    "duration_p50_s",
    "duration_p90_s",
    "ratings",
    "rating_average",
)


def seconds(ms: int, shown: bool = True) -> str:
    """A time for people: 45 s, 3 m 05 s, 1 h 02 m; "-" with nothing counted."""
    if not shown:
        return "-"
    s = ms // 1000
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} m {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} m"


def figures(r: control_pb2.ReportRow) -> list[Any]:
    return [
        r.chats,
        r.missed,
        r.abandoned,
        r.no_operator,
        seconds(r.first_response_p50_ms, r.answered > 0),
        seconds(r.first_response_p90_ms, r.answered > 0),
        seconds(r.wait_p50_ms, r.waited > 0),
        seconds(r.wait_p90_ms, r.waited > 0),
        seconds(r.duration_average_ms, r.chats > 0),
        r.ratings,
        f"{r.rating_average:.2f}" if r.ratings else "-",
    ]


def csv_figures(r: control_pb2.ReportRow) -> list[Any]:
    s = [
        r.first_response_p50_ms,
        r.first_response_p90_ms,
        r.wait_p50_ms,
        r.wait_p90_ms,
        r.duration_average_ms,
        r.duration_p50_ms,
        r.duration_p90_ms,
    ]
    fr50, fr90, w50, w90, davg, d50, d90 = (f"{v / 1000:g}" for v in s)
    return [
        r.chats,
        r.missed,
        r.abandoned,
        r.no_operator,
        r.answered,
        fr50,
        fr90,
        r.waited,
        w50,
        w90,
        davg,
        d50,
        d90,
        r.ratings,
        f"{r.rating_average:g}",
    ]


def busiest(rows: Sequence[control_pb2.ReportRow], top: int = 3) -> list[int]:
    """The hours with the most chats, busiest first (ties: the earlier hour)."""
    ranked = sorted((r for r in rows if r.chats), key=lambda r: (-r.chats, r.hour))
    return [r.hour for r in ranked[:top]]


@click.command()
@site_option
@click.option("--department", "department_id", default="", help="Only this department")
@click.option("--operator", "operator_id", default="", help="Only this operator's chats")
@click.option("--from", "start_date", default="", help="First day, YYYY-MM-DD [today]")
@click.option("--to", "end_date", default="", help="Last day, included [the first day]")
@click.option(
    "--by",
    "group_by",
    type=click.Choice(("day", "hour")),
    default="day",
    show_default=True,
    help="A line per day, or per hour of the day (the busiest hours)",
)
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV (times in seconds)")
@pass_ctx
def report(
    ctx: Ctx,
    site_id: str,
    department_id: str,
    operator_id: str,
    start_date: str,
    end_date: str,
    group_by: str,
    as_csv: bool,
) -> None:
    """Closed chats by day (or hour of the day) in the site's timezone: chats,
    missed, abandoned, nobody there, first response and wait (p50/p90),
    duration, ratings. At most 366 days."""
    reply = ctx.call(
        ctx.client().reports.GetReport,
        control_pb2.GetReportRequest(
            site_id=site_id,
            department_id=department_id,
            operator_id=operator_id,
            start_date=start_date,
            end_date=end_date,
            group_by=group_by,
        ),
    )
    by_hour = group_by == "hour"
    first = "HOUR" if by_hour else "DAY"

    def label(r: control_pb2.ReportRow) -> str:
        return f"{r.hour:02d}:00" if by_hour else r.day

    if as_csv and not ctx.as_json:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([first.lower(), *_CSV])
        for r in reply.rows:
            writer.writerow([label(r), *csv_figures(r)])
        writer.writerow(["total", *csv_figures(reply.total)])
        click.echo(out.getvalue(), nl=False)
        return

    def human() -> str:
        lines = [[label(r), *figures(r)] for r in reply.rows]
        lines.append(["TOTAL", *figures(reply.total)])
        text = table(lines, (first, *_HEADERS)) + f"\nTimes of day in {reply.timezone}."
        if by_hour and (hours := busiest(reply.rows)):
            text += " Busiest hours: " + ", ".join(f"{h:02d}:00" for h in hours) + "."
        return text

    ctx.out(reply, human)
