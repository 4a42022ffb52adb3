"""Due dates under Civil Code arts. 191 and 193, on the Russian production calendar."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from daemon.core.deadlines import due_at
from daemon.core.rules import CalendarSettings, Term, WorkingHours
from daemon.core.workdays import WorkCalendar
from daemon.errors import ConfigError

MSK = ZoneInfo("Europe/Moscow")
C = WorkCalendar(CalendarSettings(), "Europe/Moscow", WorkingHours())


def msk(y: int, m: int, d: int, hh: int = 0, mm: int = 0, ss: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, ss, tzinfo=MSK)


def end_of(d: str) -> datetime:
    return datetime.combine(date.fromisoformat(d), time(23, 59, 59), tzinfo=MSK)


# -- calendar days ----------------------------------------------------------------------------


def test_known_claim_over_may_2025() -> None:
    """Day 10 is 2025-05-08, a moved day off; 05-09 holiday, 05-10/11 weekend -> 05-12."""
    due = due_at(msk(2025, 4, 28, 10, 0), Term(10, "calendar_days"), C)
    assert due.at == end_of("2025-05-12")
    assert due.last_day == date(2025, 5, 12)
    text = "\n".join(due.steps)
    assert "art. 191" in text and "2025-04-29" in text
    assert "day 10 of the term is 2025-05-08" in text
    assert "art. 193" in text and "Victory Day" in text


def test_art_191_receipt_late_in_the_day_still_counts_from_the_next_day() -> None:
    assert due_at(msk(2025, 3, 3, 23, 59), Term(1), C).at == end_of("2025-03-04")
    assert due_at(msk(2025, 3, 3, 0, 0), Term(1), C).at == end_of("2025-03-04")


def test_art_191_receipt_on_a_day_off_counts_from_the_next_day() -> None:
    # received Sunday; day 1 is Monday
    assert due_at(msk(2025, 3, 2, 12, 0), Term(1), C).at == end_of("2025-03-03")


def test_art_193_last_day_on_a_weekend_moves_to_monday() -> None:
    # Mon 2025-03-03 + 5 days = Sat 03-08 (also a holiday) -> Mon 03-10
    assert due_at(msk(2025, 3, 3, 9, 0), Term(5), C).at == end_of("2025-03-10")


def test_art_193_does_not_move_a_working_last_day() -> None:
    # the term runs through the May holidays; only the last day matters
    assert due_at(msk(2025, 4, 25, 9, 0), Term(10), C).at == end_of("2025-05-05")


def test_may_2024_claim() -> None:
    # Apr 22 + 10 = May 2 (working Thu) ; Apr 26 + 3 = Apr 29 (moved day off) -> May 2
    assert due_at(msk(2024, 4, 22, 12, 0), Term(10), C).at == end_of("2024-05-02")
    assert due_at(msk(2024, 4, 26, 12, 0), Term(3), C).at == end_of("2024-05-02")


def test_may_2026_claim() -> None:
    # Apr 29 + 10 = Sat May 9 (Victory Day), Sun May 10, Mon May 11 off (art. 112) -> May 12
    assert due_at(msk(2026, 4, 29, 12, 0), Term(10), C).at == end_of("2026-05-12")


def test_new_year_claim() -> None:
    # Dec 25 2024 + 10 = Jan 4 2025, New Year holidays until Jan 8 -> Jan 9
    assert due_at(msk(2024, 12, 25, 15, 0), Term(10), C).at == end_of("2025-01-09")
    # 2026: holidays run to Jan 11 (Jan 9 moved from Jan 3) -> Jan 12
    assert due_at(msk(2025, 12, 26, 15, 0), Term(10), C).at == end_of("2026-01-12")


def test_working_saturday_can_be_the_last_day() -> None:
    # Oct 22 2024 + 11 = Sat Nov 2 2024, a working day by decree: no move.
    assert due_at(msk(2024, 10, 22, 10, 0), Term(11), C).at == end_of("2024-11-02")
    # Oct 22 2025 + 10 = Sat Nov 1 2025, a working day by decree.
    assert due_at(msk(2025, 10, 22, 10, 0), Term(10), C).at == end_of("2025-11-01")


def test_received_with_an_offset_is_converted_to_local_time() -> None:
    # 2025-04-28 22:30 UTC is already 2025-04-29 01:30 in Moscow: day 1 is 04-30.
    utc = datetime(2025, 4, 28, 22, 30, tzinfo=ZoneInfo("UTC"))
    due = due_at(utc, Term(1), C)
    assert due.received == msk(2025, 4, 29, 1, 30)
    assert due.at == end_of("2025-04-30")


# -- working days -----------------------------------------------------------------------------


def test_working_days_skip_may_holidays() -> None:
    assert due_at(msk(2025, 4, 29, 10, 0), Term(2, "working_days"), C).at == end_of("2025-05-05")
    due = due_at(msk(2025, 4, 30, 10, 0), Term(5, "working_days"), C)
    assert due.at == end_of("2025-05-13")  # May 5, 6, 7, 12, 13
    assert any("not counted" in s and "2025-05-08" in s for s in due.steps)


def test_working_days_count_a_working_saturday() -> None:
    # Fri Oct 31 2025 + 1 wd = Sat Nov 1 (worked); + 2 wd = Wed Nov 5 (Nov 3-4 off)
    assert due_at(msk(2025, 10, 31, 10, 0), Term(1, "working_days"), C).at == end_of("2025-11-01")
    assert due_at(msk(2025, 10, 31, 10, 0), Term(2, "working_days"), C).at == end_of("2025-11-05")


def test_working_days_received_on_a_day_off() -> None:
    assert due_at(msk(2025, 5, 10, 10, 0), Term(1, "working_days"), C).at == end_of("2025-05-12")


# -- working hours ----------------------------------------------------------------------------


def test_working_hours_across_a_weekend() -> None:
    due = due_at(msk(2025, 5, 16, 16, 0), Term(4, "working_hours"), C)
    assert due.at == msk(2025, 5, 19, 11, 0)
    assert due.last_day is None
    assert any("2025-05-16 (Fri) 16:00-18:00" in s for s in due.steps)


def test_working_hours_received_at_night_start_next_morning() -> None:
    due = due_at(msk(2025, 5, 5, 22, 0), Term(2, "working_hours"), C)
    assert due.at == msk(2025, 5, 6, 11, 0)
    assert any("outside working hours" in s for s in due.steps)


def test_working_hours_across_new_year() -> None:
    assert due_at(msk(2025, 12, 30, 17, 0), Term(3, "working_hours"), C).at == msk(
        2026, 1, 12, 11, 0
    )


# -- the rest ---------------------------------------------------------------------------------


def test_overrides_move_a_due_date() -> None:
    c = WorkCalendar(
        CalendarSettings(extra_holidays=(date(2025, 5, 12),)), "Europe/Moscow", WorkingHours()
    )
    assert due_at(msk(2025, 4, 28, 10, 0), Term(10), c).at == end_of("2025-05-13")


def test_bad_terms_are_refused() -> None:
    with pytest.raises(ConfigError, match="unknown term unit"):
        due_at(msk(2025, 4, 28), Term(1, "fortnights"), C)
    with pytest.raises(ConfigError, match="at least 1"):
        due_at(msk(2025, 4, 28), Term(0), C)


def test_a_year_without_a_decree_is_flagged() -> None:
    due = due_at(msk(2099, 3, 2, 10, 0), Term(10), C)
    assert any(s.startswith("warning:") and "2099" in s for s in due.steps)
