"""The reminder ladder simulated over days: right rungs, right moments, once, at work only."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from daemon.core.deadlines import due_at
from daemon.core.reminders import CaseClock, Reminder, escalation_recipients, ladder, plan_reminders
from daemon.core.rules import (
    CalendarSettings,
    Category,
    Escalation,
    Owner,
    ReminderStep,
    RuleBook,
    Term,
    WorkingHours,
)
from daemon.core.workdays import WorkCalendar

MSK = ZoneInfo("Europe/Moscow")
C = WorkCalendar(CalendarSettings(), "Europe/Moscow", WorkingHours())

LADDER = (
    ReminderStep(at_fraction=0.5),
    ReminderStep(before=Term(1, "working_days")),
    ReminderStep(on_due=True),
    ReminderStep(overdue_every=Term(1, "working_days")),
)
OFFICIAL = Category(
    "official",
    "legal",
    Term(10, "calendar_days"),
    "ack",
    "F/Official",
    reminders=LADDER,
    escalate=Escalation(Term(1, "working_days")),
)
BOOK = RuleBook(
    source="test",
    categories={"official": OFFICIAL},
    owners={
        "center": Owner("center", "Center", "center@example.test"),
        "head": Owner("head", "Head of Legal", "head@example.test", supervisor="center"),
        "legal": Owner("legal", "Legal", "legal@example.test", supervisor="head"),
        "lone": Owner("lone", "Nobody's report", "lone@example.test"),
    },
    rules=(),
    center="center",
)


def msk(y: int, m: int, d: int, hh: int = 0, mm: int = 0, ss: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, ss, tzinfo=MSK)


def claim(received: datetime, category: Category = OFFICIAL, owner: str = "legal") -> CaseClock:
    return CaseClock(received, due_at(received, category.deadline, C).at, owner)


def simulate(
    case: CaseClock,
    category: Category,
    start: datetime,
    end: datetime,
    tick: timedelta = timedelta(minutes=15),
    closed_at: datetime | None = None,
) -> list[tuple[datetime, Reminder]]:
    """Run the daemon's loop: every tick, plan, 'send', record the keys as sent."""
    sent: set[str] = set()
    log: list[tuple[datetime, Reminder]] = []
    now = start
    while now <= end:
        status = "closed" if closed_at is not None and now >= closed_at else "open"
        clock = CaseClock(case.received, case.due, case.owner, status)
        for r in plan_reminders(clock, category, BOOK, sent, now, C):
            assert r.key not in sent
            sent.add(r.key)
            log.append((now, r))
        now += tick
    return log


def keys(log: list[tuple[datetime, Reminder]]) -> list[tuple[str, str]]:
    return [(f"{t:%Y-%m-%d %H:%M}", r.key) for t, r in log]


# -- the full ladder --------------------------------------------------------------------------


def test_full_ladder_over_the_may_holidays() -> None:
    case = claim(msk(2025, 4, 28, 10, 0))
    assert case.due == msk(2025, 5, 12, 23, 59, 59)
    log = simulate(case, OFFICIAL, msk(2025, 4, 28, 10, 0), msk(2025, 5, 16, 23, 45))
    assert keys(log) == [
        ("2025-05-05 17:00", "at:50%"),  # 50% of wall time is 16:59, next tick
        ("2025-05-07 09:00", "before:1wd"),  # the working day before 05-12 is 05-07
        ("2025-05-12 09:00", "due"),
        ("2025-05-13 09:00", "overdue:2025-05-13"),
        ("2025-05-14 09:00", "escalate"),
        ("2025-05-14 09:00", "overdue:2025-05-14"),
        ("2025-05-15 09:00", "overdue:2025-05-15"),
        ("2025-05-16 09:00", "overdue:2025-05-16"),
    ]
    assert all(C.is_working_time(t) for t, _ in log)
    escalation = next(r for _, r in log if r.key == "escalate")
    assert escalation.recipients == ("head", "center")
    assert all(r.recipients == ("legal",) for _, r in log if r.key != "escalate")


def test_nothing_after_closing() -> None:
    case = claim(msk(2025, 4, 28, 10, 0))
    log = simulate(
        case,
        OFFICIAL,
        msk(2025, 4, 28, 10, 0),
        msk(2025, 5, 20, 18, 0),
        closed_at=msk(2025, 5, 7, 12, 0),
    )
    assert keys(log) == [("2025-05-05 17:00", "at:50%"), ("2025-05-07 09:00", "before:1wd")]


@pytest.mark.parametrize("status", ["answered", "closed"])
def test_stopped_statuses(status: str) -> None:
    case = claim(msk(2025, 4, 28, 10, 0))
    stopped = CaseClock(case.received, case.due, case.owner, status)
    assert plan_reminders(stopped, OFFICIAL, BOOK, set(), msk(2025, 5, 14, 10, 0), C) == []


def test_never_outside_working_hours() -> None:
    case = claim(msk(2025, 4, 28, 10, 0))
    for now in (
        msk(2025, 5, 13, 8, 59),
        msk(2025, 5, 13, 18, 0),
        msk(2025, 5, 13, 23, 0),
        msk(2025, 5, 17, 12, 0),
        msk(2025, 6, 12, 12, 0),
    ):  # Saturday; Russia Day
        assert plan_reminders(case, OFFICIAL, BOOK, set(), now, C) == []
    assert plan_reminders(case, OFFICIAL, BOOK, set(), msk(2025, 5, 13, 9, 0), C)


def test_sent_steps_are_not_repeated() -> None:
    case = claim(msk(2025, 4, 28, 10, 0))
    now = msk(2025, 5, 14, 11, 0)
    first = plan_reminders(case, OFFICIAL, BOOK, set(), now, C)
    assert [r.key for r in first] == ["escalate", "overdue:2025-05-14"]
    assert plan_reminders(case, OFFICIAL, BOOK, set(), now, C) == first  # pure, repeatable
    sent = {r.key for r in first}
    assert plan_reminders(case, OFFICIAL, BOOK, sent, now + timedelta(hours=3), C) == []


def test_now_in_another_zone() -> None:
    case = claim(msk(2025, 4, 28, 10, 0))
    utc_morning = datetime(2025, 5, 12, 6, 5, tzinfo=ZoneInfo("UTC"))  # 09:05 MSK
    assert [r.key for r in plan_reminders(case, OFFICIAL, BOOK, set(), utc_morning, C)] == ["due"]


# -- gaps: one reminder, not a burst ----------------------------------------------------------


def test_after_a_gap_only_the_latest_pre_due_rung_is_sent() -> None:
    case = claim(msk(2025, 4, 28, 10, 0))
    got = plan_reminders(case, OFFICIAL, BOOK, set(), msk(2025, 5, 12, 10, 0), C)
    assert [r.key for r in got] == ["due"]


def test_after_a_gap_past_due_pre_due_rungs_expire() -> None:
    case = claim(msk(2025, 4, 28, 10, 0))
    got = plan_reminders(case, OFFICIAL, BOOK, set(), msk(2025, 5, 16, 10, 0), C)
    assert [r.key for r in got] == ["escalate", "overdue:2025-05-16"]


# -- the rungs one by one ---------------------------------------------------------------------


def test_a_rung_before_receipt_is_dropped() -> None:
    # 1 working day term: "1 working day before" would be the morning of receipt day
    short = Category(
        "complaint",
        "legal",
        Term(1, "working_days"),
        "ack",
        "F",
        reminders=(ReminderStep(before=Term(1, "working_days")), ReminderStep(on_due=True)),
    )
    case = claim(msk(2025, 5, 5, 10, 0), short)
    rungs = ladder(case, short, BOOK, C, until=case.due)
    assert [(r.key, f"{r.deliver_at:%Y-%m-%d %H:%M}") for r in rungs] == [
        ("due", "2025-05-06 09:00")
    ]


def test_working_hours_ladder_across_a_weekend() -> None:
    urgent = Category(
        "complaint",
        "legal",
        Term(8, "working_hours"),
        "ack",
        "F",
        reminders=(
            ReminderStep(at_fraction=0.5),
            ReminderStep(before=Term(2, "working_hours")),
            ReminderStep(overdue_every=Term(3, "working_hours")),
        ),
        escalate=Escalation(Term(4, "working_hours"), ("center",)),
    )
    case = claim(msk(2025, 5, 16, 14, 0), urgent)  # Fri 14:00 + 8 wh = Mon 13:00
    assert case.due == msk(2025, 5, 19, 13, 0)
    log = simulate(case, urgent, case.received, msk(2025, 5, 20, 18, 0))
    assert keys(log) == [
        ("2025-05-19 09:00", "at:50%"),  # 4 of 8 working hours: Fri 14-18
        ("2025-05-19 11:00", "before:2wh"),
        ("2025-05-19 13:15", "overdue:2025-05-19T13:00"),
        ("2025-05-19 16:00", "overdue:2025-05-19T16:00"),
        ("2025-05-19 17:00", "escalate"),
        ("2025-05-20 10:00", "overdue:2025-05-20T10:00"),
        ("2025-05-20 13:00", "overdue:2025-05-20T13:00"),
        ("2025-05-20 16:00", "overdue:2025-05-20T16:00"),
    ]
    assert next(r for _, r in log if r.key == "escalate").recipients == ("center",)


def test_overdue_on_a_working_saturday_and_over_moved_days_off() -> None:
    # received Tue 2025-10-21: 10 days -> Fri 10-31; overdue on Sat 11-01 (worked), then 11-05
    case = claim(msk(2025, 10, 21, 10, 0))
    assert case.due == msk(2025, 10, 31, 23, 59, 59)
    log = simulate(case, OFFICIAL, msk(2025, 10, 31, 9, 0), msk(2025, 11, 5, 18, 0))
    assert keys(log) == [
        ("2025-10-31 09:00", "due"),
        ("2025-11-01 09:00", "overdue:2025-11-01"),
        ("2025-11-05 09:00", "escalate"),
        ("2025-11-05 09:00", "overdue:2025-11-05"),
    ]


def test_calendar_day_repeats_over_a_weekend_send_one_on_monday() -> None:
    daily = Category(
        "official",
        "legal",
        Term(10, "calendar_days"),
        "ack",
        "F",
        reminders=(ReminderStep(overdue_every=Term(1, "calendar_days")),),
    )
    case = claim(msk(2025, 3, 3, 10, 0), daily)  # due Thu 03-13
    log = simulate(case, daily, msk(2025, 3, 13, 9, 0), msk(2025, 3, 18, 18, 0))
    assert keys(log) == [
        ("2025-03-14 09:00", "overdue:2025-03-14"),
        ("2025-03-17 09:00", "overdue:2025-03-17"),  # Sat and Sun superseded by Monday's
        ("2025-03-18 09:00", "overdue:2025-03-18"),
    ]


def test_new_year_ladder() -> None:
    case = claim(msk(2024, 12, 25, 15, 0))  # due 2025-01-09
    log = simulate(case, OFFICIAL, case.received, msk(2025, 1, 13, 18, 0))
    assert keys(log) == [
        # the working day before 2025-01-09 is the working Saturday 2024-12-28
        ("2024-12-28 09:00", "before:1wd"),
        # 50% falls on 2025-01-02 07:30, inside the holidays: delivered on 01-09 09:00, where
        # the due-day rung supersedes it
        ("2025-01-09 09:00", "due"),
        ("2025-01-10 09:00", "overdue:2025-01-10"),
        ("2025-01-13 09:00", "escalate"),
        ("2025-01-13 09:00", "overdue:2025-01-13"),
    ]


# -- escalation recipients --------------------------------------------------------------------


def test_escalation_recipients() -> None:
    assert escalation_recipients(("supervisor", "center"), "legal", BOOK) == (
        ("head", "center"),
        "",
    )
    assert escalation_recipients(("supervisor", "center"), "head", BOOK) == (("center",), "")
    keys_, note = escalation_recipients(("supervisor", "center"), "lone", BOOK)
    assert keys_ == ("center",) and "no supervisor" in note
    keys_, note = escalation_recipients(("supervisor",), "lone", BOOK)
    assert keys_ == ("center",) and "feedback center" in note
    assert escalation_recipients(("head",), "legal", BOOK) == (("head",), "")
    keys_, note = escalation_recipients(("ghost", "center"), "legal", BOOK)
    assert keys_ == ("center",) and "ghost" in note
