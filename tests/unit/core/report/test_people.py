"""Figures for bonuses and meetings: thanks, verdicts and explanations per employee and team,
the HR CSV, and the meeting digest in both languages with its lists capped.

The cases are built through the real lifecycle with the events the daemon writes
(`credited`, `credit_unclear`, `thanks_quoted`, `closed` with `employees`,
`explanation_asked`/`explanation_given`); the expected numbers are counted by hand here.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from support import REPO

from daemon.adapters.config import load_templates
from daemon.adapters.morphology import default_lemmatizer
from daemon.core.cases import Case, apply, open_case
from daemon.core.report import render
from daemon.core.report.digest import compose_digest, employee_teams, previous_period
from daemon.core.report.figures import build_report
from daemon.core.report.text import ROW_COLUMNS
from daemon.core.rules import RuleBook, build

TZ = "Europe/Moscow"
MSK = ZoneInfo(TZ)
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=MSK)  # Monday: the digest of 16–22 November
MON = datetime(2026, 11, 16, 10, tzinfo=MSK)
WORDS = load_templates(REPO / "templates").digest  # the shipped digest.LANG.yaml
OLGA, IVAN = "olga@example.test", "ivan@example.test"
EMPLOYEES = f"""
employees:
  - name: Ольга Петрова
    forms: [Ольга]
    address: {OLGA}
    team: team
    manager: support
  - name: Иван Соколов
    address: {IVAN}
    team: support
"""


@pytest.fixture(scope="module")
def book() -> RuleBook:
    text = (REPO / "rules.yaml").read_text(encoding="utf-8") + EMPLOYEES
    return build(text, "rules.yaml", default_lemmatizer()).require()


def _case(n: int, category: str, owner: str, received: datetime, subject: str = "") -> Case:
    return open_case(
        f"FB-2026-{n:06d}",
        category=category,
        owner=owner,
        received=received,
        due=received + timedelta(days=2),
        sender=f"c{n}@customer.test",
        sender_name="C",
        subject=subject or f"s{n}",
        message_id=f"<{n}@x>",
        language="ru",
        rule=f"{category}-ru",
    )


def thanks(n: int, at: datetime, employee: str = "", words: str = "", team: str = "") -> Case:
    case = _case(n, "thanks", "team", at)
    if words:
        case = apply(case, "thanks_quoted", at, text=words)
    if employee:
        case = apply(case, "credited", at, employee=employee, team="team", name="x")
    if team:
        case = apply(case, "credit_unclear", at, word="ольга", candidates=[OLGA, "o2@x"], team=team)
    return case


def complaint(n: int, at: datetime, verdict: str, employees: list[str], cause: str) -> Case:
    case = _case(n, "complaint", "support", at, f"Курьер опоздал {n}")
    case = apply(case, "answered", at + timedelta(hours=1))
    return apply(
        case,
        "closed",
        at + timedelta(hours=2),
        verdict=verdict,
        cause=cause,
        remedy="apology",
        employees=employees,
    )


def week() -> list[Case]:
    asked = apply(
        complaint(5, MON, "justified", [IVAN], "delivery"),
        "explanation_asked",
        MON + timedelta(hours=3),
        employee=IVAN,
        due=(MON + timedelta(days=1)).isoformat(),
    )
    given = apply(
        complaint(6, MON, "unjustified", [OLGA], "quality"),
        "explanation_asked",
        MON + timedelta(hours=3),
        employee=OLGA,
        due=(MON + timedelta(days=3)).isoformat(),
    )
    given = apply(
        given, "explanation_given", MON + timedelta(days=1), employee=OLGA, text="…", late=False
    )
    return [
        thanks(1, MON, OLGA, "Спасибо Ольге за помощь с доставкой!"),
        thanks(2, MON + timedelta(days=1), OLGA),
        thanks(3, MON + timedelta(days=2)),  # named nobody: the team's (owner `team`)
        thanks(4, MON + timedelta(days=2), team="support"),  # two Olgas: their team's
        asked,
        given,
        complaint(7, MON, "justified", [IVAN, OLGA], "delivery"),
    ]


def report(book: RuleBook, cases: list[Case] | None = None):
    return build_report(
        cases or week(),
        date(2026, 11, 16),
        date(2026, 11, 22),
        NOW,
        TZ,
        {"thanks": ("team",)},
        teams=employee_teams(book),
    )


def test_thanks_verdicts_and_explanations_count_per_employee(book: RuleBook) -> None:
    by = report(book).by["employee"]
    olga, ivan = by[OLGA], by[IVAN]
    assert (olga.thanks, olga.justified, olga.unjustified) == (2, 1, 1)
    assert (olga.explanations_asked, olga.explanations_given, olga.explanations_overdue) == (
        1,
        1,
        0,
    )
    assert (ivan.thanks, ivan.justified, ivan.unjustified) == (0, 2, 0)
    assert (ivan.explanations_asked, ivan.explanations_given, ivan.explanations_overdue) == (
        1,
        0,
        1,  # due Tuesday, not given by Monday after
    )
    assert olga.count == 4 and ivan.count == 2  # the cases each is part of
    assert ivan.on_time_pct == 100.0


def test_named_thanks_count_for_the_employees_team_and_unnamed_for_the_case_team(
    book: RuleBook,
) -> None:
    by = report(book).by["team"]
    # team: cases 1, 2 (Olga's), 3 (unnamed, owner team) and 6, 7 (Olga's complaints)
    assert by["team"].thanks == 3
    # support: case 4 (two Olgas share team support) and Ivan's complaints 5, 7
    assert by["support"].thanks == 1 and by["support"].justified == 2


def test_the_hr_csv_is_one_row_per_employee_under_fixed_columns(book: RuleBook) -> None:
    names = {OLGA: "Ольга Петрова", IVAN: "Иван Соколов"}
    out = render(report(book), "csv", "employee", names, employee_teams(book))
    rows = list(csv.DictReader(io.StringIO(out)))
    assert tuple(rows[0]) == ROW_COLUMNS
    olga = next(r for r in rows if r["key"] == OLGA)
    assert (olga["name"], olga["team"], olga["thanks"], olga["justified"]) == (
        "Ольга Петрова",
        "team",
        "2",
        "1",
    )
    assert len(rows) == 2
    causes = list(csv.DictReader(io.StringIO(render(report(book), "csv", "cause"))))
    assert [(r["key"], r["justified"]) for r in causes] == [("delivery", "2"), ("quality", "0")]


def many() -> list[Case]:
    """A large store's week: 30 open complaints, 25 justified, 12 quoted thanks (open, so
    overdue too)."""
    out = []
    for n in range(1, 31):
        out.append(_case(100 + n, "complaint", "support", MON, f"Тема <b>{n}</b>"))
    for n in range(1, 26):
        out.append(complaint(200 + n, MON, "justified", [IVAN], f"cause{n % 7}"))
    for n in range(1, 13):
        out.append(thanks(300 + n, MON, OLGA, f"Спасибо Ольге, вы лучшая № {n}"))
    return out


@pytest.mark.parametrize(
    ("language", "more", "title"),
    [("ru", "и ещё {}", "Просроченные обращения"), ("en", "and {} more", "Overdue cases")],
)
def test_the_digest_renders_in_both_languages_with_every_list_capped(
    book: RuleBook, language: str, more: str, title: str
) -> None:
    cases = many()
    now_report = report(book, cases)
    before = build_report(cases[:3], *previous_period(now_report.start, now_report.end), NOW, TZ)
    msg = compose_digest(
        now_report,
        book,
        NOW,
        "fb@example.test",
        ["c@example.test"],
        previous=before,
        language=language,
        words=WORDS,
    )
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    for part in (text, html):
        assert title in part
        assert more.format(32) in part  # 30 complaints and 12 thanks overdue, 10 shown
        assert more.format(15) in part  # 25 justified, 10 shown
        assert more.format(9) in part  # 12 thanks, 3 quoted
        assert more.format(2) in part  # 7 causes, 5 in the chart
    assert text.count("«Спасибо Ольге") == 3
    assert "&lt;b&gt;1&lt;/b&gt;" in html and "<b>1</b>" not in html  # subjects are data
    assert "c101@customer.test" in text  # the overdue case's sender
    assert "+67" in text  # 67 cases against the previous week's 0
    assert len(msg.as_bytes()) < 100_000


def test_the_digest_lists_the_same_whatever_the_store_holds(book: RuleBook) -> None:
    """Capped: ten times the overdue cases, the same digest size within a few bytes."""
    cases = many()
    extra = [_case(1000 + n, "complaint", "support", MON, f"Тема {n}") for n in range(270)]
    small = compose_digest(report(book, cases), book, NOW, "f@x.test", ["c@x.test"], words=WORDS)
    large = compose_digest(
        report(book, cases + extra), book, NOW, "f@x.test", ["c@x.test"], words=WORDS
    )
    assert abs(len(large.as_bytes()) - len(small.as_bytes())) < 300
