"""Command tokens: one per case, unguessable, survive lower-casing, found only on our address."""

from __future__ import annotations

import re

import pytest

from daemon.core.tokens import (
    TOKEN_LENGTH,
    answer_address,
    answer_case,
    case_token,
    command_address,
    parse_command_address,
    proven_answer,
    valid_token,
)

SECRET = b"a long random secret from the environment"
FB = "feedback@company.example"
CASE = "FB-2026-000001"


def test_token_is_stable_short_and_local_part_safe() -> None:
    token = case_token(SECRET, CASE)
    assert token == case_token(SECRET, CASE)
    assert len(token) == TOKEN_LENGTH == 16
    assert re.fullmatch(r"[a-z2-7]{16}", token)


def test_token_depends_on_case_and_secret() -> None:
    assert case_token(SECRET, CASE) != case_token(SECRET, "FB-2026-000002")
    assert case_token(SECRET, CASE) != case_token(b"another secret", CASE)


def test_valid_token_accepts_only_the_case_own_token() -> None:
    token = case_token(SECRET, CASE)
    assert valid_token(SECRET, CASE, token)
    assert valid_token(SECRET, CASE, token.upper())  # a relay upper-cased the address
    assert not valid_token(SECRET, "FB-2026-000002", token)
    assert not valid_token(SECRET, CASE, token[:-1] + ("a" if token[-1] != "a" else "b"))
    assert not valid_token(SECRET, CASE, "")
    assert not valid_token(SECRET, CASE, "ж" * 16)
    assert not valid_token(b"", CASE, token)


def test_an_empty_secret_cannot_make_tokens() -> None:
    with pytest.raises(ValueError, match="secret"):
        case_token(b"", CASE)


def test_command_address_is_a_plus_address_of_the_feedback_mailbox() -> None:
    token = case_token(SECRET, CASE)
    assert command_address(FB, CASE, token) == f"feedback+{CASE}.{token}@company.example"
    with pytest.raises(ValueError):
        command_address("not-an-address", CASE, token)


def test_parse_round_trip_even_after_lower_casing_and_with_display_names() -> None:
    token = case_token(SECRET, CASE)
    address = command_address(FB, CASE, token)
    assert parse_command_address([address], FB) == (CASE, token)
    assert parse_command_address([address.lower()], FB) == (CASE, token)
    assert parse_command_address([f'"Feedback" <{address.upper()}>'], FB) == (CASE, token)
    assert parse_command_address(["owner@company.example", address], FB) == (CASE, token)


@pytest.mark.parametrize(
    "address",
    [
        FB,  # the plain address: no command
        "feedback+FB-2026-000001.abcdefghijklmnop@elsewhere.test",  # our local part, foreign domain
        "other+FB-2026-000001.abcdefghijklmnop@company.example",  # our domain, foreign mailbox
        "feedbackx+FB-2026-000001.abcdefghijklmnop@company.example",
        "feedback+FB-2026-000001.short@company.example",  # malformed token
        "feedback+FB-2026-000001.abcdefghijklmno1@company.example",  # 1 is not base32
        "feedback+hello@company.example",
        "",
    ],
)
def test_parse_ignores_everything_but_our_command_addresses(address: str) -> None:
    assert parse_command_address([address], FB) is None


def test_feedback_address_that_already_has_a_plus() -> None:
    fb = "team+feedback@company.example"
    token = case_token(SECRET, CASE)
    address = command_address(fb, CASE, token)
    assert parse_command_address([address], fb) == (CASE, token)
    assert parse_command_address([address], "team@company.example") is None


def test_the_answer_address_proves_an_answer_for_its_case_and_commands_nothing() -> None:
    cc = answer_address(FB, SECRET, CASE)
    assert cc.startswith("feedback+answer.FB-2026-000001.") and cc.endswith("@company.example")
    assert proven_answer(["anna@x.test", f"Feedback <{cc}>"], FB, SECRET, CASE)
    assert proven_answer([cc.upper()], FB, SECRET, CASE)  # survives lower/upper-casing
    assert answer_case([cc], FB) == CASE
    assert parse_command_address([cc], FB) is None  # the customer sees it: it must not command
    assert case_token(SECRET, CASE) not in cc
    other = answer_address(FB, SECRET, "FB-2026-000002")
    assert not proven_answer([other], FB, SECRET, CASE)
    assert not proven_answer([FB], FB, SECRET, CASE)  # the plain address proves nothing
    assert not proven_answer([cc.replace("@company.example", "@evil.test")], FB, SECRET, CASE)
    assert not proven_answer([cc], FB, b"another secret", CASE)
    command = command_address(FB, CASE, case_token(SECRET, CASE))
    assert not proven_answer([command], FB, SECRET, CASE)  # a command address is no answer
