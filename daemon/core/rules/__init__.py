"""The admin's rules.yaml, compiled once into a `RuleBook`, and `classify` — message in, decision out.

Pure: no I/O besides reading the rule file in `load_rulebook`. The daemon, `feedbackd classify`
and `feedbackd check` all call the same `classify`, so what an admin tests is what runs.

This module is the public face of the rules engine; the parts live in small modules:
`model` (values), `textmatch` (normalisation, word forms), `conditions` (matchers and
all/any/not), `condparse` and `rulebook` (loading with line numbers), `rulecheck`
(cross-field checks), `examples` and `checker` (the `check` and `classify` commands).
"""

from __future__ import annotations

from daemon.core.mail.message import Message
from daemon.core.rules.conditions import Context, Reason
from daemon.core.rules.loader import build, load_rulebook
from daemon.core.rules.model import (
    UNCLASSIFIED,
    CalendarSettings,
    Category,
    Decision,
    Escalation,
    Example,
    Owner,
    PolicySettings,
    ReminderStep,
    Rule,
    RuleBook,
    Term,
    WorkingHours,
)
from daemon.core.rules.textmatch import Negation

NO_RULE = "(no rule matched)"


def classify(message: Message, book: RuleBook) -> Decision:
    """The decision for one message: the first rule, in precedence order, whose condition holds.

    Rules are tried by category precedence (e.g. official before complaint before thanks), and
    in file order within a category, so the result never depends on anything but the message
    and the book. No rule matching means `unclassified`, owned by the feedback center.
    """
    ctx = Context(message, book.negation)
    for rule in book.ordered_rules:
        if rule.when.test(ctx):
            cat = book.categories[rule.category]
            return Decision(
                rule.category,
                rule.name,
                rule.owner or cat.owner,
                rule.tags,
                tuple(rule.when.explain(ctx)),
            )
    fallback = book.categories[UNCLASSIFIED]
    return Decision(UNCLASSIFIED, NO_RULE, fallback.owner or book.center)


__all__ = [
    "NO_RULE",
    "UNCLASSIFIED",
    "CalendarSettings",
    "Category",
    "Decision",
    "Escalation",
    "Example",
    "Negation",
    "Owner",
    "PolicySettings",
    "Reason",
    "ReminderStep",
    "Rule",
    "RuleBook",
    "Term",
    "WorkingHours",
    "build",
    "classify",
    "load_rulebook",
]
