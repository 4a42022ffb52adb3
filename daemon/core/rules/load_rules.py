"""Parse the matching sections of rules.yaml: `rules:` (each rule's condition compiled, its
name unique, its `case:` action) and `negation:` (the words that turn a match off).

Every problem is added to the `Report` with its line, so `check` prints them all at once.
"""

from __future__ import annotations

from typing import Any

from daemon.core.rules.load_conditions import Lexicons, compile_condition
from daemon.core.rules.model import UNCLASSIFIED, Rule
from daemon.core.rules.morphology import Lemmatizer
from daemon.core.rules.textmatch import Negation, normalize
from daemon.core.rules.yamlsrc import Map, Report, check_keys, expect_map, expect_seq, str_list


def parse_negation(report: Report, node: Any, line: int) -> Negation:
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


def parse_rules(
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
