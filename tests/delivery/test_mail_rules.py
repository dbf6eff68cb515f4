"""The pure rules of email, without a server: a transcript's lines (times in
the visitor's offset, notes left out), the operator's day and its next
midnight across daylight-saving changes, which SMTP refusals are for good, and
the daily report's escaping."""

from __future__ import annotations

from datetime import UTC, datetime

import aiosmtplib

from engine.chat.events import MessageEvent
from engine.delivery import compose
from engine.delivery.senders import _refused_for_good
from engine.delivery.transcripts import lines_of, offset_zone
from engine.records.daily import local_day, next_midnight_ms


def ms(year: int, month: int, day: int, hour: int, minute: int = 0) -> int:
    return int(datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp() * 1000)


def message(kind: str, name: str, text: str, at_ms: int) -> MessageEvent:
    return MessageEvent("c1", 1, kind, "x", name, text, "", at_ms)


def test_a_transcripts_lines() -> None:
    at = ms(2026, 3, 29, 22, 30)
    lines = lines_of(
        [
            message("visitor", "Vee", "hello", at),
            message("note", "Ana", "VIP, be nice", at),
            message("operator", "Ana", "Hi!", at + 60_000),
            message("system", "", "Ana joined the chat", at + 60_000),
        ],
        offset_zone(120),
    )
    assert lines == [
        "[2026-03-30 00:30] Vee: hello",
        "[2026-03-30 00:31] Ana: Hi!",
        "[2026-03-30 00:31] (Ana joined the chat)",
    ]
    assert offset_zone(-10_000).utcoffset(None).total_seconds() == -840 * 60  # clamped


def test_the_next_local_midnight_across_dst() -> None:
    paris = "Europe/Paris"
    # Sunday 2026-03-29 is 23 hours long in Paris; its next midnight is 22:00 UTC.
    assert next_midnight_ms(ms(2026, 3, 28, 23, 30), paris) == ms(2026, 3, 29, 22)
    assert next_midnight_ms(ms(2026, 3, 28, 22, 59), paris) == ms(2026, 3, 28, 23)
    # Sunday 2026-10-25 is 25 hours long: from 22:00 UTC Saturday to 23:00 UTC Sunday.
    assert next_midnight_ms(ms(2026, 10, 24, 22, 0), paris) == ms(2026, 10, 25, 23)
    assert local_day(ms(2026, 10, 25, 22, 59), paris).isoformat() == "2026-10-25"
    assert local_day(ms(2026, 10, 25, 23, 0), paris).isoformat() == "2026-10-26"
    # Auckland is a day ahead of UTC most of the time.
    assert local_day(ms(2026, 6, 1, 13, 0), "Pacific/Auckland").isoformat() == "2026-06-02"


def test_which_refusals_are_for_good() -> None:
    def rcpt(code: int) -> aiosmtplib.SMTPRecipientRefused:
        return aiosmtplib.SMTPRecipientRefused(code, "no", "a@b.test")

    assert _refused_for_good(rcpt(550))
    assert not _refused_for_good(rcpt(450))  # a greylisting server: try later
    assert _refused_for_good(aiosmtplib.SMTPRecipientsRefused([rcpt(550), rcpt(551)]))
    assert not _refused_for_good(aiosmtplib.SMTPRecipientsRefused([rcpt(550), rcpt(452)]))
    assert _refused_for_good(aiosmtplib.SMTPDataError(554, "spam"))
    assert _refused_for_good(aiosmtplib.SMTPSenderRefused(553, "no", "h@shop.test"))
    # The settings' problems, not the message's: retried (fixed settings send it).
    assert not _refused_for_good(aiosmtplib.SMTPAuthenticationError(535, "bad login"))
    assert not _refused_for_good(aiosmtplib.SMTPHeloError(550, "go away"))
    assert not _refused_for_good(aiosmtplib.SMTPServerDisconnected("gone"))


def test_the_daily_report_escapes_what_people_named() -> None:
    mail = compose.daily_report(
        'Shop "A" & <Co>',
        "<img src=x onerror=alert(1)>",
        "2026-03-29",
        "Europe/Paris",
        [("<b>Sales</b>", ["1", "0", "1", "5 s", "-", "30 s", "-"])],
    )
    assert "<b>" not in mail.html and "<img" not in mail.html
    assert "&lt;b&gt;Sales&lt;/b&gt;" in mail.html and "&amp; &lt;Co&gt;" in mail.html
    assert "<b>Sales</b>" in mail.text  # the plain part is text: as written
    assert "\n" not in mail.subject
