"""Due dates under Civil Code arts. 191 and 193, on the Russian production calendar."""

from __future__ import annotations

import io
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from daemon.adapters.config import load_rulebook
from daemon.core.deadlines import deadline_command, due_at
from daemon.core.rules import CalendarSettings, Term, WorkingHours
from daemon.core.workdays import WorkCalendar

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
    with pytest.raises(ValueError, match="unknown term unit"):
        due_at(msk(2025, 4, 28), Term(1, "fortnights"), C)
    with pytest.raises(ValueError, match="at least 1"):
        due_at(msk(2025, 4, 28), Term(0), C)


def test_a_year_without_a_decree_is_flagged() -> None:
    due = due_at(msk(2099, 3, 2, 10, 0), Term(10), C)
    assert any(s.startswith("warning:") and "2099" in s for s in due.steps)


# -- the command ------------------------------------------------------------------------------

RULES_YAML = """\
settings:
  center: center
  timezone: Europe/Moscow
owners:
  center: {name: Feedback Center, email: center@example.test}
  legal: {name: Legal, email: legal@example.test, supervisor: center}
categories:
  official:
    owner: legal
    deadline: 10 calendar_days
    template: ack_official
    folder: Feedback/Official
    reminders:
      - at: 50%
      - before: 1 working_day
      - on_due: true
      - overdue_every: 1 working_day
    escalate: {after: 1 working_day, to: [supervisor, center]}
  complaint: {owner: legal, deadline: 2 working_days, template: t, folder: f}
  thanks: {owner: legal, deadline: 5 working_days, template: t, folder: f}
  unclassified: {owner: center, deadline: 1 working_day, template: t, folder: f}
rules:
  - name: claim
    category: official
    when: {words: [claim]}
"""


@pytest.fixture()
def rules(tmp_path: Path) -> str:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES_YAML, encoding="utf-8")
    return str(path)


def test_deadline_command_prints_due_steps_and_ladder(rules: str) -> None:
    out, err = io.StringIO(), io.StringIO()
    rc = deadline_command(
        "2025-04-28T10:00", "official", rules, True, out, load_rules=load_rulebook, err=err
    )
    assert rc == 0, err.getvalue()
    lines = out.getvalue().splitlines()
    assert lines[0] == "official: due 2025-05-12 23:59:59 MSK"
    assert any("art. 193" in line for line in lines[1:])
    ladder = [line.split()[1] for line in lines if line.startswith("  - ") and " at 20" in line]
    assert ladder == ["at:50%", "before:1wd", "due", "overdue:2025-05-13", "escalate"]
    assert any("escalate at 2025-05-14 09:00 MSK to center" in line for line in lines)


def test_deadline_command_accepts_an_offset_and_stays_short_without_explain(rules: str) -> None:
    out = io.StringIO()
    due = deadline_command(
        "2025-04-28T07:00:00+00:00", "official", rules, False, out, load_rules=load_rulebook
    )
    assert due == 0
    assert out.getvalue() == "official: due 2025-05-12 23:59:59 MSK\n"


@pytest.mark.parametrize(
    "received, category, missing, rc",
    [
        ("2025-04-28 10:00", "nope", False, 2),
        ("28.04.2025", "official", False, 2),
        ("2025-04-28", "official", True, 78),
    ],
)
def test_deadline_command_errors(
    rules: str, received: str, category: str, missing: bool, rc: int
) -> None:
    out, err = io.StringIO(), io.StringIO()
    path = rules + ".missing" if missing else rules
    assert (
        deadline_command(received, category, path, False, out, load_rules=load_rulebook, err=err)
        == rc
    )
    assert out.getvalue() == ""
    assert len(err.getvalue().strip().splitlines()) == 1


def test_feedbackd_deadline_subcommand(rules: str, capsys: pytest.CaptureFixture[str]) -> None:
    from daemon.cli import main

    rc = main(
        [
            "deadline",
            "--received",
            "2025-04-28 10:00",
            "--category",
            "official",
            "--rules",
            rules,
            "--explain",
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0
    assert out.startswith("official: due 2025-05-12 23:59:59 MSK\n")
    assert "art. 191" in out
