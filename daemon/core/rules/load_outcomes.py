"""The outcome sections of rules.yaml: `complexity:`, `causes:` and `remedies:`.

A closed complaint records its verdict, its cause and the remedy given, and the figures for
bonuses and meetings count them, so the words an owner may use are the admin's, written once
here: a cause is a key with the words owners write for it ("delivery", "доставка"); a remedy
is a kind (apology, present, compensation) agreed in advance from a complexity level up. Every
word must name one thing only, or "close justified cause=X" would be ambiguous.
"""

from __future__ import annotations

from typing import Any

from daemon.core.rules.model import COMPLEXITY_LEVELS, REMEDY_KINDS, Cause, Remedy
from daemon.core.rules.yamlsrc import Map, Report, check_keys, expect_map, str_list


def parse_complexity(report: Report, node: Any, line: int) -> tuple[str, ...]:
    """`complexity: [simple, medium, serious]`, lowest first."""
    if node is None:
        return COMPLEXITY_LEVELS
    levels = [w.strip().lower() for w, _ in str_list(report, node, line, "complexity")]
    if not levels or any(not w or "=" in w or " " in w for w in levels):
        report.add(line, "complexity: give the levels as single words, lowest first")
        return COMPLEXITY_LEVELS
    if len(set(levels)) != len(levels):
        report.add(line, "complexity: a level is listed twice; keep each once")
    return tuple(dict.fromkeys(levels))


def parse_causes(report: Report, node: Any, line: int) -> dict[str, Cause]:
    """`causes: {delivery: [доставка, курьер], quality: []}` or a plain list of keys."""
    if node is None:
        return {}
    if isinstance(node, list):
        keys = str_list(report, node, line, "causes")
        return {k.lower(): Cause(k.lower()) for k, _ in keys}
    m = expect_map(report, node, line, "causes")
    out: dict[str, Cause] = {}
    for key, value in (m or {}).items():
        where = (m or Map()).line_of(key)
        words = str_list(report, value or [], where, f"cause '{key}'")
        out[str(key).lower()] = Cause(str(key).lower(), tuple(w.lower() for w, _ in words))
    _unique_words(report, line, "cause", {k: c.aliases for k, c in out.items()})
    return out


def parse_remedies(
    report: Report, node: Any, line: int, levels: tuple[str, ...]
) -> dict[str, Remedy]:
    """`remedies: {certificate: {kind: present, from: medium, aliases: [сертификат]}}`."""
    if node is None:
        return {}
    m = expect_map(report, node, line, "remedies")
    out: dict[str, Remedy] = {}
    for key, value in (m or {}).items():
        r = expect_map(report, value, (m or Map()).line_of(key), f"remedy '{key}'")
        if r is None:
            continue
        check_keys(report, r, ("kind", "from", "aliases"), f"remedy '{key}'")
        kind = str(r.get("kind", ""))
        if kind not in REMEDY_KINDS:
            report.add(
                r.line_of("kind"),
                f"remedy '{key}': kind must be one of {', '.join(REMEDY_KINDS)}, not '{kind}'",
            )
        level = str(r.get("from", levels[0])).lower()
        if level not in levels:
            report.add(
                r.line_of("from"),
                f"remedy '{key}': from '{level}' is not a complexity level; "
                f"use one of {', '.join(levels)}",
            )
        words = str_list(report, r.get("aliases", []), r.line_of("aliases"), "aliases")
        out[str(key).lower()] = Remedy(
            str(key).lower(), kind, level, tuple(w.lower() for w, _ in words)
        )
    _unique_words(report, line, "remedy", {k: x.aliases for k, x in out.items()})
    return out


def level_of(report: Report, value: Any, line: int, where: str, levels: tuple[str, ...]) -> str:
    """A category's `complexity:`; "" when absent (its cases start at the lowest level)."""
    if value is None:
        return ""
    level = str(value).lower()
    if level not in levels:
        report.add(line, f"{where}: '{level}' is not a complexity level; use {', '.join(levels)}")
        return ""
    return level


def verdict_setting(report: Report, value: Any, line: int, where: str) -> bool:
    """A category's `verdict: required | optional` (optional when absent)."""
    if value is None or value == "optional":
        return False
    if value == "required":
        return True
    report.add(line, f"{where}: verdict must be required or optional, not '{value}'")
    return False


def _unique_words(
    report: Report, line: int, what: str, aliases: dict[str, tuple[str, ...]]
) -> None:
    seen: dict[str, str] = {}
    for key, words in aliases.items():
        for word in (key, *words):
            if word in seen and seen[word] != key:
                report.add(line, f"{what} word '{word}' names both '{seen[word]}' and '{key}'")
            seen.setdefault(word, key)
