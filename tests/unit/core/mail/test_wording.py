"""The words for moments: on the admin's clock, labelled with its zone, in both languages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from daemon.core.mail.wording import format_moment, zone_label

RECEIVED_UTC = datetime(2026, 12, 1, 20, 7, tzinfo=UTC)
DUE_MSK = datetime(2026, 12, 11, 23, 59, 59, tzinfo=timezone(timedelta(hours=3)))


@pytest.mark.parametrize(
    ("moment", "lang", "expected"),
    [
        (RECEIVED_UTC, "ru", "01.12.2026 23:07 МСК"),
        (DUE_MSK, "ru", "11.12.2026 23:59 МСК"),
        (RECEIVED_UTC, "en", "1 December 2026, 23:07 MSK"),
        (DUE_MSK, "en", "11 December 2026, 23:59 MSK"),
    ],
)
def test_a_utc_and_a_plus_three_moment_read_on_one_labelled_clock(
    moment: datetime, lang: str, expected: str
) -> None:
    assert format_moment(moment, lang, "Europe/Moscow") == expected


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        ("Europe/Berlin", "CET"),
        ("UTC", "UTC"),
        ("Asia/Yekaterinburg", "UTC+5"),  # the zone data has only "+05"
        ("America/St_Johns", "NST"),
        ("Asia/Kathmandu", "UTC+5:45"),
        ("America/Noronha", "UTC-2"),
        (timezone(timedelta(hours=-3, minutes=-30)), "UTC-3:30"),
    ],
)
def test_the_label_is_the_letter_abbreviation_or_else_the_offset(
    zone: str | timezone, expected: str
) -> None:
    assert format_moment(RECEIVED_UTC, "en", zone).endswith(f" {expected}")


def test_summer_time_changes_the_label_with_the_clock() -> None:
    summer = datetime(2026, 7, 1, 10, 0, tzinfo=UTC)
    assert format_moment(summer, "en", "Europe/Berlin") == "1 July 2026, 12:00 CEST"
    assert zone_label(summer.astimezone(UTC), "ru") == "UTC"


def test_a_naive_moment_is_refused() -> None:
    with pytest.raises(ValueError, match="UTC offset"):
        format_moment(datetime(2026, 12, 1, 20, 7), "ru", "Europe/Moscow")
