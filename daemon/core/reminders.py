"""The reminder ladder and escalation, planned as data: which mails are due at `now`.

The daemon's clock ticks; on each tick it calls `plan_reminders(case, category, book,
sent_steps, now, cal)` and sends what comes back, recording each `Reminder.key` as sent in the
same write that records the mail. Nothing here reads a clock or touches a store, so the whole
ladder can be simulated over weeks in a unit test, and a restart can never send a rung twice:
the keys are stable (derived from the rules and the case, never from `now`).

Keys: `at:50%`, `before:1wd` / `before:2d` / `before:4wh`, `due`, `overdue:2025-05-13` (or
`overdue:2025-05-13T11:00` when the ladder repeats in working hours), `escalate`.

When each rung falls (all times in the admin's zone; `deliver_at` is that moment, or the next
start of working hours when it falls outside them):
- `at: 50%` — that share of the term: of working time for working-day/hour terms, of wall time
  for calendar-day terms.
- `before: N working_days` — start of working hours on the N-th working day before the due
  day; `N calendar_days` — start of working hours N days before the due day; `N
  working_hours` — N working hours before the due moment (a due moment after hours counts
  from the end of that day's working hours).
- `on_due` — start of working hours on the due day.
- `overdue_every: N unit` — first at the first working moment after the due moment, then every
  N units after that one, while the case stays open.
- `escalate.after: N unit` — the due moment plus N units (1 working day after a due at the end
  of Monday is the end of Tuesday, so the supervisor hears on Wednesday morning; the owner
  has had a whole working day of `overdue` reminders first). Recipients are owner keys:
  `supervisor` is the case owner's supervisor, `center` the feedback center; other entries
  are owner keys taken as they are. With nobody left, the center gets it.

Rules of delivery, each for a reason:
- Nothing at all once the case is answered or closed (`STOPPED`), and nothing while `now` is
  outside working hours: an owner is reminded at work, never at night.
- A rung whose moment falls before the case was received is dropped (a short term leaves no
  room for `before: 1 working_day`; the new-case notice already tells the due time).
- Pre-due rungs expire at the due moment; after it, `overdue` takes over.
- After a gap (the daemon was down, a weekend), only the latest rung of each group is sent —
  one pre-due reminder, one overdue reminder — not a burst of stale ones. The skipped rungs
  are never sent later: a later rung has superseded them.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime, timedelta

from daemon.core.deadlines import (
    CALENDAR_DAYS,
    WORKING_DAYS,
    WORKING_HOURS,
    check_term,
    describe_term,
    fmt,
)
from daemon.core.rules import Category, ReminderStep, RuleBook, Term
from daemon.core.workdays import WorkCalendar

STOPPED = frozenset({"answered", "closed"})

REMIND = "remind"
DUE = "due"
OVERDUE = "overdue"
ESCALATE = "escalate"

_SHORT = {WORKING_DAYS: "wd", CALENDAR_DAYS: "d", WORKING_HOURS: "wh"}
_MAX_OCCURRENCES = 10_000


@dataclass(frozen=True)
class CaseClock:
    """The part of a case the ladder depends on. `due` comes from `deadlines.due_at`."""

    received: datetime
    due: datetime
    owner: str
    status: str = "open"


@dataclass(frozen=True)
class Reminder:
    """One mail to send: who gets it, when it fell due, and the key to record it under."""

    key: str
    kind: str  # remind | due | overdue | escalate
    at: datetime  # the rung's own moment
    deliver_at: datetime  # `at`, or the next start of working hours
    recipients: tuple[str, ...]  # owner keys
    note: str


def plan_reminders(
    case: CaseClock,
    category: Category,
    book: RuleBook,
    sent_steps: AbstractSet[str],
    now: datetime,
    cal: WorkCalendar,
) -> list[Reminder]:
    """The reminders to send at `now`: due, not yet sent, latest of their group, in order."""
    if case.status in STOPPED or not cal.is_working_time(now):
        return []
    now = cal.local(now)
    due = cal.local(case.due)
    ready = ladder(case, category, book, cal, until=now)
    out: list[Reminder] = []
    if now < due:
        out += _latest([r for r in ready if r.kind in (REMIND, DUE)])
    elif now > due:
        out += _latest([r for r in ready if r.kind == OVERDUE])
    out += [r for r in ready if r.kind == ESCALATE]
    return sorted((r for r in out if r.key not in sent_steps), key=lambda r: (r.deliver_at, r.at))


def ladder(
    case: CaseClock, category: Category, book: RuleBook, cal: WorkCalendar, until: datetime
) -> list[Reminder]:
    """Every rung of the case's ladder with `deliver_at <= until` (overdue repeats are
    unbounded, so they are cut there), sorted by delivery. For `explain` and for planning."""
    received, due, until = cal.local(case.received), cal.local(case.due), cal.local(until)
    rungs: list[Reminder] = []
    for step in category.reminders:
        if step.overdue_every is not None:
            rungs += _overdue(case.owner, due, step.overdue_every, cal, until)
            continue
        rung = _pre_due(case.owner, received, due, step, category.deadline.unit, cal)
        if rung is not None and received <= rung.at and rung.deliver_at <= min(due, until):
            rungs.append(rung)
    if category.escalate is not None:
        at = _after(due, category.escalate.after, cal)
        deliver = cal.next_working_moment(at)
        if deliver <= until:
            to, why = escalation_recipients(category.escalate.to, case.owner, book)
            rungs.append(
                Reminder(
                    ESCALATE,
                    ESCALATE,
                    at,
                    deliver,
                    to,
                    f"overdue since {fmt(due)}; escalated to {', '.join(to)}{why}",
                )
            )
    return sorted(rungs, key=lambda r: (r.deliver_at, r.at))


def escalation_recipients(
    to: tuple[str, ...], owner: str, book: RuleBook
) -> tuple[tuple[str, ...], str]:
    """Resolve `supervisor` and `center` to owner keys; returns (keys, a note on fallbacks)."""
    keys: list[str] = []
    notes: list[str] = []
    for name in to:
        if name == "supervisor":
            who = book.owners.get(owner)
            sup = who.supervisor if who is not None else None
            if sup is None:
                notes.append(f"{owner} has no supervisor")
                continue
            key = sup
        elif name == "center":
            key = book.center
        else:
            key = name
        if key not in book.owners:
            notes.append(f"unknown owner {key!r} skipped")
            continue
        if key not in keys:
            keys.append(key)
    if not keys:
        keys.append(book.center)
        notes.append("nobody else to tell, so the feedback center")
    return tuple(keys), (f" ({'; '.join(notes)})" if notes else "")


def step_key(step: ReminderStep) -> str:
    """The stable key of a pre-due rung (overdue keys carry their date instead)."""
    if step.at_fraction is not None:
        return f"at:{step.at_fraction * 100:g}%"
    if step.before is not None:
        return f"before:{step.before.amount}{_SHORT[step.before.unit]}"
    if step.on_due:
        return DUE
    raise ValueError(f"a reminder step needs at, before, on_due or overdue_every: {step}")


def _pre_due(
    owner: str, received: datetime, due: datetime, step: ReminderStep, unit: str, cal: WorkCalendar
) -> Reminder | None:
    key = step_key(step)
    if step.at_fraction is not None:
        if not 0 < step.at_fraction < 1:
            raise ValueError(f"reminder at {key[3:]} must lie strictly inside the term")
        if unit == CALENDAR_DAYS:
            at = received + (due - received) * step.at_fraction
            at = at.replace(second=0, microsecond=0)  # a share of wall time: whole minutes
        else:
            at = cal.add_working_time(
                received, cal.working_time_between(received, due) * step.at_fraction
            )
        note = f"{key[3:]} of the term has passed; due {fmt(due)}"
        kind = REMIND
    elif step.before is not None:
        check_term(step.before)
        at = _before(due, step.before, cal)
        note = f"{describe_term(step.before)} left; due {fmt(due)}"
        kind = REMIND
    elif step.on_due:
        at = cal.day_start(due.date())
        note = f"due today, {fmt(due)}"
        kind = DUE
    else:
        return None
    return Reminder(key, kind, at, cal.next_working_moment(at), (owner,), note)


def _before(due: datetime, term: Term, cal: WorkCalendar) -> datetime:
    if term.unit == WORKING_DAYS:
        return cal.day_start(cal.add_working_days(due.date(), -term.amount))
    if term.unit == CALENDAR_DAYS:
        return cal.day_start(due.date() - timedelta(days=term.amount))
    return cal.add_working_time(due, -timedelta(hours=term.amount))


def _after(moment: datetime, term: Term, cal: WorkCalendar) -> datetime:
    """`moment` plus a term: same clock time N working/calendar days on, or N working hours."""
    check_term(term)
    if term.unit == WORKING_DAYS:
        return cal.at(cal.add_working_days(moment.date(), term.amount), moment.time())
    if term.unit == CALENDAR_DAYS:
        return moment + timedelta(days=term.amount)
    return cal.add_working_time(moment, timedelta(hours=term.amount))


def _overdue(
    owner: str, due: datetime, every: Term, cal: WorkCalendar, until: datetime
) -> list[Reminder]:
    check_term(every)
    hourly = every.unit == WORKING_HOURS
    at = cal.next_working_moment(due)
    out: list[Reminder] = []
    for _ in range(_MAX_OCCURRENCES):
        deliver = cal.next_working_moment(at)
        if deliver > until:
            break
        key = f"{OVERDUE}:{at:%Y-%m-%dT%H:%M}" if hourly else f"{OVERDUE}:{at.date().isoformat()}"
        out.append(Reminder(key, OVERDUE, at, deliver, (owner,), f"overdue since {fmt(due)}"))
        at = _after(at, every, cal)
    return out


def _latest(rungs: list[Reminder]) -> list[Reminder]:
    """The most recent rung of a group; earlier ones are superseded by it."""
    return [max(rungs, key=lambda r: (r.deliver_at, r.at))] if rungs else []
