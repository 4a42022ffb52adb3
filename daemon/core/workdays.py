"""The working-day calendar: which days count, and working-hours arithmetic on them.

Deadlines under the Civil Code and reminder delivery both depend on the country's production
calendar, not on Monday-to-Friday: Russia moves days off every year by government decree (a
Saturday becomes a working day, a Friday between holidays becomes a day off). Getting one day
wrong makes a legal deadline wrong, so this module is the single place that knows it.

Source of the data: the `holidays` package (country "RU" by default). Checked against holidays
0.109: its `RussiaStaticHolidays.special_public_holidays` table carries the decree transfers for
1991-2027, each with its consultant.ru source, and it records the Saturdays that the decrees turn
into working days in `weekend_workdays`. Verified there (and pinned in tests/test_calendar.py):

- 2024: working Saturdays 04-27, 11-02, 12-28; days off 04-29, 04-30, 05-10, 12-30, 12-31.
- 2025: working Saturday 11-01; days off 05-02, 05-08, 06-13, 11-03, 12-31.
- 2026: days off 01-09, 12-31 (moved from the Saturday/Sunday 01-03 and 01-04), and 03-09,
  05-11 (Labour Code art. 112: a holiday on a weekend moves to the next working day).
- 2027: working Saturday 02-20; days off 02-22, 05-03, 05-10, 06-14, 11-05, 12-31.

So no table of our own is needed. The library has no rule for years whose decree is not out yet:
`decree_known(year)` says whether the year is covered, so `explain` can warn, and the admin's
overrides (`calendar.extra_holidays`, `calendar.extra_working_days` in rules.yaml) always win
over the library. Not modelled: the pre-holiday working day one hour shorter (Labour Code
art. 95); a reminder at 17:30 on such a day is merely late, no deadline moves.

All arithmetic is on the wall clock of the admin's timezone (`zoneinfo`); aware datetimes in
any zone are converted first, naive ones are taken as local.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from daemon.core.rules import CalendarSettings, RuleBook, WorkingHours
from daemon.errors import RULE_BOOK, ConfigError

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_SEARCH_LIMIT = 400  # days; a calendar without a working day in a year is a broken calendar


def day_label(d: date) -> str:
    """`2025-05-12 (Mon)`, locale-independent, for explanations."""
    return f"{d.isoformat()} ({WEEKDAYS[d.weekday()]})"


class WorkCalendar:
    """Working days from the production calendar plus overrides, and working hours on them."""

    def __init__(self, settings: CalendarSettings, tz: str, hours: WorkingHours) -> None:
        if hours.start >= hours.end:
            raise ConfigError(
                f"working hours must start before they end: {hours.start}-{hours.end}", RULE_BOOK
            )
        both = set(settings.extra_holidays) & set(settings.extra_working_days)
        if both:
            days = ", ".join(sorted(d.isoformat() for d in both))
            raise ConfigError(
                f"a day cannot be both an extra holiday and an extra working day: {days}",
                RULE_BOOK,
            )
        self.settings = settings
        self.hours = hours
        try:
            self.zone = ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(str(exc), RULE_BOOK) from None
        self._extra_off = frozenset(settings.extra_holidays)
        self._extra_on = frozenset(settings.extra_working_days)
        import holidays  # imported here: ~20 ms that `--help` and calendar-less commands skip

        self._official = holidays.country_holidays(settings.country, language="en_US")

    # -- days -------------------------------------------------------------------------------

    def _official_reason(self, d: date) -> str | None:
        """Why the official calendar makes `d` a day off, or None when it is a working day."""
        name = self._official.get(d)  # populates the year, including its weekend workdays
        if name:
            # the library names moved days "Day off (substituted from ...)"; say "holiday" otherwise
            return name if name.lower().startswith("day off") else f"holiday: {name}"
        if d.weekday() >= 5 and d not in getattr(self._official, "weekend_workdays", ()):
            return "weekend"
        return None

    def day_off_reason(self, d: date) -> str | None:
        """Why `d` is not a working day (for explanations), or None when it is one."""
        if d in self._extra_on:
            return None
        if d in self._extra_off:
            return "extra holiday (rules.yaml calendar.extra_holidays)"
        return self._official_reason(d)

    def describe(self, d: date) -> str:
        """One phrase on the status of `d`, working or not."""
        if d in self._extra_on:
            return "working day (rules.yaml calendar.extra_working_days)"
        reason = self.day_off_reason(d)
        if reason is not None:
            return reason
        if d.weekday() >= 5:
            return "working day moved to a weekend by decree"
        return "working day"

    def is_working_day(self, d: date) -> bool:
        return self.day_off_reason(d) is None

    def next_working_day(self, d: date) -> date:
        """The first working day strictly after `d`."""
        return self.add_working_days(d, 1)

    def working_day_on_or_after(self, d: date) -> date:
        """`d` itself when it is a working day, else the next one (Civil Code art. 193)."""
        return d if self.is_working_day(d) else self.next_working_day(d)

    def add_working_days(self, d: date, n: int) -> date:
        """The n-th working day after `d`, counted from the next day (before `d` when n < 0).

        `d` itself never counts, working or not: that is how art. 191 counts a term in days.
        n == 0 returns `d` unchanged.
        """
        step = 1 if n >= 0 else -1
        left = abs(n)
        cur = d
        idle = 0
        while left:
            cur += timedelta(days=step)
            if self.is_working_day(cur):
                left -= 1
                idle = 0
            else:
                idle += 1
                if idle > _SEARCH_LIMIT:
                    raise ConfigError(
                        f"no working day within {_SEARCH_LIMIT} days of {cur}", RULE_BOOK
                    )
        return cur

    def decree_known(self, year: int) -> bool | None:
        """Does the library carry the decree on moved days off for `year`?

        None when the country's data has no such table (nothing to say either way).
        """
        years: set[int] = set()
        for attr in ("special_public_holidays", "special_public_holidays_observed"):
            table = getattr(self._official, attr, None)
            if isinstance(table, dict):
                years.update(table)
        if not years:
            return None
        return year <= max(years)

    # -- hours ------------------------------------------------------------------------------

    def local(self, dt: datetime) -> datetime:
        """`dt` in the calendar's zone; a naive `dt` is taken as already local."""
        if dt.tzinfo is None:
            return dt.replace(tzinfo=self.zone)
        return dt.astimezone(self.zone)

    def at(self, d: date, t: time) -> datetime:
        return datetime.combine(d, t, tzinfo=self.zone)

    def day_start(self, d: date) -> datetime:
        return self.at(d, self.hours.start)

    def day_end(self, d: date) -> datetime:
        return self.at(d, self.hours.end)

    def is_working_time(self, dt: datetime) -> bool:
        """Inside working hours [start, end) of a working day."""
        dt = self.local(dt)
        return self.is_working_day(dt.date()) and self.hours.start <= dt.time() < self.hours.end

    def next_working_moment(self, dt: datetime) -> datetime:
        """`dt` when it is working time, else the next start of working hours."""
        dt = self.local(dt)
        d = dt.date()
        if self.is_working_day(d):
            if dt.time() < self.hours.start:
                return self.day_start(d)
            if dt.time() < self.hours.end:
                return dt
        return self.day_start(self.next_working_day(d))

    def _prev_working_moment(self, dt: datetime) -> datetime:
        """`dt` when it lies in (start, end] of a working day, else the last end of hours."""
        dt = self.local(dt)
        d = dt.date()
        if self.is_working_day(d):
            if dt.time() > self.hours.end:
                return self.day_end(d)
            if dt.time() > self.hours.start:
                return dt
        return self.day_end(self.add_working_days(d, -1))

    def add_working_time(self, dt: datetime, delta: timedelta) -> datetime:
        """Move `delta` of working time from `dt` (backwards when negative).

        Time outside working hours does not count. Landing exactly on the end of a day stays
        there (a term of 9 hours from 09:00 ends at 18:00 the same day, not 09:00 the next).
        """
        if delta < timedelta(0):
            return self._sub_working_time(dt, -delta)
        cur = self.next_working_moment(dt)
        left = delta
        while True:
            room = self.day_end(cur.date()) - cur
            if left <= room:
                return cur + left
            left -= room
            cur = self.day_start(self.next_working_day(cur.date()))

    def _sub_working_time(self, dt: datetime, delta: timedelta) -> datetime:
        cur = self._prev_working_moment(dt)
        left = delta
        while True:
            room = cur - self.day_start(cur.date())
            if left <= room:
                return cur - left
            left -= room
            cur = self.day_end(self.add_working_days(cur.date(), -1))

    def working_time_between(self, a: datetime, b: datetime) -> timedelta:
        """Working time inside [a, b]; zero when b <= a."""
        a, b = self.local(a), self.local(b)
        total = timedelta(0)
        d = a.date()
        while d <= b.date():
            if self.is_working_day(d):
                lo = max(a, self.day_start(d))
                hi = min(b, self.day_end(d))
                if hi > lo:
                    total += hi - lo
            d += timedelta(days=1)
        return total


def calendar_for(book: RuleBook) -> WorkCalendar:
    """The calendar a rule book describes: its production calendar, timezone and hours."""
    return WorkCalendar(book.calendar, book.timezone, book.working_hours)
