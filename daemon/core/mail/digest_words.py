"""The meeting digest's words in one language: an admin's file, checked, over English.

The digest's layout (tables built for mail clients, inline styles, escaping) is code in
daemon.core.report.meeting; what it says is the admin's, in `templates/digest.LANG.yaml`, one
`key: text` per line and the category names under `categories:`. So rewording the digest, or
adding a language, is editing or adding a file. The file is read by daemon.adapters.config
with the other templates and comes in here as text; a broken file (YAML, an unknown key, a
value that is not text, a placeholder the digest does not fill) is refused at load with file
and line, like a broken template, so it can never fail on the day the digest is due.

A key the file lacks is said in English (`ENGLISH`): that keeps a configuration folder written
before a key existed working; `feedbackd check` warns about it.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field

from daemon.core.rules.yamlsrc import Map, Report, load_yaml, suggest
from daemon.errors import Problem

#: The file of a language in the template folder.
FILE = "digest.{language}.yaml"
CATEGORIES = "categories"
#: The words of the digest, in English: the built-in fallback of every key.
ENGLISH: dict[str, str] = {
    "subject": "Feedback digest {period}",
    "as_of": "as of {now} ({tz})",
    "figure": "Figure",
    "this": "This period",
    "before": "Previous",
    "change": "Change",
    "received": "cases received",
    "thanks": "thanks",
    "complaint": "complaints",
    "official": "official letters",
    "justified": "justified complaints",
    "unjustified": "unjustified complaints",
    "on_time": "answered on time",
    "overdue_now": "overdue now",
    "explanations_waiting": "explanations awaited",
    "automatic": "automatic mail, no case",
    "by_category": "Cases per category",
    "causes": "Top causes",
    "justified_list": "Justified complaints",
    "overdue_list": "Overdue cases",
    "explanations_list": "Explanations outstanding",
    "thanks_people": "Thanks per employee",
    "thanks_teams": "Thanks per team",
    "quotes": "In the customers' words",
    "case": "Case",
    "subject_col": "Subject",
    "sender": "From",
    "owner": "Owner",
    "due": "Due",
    "cause": "Cause",
    "remedy": "Remedy",
    "employees": "Employees",
    "employee": "Employee",
    "team": "Team",
    "count": "Count",
    "late": "overdue",
    "more": "and {n} more",
    "none": "none",
    "footer": "All figures: feedbackd report --from {start} --to {end}",
}
#: The values the digest fills into a text, per key; in any other text `{` is just a brace.
PLACEHOLDERS: dict[str, tuple[str, ...]] = {
    "subject": ("period",),
    "as_of": ("now", "tz"),
    "more": ("n",),
    "footer": ("start", "end"),
}


@dataclass(frozen=True)
class DigestWords:
    """Every word of the digest in `language`; `missing`: the keys said in English instead."""

    language: str
    words: Mapping[str, str] = field(default_factory=lambda: dict(ENGLISH))
    categories: Mapping[str, str] = field(default_factory=dict)
    missing: tuple[str, ...] = ()

    def __getitem__(self, key: str) -> str:
        return self.words[key]

    def category(self, key: str) -> str:
        """A category's name as the digest shows it; a category the file does not name keeps
        its key from rules.yaml."""
        return self.categories.get(key, key)


#: The digest when no file of its language was found (an older configuration folder).
BUILT_IN = DigestWords("en")


def parse_digest_words(text: str, where: str, language: str) -> tuple[DigestWords, list[Problem]]:
    """The words of `text` (the file at `where`) over English, and every problem of the file."""
    report = Report(where)
    doc = load_yaml(text, report)
    words = dict(ENGLISH)
    categories: dict[str, str] = {}
    if doc is not None and not isinstance(doc, Map):
        report.add(1, "the digest's words must be `key: text` lines")
        doc = None
    doc = doc if doc is not None else Map()
    for key, value in doc.items():
        line = doc.line_of(key)
        if key == CATEGORIES:
            categories = _categories(report, value, line)
        elif key not in ENGLISH:
            report.add(line, f"unknown key '{key}'{suggest(key, [*ENGLISH, CATEGORIES])}")
        elif not isinstance(value, str):
            report.add(line, f"{key}: write the text in quotes (YAML read {value!r}, not text)")
        elif (bad := _placeholder_problem(key, value)) is not None:
            report.add(line, f"{key}: {bad}")
        else:
            words[key] = value
    missing = tuple(k for k in ENGLISH if k not in doc)
    return DigestWords(language, words, categories, missing), report.problems


def _categories(report: Report, value: object, line: int) -> dict[str, str]:
    if not isinstance(value, Map):
        report.add(line, "categories: give one `category: name` per line")
        return {}
    out = {}
    for key, name in value.items():
        if isinstance(name, str):
            out[key] = name
        else:
            report.add(value.line_of(key), f"categories.{key}: write the name in quotes")
    return out


def _placeholder_problem(key: str, value: str) -> str | None:
    """Why `value` cannot be filled by the digest, or None; only texts with placeholders are
    filled (`PLACEHOLDERS`), so the others may hold any brace."""
    if key not in PLACEHOLDERS:
        return None
    allowed = PLACEHOLDERS[key]
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(value) if f is not None]
    except ValueError:
        return "a lone { or }: write {{ or }} for a brace"
    for name in fields:
        if name not in allowed:
            return f"{{{name}}} is not filled here; use {', '.join('{' + a + '}' for a in allowed)}"
    return None
