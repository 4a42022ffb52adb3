"""Compile the text of a rules.yaml into a `RuleBook`: all sections validated, every problem
located, never half.

`build` collects every problem of the file in one pass (the `check` command prints them all);
`Built.require` raises them as one ConfigError, so a reload either swaps in a complete new rule
book or keeps the last good one. Cross-field checks live in `crosscheck`, one sentence each.
Reading the file is the caller's business (daemon.adapters.config): this module takes text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from daemon.core.rules.crosscheck import Sections, cross_check
from daemon.core.rules.load_conditions import parse_lexicons
from daemon.core.rules.load_employees import parse_employees
from daemon.core.rules.load_examples import parse_examples
from daemon.core.rules.load_outcomes import (
    level_of,
    parse_causes,
    parse_complexity,
    parse_remedies,
    verdict_setting,
)
from daemon.core.rules.load_reminders import parse_escalation, parse_explanations, parse_reminders
from daemon.core.rules.load_rules import parse_negation, parse_rules
from daemon.core.rules.load_settings import (
    flag,
    parse_calendar,
    parse_digest,
    parse_learning,
    parse_policy,
    parse_settings,
    term,
)
from daemon.core.rules.model import (
    COMPLEXITY_LEVELS,
    LANGUAGES,
    UNCLASSIFIED,
    Category,
    Owner,
    RuleBook,
)
from daemon.core.rules.morphology import Lemmatizer
from daemon.core.rules.yamlsrc import Map, Report, check_keys, expect_map, load_yaml, str_list
from daemon.errors import ConfigError

SECTIONS = (
    "settings",
    "calendar",
    "policy",
    "owners",
    "categories",
    "precedence",
    "negation",
    "lexicons",
    "rules",
    "examples",
    "digest",
    "complexity",
    "causes",
    "remedies",
    "explanations",
    "employees",
    "learning",
)
REQUIRED_CATEGORIES = ("official", "complaint", "thanks", UNCLASSIFIED)
CATEGORY_KEYS = (
    "owner",
    "deadline",
    "template",
    "folder",
    "acknowledge",
    "reminders",
    "escalate",
    "forward_to",
    "verdict",
    "complexity",
    "ask_solved",
)
#: Categories whose cases are asked "was it solved?" after closing unless `ask_solved: false`.
ASK_SOLVED_BY_DEFAULT = ("official", "complaint")


@dataclass
class Built:
    """What `build` found: the book (None when there were problems) and where things are."""

    report: Report
    book: RuleBook | None = None
    templates: list[tuple[str, int]] = field(default_factory=list)  # (name, line in rules.yaml)
    lines: dict[str, int] = field(default_factory=dict)  # "category:x", "owner:x", "rule:x" ...

    def require(self) -> RuleBook:
        """The compiled rule book, or ConfigError with every problem in the file."""
        if self.book is None or self.report.problems:
            raise ConfigError(self.report.problems)
        return self.book


def build(text: str, source: str, lemmatizer: Lemmatizer | None = None) -> Built:
    """Everything `text` (the content of rules.yaml, named `source` in problems) compiles to.

    `lemmatizer` (daemon.adapters.morphology) serves the `lemmas:` matcher and is kept in the
    book for other readers of lemmas; without it a rule using `lemmas:` is a problem."""
    report = Report(source)
    built = Built(report)
    root = load_yaml(text, report)
    if report.problems:
        return built
    if not isinstance(root, Map):
        report.add(1, "rules.yaml must be a mapping with sections: " + ", ".join(SECTIONS))
        return built
    check_keys(report, root, SECTIONS, "the top level")
    for section in ("owners", "categories", "rules"):
        if section not in root:
            report.add(None, f"missing section '{section}:'; see docs/rules.md")
    center, tz, hours = parse_settings(
        report, root.get("settings", Map()), root.line_of("settings")
    )
    calendar = parse_calendar(report, root.get("calendar", Map()), root.line_of("calendar"))
    policy = parse_policy(report, root.get("policy", Map()), root.line_of("policy"))
    owners = _owners(report, root.get("owners"), root.line_of("owners"), built.lines)
    levels = parse_complexity(report, root.get("complexity"), root.line_of("complexity"))
    categories = _categories(
        report, root.get("categories"), root.line_of("categories"), built, levels
    )
    causes = parse_causes(report, root.get("causes"), root.line_of("causes"))
    remedies = parse_remedies(report, root.get("remedies"), root.line_of("remedies"), levels)
    explanations = parse_explanations(
        report, root.get("explanations"), root.line_of("explanations"), built.lines
    )
    employees = parse_employees(
        report, root.get("employees"), root.line_of("employees"), owners, lemmatizer
    )
    negation = parse_negation(report, root.get("negation"), root.line_of("negation"))
    lexicons = parse_lexicons(root.get("lexicons"), root.line_of("lexicons"), report)
    rules = parse_rules(
        report, root.get("rules"), root.line_of("rules"), built.lines, lexicons, lemmatizer
    )
    precedence = _precedence(report, root.get("precedence"), root.line_of("precedence"))
    examples = parse_examples(report, root.get("examples"), root.line_of("examples"))
    digest = parse_digest(report, root.get("digest"), root.line_of("digest"), center)
    learning = parse_learning(report, root.get("learning"), root.line_of("learning"))
    if isinstance(root.get("digest"), Map):
        built.lines["digest:to"] = root["digest"].line_of("to")
    built.lines["precedence"] = root.line_of("precedence")
    if center is not None:
        built.lines["center"] = root["settings"].line_of("center")
    cross_check(
        report,
        Sections(
            center, owners, categories, rules, precedence, examples, hours, digest, built.lines
        ),
    )
    if report.problems or center is None:
        return built
    rank = {name: i for i, name in enumerate(precedence)}
    # `case: none` rules first (what opens no case is decided before what a case is about),
    # then by category precedence, then in file order.
    ordered = sorted(
        enumerate(rules),
        key=lambda ir: (ir[1].opens_case, rank.get(ir[1].category, -1), ir[0]),
    )
    built.book = RuleBook(
        source=source,
        categories=categories,
        owners=owners,
        rules=tuple(rules),
        center=center,
        timezone=tz,
        working_hours=hours,
        calendar=calendar,
        policy=policy,
        precedence=tuple(precedence),
        negation=negation,
        examples=tuple(examples),
        digest=digest,
        learning=learning,
        ordered_rules=tuple(r for _, r in ordered),
        complexity=levels,
        causes=causes,
        remedies=remedies,
        explanations=explanations,
        lemmatizer=lemmatizer,
        employees=employees,
    )
    return built


def _owners(report: Report, node: Any, line: int, lines: dict[str, int]) -> dict[str, Owner]:
    m = expect_map(report, node, line, "owners") if node is not None else None
    out: dict[str, Owner] = {}
    for key, value in (m or {}).items():
        o = expect_map(report, value, m.line_of(key), f"owner '{key}'")  # type: ignore[union-attr]
        if o is None:
            continue
        lines[f"owner:{key}"] = o.line
        check_keys(report, o, ("name", "email", "language", "supervisor"), f"owner '{key}'")
        name, email = o.get("name"), o.get("email")
        if not isinstance(name, str) or not name.strip():
            report.add(o.line, f"owner '{key}' needs 'name:' (shown to customers and in reports)")
        if not isinstance(email, str) or "@" not in email:
            report.add(o.line_of("email"), f"owner '{key}' needs 'email:' with an address")
        lang = str(o.get("language", "ru"))
        if lang not in LANGUAGES:
            report.add(
                o.line_of("language"), f"owner '{key}': language must be {' or '.join(LANGUAGES)}"
            )
        sup = o.get("supervisor")
        if sup is not None:
            lines[f"supervisor:{key}"] = o.line_of("supervisor")
        out[key] = Owner(
            key, str(name or ""), str(email or "").lower(), lang, None if sup is None else str(sup)
        )
    return out


def _categories(
    report: Report, node: Any, line: int, built: Built, levels: tuple[str, ...] = COMPLEXITY_LEVELS
) -> dict[str, Category]:
    m = expect_map(report, node, line, "categories") if node is not None else None
    out: dict[str, Category] = {}
    if m is not None:
        for name in REQUIRED_CATEGORIES:
            if name not in m:
                report.add(
                    m.line,
                    f"category '{name}' is missing; every rule book needs "
                    f"{', '.join(REQUIRED_CATEGORIES)}",
                )
    for name, value in (m or {}).items():
        cm = expect_map(report, value, m.line_of(name), f"category '{name}'")  # type: ignore
        if cm is None:
            continue
        built.lines[f"category:{name}"] = cm.line
        for key in ("owner", "deadline", "template", "folder"):
            built.lines[f"category:{name}:{key}"] = cm.line_of(key)
            if key not in cm:
                report.add(cm.line, f"category '{name}' needs '{key}:'")
        check_keys(report, cm, CATEGORY_KEYS, f"category '{name}'")
        deadline = (
            term(report, cm["deadline"], cm.line_of("deadline"), f"{name}.deadline")
            if "deadline" in cm
            else None
        )
        template = str(cm.get("template", ""))
        if template:
            built.templates.append((template, cm.line_of("template")))
        ack = flag(report, cm.get("acknowledge", True), cm.line_of("acknowledge"), "acknowledge")
        reminders = parse_reminders(
            report, cm.get("reminders"), cm.line_of("reminders"), name, built.lines
        )
        escalate = parse_escalation(
            report, cm.get("escalate"), cm.line_of("escalate"), name, built.lines
        )
        forward = str_list(report, cm.get("forward_to", []), cm.line_of("forward_to"), "forward_to")
        for key, fline in forward:
            built.lines[f"forward:{name}:{key}"] = fline
        if deadline is not None:
            out[name] = Category(
                name,
                str(cm.get("owner", "")),
                deadline,
                template,
                str(cm.get("folder", "")),
                bool(ack),
                tuple(reminders),
                escalate,
                tuple(k for k, _ in forward),
                verdict_setting(report, cm.get("verdict"), cm.line_of("verdict"), name),
                level_of(report, cm.get("complexity"), cm.line_of("complexity"), name, levels),
                bool(
                    flag(
                        report,
                        cm.get("ask_solved", name in ASK_SOLVED_BY_DEFAULT),
                        cm.line_of("ask_solved"),
                        "ask_solved",
                    )
                ),
            )
    return out


def _precedence(report: Report, node: Any, line: int) -> list[str]:
    if node is None:
        return list(REQUIRED_CATEGORIES[:3])
    items = str_list(report, node, line, "precedence")
    seen: set[str] = set()
    for name, item_line in items:
        if name in seen:
            report.add(item_line, f"'{name}' appears twice in precedence; keep one")
        seen.add(name)
    return list(dict.fromkeys(n for n, _ in items))


__all__ = ["Built", "build"]
