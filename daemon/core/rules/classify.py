"""`classify(message, book) -> Decision`: the one decision the whole rules engine exists for.

The daemon, `feedbackd classify` and `feedbackd check` (through the examples) all call this
function, so what an admin tests is what runs.
"""

from __future__ import annotations

from daemon.core.mail.message import Message
from daemon.core.rules.conditions import Context
from daemon.core.rules.model import UNCLASSIFIED, Decision, RuleBook

#: The rule name of a decision no rule made; rules.yaml examples may expect it by this name.
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
                rule.opens_case,
            )
    fallback = book.categories[UNCLASSIFIED]
    return Decision(UNCLASSIFIED, NO_RULE, fallback.owner or book.center)
