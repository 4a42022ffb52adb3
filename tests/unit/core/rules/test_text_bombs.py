"""One hostile mail must cost the matchers no more than a letter does (issue #14, item 5).

The matchers once built every prefix of every word: a word of L letters cost L²/2 characters,
so a 200,000-letter word took 20 GB. The cost is measured here in the test's own process with
tracemalloc, in steps, so that a regression fails on the small step before the big one can
exhaust the machine. The limits are generous; a letter costs well under a megabyte.
"""

from __future__ import annotations

import time
import tracemalloc

import pytest
from support import REPO

from daemon.adapters.config import load_rulebook
from daemon.core.mail.message import Message, make_message, parse
from daemon.core.rules import RuleBook, classify
from daemon.core.rules.textmatch import MAX_WORD, Pattern, Text

PEAK_MB = 40  # a 20,000-letter word took 400 MB before the fix, 200,000 letters now take ~4
SECONDS = 10  # ~0.1 s now


@pytest.fixture(scope="module")
def book() -> RuleBook:
    return load_rulebook(REPO / "rules.yaml")


def cost(book: RuleBook, message: Message) -> tuple[float, float, str]:
    """Seconds, peak MB and the category of classifying `message`."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        category = classify(message, book).category
        return time.perf_counter() - started, tracemalloc.get_traced_memory()[1] / 1e6, category
    finally:
        tracemalloc.stop()


def bombs(letters: int) -> dict[str, Message]:
    return {
        "body": make_message(subject="Жалоба", body="Добрый день, " + "я" * letters),
        "subject": make_message(subject="a" * letters, body="Где мой заказ?"),
        "parsed": parse(
            b"From: a@b.example\r\nTo: feedback@x.example\r\nSubject: "
            + b"x" * letters
            + b"\r\n\r\n"
            + b"y" * letters
        ),
    }


def test_a_giant_word_in_the_body_or_subject_costs_what_a_letter_does(book: RuleBook) -> None:
    for letters in (20_000, 200_000, 1_000_000):  # one test: the small step fails first
        for name, message in bombs(letters).items():
            seconds, peak, category = cost(book, message)
            assert peak < PEAK_MB, f"{name}, {letters} letters: {peak:.0f} MB"
            assert seconds < SECONDS, f"{name}, {letters} letters: {seconds:.1f} s"
            assert category in {"complaint", "unclassified"}  # the giant word is no word


def test_a_megabyte_subject_of_words_is_read_within_its_budget(book: RuleBook) -> None:
    subject = ("претензия ужасно plain " * 50_000)[:1_000_000]
    seconds, peak, category = cost(book, make_message(subject=subject, body="hi"))
    assert peak < PEAK_MB and seconds < SECONDS
    assert category == "official"  # the first 4,000 characters still say it


def test_words_longer_than_max_word_are_not_words_and_prefixes_still_match() -> None:
    long_ok = "претензи" + "я" * (MAX_WORD - 8)
    text = Text(f"{'a' * (MAX_WORD + 1)} нет, {long_ok} ok")
    assert text.words == ["нет", long_ok, "ok"]
    assert text.clauses == [0, 1, 1]  # the clause numbers follow the words kept
    assert Pattern("претензи*").find(text) == [(1, 2)]
    assert Pattern("претензи* ok").find(text) == [(1, 3)]
    assert Pattern("a*").find(text) == [] and Pattern("aa*").find(text) == []
