"""The rules engine's public face: the admin's rules.yaml compiled into a `RuleBook`, and
`classify` — message in, decision out.

Pure: this package takes the text of the rule file and returns values; reading the file is
daemon.adapters.config's job. The parts, each in its own module:

- `model`: the values of a compiled book; `textmatch`: normalisation, word forms, `Negation`;
  `morphology`: the `Lemmatizer` protocol and `lemmas_of` (dictionaries come from adapters);
  `conditions`: the matchers, all/any/not, `Reason`; `classify`: the decision.
- `loader` (with `load_conditions`, `load_settings`, `load_examples` and `yamlsrc`): rules.yaml
  text to a book, every problem with its line; `crosscheck`: checks across sections.
- `selftest`: the book's own examples, run through `classify` (for `feedbackd check`).

Modules inside the package import each other directly, never this facade.
"""

from __future__ import annotations

from daemon.core.rules.classify import NO_RULE, classify
from daemon.core.rules.conditions import Condition, Context, Reason
from daemon.core.rules.loader import Built, build
from daemon.core.rules.model import (
    COMPLEXITY_LEVELS,
    DIGEST_EVERY,
    LANGUAGES,
    REMEDY_KINDS,
    UNCLASSIFIED,
    CalendarSettings,
    Category,
    Cause,
    Decision,
    DigestSettings,
    Escalation,
    Example,
    ExplanationSettings,
    FirstRun,
    LearningSettings,
    Owner,
    PolicySettings,
    Remedy,
    ReminderStep,
    Rule,
    RuleBook,
    Term,
    WorkingHours,
)
from daemon.core.rules.morphology import Lemmatizer, lemmas_of
from daemon.core.rules.selftest import run_examples
from daemon.core.rules.textmatch import Negation

__all__ = [
    "COMPLEXITY_LEVELS",
    "DIGEST_EVERY",
    "LANGUAGES",
    "NO_RULE",
    "REMEDY_KINDS",
    "UNCLASSIFIED",
    "Built",
    "CalendarSettings",
    "Category",
    "Cause",
    "Condition",
    "Context",
    "Decision",
    "DigestSettings",
    "Escalation",
    "Example",
    "ExplanationSettings",
    "FirstRun",
    "LearningSettings",
    "Lemmatizer",
    "Negation",
    "Owner",
    "PolicySettings",
    "Reason",
    "Remedy",
    "ReminderStep",
    "Rule",
    "RuleBook",
    "Term",
    "WorkingHours",
    "build",
    "classify",
    "lemmas_of",
    "run_examples",
]
