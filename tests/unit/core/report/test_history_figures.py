"""History in the period report: imported cases are counted, never judged, and left out of the
digest's figures (the digest says how the daemon did, and it never had them)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from daemon.core.cases import Case, apply, open_case
from daemon.core.report.figures import build_report

TZ = "Europe/Moscow"
MSK = ZoneInfo(TZ)
NOW = datetime(2026, 11, 3, 12, 0, tzinfo=MSK)
START, END = date(2026, 10, 1), date(2026, 10, 31)


def case(n: int, received: datetime, *, history: bool) -> Case:
    c = open_case(
        f"FB-2026-{n:06d}",
        category="complaint",
        owner="support",
        received=received,
        due=received + timedelta(days=2),
        sender="anna@customer.test",
        sender_name="Anna",
        subject="Жалоба",
        message_id=f"<{n}@customer.test>",
        language="ru",
        rule="complaint-ru",
        tags=("delivery",),
    )
    return apply(c, "imported", NOW - timedelta(days=1)) if history else c


def test_history_is_counted_but_neither_on_time_late_overdue_nor_pending() -> None:
    old = [case(n, datetime(2026, 10, 5, 10, 0, tzinfo=MSK), history=True) for n in (1, 2, 3)]
    live = case(4, datetime(2026, 10, 20, 10, 0, tzinfo=MSK), history=False)  # overdue now
    report = build_report([*old, live], START, END, NOW, TZ)
    assert report.total == 4 and report.history == 3
    assert report.by["category"]["complaint"].count == 4
    assert report.by["category"]["complaint"].overdue == 1  # only the live one
    assert (report.on_time, report.late, report.overdue_unanswered, report.pending) == (0, 0, 1, 0)
    assert report.on_time_pct == 0.0  # judged on the one live case only
    assert report.first_response.count == 0 and report.resolution.count == 0
    assert [ln.id for ln in report.open_cases] == [live.id]  # history is closed


def test_the_digest_leaves_history_out() -> None:
    old = case(1, datetime(2026, 10, 5, 10, 0, tzinfo=MSK), history=True)
    report = build_report([old], START, END, NOW, TZ, history=False)
    assert report.total == 0 and report.history == 0 and report.by["category"] == {}
