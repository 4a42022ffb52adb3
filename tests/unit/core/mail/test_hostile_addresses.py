"""Addresses a hostile sender writes: encoded-words that hide addresses, a To of 100,000.

RFC 2047 §5 lets an encoded-word stand only in a display name, so addresses are parsed from the
raw header and only the names are decoded afterwards (issue #14, item 3). A To header of any
length is read in linear time and only its first `MAX_ADDRESSES` are kept (item 6).
"""

from __future__ import annotations

import base64
import time

from daemon.core.mail.message import MAX_ADDRESSES, Message, parse
from daemon.core.mail.policy import reply_target
from daemon.core.rules import PolicySettings

OWN = frozenset({"feedback@company.example"})


def b_word(text: str) -> str:
    return f"=?utf-8?b?{base64.b64encode(text.encode()).decode()}?="


def mail(*headers: str) -> Message:
    lines = [*headers, "Subject: hello", "Message-ID: <1@evil.test>", "", "Hello."]
    return parse("\r\n".join(lines).encode())


def test_an_encoded_display_name_is_never_read_as_the_sender_address() -> None:
    lead = b_word("Support Lead <support-lead@company.example>")
    m = mail(f"From: {lead} <mallory@evil.test>", "To: feedback@company.example")
    assert m.from_addr == "mallory@evil.test"
    assert m.from_name == "Support Lead <support-lead@company.example>"  # decoded, as a name


def test_an_encoded_display_name_cannot_redirect_the_acknowledgment() -> None:
    for word in (b_word("x: victim@third.example,"), "=?utf-8?q?x:_victim@third.example,?="):
        m = mail(
            f"From: {word} <mallory@evil.test>",
            f"Reply-To: {word} <mallory@evil.test>",
            f"To: {word} <feedback@company.example>",
        )
        assert m.from_addr == "mallory@evil.test"
        assert m.reply_to == ("mallory@evil.test",)
        assert m.to == ("feedback@company.example",)
        assert reply_target(m, PolicySettings(), OWN) == "mallory@evil.test"


def test_names_still_decode_quoted_folded_and_next_to_each_other() -> None:
    m = mail(
        f'From: "{b_word("Иван")}"\r\n {b_word(" Петров")} <Ivan@Example.TEST>',
        f"To: {b_word('Smith, John')} <john@x.test>, plain@x.test",
    )
    assert (m.from_name, m.from_addr) == ("Иван Петров", "ivan@example.test")
    assert m.to == ("john@x.test", "plain@x.test")


def test_a_hundred_thousand_recipients_are_read_in_linear_time_and_capped() -> None:
    n = 100_000
    to = ", ".join(f"User {i} <u{i}@example.org>" for i in range(n))
    started = time.perf_counter()
    m = mail("From: a@b.example", f"To: {to}", f"Cc: {to}")
    took = time.perf_counter() - started
    assert took < 15, f"parse took {took:.1f} s"  # 240 s before the fix; ~0.5 s after
    assert m.to == tuple(f"u{i}@example.org" for i in range(MAX_ADDRESSES))
    assert len(m.cc) == MAX_ADDRESSES and "TooManyAddresses" in m.defects


def test_duplicates_are_dropped_in_order() -> None:
    m = mail("From: a@b.example", "To: B@x.test, a@x.test, b@x.test", "To: A@x.test, c@x.test")
    assert m.to == ("b@x.test", "a@x.test", "c@x.test") and "TooManyAddresses" not in m.defects
