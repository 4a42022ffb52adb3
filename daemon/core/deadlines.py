"""When a case is due: `due_at(received, term, calendar) -> Due`, with the reasoning kept.

A claim's answer term is a legal matter, so the arithmetic follows the Russian Civil Code and
every step is recorded as a sentence: `feedbackd deadline --explain` prints them, and an owner
who doubts a date can see why.

- Art. 191: a term in days starts on the day after the day of receipt.
- Art. 193: when the last day of a term is a non-working day, the term ends on the next
  working day.
- The term ends at the end of its last day, 23:59:59 in the admin's timezone. (Art. 194 would
  allow an organisation to close its term at the end of its working day; we keep the stricter
  end of the calendar day, which is also what a customer would assume.)

Units (`Term.unit`):
- `calendar_days`: day N counted from the day after receipt, moved by art. 193.
- `working_days`: the N-th working day after the day of receipt (never lands on a day off).
- `working_hours`: N hours of working time, starting at receipt when that is inside working
  hours, else at the next start of working hours. A term in hours starts at once: art. 191
  speaks of days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from daemon.core.rules import Term
from daemon.core.workdays import WEEKDAYS, WorkCalendar, day_label
from daemon.errors import RULE_BOOK, ConfigError

CALENDAR_DAYS = "calendar_days"
WORKING_DAYS = "working_days"
WORKING_HOURS = "working_hours"
UNITS = (CALENDAR_DAYS, WORKING_DAYS, WORKING_HOURS)

END_OF_DAY = time(23, 59, 59)


@dataclass(frozen=True)
class Due:
    """The due moment of a case and how it was obtained.

    `at` is aware, in the calendar's zone. `last_day` is the last day of a term in days (None
    for working hours). `steps` are the human-readable lines of the computation.
    """

    at: datetime
    received: datetime
    term: Term
    last_day: date | None
    steps: tuple[str, ...]


def describe_term(term: Term) -> str:
    unit = term.unit.replace("_", " ")
    if term.amount == 1:
        unit = unit[:-1]
    return f"{term.amount} {unit}"


def check_term(term: Term) -> None:
    """Raise ConfigError for a term the arithmetic cannot honour (the loader refuses such a
    term with its line; this guards a rule book built by other means)."""
    if term.unit not in UNITS:
        raise ConfigError(
            f"unknown term unit {term.unit!r}; use one of {', '.join(UNITS)}", RULE_BOOK
        )
    if term.amount < 1:
        raise ConfigError(f"a term must be at least 1 {term.unit}, got {term.amount}", RULE_BOOK)


def fmt(dt: datetime) -> str:
    """`2025-05-12 23:59:59 MSK` (seconds only when non-zero)."""
    pattern = "%Y-%m-%d %H:%M:%S %Z" if dt.second else "%Y-%m-%d %H:%M %Z"
    return dt.strftime(pattern)


def due_at(received: datetime, term: Term, cal: WorkCalendar) -> Due:
    """The moment a case received at `received` must be answered under `term`."""
    check_term(term)
    local = cal.local(received)
    steps = [
        f"received {fmt(local)} ({cal.zone.key}, {WEEKDAYS[local.weekday()]})",
        f"term: {describe_term(term)}",
    ]
    if term.unit == WORKING_HOURS:
        at = _working_hours(local, term.amount, cal, steps)
        last_day = None
    else:
        if term.unit == CALENDAR_DAYS:
            last_day = _calendar_days(local.date(), term.amount, cal, steps)
        else:
            last_day = _working_days(local.date(), term.amount, cal, steps)
        at = cal.at(last_day, END_OF_DAY)
        steps.append(f"the term ends at the end of its last day: due {fmt(at)}")
    _warn_unknown_years(local.date(), at.date(), cal, steps)
    return Due(at, local, term, last_day, tuple(steps))


def _calendar_days(received: date, n: int, cal: WorkCalendar, steps: list[str]) -> date:
    first = received + timedelta(days=1)
    last = received + timedelta(days=n)
    steps.append(f"Civil Code art. 191: the term starts the day after receipt, {day_label(first)}")
    steps.append(f"day {n} of the term is {day_label(last)}: {cal.describe(last)}")
    if cal.is_working_day(last):
        return last
    moved = cal.working_day_on_or_after(last)
    skipped = []
    d = last + timedelta(days=1)
    while d < moved:
        skipped.append(f"{day_label(d)} {cal.describe(d)}")
        d += timedelta(days=1)
    tail = f" (also not working: {'; '.join(skipped)})" if skipped else ""
    steps.append(
        f"Civil Code art. 193: the last day is not a working day, so the term ends on the next "
        f"working day, {day_label(moved)}{tail}"
    )
    return moved


def _working_days(received: date, n: int, cal: WorkCalendar, steps: list[str]) -> date:
    counted: list[date] = []
    skipped: list[str] = []
    d = received
    while len(counted) < n:
        d = cal.next_working_day(d)
        counted.append(d)
    day = received + timedelta(days=1)
    while day < counted[-1]:
        if not cal.is_working_day(day):
            skipped.append(f"{day_label(day)} {cal.describe(day)}")
        day += timedelta(days=1)
    steps.append("Civil Code art. 191: counting starts the day after receipt")
    if n <= 10:
        steps.append(
            "working days counted: "
            + ", ".join(
                day_label(c) + (" worked by decree" if c.weekday() >= 5 else "") for c in counted
            )
        )
    else:
        steps.append(
            f"working day 1 is {day_label(counted[0])}, working day {n} is {day_label(counted[-1])}"
        )
    if skipped:
        steps.append("not counted: " + "; ".join(skipped))
    return counted[-1]


def _working_hours(received: datetime, n: int, cal: WorkCalendar, steps: list[str]) -> datetime:
    hours = f"{cal.hours.start:%H:%M}-{cal.hours.end:%H:%M}"
    start = cal.next_working_moment(received)
    if start == received:
        steps.append(f"received inside working hours ({hours}): counting starts at once")
    else:
        steps.append(
            f"received outside working hours ({hours} on working days): counting "
            f"starts at {fmt(start)}"
        )
    at = cal.add_working_time(start, timedelta(hours=n))
    segments = []
    cur = start
    while cur < at:
        end = min(at, cal.day_end(cur.date()))
        segments.append(f"{day_label(cur.date())} {cur:%H:%M}-{end:%H:%M}")
        cur = cal.day_start(cal.next_working_day(cur.date()))
    steps.append("working time counted: " + ", ".join(segments))
    steps.append(f"due {fmt(at)}")
    return at


def _warn_unknown_years(first: date, last: date, cal: WorkCalendar, steps: list[str]) -> None:
    for year in range(first.year, last.year + 1):
        if cal.decree_known(year) is False:
            steps.append(
                f"warning: the production calendar has no decree on moved days off for {year}; "
                f"add known moves to rules.yaml calendar.extra_holidays/extra_working_days"
            )
