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
from daemon.core.rules.load_conditions import Lexicons, compile_condition, parse_lexicons
from daemon.core.rules.load_employees import parse_employees
from daemon.core.rules.load_examples import parse_examples
from daemon.core.rules.load_outcomes import (
    level_of,
    parse_causes,
    parse_complexity,
    parse_remedies,
    verdict_setting,
)
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
    Escalation,
    ExplanationSettings,
    Owner,
    ReminderStep,
    Rule,
    RuleBook,
)
from daemon.core.rules.morphology import Lemmatizer
from daemon.core.rules.textmatch import Negation, normalize
from daemon.core.rules.yamlsrc import (
    Map,
    Report,
    check_keys,
    expect_map,
    expect_seq,
    load_yaml,
    str_list,
)
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
    explanations = _explanations(
        report, root.get("explanations"), root.line_of("explanations"), built.lines
    )
    employees = parse_employees(
        report, root.get("employees"), root.line_of("employees"), owners, lemmatizer
    )
    negation = _negation(report, root.get("negation"), root.line_of("negation"))
    lexicons = parse_lexicons(root.get("lexicons"), root.line_of("lexicons"), report)
    rules = _rules(
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
        reminders = _reminders(
            report, cm.get("reminders"), cm.line_of("reminders"), name, built.lines
        )
        escalate = _escalation(
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


def _explanations(
    report: Report, node: Any, line: int, lines: dict[str, int]
) -> ExplanationSettings:
    """`explanations: {due: 3 working_days, reminders: [...]}`: the employee's term."""
    if node is None:
        return ExplanationSettings()
    m = expect_map(report, node, line, "explanations")
    if m is None:
        return ExplanationSettings()
    check_keys(report, m, ("due", "reminders"), "explanations")
    due = term(report, m.get("due", "3 working_days"), m.line_of("due"), "explanations.due")
    rungs = _reminders(report, m.get("reminders"), m.line_of("reminders"), "explanations", lines)
    return ExplanationSettings(due or ExplanationSettings().due, tuple(rungs))


def _reminders(
    report: Report, node: Any, line: int, cat: str, lines: dict[str, int]
) -> list[ReminderStep]:
    seq = expect_seq(report, node, line, f"{cat}.reminders") if node is not None else None
    out: list[ReminderStep] = []
    for item, item_line in zip(seq or [], getattr(seq, "lines", []), strict=False):
        r = expect_map(report, item, item_line, "a reminder")
        if r is None:
            continue
        kinds = ("at", "before", "on_due", "overdue_every")
        check_keys(report, r, kinds, "a reminder")
        if len([k for k in r if k in kinds]) != 1:
            report.add(
                r.line,
                "a reminder has exactly one of: at: 50% | before: 1 working_day | "
                "on_due: true | overdue_every: 1 working_day",
            )
            continue
        lines[f"reminder:{cat}:{len(out)}"] = r.line
        if "at" in r:
            text = str(r["at"]).strip()
            pct = text[:-1] if text.endswith("%") else ""
            if not pct.isdigit() or not 0 < int(pct) < 100:
                report.add(
                    r.line_of("at"),
                    f"at: '{r['at']}' must be a percentage of the term "
                    f"between 1% and 99%, e.g. 50%",
                )
                continue
            out.append(ReminderStep(at_fraction=int(pct) / 100))
        elif "on_due" in r:
            if r["on_due"] is not True:
                report.add(r.line_of("on_due"), "write 'on_due: true' or remove the step")
                continue
            out.append(ReminderStep(on_due=True))
        else:
            key = "before" if "before" in r else "overdue_every"
            t = term(report, r[key], r.line_of(key), f"{cat} reminder {key}")
            if t is not None:
                out.append(
                    ReminderStep(before=t) if key == "before" else ReminderStep(overdue_every=t)
                )
    return out


def _escalation(
    report: Report, node: Any, line: int, cat: str, lines: dict[str, int]
) -> Escalation | None:
    if node is None:
        return None
    m = expect_map(report, node, line, f"{cat}.escalate")
    if m is None:
        return None
    check_keys(report, m, ("after", "to"), f"{cat}.escalate")
    after = term(
        report, m.get("after", "1 working_day"), m.line_of("after"), f"{cat}.escalate.after"
    )
    targets = str_list(report, m.get("to", ["supervisor", "center"]), m.line_of("to"), "to")
    if after is None:
        return None
    lines[f"escalate:{cat}"] = m.line_of("to")
    return Escalation(after, tuple(t for t, _ in targets))


def _negation(report: Report, node: Any, line: int) -> Negation:
    if node is None:
        return Negation()
    m = expect_map(report, node, line, "negation")
    if m is None:
        return Negation()
    check_keys(report, m, ("before", "after", "window"), "negation")
    before = str_list(report, m.get("before", []), m.line_of("before"), "negation.before")
    after = str_list(report, m.get("after", []), m.line_of("after"), "negation.after")
    window = m.get("window", 3)
    if isinstance(window, bool) or not isinstance(window, int) or not 1 <= window <= 10:
        report.add(m.line_of("window"), "negation.window must be a whole number from 1 to 10")
        window = 3
    return Negation(
        frozenset(normalize(w) for w, _ in before),
        frozenset(normalize(w) for w, _ in after),
        window,
    )


def _rules(
    report: Report,
    node: Any,
    line: int,
    lines: dict[str, int],
    lexicons: Lexicons | None = None,
    lemmatizer: Lemmatizer | None = None,
) -> list[Rule]:
    seq = expect_seq(report, node, line, "rules") if node is not None else None
    out: list[Rule] = []
    for item, item_line in zip(seq or [], getattr(seq, "lines", []), strict=False):
        r = expect_map(report, item, item_line, "a rule")
        if r is None:
            continue
        check_keys(report, r, ("name", "when", "category", "owner", "tags", "case"), "a rule")
        name = r.get("name")
        if not isinstance(name, str) or not name:
            report.add(r.line, "every rule needs 'name:' (it is shown in every decision)")
            continue
        if f"rule:{name}" in lines:
            report.add(
                r.line_of("name"),
                f"rule name '{name}' is used twice (first at line "
                f"{lines[f'rule:{name}']}); names must be unique",
            )
            continue
        lines[f"rule:{name}"] = r.line_of("name")
        lines[f"rule:{name}:category"] = r.line_of("category")
        lines[f"rule:{name}:owner"] = r.line_of("owner")
        opens = _case_action(report, r, name)
        if opens is None:
            continue
        if "when" not in r or ("category" not in r and opens):
            report.add(r.line, f"rule '{name}' needs both 'when:' and 'category:'")
            continue
        cond = compile_condition(r["when"], r.line_of("when"), report, lexicons, lemmatizer)
        tags = str_list(report, r.get("tags", []), r.line_of("tags"), "tags")
        if cond is not None:
            owner = r.get("owner")
            out.append(
                Rule(
                    name,
                    str(r.get("category", UNCLASSIFIED)),
                    cond,
                    None if owner is None else str(owner),
                    tuple(t for t, _ in tags),
                    r.line,
                    opens,
                )
            )
    return out


def _case_action(report: Report, r: Map, name: str) -> bool | None:
    """A rule's `case:` — `open` (the default) or `none`: what it matches is filed in
    Feedback/Automatic, counted, and opens no case and sends nothing. None: a bad value."""
    value = r.get("case", "open")
    if value in ("open", "none"):
        return bool(value == "open")
    report.add(r.line_of("case"), f"rule '{name}': case: must be 'none' or 'open', not {value!r}")
    return None


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
