"""`learning:` and a rule's `case:` in rules.yaml: read, defaulted, and a bad value named with
its file and line."""

from __future__ import annotations

import pytest
from support import REPO

from daemon.adapters.morphology import default_lemmatizer
from daemon.core.rules import LearningSettings, build

LEMMATIZER = default_lemmatizer()  # the shipped rules say `lemmas:`
SHIPPED = (REPO / "rules.yaml").read_text(encoding="utf-8")


def line_of(text: str, needle: str) -> int:
    return next(i for i, ln in enumerate(text.splitlines(), 1) if needle in ln)


def test_the_shipped_rules_let_the_model_decide_from_three_quarters() -> None:
    """0.75: chosen on dev.tsv, 5-fold (bench/bench_learning.py, docs/rules.md)."""
    book = build(SHIPPED, "rules.yaml", LEMMATIZER).require()
    assert book.learning == LearningSettings(min_confidence=0.75, min_examples=30)


def test_without_min_confidence_it_is_the_shipped_three_quarters() -> None:
    text = SHIPPED.replace("  min_confidence: 0.75 ", "  # min_confidence: 0.75 ")
    book = build(text, "rules.yaml", LEMMATIZER).require()
    assert book.learning == LearningSettings(min_confidence=0.75, min_examples=30)


def test_without_the_section_the_model_never_decides() -> None:
    start = SHIPPED.index("\nlearning:")
    end = SHIPPED.index("\n\n", start + 1)
    book = build(SHIPPED[:start] + SHIPPED[end:], "rules.yaml", LEMMATIZER).require()
    assert book.learning is None


@pytest.mark.parametrize(
    ("old", "new", "says"),
    [
        ("min_confidence: 0.75 ", "min_confidence: 0.3 ", "must be a probability from 0.5 to 1"),
        ("min_confidence: 0.75 ", "min_confidence: high ", "must be a probability from 0.5 to 1"),
        ("min_examples: 30 ", "min_examples: 1 ", "must be a whole number, 2 or more"),
        ("min_examples: 30 ", "min_exampels: 30 ", "min_exampels"),
    ],
)
def test_a_bad_value_is_named_with_its_file_and_line(old: str, new: str, says: str) -> None:
    text = SHIPPED.replace(old, new)
    [problem] = build(text, "rules.yaml", LEMMATIZER).report.problems
    assert problem.line == line_of(text, new.split(":")[0] + ":")
    assert says in str(problem) and "rules.yaml" in str(problem)


ROBOT_RULE = "rules:\n  - name: order-robot\n    case: {}\n    when: {{words: [order]}}\n"


def test_a_case_none_rule_needs_no_category_and_comes_first() -> None:
    book = build(
        SHIPPED.replace("rules:\n", ROBOT_RULE.format("none"), 1), "rules.yaml", LEMMATIZER
    ).require()
    first = book.ordered_rules[0]
    assert first.name == "order-robot" and not first.opens_case


def test_a_bad_case_value_is_named_with_its_line() -> None:
    text = SHIPPED.replace("rules:\n", ROBOT_RULE.format("never"), 1)
    [problem] = build(text, "rules.yaml", LEMMATIZER).report.problems
    assert problem.line == line_of(text, "case: never")
    assert "case: must be 'none' or 'open'" in str(problem)
