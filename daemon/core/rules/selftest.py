"""Running a rule book's own examples: what `feedbackd check` reports as failing examples.

It runs after the book is built and through the very `classify` the daemon uses, so a passing
example is a promise about production, not about a copy of the engine.
"""

from __future__ import annotations

from daemon.core.rules.classify import classify
from daemon.core.rules.model import RuleBook
from daemon.errors import Problem


def run_examples(book: RuleBook) -> list[Problem]:
    """One problem per example whose category (or rule) differs from what it expects."""
    problems = []
    for ex in book.examples:
        got = classify(ex.message, book)
        if got.category != ex.expect or (ex.expect_rule and got.rule != ex.expect_rule):
            why = "; ".join(f"{r.field} {r.matcher} '{r.matched}'" for r in got.reasons)
            problems.append(
                Problem(
                    book.source,
                    ex.line,
                    (
                        f"example '{ex.message.subject or ex.message.text[:40]}' expects "
                        f"{ex.expect}{' by ' + ex.expect_rule if ex.expect_rule else ''} but got "
                        f"{got.category} by rule '{got.rule}'{' (' + why + ')' if why else ''}; "
                        f"adjust the rules or the example"
                    ),
                )
            )
    return problems
