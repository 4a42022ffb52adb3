"""Turn a rule's `when:` mapping into a `Condition`, reporting every mistake with its line.

One factory for all matchers, so that an unknown matcher, a misspelt field or a broken regex is
a load error the admin sees in `feedbackd check`, never a surprise while mail is flowing.
"""

from __future__ import annotations

import re
from typing import Any as AnyValue

from . import conditions as c
from .textmatch import normalize
from .yamlsrc import Map, Report, Seq, check_keys, str_list, suggest

MATCHERS = ("words", "phrases", "regex", "equals", "domains", "exists", "all", "any", "not")
OPTIONS = ("in", "negation", "at_least", "except")
NEGATION_MODES = ("ignore", "skip", "only")
_DEFAULT_FIELD = {"words": "text", "phrases": "text", "regex": "text", "domains": "sender_domain"}
_WORD_CHARS = re.compile(r"^[^\W_]+(?:['\-][^\W_]+)*\*?$")


def compile_condition(node: AnyValue, line: int, report: Report) -> c.Condition | None:
    """A Condition, or None after adding the problems found to `report`."""
    if not isinstance(node, Map):
        report.add(getattr(node, "line", line), "a condition must be a mapping such as "
                   "'words: [...]', 'any: [...]' or 'not: {...}'")
        return None
    check_keys(report, node, MATCHERS + OPTIONS, "a condition")
    kinds = [k for k in node if k in MATCHERS]
    if len(kinds) != 1:
        what = "no matcher" if not kinds else f"several matchers ({', '.join(kinds)})"
        report.add(node.line, f"a condition needs exactly one matcher, found {what}; "
                              f"wrap several in 'all:' or 'any:'. Matchers: {', '.join(MATCHERS)}")
        return None
    kind = kinds[0]
    value, vline = node[kind], node.line_of(kind)
    if kind in ("all", "any", "not"):
        for opt in OPTIONS:
            if opt in node:
                report.add(node.line_of(opt), f"'{opt}' belongs on a matcher, not on '{kind}'")
        return _combinator(kind, value, vline, report)
    field = _field(node, kind, report)
    if kind not in ("words", "phrases"):
        for opt in ("negation", "at_least", "except"):
            if opt in node:
                report.add(node.line_of(opt), f"'{opt}' works only with words and phrases")
    if field is None:
        return None
    if kind in ("words", "phrases"):
        return _words(kind, node, field, report)
    if kind == "regex":
        return _regex(value, vline, field, report)
    if kind == "exists":
        target = _field_name(value, vline, report)
        if "in" in node:
            report.add(node.line_of("in"), "write the field as the value: 'exists: header:List-Id'")
        return c.Exists(target) if target else None
    items = [v for v, _ in str_list(report, value, vline, kind)]
    if not items:
        report.add(vline, f"'{kind}' needs at least one value")
        return None
    return c.Equals(items, field) if kind == "equals" else c.Domains(items, field)


def _combinator(kind: str, value: AnyValue, line: int, report: Report) -> c.Condition | None:
    if kind == "not":
        child = compile_condition(value, line, report)
        return c.Not(child) if child else None
    if not isinstance(value, Seq) or not value:
        report.add(line, f"'{kind}' takes a non-empty list of conditions ('- words: [...]')")
        return None
    children = [compile_condition(v, ln, report) for v, ln in zip(value, value.lines)]
    if any(ch is None for ch in children):
        return None
    kids = [ch for ch in children if ch is not None]
    return c.All(kids) if kind == "all" else c.Any(kids)


def _field_name(value: AnyValue, line: int, report: Report) -> str | None:
    if not isinstance(value, str) or not value:
        report.add(line, f"a field name is needed here, got {value!r}")
        return None
    if value.startswith("header:"):
        if not re.fullmatch(r"header:[!-9;-~]+", value):
            report.add(line, f"'{value}': write a header as 'header:Name', e.g. header:List-Id")
            return None
        return value
    if value not in c.FIELDS:
        report.add(line, f"unknown field '{value}'{suggest(value, list(c.FIELDS) + ['header:'])}")
        return None
    return value


def _field(node: Map, kind: str, report: Report) -> str | None:
    if "in" in node:
        return _field_name(node["in"], node.line_of("in"), report)
    if kind == "equals":
        report.add(node.line, "'equals' needs 'in:' naming the field, e.g. 'in: language'")
        return None
    return _DEFAULT_FIELD.get(kind, "text")


def _words(kind: str, node: Map, field: str, report: Report) -> c.Condition | None:
    line = node.line_of(kind)
    items = str_list(report, node[kind], line, kind)
    ok = True
    for item, item_line in items:
        parts = normalize(item).split()
        if not parts:
            report.add(item_line, f"empty entry in '{kind}'; remove it")
            ok = False
        elif kind == "words" and len(parts) > 1:
            report.add(item_line, f"'{item}' is several words; put it under 'phrases:'")
            ok = False
        for part in parts:
            if not _WORD_CHARS.match(part):
                report.add(item_line, f"'{item}': only letters, digits, ' and - make a word, "
                                      f"and '*' only at its end; use 'regex:' for anything else")
                ok = False
            elif part.endswith("*") and len(part) < 4:
                report.add(item_line, f"'{part}' is too short a prefix and would match too many "
                                      f"words; give at least 3 letters before '*'")
                ok = False
    negation = node.get("negation", "ignore")
    if negation not in NEGATION_MODES:
        report.add(node.line_of("negation"), f"negation must be one of "
                   f"{', '.join(NEGATION_MODES)}{suggest(str(negation), NEGATION_MODES)}")
        ok = False
    at_least = node.get("at_least", 1)
    if isinstance(at_least, bool) or not isinstance(at_least, int) or at_least < 1:
        report.add(node.line_of("at_least"), "at_least must be a whole number, 1 or more")
        ok = False
    elif at_least > len(items):
        report.add(node.line_of("at_least"), f"at_least is {at_least} but only {len(items)} "
                   f"entries are listed, so this can never match")
        ok = False
    hide = str_list(report, node.get("except", []), node.line_of("except"), "except")
    for phrase, phrase_line in hide:
        words = normalize(phrase).split()
        if not words or not all(_WORD_CHARS.match(w) for w in words):
            report.add(phrase_line, f"except: '{phrase}' must be words separated by spaces")
            ok = False
    if not ok or not items:
        if not items:
            report.add(line, f"'{kind}' needs at least one entry")
        return None
    return c.Words(kind, [i for i, _ in items], field, str(negation), int(at_least),
                   [p for p, _ in hide])


def _regex(value: AnyValue, line: int, field: str, report: Report) -> c.Condition | None:
    if not isinstance(value, str) or not value:
        report.add(line, "regex needs a pattern text; quote it with single quotes")
        return None
    try:
        # the text is NFKC-normalised and ё-folded; do the same to literal letters here
        pattern = re.compile(value.replace("ё", "е").replace("Ё", "Е").replace("№", "no"),
                             re.IGNORECASE)
    except re.error as exc:
        report.add(line, f"bad regex {value!r}: {exc.msg} at position {exc.pos}; "
                         f"escape special characters such as ( [ . * with a backslash")
        return None
    return c.Regex(pattern, field)
