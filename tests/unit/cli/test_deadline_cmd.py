"""`feedbackd deadline`: the due moment, the steps and the reminder ladder, as printed."""

from __future__ import annotations

import io
from datetime import datetime, time
from pathlib import Path

import pytest

from daemon.cli import deadline, main
from daemon.cli.deadline import deadline_command
from daemon.core.deadlines import Due, due_at
from daemon.core.rules import RuleBook, Term, WorkingHours
from daemon.core.workdays import WorkCalendar

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
    rc = deadline_command("2025-04-28T10:00", "official", rules, True, out, err=err)
    assert rc == 0, err.getvalue()
    lines = out.getvalue().splitlines()
    assert lines[0] == "official: due 2025-05-12 23:59:59 MSK"
    assert any("art. 193" in line for line in lines[1:])
    ladder = [line.split()[1] for line in lines if line.startswith("  - ") and " at 20" in line]
    assert ladder == ["at:50%", "before:1wd", "due", "overdue:2025-05-13", "escalate"]
    assert any("escalate at 2025-05-14 09:00 MSK to center" in line for line in lines)


def test_deadline_command_accepts_an_offset_and_stays_short_without_explain(rules: str) -> None:
    out = io.StringIO()
    assert deadline_command("2025-04-28T07:00:00+00:00", "official", rules, False, out) == 0
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
    assert deadline_command(received, category, path, False, out, err=err) == rc
    assert out.getvalue() == ""
    assert len(err.getvalue().strip().splitlines()) == 1


def test_feedbackd_deadline_subcommand(rules: str, capsys: pytest.CaptureFixture[str]) -> None:
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


def test_a_rules_value_refused_where_it_is_used_names_the_rules_file(
    rules: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loader refuses these with a line; a rule book built otherwise meets the core's own
    checks, which raise ConfigError (exit 78) and leave it to this command to name the file."""

    def backwards_hours(book: RuleBook) -> WorkCalendar:
        return WorkCalendar(book.calendar, book.timezone, WorkingHours(time(18), time(9)))

    monkeypatch.setattr(deadline, "calendar_for", backwards_hours)
    out, err = io.StringIO(), io.StringIO()
    assert deadline_command("2025-04-28T10:00", "official", rules, False, out, err=err) == 78
    assert (
        err.getvalue() == f"{rules}: working hours must start before they end: 18:00:00-09:00:00\n"
    )


def test_a_term_refused_by_the_arithmetic_names_file_and_category(
    rules: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def zero_days(received: datetime, term: Term, cal: WorkCalendar) -> Due:
        return due_at(received, Term(0), cal)

    monkeypatch.setattr(deadline, "due_at", zero_days)
    out, err = io.StringIO(), io.StringIO()
    assert deadline_command("2025-04-28T10:00", "official", rules, False, out, err=err) == 78
    assert out.getvalue() == ""
    assert err.getvalue() == (
        f"{rules}: category official: a term must be at least 1 calendar_days, got 0\n"
    )
