"""Owner commands by mail: every form parses; only owner/supervisor/center with the token act."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from support import REPO

from daemon.adapters.config import load_rulebook
from daemon.core import cases
from daemon.core.owner_commands import ALIASES, Command, authorize, commanders, parse_command
from daemon.core.rules import Owner, RuleBook

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=timezone(timedelta(hours=3)))
BOOK = RuleBook(
    source="test",
    categories={},
    rules=(),
    center="center",
    owners={
        "center": Owner("center", "Feedback Center", "center@company.example", "ru"),
        "head": Owner("head", "Head of Support", "head@company.example", "en", "center"),
        "support": Owner("support", "Support", "support@company.example", "en", "head"),
        "legal": Owner("legal", "Юристы", "legal@company.example", "ru", "center"),
        "other": Owner("other", "Other Team", "other@company.example", "en", "head2"),
        "head2": Owner("head2", "Other Head", "head2@company.example", "en"),
    },
)


def case(owner: str = "support", status: str = "open") -> cases.Case:
    c = cases.open_case(
        "FB-2026-000001",
        category="complaint",
        owner=owner,
        received=NOW,
        due=NOW + timedelta(days=2),
        sender="anna@customer.test",
        sender_name="Anna",
        subject="Broken",
        message_id="<m1@customer.test>",
        language="en",
        rule="r1",
    )
    if status == "answered":
        c = cases.apply(c, "answered", NOW)
    elif status == "closed":
        c = cases.apply(c, "closed", NOW)
    return c


# -- parse_command ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, kind, argument",
    [
        ("close", "close", ""),
        ("Close", "close", ""),
        ("CLOSE.", "close", ""),
        ("  close!  \n", "close", ""),
        ("\n\n\nclose\n", "close", ""),
        ("\ufeffclose", "close", ""),
        ("закрыть", "close", ""),
        ("Закрыть.", "close", ""),
        ("reopen", "reopen", ""),
        ("переоткрыть", "reopen", ""),
        ("reassign legal", "reassign", "legal"),
        ("Reassign: Legal", "reassign", "legal"),
        ("reassign to legal", "reassign", "legal"),
        ("reassign legal@company.example", "reassign", "legal@company.example"),
        ("reassign <Legal@Company.example>", "reassign", "legal@company.example"),
        ("передать legal", "reassign", "legal"),
        ("передать на legal", "reassign", "legal"),
        ("note called the customer", "note", "called the customer"),
        ("Note: called the customer", "note", "called the customer"),
        ("заметка позвонили клиенту", "note", "позвонили клиенту"),
    ],
)
def test_every_command_form_and_alias(text: str, kind: str, argument: str) -> None:
    cmd = parse_command(text)
    assert cmd is not None
    assert (cmd.kind, cmd.argument) == (kind, argument)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\n  ",
        "thanks, will do",
        "Close to done, will answer tomorrow",  # a sentence that starts with a command word
        "close please",
        "closed",
        "close-ish",
        "reopen now",
        "reassign",
        "reassign legal please",
        "note",
        "note   ",
        "> close",  # quoted text is not the reply's own first line
        "> close\n\nclose",  # nor is a command below the quote (bottom-post)
        "On Mon, Feedback wrote:\n> close",
        "noted",
    ],
)
def test_anything_else_is_not_a_command(text: str) -> None:
    assert parse_command(text) is None


def test_command_above_quoted_text_counts_and_the_quote_is_ignored() -> None:
    reply = (
        "close\n\nOn Mon, 2 Mar 2026, Feedback Center wrote:\n> reassign legal\n"
        "> note this must not be read\n"
    )
    assert parse_command(reply) == Command("close", "", "close")


def note(text: str) -> str:
    cmd = parse_command(text)
    assert cmd is not None and cmd.kind == "note"
    return cmd.argument


def test_a_note_takes_its_paragraph_and_stops_at_a_blank_quote_or_signature() -> None:
    assert note("note line one\nline two\n\nOn Mon X wrote:\n> q") == "line one\nline two"
    assert note("note a\n> quoted") == "a"
    assert note("note a\n-- \nIvan") == "a"
    assert note("note a\n________________\nFrom: x") == "a"
    assert note("note a\r\nb") == "a\nb"


def test_a_huge_note_is_capped() -> None:
    cmd = parse_command("note " + "x" * 10_000)
    assert cmd is not None and len(cmd.argument) == 2000


# -- authorize -------------------------------------------------------------------------------


def test_the_owner_with_the_token_may_close_and_the_event_applies() -> None:
    c = case()
    auth = authorize(parse_command("close"), c, "support@company.example", True, BOOK)
    assert auth.allowed and auth.code == "ok" and auth.event == "closed"
    assert auth.actor == "support" and auth.language == "en"
    closed = cases.apply(c, auth.event, NOW, who=auth.actor, **auth.data)
    assert closed.status == "closed"


@pytest.mark.parametrize(
    "sender", ["head@company.example", "center@company.example", "Support@Company.Example "]
)
def test_supervisor_and_center_may_command_too(sender: str) -> None:
    auth = authorize(parse_command("close"), case(), sender, True, BOOK)
    assert auth.allowed, auth.reason


def test_a_forged_from_without_the_token_is_rejected() -> None:
    auth = authorize(parse_command("close"), case(), "support@company.example", False, BOOK)
    assert not auth.allowed and auth.code == "bad_token" and auth.event == ""
    assert "FB-2026-000001" in auth.reason


@pytest.mark.parametrize(
    "sender",
    ["mallory@evil.test", "anna@customer.test", "legal@company.example", "head2@company.example"],
)
def test_a_valid_token_from_anyone_else_is_rejected(sender: str) -> None:
    auth = authorize(parse_command("close"), case(), sender, True, BOOK)
    assert not auth.allowed and auth.code == "not_allowed"


def test_the_supervisor_of_another_owner_is_not_allowed() -> None:
    auth = authorize(parse_command("close"), case("other"), "head@company.example", True, BOOK)
    assert not auth.allowed and auth.code == "not_allowed"
    assert authorize(
        parse_command("close"), case("other"), "head2@company.example", True, BOOK
    ).allowed


def test_reassign_to_a_known_owner_by_key_or_address() -> None:
    for target in ("legal", "LEGAL@company.example"):
        auth = authorize(
            parse_command(f"reassign {target}"), case(), "support@company.example", True, BOOK
        )
        assert auth.allowed and auth.event == "reassigned" and auth.data == {"owner": "legal"}
        assert cases.apply(case(), auth.event, NOW, **auth.data).owner == "legal"


def test_reassign_to_an_unknown_owner_or_the_same_owner_is_rejected() -> None:
    auth = authorize(
        parse_command("reassign nobody"), case(), "support@company.example", True, BOOK
    )
    assert not auth.allowed and auth.code == "unknown_owner"
    assert "nobody" in auth.reason and "legal" in auth.reason
    same = authorize(parse_command("reassign support"), case(), "head@company.example", True, BOOK)
    assert not same.allowed and same.code == "same_owner"


def test_note_carries_its_text() -> None:
    auth = authorize(
        parse_command("note called her"), case(), "support@company.example", True, BOOK
    )
    assert auth.allowed and auth.event == "note" and auth.data == {"text": "called her"}


def test_a_command_the_lifecycle_forbids_is_rejected_with_the_state() -> None:
    auth = authorize(
        parse_command("close"), case(status="closed"), "support@company.example", True, BOOK
    )
    assert not auth.allowed and auth.code == "illegal" and "closed" in auth.reason
    assert not authorize(
        parse_command("reopen"), case(), "support@company.example", True, BOOK
    ).allowed
    assert (
        authorize(
            parse_command("reopen"), case(status="closed"), "support@company.example", True, BOOK
        ).event
        == "reopened"
    )


def test_no_command_and_no_case_are_answered_with_a_reason() -> None:
    auth = authorize(None, case(), "support@company.example", True, BOOK)
    assert not auth.allowed and auth.code == "no_command" and "close" in auth.reason
    assert (
        authorize(parse_command("close"), None, "support@company.example", True, BOOK).code
        == "no_case"
    )


@pytest.mark.parametrize(("owner", "language"), [("support", "en"), ("legal", "ru")])
def test_the_answer_to_no_command_names_every_command(owner: str, language: str) -> None:
    """An owner told what to write must be told every command there is (`category` was
    missing from the list when it came)."""
    auth = authorize(None, case(owner), f"{owner}@company.example", True, BOOK)
    assert (auth.code, auth.language) == ("no_command", language)
    assert all(command in auth.reason for command in set(ALIASES.values()))


def test_reasons_are_in_the_sender_language() -> None:
    ru = authorize(parse_command("close"), case("legal"), "legal@company.example", False, BOOK)
    assert ru.language == "ru" and "Ответьте" in ru.reason
    en = authorize(parse_command("close"), case(), "support@company.example", False, BOOK)
    assert en.language == "en" and "Reply" in en.reason
    stranger = authorize(parse_command("close"), case(), "x@evil.test", True, BOOK)
    assert stranger.language == "ru"  # unknown senders get the center's language
    assert stranger.actor == "x@evil.test"


def test_commanders_are_owner_supervisor_and_center() -> None:
    assert commanders(case(), BOOK) == {
        "support@company.example",
        "head@company.example",
        "center@company.example",
    }
    assert commanders(case("head2"), BOOK) == {"head2@company.example", "center@company.example"}


def test_a_command_carried_out_before_is_refused_as_a_replay_in_the_sender_language() -> None:
    command = parse_command("note called the customer")
    auth = authorize(command, case(), "support@company.example", True, BOOK, replayed=True)
    assert not auth.allowed and auth.code == "replayed" and auth.event == ""
    assert "FB-2026-000001" in auth.reason and "same Date" in auth.reason
    legal = authorize(command, case("legal"), "legal@company.example", True, BOOK, replayed=True)
    assert legal.code == "replayed" and "повтор" in legal.reason
    # The token and the sender are judged first: a forger learns nothing about replays.
    forged = authorize(command, case(), "support@company.example", False, BOOK, replayed=True)
    assert forged.code == "bad_token"


# -- category --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "argument"),
    [
        ("category thanks", "thanks"),
        ("Category: Complaint.", "complaint"),
        ("категория жалоба", "жалоба"),
        ("Категория благодарность", "благодарность"),
    ],
)
def test_category_takes_one_word(text: str, argument: str) -> None:
    assert parse_command(text) == Command("category", argument, text)
    assert parse_command(text + " please now") is None


def test_category_moves_to_a_known_category_by_key_or_russian_word() -> None:
    book = replace(load_rulebook(REPO / "rules.yaml"), owners=BOOK.owners, center="center")
    for text, to in (("категория благодарность", "thanks"), ("category official", "official")):
        auth = authorize(parse_command(text), case(), "center@company.example", True, book)
        assert auth.allowed and auth.event == "reclassified" and auth.data == {"category": to}
    same = authorize(parse_command("категория жалоба"), case(), "head@company.example", True, book)
    assert not same.allowed and same.code == "same_category"
    praise = parse_command("category praise")
    unknown = authorize(praise, case(), "head@company.example", True, book)
    assert not unknown.allowed and unknown.code == "unknown_category"
    assert "praise" in unknown.reason and "complaint" in unknown.reason
