"""The outcome of a close: its words parse, the rule book's causes and remedies decide, and
rules.yaml's outcome sections are checked like every other section."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from support import REPO

from daemon.adapters.config import load_rulebook
from daemon.core import cases
from daemon.core.outcomes import Refusal, asked_from, case_complexity, parse_words, settle
from daemon.core.owner_commands import authorize, parse_command
from daemon.core.rules import RuleBook, build
from daemon.core.satisfaction import may_ask

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
OWNER = "support-lead@example.test"


@pytest.fixture(scope="module")
def book() -> RuleBook:
    return load_rulebook(REPO / "rules.yaml")


def complaint(tags: tuple[str, ...] = (), category: str = "complaint") -> cases.Case:
    return cases.open_case(
        "FB-2026-000001",
        category=category,
        owner="support",
        received=NOW,
        due=NOW + timedelta(days=2),
        sender="anna@customer.test",
        sender_name="Anna",
        subject="Broken",
        message_id="<m1@customer.test>",
        language="ru",
        rule="complaint",
        tags=tags,
    )


def test_the_words_of_a_close_parse_in_both_languages() -> None:
    en = parse_words("justified cause=delivery remedy=certificate employee=<Olga@X.test>")
    assert en is not None
    assert (en.verdict, en.cause, en.remedy, en.employees) == (
        "justified",
        "delivery",
        "certificate",
        ("olga@x.test",),
    )
    ru = parse_words("необоснована причина=доставка сотрудник=a@x.test сотрудник=b@x.test.")
    assert ru is not None and ru.verdict == "unjustified"
    assert ru.employees == ("a@x.test", "b@x.test")
    assert parse_words("to done, will answer tomorrow") is None
    assert parse_words("justified unjustified") is None
    assert parse_words("justified colour=red") is None


def test_close_with_arguments_is_a_command_but_prose_is_not() -> None:
    command = parse_command("закрыть обоснована причина=доставка средство=сертификат\n> notice")
    assert command is not None and command.kind == "close"
    assert parse_command("Close to done, will answer tomorrow") is None
    explain = parse_command("explain <Olga@Staff.test>")
    assert explain is not None
    assert (explain.kind, explain.argument) == ("explain", "olga@staff.test")
    assert parse_command("explain to me why") is None


def test_settle_checks_causes_remedies_and_levels(book: RuleBook) -> None:
    case = complaint()
    assert settle(asked_from(), case, book) == {}  # optional: a bare close
    data = settle(asked_from("justified", "Доставка", "сертификат"), case, book)
    assert data == {
        "verdict": "justified",
        "cause": "delivery",
        "remedy": "certificate",
        "remedy_kind": "present",
        "employees": [],
        "complexity": "simple",
    }
    unknown = settle(asked_from("justified", "weather"), case, book)
    assert isinstance(unknown, Refusal) and unknown.code == "unknown_cause"
    assert "delivery" in unknown.say("en") and "доставка" not in unknown.say("en")
    refund = settle(asked_from("justified", remedy="refund"), case, book)
    assert isinstance(refund, Refusal) and refund.code == "remedy_level"
    assert "apology" in refund.say("ru") and "serious" in refund.say("ru")
    stated = settle(asked_from("justified", remedy="refund", complexity="serious"), case, book)
    assert isinstance(stated, dict) and stated["complexity"] == "serious"
    no_verdict = settle(asked_from(cause="delivery"), case, book)
    assert isinstance(no_verdict, Refusal) and no_verdict.code == "needs_verdict"


def test_complexity_starts_at_the_category_and_tags_raise_it(book: RuleBook) -> None:
    assert case_complexity(complaint(), book) == "simple"
    assert case_complexity(complaint(("thanks", "medium")), book) == "medium"
    assert case_complexity(complaint(category="official"), book) == "serious"


def test_a_required_verdict_refuses_a_bare_close_by_mail(book: RuleBook) -> None:
    strict = replace(
        book,
        categories={
            **book.categories,
            "complaint": replace(book.categories["complaint"], verdict_required=True),
        },
    )
    auth = authorize(parse_command("close"), complaint(), OWNER, True, strict)
    assert not auth.allowed and auth.code == "needs_verdict"
    assert "обоснована" in auth.reason  # the owner speaks Russian: the reply says what to write
    auth = authorize(parse_command("close unjustified"), complaint(), OWNER, True, strict)
    assert auth.allowed and auth.data["verdict"] == "unjustified"


def test_check_reports_bad_outcome_sections() -> None:
    text = (REPO / "rules.yaml").read_text(encoding="utf-8")
    bad = text.replace(
        "  refund: {kind: compensation, from: serious,",
        "  refund: {kind: money, from: hard,",
    ).replace("  other: [другое]", "  other: [доставка]")
    problems = [p.message for p in build(bad, "rules.yaml").report.problems]
    assert any("kind must be one of apology, present, compensation" in p for p in problems)
    assert any("'hard' is not a complexity level" in p for p in problems)
    assert any("'доставка' names both 'delivery' and 'other'" in p for p in problems)


def test_who_is_asked_whether_it_was_solved(book: RuleBook) -> None:
    acked = cases.apply(complaint(), "ack_sent", NOW, message_id="<ack@fb>")
    closed = cases.apply(acked, "closed", NOW + timedelta(hours=1), verdict="justified")
    later = NOW + timedelta(hours=2)
    quiet: dict[str, datetime] = {}

    def ask(case: cases.Case, the_book: RuleBook = book, since: datetime = NOW) -> bool:
        return may_ask(case, the_book, quiet.get, since, later)

    assert ask(closed)
    assert not ask(closed, since=NOW + timedelta(hours=2))  # closed before the feature ran
    assert not ask(cases.apply(closed, "satisfaction_asked", later))  # once per case
    assert not ask(cases.apply(closed, "bounce", later, hard=True))  # never after a bounce
    robot = cases.apply(complaint(), "ack_skipped", NOW, kind="auto_reply", reasons=["x"])
    assert not ask(cases.apply(robot, "closed", NOW + timedelta(hours=1)))
    limited = cases.apply(complaint(), "ack_skipped", NOW, kind="rate_limited", reasons=["x"])
    assert ask(cases.apply(limited, "closed", NOW + timedelta(hours=1)))  # a person all the same
    bulk = cases.apply(acked, "closed", NOW + timedelta(hours=1), reason="bulk close: received")
    assert not ask(bulk)
    off = replace(
        book,
        categories={
            **book.categories,
            "complaint": replace(book.categories["complaint"], ask_solved=False),
        },
    )
    assert not ask(closed, off)
    quiet["no_followup:anna@customer.test"] = NOW  # said "stop" once
    assert not ask(closed)
    quiet.clear()
    quiet["hard_bounce:anna@customer.test"] = later + timedelta(days=1)
    assert not ask(closed)
