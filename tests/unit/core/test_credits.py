"""Thanks credited to people: which employee a thank-you names, by word form, on plain values.

The book is the shipped rules.yaml with an `employees:` section added, built with the real
lemmatizer (pymorphy3 and Snowball), so "Ольге" and "Ольгу" meet the form "Ольга" as in
production; nobody lists endings.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from support import REPO
from twins import incoming

from daemon.adapters.config import load_templates
from daemon.adapters.morphology import default_lemmatizer
from daemon.core.credits import credit, thanked_addresses
from daemon.core.mail.staff import NoticeDesk
from daemon.core.rules import RuleBook, build
from daemon.core.triage import Arrival, Frame, Plan, triage
from daemon.core.workdays import calendar_for

EMPLOYEES = """
employees:
  - name: Ольга Петрова
    forms: [Ольга, Ольга Петрова, Петрова, Olga]
    address: olga@example.test
    team: team
    manager: support
  - name: Ольга Смирнова
    forms: [Ольга, Смирнова]
    address: olga.s@example.test
    team: team
    manager: olga@example.test
  - name: Иван Соколов
    forms: [Иван, Ivan]
    address: ivan@example.test
    team: legal
"""
NOW = datetime(2026, 3, 3, 5, 0, tzinfo=UTC)


def book_with(extra: str) -> RuleBook:
    text = (REPO / "rules.yaml").read_text(encoding="utf-8") + extra
    return build(text, "rules.yaml", default_lemmatizer()).require()


@pytest.fixture(scope="module")
def book() -> RuleBook:
    return book_with(EMPLOYEES)


def named(text: str, book: RuleBook) -> list[str]:
    return [p.address for p in credit(text, book).employees]


@pytest.mark.parametrize(
    "text",
    [
        "Огромное спасибо Ольге Петровой из отдела доставки!",
        "Передайте благодарность Ольге Петровой",
        "Хочу отметить Петрову, очень помогла",
        "Olga Petrova was great",  # "Olga" alone fits one person: the English form is hers
    ],
)
def test_any_case_form_of_a_name_credits_its_employee(text: str, book: RuleBook) -> None:
    assert named(text, book) == ["olga@example.test"]


def test_a_form_no_one_wrote_is_found_by_its_lemma() -> None:
    one = book_with(EMPLOYEES.split("  - name: Ольга Смирнова")[0])
    for text in ("Спасибо Ольге", "благодарим Ольгу", "с Ольгой было приятно", "ОЛЬГА молодец"):
        assert named(text, one) == ["olga@example.test"], text


def test_a_name_two_employees_share_credits_their_team_not_a_guess(book: RuleBook) -> None:
    found = credit("Спасибо Ольге из отдела доставки!", book)
    assert found.employees == ()
    [unclear] = found.unclear
    assert unclear.word == "ольга"
    assert unclear.candidates == ("olga@example.test", "olga.s@example.test")
    assert found.teams == ("team",)


def test_a_surname_settles_a_shared_first_name(book: RuleBook) -> None:
    found = credit("Спасибо Ольге Смирновой!", book)
    assert [p.address for p in found.employees] == ["olga.s@example.test"]
    assert found.unclear == ()


def test_several_people_named_are_each_credited(book: RuleBook) -> None:
    assert named("Спасибо Ивану и Петровой", book) == ["olga@example.test", "ivan@example.test"]


def test_a_thank_you_naming_nobody_credits_nobody(book: RuleBook) -> None:
    assert credit("Спасибо за быструю доставку", book) == credit("", book)
    assert named("Иванов прислал заказ", book) == []  # another word, another lemma


def test_the_manager_is_an_owner_or_another_employee(book: RuleBook) -> None:
    olga, smirnova = book.employees["olga@example.test"], book.employees["olga.s@example.test"]
    assert thanked_addresses(olga, book) == ("olga@example.test", "support-lead@example.test")
    assert thanked_addresses(smirnova, book) == ("olga.s@example.test", "olga@example.test")
    assert thanked_addresses(book.employees["ivan@example.test"], book) == ("ivan@example.test",)


def test_check_reports_unknown_team_and_manager_and_a_repeated_address_at_their_lines() -> None:
    base = (REPO / "rules.yaml").read_text(encoding="utf-8")
    start = base.count("\n") + 1
    bad = """
employees:
  - name: Ольга
    address: olga@example.test
    team: nowhere
  - name: Пётр
    address: OLGA@example.test
    team: team
    manager: ghost
"""
    built = build(base + bad, "rules.yaml", default_lemmatizer())
    problems = [(p.line - start, p.message) for p in built.report.problems if p.line]
    assert problems == [
        (
            4,
            "employee 'Ольга': team 'nowhere' is not an owner key; "
            "use one of center, legal, support, team",
        ),
        (6, "employee 'Пётр': address olga@example.test is listed twice"),
        (8, "employee 'Пётр': manager 'ghost' is neither an owner key nor an employee's address"),
    ]


def test_a_thank_you_plans_the_credit_and_one_mail_to_the_employee_and_one_to_the_manager(
    book: RuleBook,
) -> None:
    raw = incoming("anna@customer.test", "Спасибо", "Большое спасибо Ольге Петровой за помощь!")
    plan = planned(book, raw)
    [case] = plan.cases
    [credited] = [e for e in case.events if e.what == "credited"]
    assert credited.data == {
        "employee": "olga@example.test",
        "team": "team",
        "name": "Ольга Петрова",
    }
    thanks = [m.recipients[0] for m in plan.mail if m.kind == "thanks"]
    assert thanks == ["team@example.test", "olga@example.test", "support-lead@example.test"]


def test_a_shared_name_credits_nobody_and_the_thanks_goes_to_their_common_team() -> None:
    two = book_with(EMPLOYEES.replace("team: team", "team: legal"))  # both Olgas in legal
    raw = incoming("anna@customer.test", "Спасибо", "Спасибо Ольге из отдела доставки!")
    plan = planned(two, raw)
    [case] = plan.cases
    assert "credited" not in [e.what for e in case.events]
    [unclear] = [e.data for e in case.events if e.what == "credit_unclear"]
    assert unclear["team"] == "legal" and len(unclear["candidates"]) == 2
    thanks = [m.recipients[0] for m in plan.mail if m.kind == "thanks"]
    assert thanks == ["team@example.test", "legal@example.test"]  # no Olga guessed


def test_an_owner_who_is_also_the_manager_gets_the_thanks_not_a_notice_beside_it() -> None:
    center_owns = book_with(EMPLOYEES.replace("manager: support", "manager: center"))
    thanks = replace(center_owns.categories["thanks"], owner="center", forward_to=())
    rules = tuple(
        replace(r, owner=None) if r.category == "thanks" else r for r in center_owns.rules
    )
    ordered = tuple(
        replace(r, owner=None) if r.category == "thanks" else r for r in center_owns.ordered_rules
    )
    book = replace(
        center_owns,
        categories={**center_owns.categories, "thanks": thanks},
        rules=rules,
        ordered_rules=ordered,
    )
    raw = incoming("anna@customer.test", "Спасибо", "Спасибо Ольге Петровой!")
    plan = planned(book, raw)
    [case] = plan.cases
    assert case.owner == "center"
    assert [(m.kind, m.recipients[0]) for m in plan.mail if m.kind != "ack"] == [
        ("thanks", "olga@example.test"),
        ("thanks", "center@example.test"),  # the owner, as Olga's manager: one mail
    ]
    assert "owner_notified" in [e.what for e in case.events]


def test_a_robots_thank_you_credits_nobody(book: RuleBook) -> None:
    """A no-reply sender (a web form may relay a person) opens a case but credits nobody; a
    robot that says so (Auto-Submitted) opens no case at all (daemon.core.triage NO_CASE)."""
    raw = incoming("noreply@shop.test", "Спасибо", "Спасибо Ольге Петровой!")
    plan = planned(book, raw)
    [case] = plan.cases
    assert "credited" not in [e.what for e in case.events]
    assert "olga@example.test" not in [m.recipients[0] for m in plan.mail]
    robot = incoming(
        "noreply@shop.test",
        "Спасибо",
        "Спасибо Ольге Петровой!",
        headers={"Auto-Submitted": "auto-generated"},
    )
    plan = planned(book, robot)
    assert plan.outcome == "automatic" and not plan.cases and not plan.mail


def planned(book: RuleBook, raw: bytes) -> Plan:
    """Triage's plan for `raw` as the first message a store with this book ever saw."""
    desk = NoticeDesk(load_templates(REPO / "templates"), book, "feedback@example.test", bytes(32))
    ids = (f"<{n}@example.test>" for n in itertools.count(1))
    frame = Frame(desk, calendar_for(book), ids.__next__)
    return triage(Arrival(7, 1, raw, NOW), frame, _Empty(), NOW)


class _Empty:
    """A store that knows nothing yet."""

    def case(self, cid: str) -> None:
        return None

    def case_for_message_id(self, message_id: str) -> None:
        return None

    def outmail(self, mail_id: str) -> None:
        return None

    def ledger_by_message_id(self, message_id: str) -> None:
        return None

    def ack_times(self, recipient: str) -> list[datetime]:
        return []

    def meta(self, key: str) -> None:
        return None

    def meta_time(self, key: str) -> None:
        return None
