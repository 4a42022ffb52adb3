"""The working-day calendar against the Russian production calendars 2024-2027."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from daemon.core.rules import CalendarSettings, WorkingHours
from daemon.core.workdays import WorkCalendar
from daemon.errors import ConfigError

MSK = ZoneInfo("Europe/Moscow")


def cal(**kw: object) -> WorkCalendar:
    return WorkCalendar(CalendarSettings(**kw), "Europe/Moscow", WorkingHours())  # type: ignore[arg-type]


def days_off(c: WorkCalendar, first: date, last: date) -> list[str]:
    out = []
    d = first
    while d <= last:
        if not c.is_working_day(d):
            out.append(d.isoformat())
        d += timedelta(days=1)
    return out


def msk(y: int, m: int, d: int, hh: int = 0, mm: int = 0, ss: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, ss, tzinfo=MSK)


C = cal()


# -- the decrees: working Saturdays and moved days off ---------------------------------------


@pytest.mark.parametrize(
    "d", ["2024-04-27", "2024-11-02", "2024-12-28", "2025-11-01", "2027-02-20"]
)
def test_saturdays_made_working_by_decree(d: str) -> None:
    day = date.fromisoformat(d)
    assert day.weekday() == 5
    assert C.is_working_day(day)
    assert "working day" in C.describe(day)


@pytest.mark.parametrize(
    "d",
    [
        "2024-04-29",
        "2024-04-30",
        "2024-05-10",
        "2024-12-30",
        "2024-12-31",
        "2025-05-02",
        "2025-05-08",
        "2025-06-13",
        "2025-11-03",
        "2025-12-31",
        "2026-01-09",
        "2026-03-09",
        "2026-05-11",
        "2026-12-31",
    ],
)
def test_weekdays_made_days_off(d: str) -> None:
    day = date.fromisoformat(d)
    assert day.weekday() < 5
    assert not C.is_working_day(day)


def test_may_holidays_2024() -> None:
    # 2024 decree (consultant.ru LAW_455140): Apr 28 - May 1, May 9-12 off, Sat Apr 27 worked.
    assert days_off(C, date(2024, 4, 27), date(2024, 5, 12)) == [
        "2024-04-28",
        "2024-04-29",
        "2024-04-30",
        "2024-05-01",
        "2024-05-04",
        "2024-05-05",
        "2024-05-09",
        "2024-05-10",
        "2024-05-11",
        "2024-05-12",
    ]


def test_may_holidays_2025() -> None:
    # 2025 decree (consultant.ru LAW_481586): May 1-4 and May 8-11 off.
    assert days_off(C, date(2025, 4, 28), date(2025, 5, 12)) == [
        "2025-05-01",
        "2025-05-02",
        "2025-05-03",
        "2025-05-04",
        "2025-05-08",
        "2025-05-09",
        "2025-05-10",
        "2025-05-11",
    ]


def test_may_holidays_2026() -> None:
    # May 9 is a Saturday: Monday May 11 is off (Labour Code art. 112).
    assert days_off(C, date(2026, 4, 30), date(2026, 5, 12)) == [
        "2026-05-01",
        "2026-05-02",
        "2026-05-03",
        "2026-05-09",
        "2026-05-10",
        "2026-05-11",
    ]


def test_new_year_holidays() -> None:
    assert days_off(C, date(2024, 12, 28), date(2025, 1, 9)) == [
        "2024-12-29",
        "2024-12-30",
        "2024-12-31",
        *[f"2025-01-0{i}" for i in range(1, 9)],
    ]
    # 2026: Jan 1-11 (Jan 9 moved from Sat Jan 3; Jan 10-11 is a weekend).
    assert days_off(C, date(2025, 12, 30), date(2026, 1, 12)) == [
        "2025-12-31",
        *[f"2026-01-{i:02}" for i in range(1, 12)],
    ]


def test_saturday_inside_new_year_holidays_stays_off() -> None:
    # Sat 2025-01-04 is the source of the May 2 transfer, yet it is not worked.
    assert not C.is_working_day(date(2025, 1, 4))


def test_decree_coverage() -> None:
    for year in (2024, 2025, 2026, 2027):
        assert C.decree_known(year) is True
    assert C.decree_known(2100) is False


# -- overrides --------------------------------------------------------------------------------


def test_overrides_win_over_the_library() -> None:
    c = cal(extra_holidays=(date(2025, 5, 5),), extra_working_days=(date(2025, 5, 8),))
    assert not c.is_working_day(date(2025, 5, 5))
    assert c.is_working_day(date(2025, 5, 8))  # a moved day off worked anyway
    assert "rules.yaml" in c.describe(date(2025, 5, 5))
    assert "rules.yaml" in c.describe(date(2025, 5, 8))


def test_override_on_both_lists_is_refused() -> None:
    with pytest.raises(ConfigError, match="both"):
        cal(extra_holidays=(date(2025, 5, 5),), extra_working_days=(date(2025, 5, 5),))


def test_bad_working_hours_are_refused() -> None:
    with pytest.raises(ConfigError, match="start before"):
        WorkCalendar(CalendarSettings(), "Europe/Moscow", WorkingHours(time(18), time(9)))


# -- day arithmetic ---------------------------------------------------------------------------


def test_next_working_day_is_strictly_after() -> None:
    assert C.next_working_day(date(2025, 4, 30)) == date(2025, 5, 5)
    assert C.next_working_day(date(2024, 11, 1)) == date(2024, 11, 2)  # working Saturday
    assert C.working_day_on_or_after(date(2025, 5, 5)) == date(2025, 5, 5)
    assert C.working_day_on_or_after(date(2025, 5, 8)) == date(2025, 5, 12)


def test_add_working_days_both_ways() -> None:
    assert C.add_working_days(date(2025, 4, 28), 0) == date(2025, 4, 28)
    assert C.add_working_days(date(2025, 4, 28), 3) == date(2025, 5, 5)
    assert C.add_working_days(date(2025, 5, 12), -1) == date(2025, 5, 7)
    assert C.add_working_days(date(2025, 5, 12), -4) == date(2025, 4, 30)
    # counting starts the next day even when the start is a day off
    assert C.add_working_days(date(2025, 5, 3), 1) == date(2025, 5, 5)


# -- working hours ----------------------------------------------------------------------------


def test_is_working_time_bounds() -> None:
    assert C.is_working_time(msk(2025, 5, 5, 9, 0))
    assert C.is_working_time(msk(2025, 5, 5, 17, 59))
    assert not C.is_working_time(msk(2025, 5, 5, 18, 0))
    assert not C.is_working_time(msk(2025, 5, 5, 8, 59))
    assert not C.is_working_time(msk(2025, 5, 8, 12, 0))  # moved day off
    assert C.is_working_time(msk(2025, 11, 1, 12, 0))  # working Saturday


def test_other_zones_and_naive_are_converted() -> None:
    utc = datetime(2025, 5, 5, 6, 0, tzinfo=ZoneInfo("UTC"))  # 09:00 MSK
    assert C.is_working_time(utc)
    assert C.local(datetime(2025, 5, 5, 9, 0)) == msk(2025, 5, 5, 9, 0)
    assert not C.is_working_time(datetime(2025, 5, 5, 5, 59, tzinfo=ZoneInfo("UTC")))


def test_next_working_moment() -> None:
    assert C.next_working_moment(msk(2025, 5, 5, 10, 30)) == msk(2025, 5, 5, 10, 30)
    assert C.next_working_moment(msk(2025, 5, 5, 7, 0)) == msk(2025, 5, 5, 9, 0)
    assert C.next_working_moment(msk(2025, 4, 30, 18, 0)) == msk(2025, 5, 5, 9, 0)


def test_working_hours_across_a_weekend() -> None:
    fri = msk(2025, 5, 16, 16, 0)
    assert C.add_working_time(fri, timedelta(hours=4)) == msk(2025, 5, 19, 11, 0)
    assert C.working_time_between(fri, msk(2025, 5, 19, 11, 0)) == timedelta(hours=4)
    # and back again
    assert C.add_working_time(msk(2025, 5, 19, 11, 0), -timedelta(hours=4)) == fri


def test_working_hours_across_may_holidays_and_a_working_saturday() -> None:
    # Wed 2025-04-30 17:00 + 3h: 1h on Wed, then May 1-4 off, 2h on Mon May 5.
    assert C.add_working_time(msk(2025, 4, 30, 17, 0), timedelta(hours=3)) == msk(2025, 5, 5, 11, 0)
    # Fri 2025-10-31 17:00 + 3h: the Saturday Nov 1 is worked, Mon/Tue Nov 3-4 are off.
    assert C.add_working_time(msk(2025, 10, 31, 17, 0), timedelta(hours=3)) == msk(
        2025, 11, 1, 11, 0
    )
    assert C.add_working_time(msk(2025, 11, 1, 17, 0), timedelta(hours=2)) == msk(
        2025, 11, 5, 10, 0
    )


def test_exact_end_of_day_stays_on_that_day() -> None:
    assert C.add_working_time(msk(2025, 5, 5, 9, 0), timedelta(hours=9)) == msk(2025, 5, 5, 18, 0)
    assert C.add_working_time(msk(2025, 5, 5, 18, 0), -timedelta(hours=9)) == msk(2025, 5, 5, 9, 0)


def test_working_time_between_ignores_nights_and_days_off() -> None:
    assert C.working_time_between(msk(2025, 4, 30, 0, 0), msk(2025, 5, 6, 0, 0)) == timedelta(
        hours=18
    )  # Wed Apr 30 and Mon May 5
    assert C.working_time_between(msk(2025, 5, 6, 0, 0), msk(2025, 5, 5, 0, 0)) == timedelta(0)
