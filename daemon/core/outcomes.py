"""The outcome of a closed case: verdict, cause, remedy, employees. Pure.

The method counts *justified* complaints for the period's results and bonuses, and reviews
their causes at meetings, so a complaint or an official letter closes with what was found: a
verdict (`justified` | `unjustified`), a cause from the admin's `causes:`, the remedy given
from the admin's catalogue `remedies:` (each allowed from a complexity level up, agreed in
advance) and the employees involved. One function decides whether such a close may happen,
for the mail command and the command line alike, so both refuse with the same sentence.

The `closed` event's data is the record (docs/architecture.md): `verdict`, `cause` (absent
when none), `remedy` (absent when none), `employees` (a list of addresses) and `complexity`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from daemon.core.cases import Case
from daemon.core.rules import RuleBook
from daemon.core.rules.textmatch import normalize

JUSTIFIED, UNJUSTIFIED = "justified", "unjustified"
VERDICTS = (JUSTIFIED, UNJUSTIFIED)
#: Every word for a verdict, in the languages owners write in (after `normalize`).
VERDICT_WORDS = {
    "justified": JUSTIFIED,
    "обоснована": JUSTIFIED,
    "обоснованная": JUSTIFIED,
    "обоснованно": JUSTIFIED,
    "обоснован": JUSTIFIED,
    "unjustified": UNJUSTIFIED,
    "необоснована": UNJUSTIFIED,
    "необоснованная": UNJUSTIFIED,
    "необоснованно": UNJUSTIFIED,
    "необоснован": UNJUSTIFIED,
}
#: The keys of `key=value` words, English and Russian.
KEYS = {
    "cause": "cause",
    "причина": "cause",
    "remedy": "remedy",
    "средство": "remedy",
    "компенсация": "remedy",
    "employee": "employee",
    "сотрудник": "employee",
    "complexity": "complexity",
    "сложность": "complexity",
}
_ADDRESS = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
_TRAILING = ".,;!"


@dataclass(frozen=True)
class Asked:
    """An outcome as the owner wrote it, words not yet looked up in the rule book."""

    verdict: str = ""
    cause: str = ""
    remedy: str = ""
    employees: tuple[str, ...] = ()
    complexity: str = ""

    @property
    def empty(self) -> bool:
        return not (self.verdict or self.cause or self.remedy or self.employees or self.complexity)


@dataclass(frozen=True)
class Refusal:
    """Why a close may not happen; `code` is stable, `say(lang)` the sentence."""

    code: str  # needs_verdict | unknown_cause | unknown_remedy | remedy_level | bad_employee
    #            | unknown_complexity | bad_word
    facts: dict[str, str] = field(default_factory=dict)

    def say(self, lang: str) -> str:
        return _SENTENCES.get(lang, _SENTENCES["en"])[self.code].format(**self.facts)


def parse_words(text: str) -> Asked | None:
    """`justified cause=delivery remedy=certificate employee=a@b` (any order); None when a
    word is none of these, so "close to done, will answer" is no command at all."""
    found: dict[str, Any] = {"employees": []}
    for raw in text.split():
        word = raw.strip(_TRAILING)
        if not word:
            continue
        key, eq, value = word.partition("=")
        if not eq:
            verdict = VERDICT_WORDS.get(normalize(word))
            if verdict is None or found.get("verdict"):
                return None
            found["verdict"] = verdict
            continue
        name = KEYS.get(normalize(key))
        value = value.strip("<>").strip()
        if name is None or not value:
            return None
        if name == "employee":
            found["employees"].append(value.lower())
        elif found.get(name):
            return None
        else:
            found[name] = value
    return Asked(
        found.get("verdict", ""),
        found.get("cause", ""),
        found.get("remedy", ""),
        tuple(dict.fromkeys(found["employees"])),
        found.get("complexity", ""),
    )


def asked_from(
    verdict: str = "",
    cause: str = "",
    remedy: str = "",
    employees: tuple[str, ...] | list[str] = (),
    complexity: str = "",
) -> Asked:
    """The same from the command line's options (already split)."""
    return Asked(
        verdict or "",
        cause or "",
        remedy or "",
        tuple(dict.fromkeys(e.strip().lower() for e in employees if e.strip())),
        complexity or "",
    )


def case_complexity(case: Case, book: RuleBook) -> str:
    """The level a case is at: its category's `complexity:` (else the lowest level), raised
    by any of its tags that names a level (a rule's `tags: [serious]`)."""
    levels = book.complexity
    category = book.categories.get(case.category)
    start = category.complexity if category and category.complexity else levels[0]
    ranks = [levels.index(start)] + [levels.index(t) for t in case.tags if t in levels]
    return levels[max(ranks)]


def settle(asked: Asked, case: Case, book: RuleBook) -> dict[str, Any] | Refusal:
    """The `closed` event's data for this close, or why it may not happen."""
    category = book.categories.get(case.category)
    verdict = VERDICT_WORDS.get(normalize(asked.verdict), "") if asked.verdict else ""
    if asked.verdict and not verdict:
        return Refusal("bad_word", {"word": asked.verdict, "known": ", ".join(VERDICTS)})
    if not verdict and (not asked.empty or (category and category.verdict_required)):
        return Refusal("needs_verdict", _needs(case, book))
    if not verdict:
        return {}
    data: dict[str, Any] = {"verdict": verdict}
    if asked.cause:
        cause = _lookup(asked.cause, {k: c.aliases for k, c in book.causes.items()})
        if cause is None:
            return Refusal("unknown_cause", {"word": asked.cause, "known": _known(book.causes)})
        data["cause"] = cause
    level = case_complexity(case, book)
    if asked.complexity:
        stated = normalize(asked.complexity)
        if stated not in book.complexity:
            known = ", ".join(book.complexity)
            return Refusal("unknown_complexity", {"word": asked.complexity, "known": known})
        level = stated
    if asked.remedy:
        key = _lookup(asked.remedy, {k: r.aliases for k, r in book.remedies.items()})
        if key is None:
            return Refusal("unknown_remedy", {"word": asked.remedy, "known": _known(book.remedies)})
        remedy = book.remedies[key]
        if book.complexity.index(level) < book.complexity.index(remedy.from_level):
            allowed = [
                k
                for k, r in book.remedies.items()
                if book.complexity.index(r.from_level) <= book.complexity.index(level)
            ]
            return Refusal(
                "remedy_level",
                {
                    "remedy": key,
                    "level": remedy.from_level,
                    "case_level": level,
                    "known": ", ".join(allowed) or "-",
                },
            )
        data["remedy"] = key
        data["remedy_kind"] = remedy.kind
    for address in asked.employees:
        if not _ADDRESS.match(address):
            return Refusal("bad_employee", {"word": address})
    data["employees"] = list(asked.employees)
    data["complexity"] = level
    return data


def _needs(case: Case, book: RuleBook) -> dict[str, str]:
    return {
        "case": case.id,
        "category": case.category,
        "causes": _known(book.causes),
        "remedies": _known(book.remedies),
    }


def _lookup(word: str, aliases: dict[str, tuple[str, ...]]) -> str | None:
    wanted = normalize(word)
    for key, words in aliases.items():
        if wanted == normalize(key) or wanted in {normalize(w) for w in words}:
            return key
    return None


def _known(table: dict[str, Any]) -> str:
    return ", ".join(sorted(table)) or "-"


_SENTENCES = {
    "ru": {
        "needs_verdict": "Чтобы закрыть обращение {case} ({category}), укажите вывод: "
        "«закрыть обоснована» или «закрыть необоснована», при желании причина=… "
        "(причины: {causes}) и средство=… (средства: {remedies}).",
        "bad_word": "«{word}» — не вывод по обращению; пишите одно из: {known}.",
        "unknown_cause": "Причины «{word}» нет в rules.yaml. Известные причины: {known}.",
        "unknown_remedy": "Средства «{word}» нет в rules.yaml. Известные средства: {known}.",
        "remedy_level": "Средство «{remedy}» допускается со сложности «{level}», а у "
        "обращения сложность «{case_level}». Допустимые средства: {known}; либо укажите "
        "сложность=… .",
        "unknown_complexity": "Сложности «{word}» нет в rules.yaml. Уровни: {known}.",
        "bad_employee": "«{word}» — не адрес электронной почты сотрудника.",
    },
    "en": {
        "needs_verdict": "To close {case} ({category}) give a verdict: 'close justified' or "
        "'close unjustified', optionally cause=… (causes: {causes}) and remedy=… "
        "(remedies: {remedies}).",
        "bad_word": "'{word}' is not a verdict; write one of: {known}.",
        "unknown_cause": "There is no cause '{word}' in rules.yaml. Known causes: {known}.",
        "unknown_remedy": "There is no remedy '{word}' in rules.yaml. Known remedies: {known}.",
        "remedy_level": "The remedy '{remedy}' is allowed from complexity '{level}' up, and "
        "the case is '{case_level}'. Allowed remedies: {known}; or state complexity=… .",
        "unknown_complexity": "There is no complexity '{word}' in rules.yaml. Levels: {known}.",
        "bad_employee": "'{word}' is not an employee's e-mail address.",
    },
}
