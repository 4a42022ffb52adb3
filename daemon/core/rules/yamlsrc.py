"""YAML that remembers where every key and item came from, and a collector of problems.

PyYAML's `safe_load` throws the line numbers away, yet an admin needs "rules.yaml:42: unknown
key 'catgory'; did you mean 'category'?". So the file is composed into nodes, and turned into
dicts and lists that carry the line of each key and item. Duplicate keys, which `safe_load`
silently resolves to the last one, are reported too.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

from daemon.errors import Problem


class Map(dict[str, Any]):
    """A YAML mapping with `line` (of the mapping) and `key_lines` (line of each key).

    `shared` is True when the mapping is named with an anchor (&name) and used again through an
    alias (*name): every use is this one object, so what is compiled from it can be shared.
    """

    def __init__(self, *args: Any, line: int = 0):
        super().__init__(*args)
        self.line = line
        self.key_lines: dict[str, int] = {}
        self.shared = False

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class Seq(list[Any]):
    """A YAML sequence with `line` and `lines` (line of each item)."""

    def __init__(self, items: Iterable[Any] = (), line: int = 0, lines: list[int] | None = None):
        super().__init__(items)
        self.line = line
        self.lines = lines if lines is not None else [line] * len(self)


class Report:
    """Collects every problem of one file, so the user sees them all at once."""

    def __init__(self, path: str):
        self.path = path
        self.problems: list[Problem] = []

    def add(self, line: int | None, message: str) -> None:
        self.problems.append(Problem(self.path, line, message))


def load_yaml(text: str, report: Report) -> Any:
    """Parse `text`; on a syntax error add one located problem and return None."""
    try:
        node = _compose(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = " ".join(str(x) for x in (exc.context, exc.problem) if x)
        report.add(
            mark.line + 1 if mark else None,
            f"YAML syntax error: {what}; check indentation, colons and quotes",
        )
        return None
    except yaml.YAMLError as exc:
        report.add(None, f"YAML error: {exc}")
        return None
    if node is None:
        return None
    return _convert(node, report, SafeConstructor(), {})


#: libyaml's parser where PyYAML was built with it: the same nodes and lines, composed in C
#: (the pure-Python composer was a quarter of the daemon's start-up).
_FAST = getattr(yaml, "CSafeLoader", None)


def _compose(text: str) -> yaml.Node | None:
    """The document's node tree. A file libyaml refuses is composed again by the pure-Python
    parser, so a syntax error is told in the same words whichever parser is installed."""
    if _FAST is not None:
        try:
            return yaml.compose(text, Loader=_FAST)
        except yaml.YAMLError:
            pass
    return yaml.compose(text, Loader=yaml.SafeLoader)


def _convert(node: yaml.Node, report: Report, cons: SafeConstructor, seen: dict[int, Any]) -> Any:
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        if id(node) in seen:  # an alias of an anchored mapping: the same object again
            again: Map = seen[id(node)]
            again.shared = True
            return again
        out = seen[id(node)] = Map(line=line)
        for key_node, value_node in node.value:
            key = _convert(key_node, report, cons, seen)
            key_line = key_node.start_mark.line + 1
            if not isinstance(key, (str, int, bool)) or key_node.tag == "tag:yaml.org,2002:merge":
                report.add(
                    key_line,
                    "keys must be plain names; YAML merge keys (<<) are not supported here",
                )
                continue
            key = str(key)
            if key in out:
                report.add(
                    key_line,
                    f"duplicate key '{key}' (first at line {out.key_lines[key]}); keep only one",
                )
                continue
            out[key] = _convert(value_node, report, cons, seen)
            out.key_lines[key] = key_line
        return out
    if isinstance(node, yaml.SequenceNode):
        return Seq(
            [_convert(item, report, cons, seen) for item in node.value],
            line,
            [item.start_mark.line + 1 for item in node.value],
        )
    try:
        return cons.construct_object(node, deep=True)
    except ValueError:  # e.g. an impossible date 2025-13-01: keep the text, the caller says why
        return str(node.value)
    except yaml.YAMLError as exc:
        report.add(line, f"cannot read this value: {getattr(exc, 'problem', exc)}")
        return None


def suggest(word: str, choices: Iterable[str]) -> str:
    """ "; did you mean 'x'?" when a close match exists, else the list of allowed names."""
    choices = sorted(choices)
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if close:
        return f"; did you mean '{close[0]}'?"
    return f"; allowed: {', '.join(choices)}"


def check_keys(report: Report, m: Map, allowed: Iterable[str], where: str) -> None:
    """Report every key of `m` that is not in `allowed`, with a suggestion."""
    allowed = list(allowed)
    for key in m:
        if key not in allowed:
            report.add(m.line_of(key), f"unknown key '{key}' in {where}{suggest(key, allowed)}")


def expect_map(report: Report, value: Any, line: int, where: str) -> Map | None:
    """`value` if it is a mapping, else a problem and None."""
    if isinstance(value, Map):
        return value
    report.add(getattr(value, "line", line), f"{where} must be a mapping (key: value lines)")
    return None


def expect_seq(report: Report, value: Any, line: int, where: str) -> Seq | None:
    """`value` if it is a list, else a problem and None."""
    if isinstance(value, Seq):
        return value
    report.add(getattr(value, "line", line), f"{where} must be a list (lines starting with '- ')")
    return None


def str_list(report: Report, value: Any, line: int, where: str) -> list[tuple[str, int]]:
    """A list of strings with their lines; a single string is accepted as a one-item list."""
    if isinstance(value, str):
        return [(value, line)]
    if isinstance(value, list) and not isinstance(value, Seq):
        value = Seq(value, line)
    seq = expect_seq(report, value, line, where)
    if seq is None:
        return []
    out = []
    for item, item_line in zip(seq, seq.lines, strict=False):
        if isinstance(item, (str, int)) and not isinstance(item, bool):
            out.append((str(item), item_line))
        elif isinstance(item, bool):
            report.add(
                item_line,
                f"{where}: an item was read as {str(item).lower()}; YAML reads "
                f"unquoted yes/no/on/off that way, so put it in quotes",
            )
        else:
            report.add(item_line, f"{where}: every item must be a text, got {item!r}")
    return out
