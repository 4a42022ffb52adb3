"""Turn a rule's `when:` mapping into a `Condition`, reporting every mistake with its line.

One factory for all matchers, so that an unknown matcher, a misspelt field or a broken regex is
a load error the admin sees in `feedbackd check`, never a surprise while mail is flowing.
"""

from __future__ import annotations

import re
from typing import Any as AnyValue

from daemon.core.rules import conditions as c
from daemon.core.rules.morphology import Lemmatizer
from daemon.core.rules.textmatch import normalize
from daemon.core.rules.yamlsrc import Map, Report, Seq, check_keys, str_list, suggest

MATCHERS = (
    "words",
    "phrases",
    "lemmas",
    "regex",
    "equals",
    "domains",
    "exists",
    "sentiment",
    "all",
    "any",
    "not",
)
OPTIONS = ("in", "negation", "at_least", "except")
NEGATION_MODES = ("ignore", "skip", "only")
_DEFAULT_FIELD = {"words": "text", "phrases": "text", "regex": "text", "domains": "sender_domain"}
_WORDLIKE = ("words", "phrases", "lemmas")
SENTIMENT_KEYS = ("lean", "positive", "negative", "neutral", "margin")
SIDES = ("positive", "negative", "neutral")
LEANS = ("positive", "negative")
_WORD_CHARS = re.compile(r"^[^\W_]+(?:['\-][^\W_]+)*\*?$")


class Lexicons:
    """The `lexicons:` section: named lists of words, prefixes and phrases, checked once.

    Sentiment matchers name the lists they use; the compiled table for each combination of
    lists is built once per load and shared, so a message is scored once for all such rules.
    """

    def __init__(self) -> None:
        self.entries: dict[str, list[str]] = {}
        self.lines: dict[str, int] = {}
        self._compiled: dict[tuple[tuple[str, ...], ...], c.Opinions] = {}
        #: Conditions named with a YAML anchor, compiled once and shared by every alias.
        self.shared: dict[int, c.Condition | None] = {}

    def opinions(
        self, positive: tuple[str, ...], negative: tuple[str, ...], neutral: tuple[str, ...] = ()
    ) -> c.Opinions:
        key = (positive, negative, neutral)
        if key not in self._compiled:
            self._compiled[key] = c.Opinions(
                *([e for n in names for e in self.entries[n]] for names in key)
            )
        return self._compiled[key]


def parse_lexicons(node: AnyValue, line: int, report: Report) -> Lexicons:
    """`lexicons: {name: [word, prefix*, "a phrase", ...]}`; every bad entry is reported."""
    lex = Lexicons()
    if node is None:
        return lex
    if not isinstance(node, Map):
        report.add(
            getattr(node, "line", line),
            "lexicons must be a mapping of names to lists, e.g. 'positive: [great, love*, ...]'",
        )
        return lex
    for name, value in node.items():
        where = f"lexicons.{name}"
        items = str_list(report, value, node.line_of(name), where)
        if not items:
            report.add(node.line_of(name), f"{where} needs at least one entry")
        ok, seen = True, dict[str, int]()
        for item, item_line in items:
            ok = _entry_ok(item, item_line, where, report) and ok
            key = normalize(item).strip()
            if key in seen:
                report.add(
                    item_line,
                    f"{where}: '{item}' is listed twice (first at line {seen[key]}); keep one",
                )
            seen.setdefault(key, item_line)
        if ok and items:
            lex.entries[str(name)] = [i for i, _ in items]
        lex.lines[str(name)] = node.line_of(name)
    return lex


def _entry_ok(item: str, line: int, where: str, report: Report) -> bool:
    """A word, a `prefix*` of at least 3 letters, or several such words (a phrase)."""
    parts = normalize(item).split()
    if not parts:
        report.add(line, f"empty entry in '{where}'; remove it")
        return False
    ok = True
    for part in parts:
        if not _WORD_CHARS.match(part):
            report.add(
                line,
                f"'{item}': only letters, digits, ' and - make a word, "
                f"and '*' only at its end; use 'regex:' for anything else",
            )
            ok = False
        elif part.endswith("*") and len(part) < 4:
            report.add(
                line,
                f"'{part}' is too short a prefix and would match too many "
                f"words; give at least 3 letters before '*'",
            )
            ok = False
    return ok


def compile_condition(
    node: AnyValue,
    line: int,
    report: Report,
    lexicons: Lexicons | None = None,
    lemmatizer: Lemmatizer | None = None,
) -> c.Condition | None:
    """A Condition, or None after adding the problems found to `report`.

    `lemmatizer` serves the `lemmas:` matcher; without one, such a matcher is a problem. A
    condition named with a YAML anchor and reused through aliases is compiled (and its problems
    reported) once, and asked once per message however many rules reuse it (`c.Shared`)."""
    if isinstance(node, Map) and node.shared:
        lexicons = lexicons if lexicons is not None else Lexicons()
        if id(node) not in lexicons.shared:
            lexicons.shared[id(node)] = None  # a condition that contains its own alias
            inner = _compile(node, line, report, lexicons, lemmatizer)
            lexicons.shared[id(node)] = c.Shared(inner) if inner is not None else None
        return lexicons.shared[id(node)]
    return _compile(node, line, report, lexicons, lemmatizer)


def _compile(
    node: AnyValue,
    line: int,
    report: Report,
    lexicons: Lexicons | None,
    lemmatizer: Lemmatizer | None,
) -> c.Condition | None:
    if not isinstance(node, Map):
        report.add(
            getattr(node, "line", line),
            "a condition must be a mapping such as 'words: [...]', 'any: [...]' or 'not: {...}'",
        )
        return None
    check_keys(report, node, MATCHERS + OPTIONS, "a condition")
    kinds = [k for k in node if k in MATCHERS]
    if len(kinds) != 1:
        what = "no matcher" if not kinds else f"several matchers ({', '.join(kinds)})"
        report.add(
            node.line,
            f"a condition needs exactly one matcher, found {what}; "
            f"wrap several in 'all:' or 'any:'. Matchers: {', '.join(MATCHERS)}",
        )
        return None
    kind = kinds[0]
    value, vline = node[kind], node.line_of(kind)
    if kind in ("all", "any", "not"):
        for opt in OPTIONS:
            if opt in node:
                report.add(node.line_of(opt), f"'{opt}' belongs on a matcher, not on '{kind}'")
        return _combinator(kind, value, vline, report, lexicons, lemmatizer)
    field = _field(node, kind, report)
    if kind not in _WORDLIKE:
        for opt in ("negation", "at_least", "except"):
            if opt in node:
                report.add(node.line_of(opt), f"'{opt}' works only with words, phrases and lemmas")
    if field is None:
        return None
    if kind in _WORDLIKE:
        return _words(kind, node, field, report, lemmatizer)
    if kind == "sentiment":
        return _sentiment(value, vline, field, report, lexicons or Lexicons())
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


def _combinator(
    kind: str,
    value: AnyValue,
    line: int,
    report: Report,
    lexicons: Lexicons | None,
    lemmatizer: Lemmatizer | None,
) -> c.Condition | None:
    if kind == "not":
        child = compile_condition(value, line, report, lexicons, lemmatizer)
        return c.Not(child) if child else None
    if not isinstance(value, Seq) or not value:
        report.add(line, f"'{kind}' takes a non-empty list of conditions ('- words: [...]')")
        return None
    children = [
        compile_condition(v, ln, report, lexicons, lemmatizer)
        for v, ln in zip(value, value.lines, strict=True)
    ]
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
        report.add(line, f"unknown field '{value}'{suggest(value, [*c.FIELDS, 'header:'])}")
        return None
    return value


def _field(node: Map, kind: str, report: Report) -> str | None:
    if "in" in node:
        return _field_name(node["in"], node.line_of("in"), report)
    if kind == "equals":
        report.add(node.line, "'equals' needs 'in:' naming the field, e.g. 'in: language'")
        return None
    return _DEFAULT_FIELD.get(kind, "text")


def _words(
    kind: str, node: Map, field: str, report: Report, lemmatizer: Lemmatizer | None = None
) -> c.Condition | None:
    line = node.line_of(kind)
    items = str_list(report, node[kind], line, kind)
    ok = True
    if kind == "lemmas" and lemmatizer is None:
        report.add(
            line,
            "'lemmas' needs the word-form dictionaries (Python packages pymorphy3, "
            "pymorphy3-dicts-ru and snowballstemmer), which are not installed; install "
            "feedbackd with its dependencies, or write the forms with 'words:'",
        )
        ok = False
    for item, item_line in items:
        if kind == "words" and len(normalize(item).split()) > 1:
            report.add(item_line, f"'{item}' is several words; put it under 'phrases:'")
            ok = False
        elif kind == "lemmas" and "*" in item:
            report.add(
                item_line,
                f"'{item}': lemmas meet every form of a word by themselves; drop the '*' "
                f"(or use 'words:' for a prefix)",
            )
            ok = False
        else:
            ok = _entry_ok(item, item_line, kind, report) and ok
    negation = node.get("negation", "ignore")
    if negation not in NEGATION_MODES:
        report.add(
            node.line_of("negation"),
            f"negation must be one of "
            f"{', '.join(NEGATION_MODES)}{suggest(str(negation), NEGATION_MODES)}",
        )
        ok = False
    at_least = node.get("at_least", 1)
    if isinstance(at_least, bool) or not isinstance(at_least, int) or at_least < 1:
        report.add(node.line_of("at_least"), "at_least must be a whole number, 1 or more")
        ok = False
    elif at_least > len(items):
        report.add(
            node.line_of("at_least"),
            f"at_least is {at_least} but only {len(items)} "
            f"entries are listed, so this can never match",
        )
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
    if kind == "lemmas" and lemmatizer is not None:
        return c.Lemmas(
            [i for i, _ in items],
            field,
            str(negation),
            int(at_least),
            [p for p, _ in hide],
            lemmatizer,
        )
    return c.Words(
        kind, [i for i, _ in items], field, str(negation), int(at_least), [p for p, _ in hide]
    )


def _regex(value: AnyValue, line: int, field: str, report: Report) -> c.Condition | None:
    if not isinstance(value, str) or not value:
        report.add(line, "regex needs a pattern text; quote it with single quotes")
        return None
    try:
        # the text is NFKC-normalised and ё-folded; do the same to literal letters here
        pattern = re.compile(
            value.replace("ё", "е").replace("Ё", "Е").replace("№", "no"), re.IGNORECASE
        )
    except re.error as exc:
        report.add(
            line,
            f"bad regex {value!r}: {exc.msg} at position {exc.pos}; "
            f"escape special characters such as ( [ . * with a backslash",
        )
        return None
    return c.Regex(pattern, field)


def _sentiment(
    value: AnyValue, line: int, field: str, report: Report, lexicons: Lexicons
) -> c.Condition | None:
    """`sentiment: {lean: negative, positive: [lexicon...], negative: [lexicon...],
    neutral: [lexicon...], margin: 1}`; `neutral` is optional."""
    example = (
        "write 'sentiment: {lean: negative, positive: [positive-en], "
        "negative: [negative-en], margin: 1}'"
    )
    if not isinstance(value, Map):
        report.add(getattr(value, "line", line), f"sentiment takes a mapping; {example}")
        return None
    check_keys(report, value, SENTIMENT_KEYS, "sentiment")
    ok = True
    lean = value.get("lean")
    if lean not in LEANS:
        report.add(
            value.line_of("lean") if "lean" in value else value.line,
            f"sentiment needs 'lean: positive' or 'lean: negative' (the side that must "
            f"win){suggest(str(lean), LEANS) if lean is not None else ''}",
        )
        ok = False
    margin = value.get("margin", 1)
    if isinstance(margin, bool) or not isinstance(margin, int) or margin < 1:
        report.add(
            value.line_of("margin"),
            "sentiment margin must be a whole number, 1 or more "
            "(by how many hits the lean side must win)",
        )
        ok = False
    sides: dict[str, tuple[str, ...]] = {}
    for side in SIDES:
        if side not in value:
            if side == "neutral":
                sides[side] = ()
                continue
            report.add(value.line, f"sentiment needs '{side}:' naming lexicons; {example}")
            ok = False
            continue
        names = str_list(report, value[side], value.line_of(side), f"sentiment.{side}")
        for name, name_line in names:
            if name not in lexicons.lines:
                known = (
                    suggest(name, lexicons.lines)
                    if lexicons.lines
                    else "; define it under 'lexicons:' at the top level"
                )
                report.add(name_line, f"sentiment.{side}: no lexicon named '{name}'{known}")
                ok = False
            elif name not in lexicons.entries:
                ok = False  # the lexicon itself has problems, already reported
        if not names:
            report.add(value.line_of(side), f"sentiment.{side} needs at least one lexicon")
            ok = False
        sides[side] = tuple(n for n, _ in names)
    if not ok:
        return None
    named = [n for side in SIDES for n in sides[side]]
    twice = sorted({n for n in named if named.count(n) > 1})
    if twice:
        report.add(
            value.line,
            f"sentiment: lexicon '{twice[0]}' is named twice; a lexicon belongs to one side",
        )
        return None
    pos = {normalize(e) for n in sides["positive"] for e in lexicons.entries[n]}
    neg = {normalize(e) for n in sides["negative"] for e in lexicons.entries[n]}
    clash = sorted(pos & neg)
    if clash:
        report.add(
            value.line,
            f"sentiment: '{clash[0]}' is both positive and negative "
            f"({len(clash)} such entries); remove it from one lexicon",
        )
        return None
    opinions = lexicons.opinions(sides["positive"], sides["negative"], sides["neutral"])
    return c.Sentiment(opinions, str(lean), int(margin), field)
