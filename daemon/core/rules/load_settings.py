"""The non-rule sections of rules.yaml (settings, calendar, policy, digest) and their small values.

Durations ("24h"), sizes ("25MB"), terms ("1 working_day"), times and dates are parsed here,
each with a message that shows the accepted form, because these are the values admins mistype.
"""

from __future__ import annotations

import re
from dataclasses import fields
from datetime import date, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from daemon.core.rules.crosscheck import first_run_conflicts
from daemon.core.rules.model import (
    DIGEST_EVERY,
    TERM_UNITS,
    CalendarSettings,
    DigestSettings,
    FirstRun,
    LearningSettings,
    PolicySettings,
    Term,
    WorkingHours,
)
from daemon.core.rules.yamlsrc import Map, Report, check_keys, expect_map, str_list, suggest

_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d|w)\s*$")
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_SIZE = re.compile(r"^\s*(\d+)\s*(b|kb|mb|gb)?\s*$", re.I)
_SIZE_UNITS = {"b": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3}
_TERM = re.compile(r"^\s*(\d+)\s+([a-z_]+?)s?\s*$")


def duration(report: Report, value: Any, line: int, key: str) -> timedelta | None:
    m = _DURATION.match(str(value)) if isinstance(value, (str, int)) else None
    if not m or isinstance(value, bool):
        report.add(line, f"{key}: '{value}' is not a duration; write e.g. 90m, 24h or 7d")
        return None
    return timedelta(seconds=int(m.group(1)) * _DURATION_UNITS[m.group(2)])


def size(report: Report, value: Any, line: int, key: str) -> int | None:
    m = _SIZE.match(str(value)) if isinstance(value, (str, int)) else None
    if not m or isinstance(value, bool):
        report.add(line, f"{key}: '{value}' is not a size; write e.g. 512KB or 25MB")
        return None
    return int(m.group(1)) * _SIZE_UNITS[(m.group(2) or "b").lower()]


def term(report: Report, value: Any, line: int, key: str) -> Term | None:
    """'2 working_days' or {amount: 2, unit: working_days}."""
    if isinstance(value, Map):
        check_keys(report, value, ("amount", "unit"), key)
        amount, unit = value.get("amount"), str(value.get("unit", "calendar_days"))
        line = value.line
    else:
        m = _TERM.match(str(value)) if isinstance(value, str) else None
        amount, unit = (int(m.group(1)), m.group(2) + "s") if m else (None, "")
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 1:
        report.add(
            line,
            f"{key}: '{value}' is not a term; write e.g. '2 working_days' or "
            f"{{amount: 10, unit: calendar_days}} with a whole number above 0",
        )
        return None
    unit = unit if unit.endswith("s") else unit + "s"
    if unit not in TERM_UNITS:
        report.add(line, f"{key}: unknown unit '{unit}'{suggest(unit, TERM_UNITS)}")
        return None
    return Term(amount, unit)


def clock(report: Report, value: Any, line: int, key: str) -> time | None:
    if isinstance(value, int) and not isinstance(value, bool):  # YAML 1.1 reads 09:00 as 540
        value = f"{value // 60:02d}:{value % 60:02d}"
    m = re.fullmatch(r"(\d{1,2}):(\d{2})", str(value).strip())
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        report.add(line, f"{key}: '{value}' is not a time of day; write e.g. \"09:00\"")
        return None
    return time(int(m.group(1)), int(m.group(2)))


def dates(report: Report, value: Any, line: int, key: str) -> tuple[date, ...]:
    if value is None:
        return ()
    out = []
    items = [value] if not isinstance(value, list) else value
    lines = getattr(value, "lines", [line] * len(items))
    for item, item_line in zip(items, lines, strict=False):
        if isinstance(item, date):
            out.append(item)
            continue
        try:
            out.append(date.fromisoformat(str(item)))
        except ValueError:
            report.add(item_line, f"{key}: '{item}' is not a date; write YYYY-MM-DD")
    return tuple(out)


def flag(report: Report, value: Any, line: int, key: str) -> bool | None:
    if not isinstance(value, bool):
        report.add(line, f"{key} must be true or false, got '{value}'")
        return None
    return value


def first_run(report: Report, value: Any, line: int) -> FirstRun | None:
    """`policy.first_run`: history | triage | skip."""
    if isinstance(value, str) and value in {m.value for m in FirstRun}:
        return FirstRun(value)
    choices = " | ".join(m.value for m in FirstRun)
    report.add(line, f"first_run: '{value}' is not one of {choices} (history is the default)")
    return None


def parse_settings(report: Report, node: Any, line: int) -> tuple[str | None, str, WorkingHours]:
    """`settings:` → (center owner key, timezone, working hours)."""
    m = expect_map(report, node, line, "settings")
    if m is None:
        return None, "Europe/Moscow", WorkingHours()
    check_keys(report, m, ("center", "timezone", "working_hours"), "settings")
    center = m.get("center")
    if not isinstance(center, str):
        report.add(
            m.line_of("center"),
            "settings.center must name the owner that is the "
            "feedback center, e.g. 'center: center'",
        )
        center = None
    tz = str(m.get("timezone", "Europe/Moscow"))
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        report.add(
            m.line_of("timezone"), f"unknown time zone '{tz}'{suggest(tz, available_timezones())}"
        )
    hours = WorkingHours()
    wh = m.get("working_hours")
    if (
        wh is not None
        and (whm := expect_map(report, wh, m.line_of("working_hours"), "working_hours")) is not None
    ):
        check_keys(report, whm, ("start", "end"), "working_hours")
        start = clock(report, whm.get("start", "09:00"), whm.line_of("start"), "start")
        end = clock(report, whm.get("end", "18:00"), whm.line_of("end"), "end")
        if start and end:
            if start >= end:
                report.add(
                    whm.line,
                    f"working_hours start {start:%H:%M} is not before end "
                    f"{end:%H:%M}; the working day would be empty",
                )
            hours = WorkingHours(start, end)
    return center, tz, hours


def parse_calendar(report: Report, node: Any, line: int) -> CalendarSettings:
    m = expect_map(report, node, line, "calendar")
    if m is None:
        return CalendarSettings()
    check_keys(report, m, ("country", "extra_holidays", "extra_working_days"), "calendar")
    country = str(m.get("country", "RU")).upper()
    try:
        import holidays

        holidays.country_holidays(country)
    except ImportError:
        pass
    except NotImplementedError:
        report.add(
            m.line_of("country"),
            f"no official calendar for country '{country}'; "
            f"use a two-letter code such as RU, US or DE",
        )
    off = dates(report, m.get("extra_holidays"), m.line_of("extra_holidays"), "extra_holidays")
    on = dates(
        report, m.get("extra_working_days"), m.line_of("extra_working_days"), "extra_working_days"
    )
    for both in sorted(set(off) & set(on)):
        report.add(
            m.line_of("extra_working_days"),
            f"{both} is listed both as a holiday and as a working day; keep it in one list",
        )
    return CalendarSettings(country, off, on)


def parse_policy(report: Report, node: Any, line: int) -> PolicySettings:
    m = expect_map(report, node, line, "policy")
    if m is None:
        return PolicySettings()
    check_keys(report, m, [f.name for f in fields(PolicySettings)], "policy")
    values: dict[str, Any] = {}
    for key, parse in (
        ("ack_interval", duration),
        ("hard_bounce_quiet", duration),
        ("backfill_older_than", duration),
        ("max_message_size", size),
        ("retry_first", duration),
        ("retry_max", duration),
        ("resend_grace", duration),
        ("keep_closed", duration),
        ("keep_sent", duration),
        ("keep_ledger", duration),
        ("alert_silence", duration),
        ("backfill_acknowledge", flag),
    ):
        if key in m and (v := parse(report, m[key], m.line_of(key), key)) is not None:
            values[key] = v
    if "ack_burst_per_hour" in m:
        v = m["ack_burst_per_hour"]
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            report.add(
                m.line_of("ack_burst_per_hour"),
                "ack_burst_per_hour must be a whole number, 1 or more",
            )
        else:
            values["ack_burst_per_hour"] = v
    if "first_run" in m:
        mode = first_run(report, m["first_run"], m.line_of("first_run"))
        if mode is not None:
            values["first_run"] = mode
    if "noreply_patterns" in m:
        pats = str_list(
            report, m["noreply_patterns"], m.line_of("noreply_patterns"), "noreply_patterns"
        )
        for pat, pat_line in pats:
            try:
                re.compile(pat)
            except re.error as exc:
                report.add(pat_line, f"bad regex {pat!r}: {exc.msg} at position {exc.pos}")
        values["noreply_patterns"] = tuple(p for p, _ in pats)
    if "own_addresses" in m:
        addrs = str_list(report, m["own_addresses"], m.line_of("own_addresses"), "own_addresses")
        for addr, addr_line in addrs:
            if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", addr):
                report.add(addr_line, f"'{addr}' is not an e-mail address")
        values["own_addresses"] = tuple(a.lower() for a, _ in addrs)
    policy = PolicySettings(**values)
    first_run_conflicts(report, policy, m.line_of("backfill_acknowledge"))
    return policy


#: A digest language: a code like `ru`, `en` or `pt-br`, the LANG of its words' file
#: templates/digest.LANG.yaml (whether that file exists is `feedbackd check`'s to say).
DIGEST_LANGUAGE = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{1,8})*")
DIGEST_KEYS = ("every", "at", "to", "language")


def parse_digest(report: Report, node: Any, line: int, center: str | None) -> DigestSettings | None:
    """`digest:` → its settings, None when the section is absent; `to` defaults to the center.

    Parsed with the rest of the book, so `feedbackd check` reports a bad digest instead of the
    scheduler on the day the digest is due. Whether each `to` names an owner is a cross-check.
    """
    if node is None:
        return None
    m = expect_map(report, node, line, "digest")
    if m is None:
        return None

    def bad(key: str, message: str) -> None:
        report.add(m.line_of(key), f"digest.{key}: {message}")

    for key in m:
        if key not in DIGEST_KEYS:
            bad(key, f"unknown key; use {', '.join(DIGEST_KEYS)}")
    every = str(m.get("every", "weekly"))
    if every not in DIGEST_EVERY:
        bad("every", f"{every!r} is not {' or '.join(DIGEST_EVERY)}")
    at = time(8, 0)
    try:
        at = time.fromisoformat(str(m.get("at", "08:00")))
    except ValueError:
        bad("at", f'{m.get("at")!r} is not a time like "08:00"')
    to = m.get("to", [center] if center else [])
    if not isinstance(to, list) or not to or not all(isinstance(x, str) for x in to):
        bad("to", "give a list of owner keys or addresses, e.g. [center]")
        to = []
    language = str(m.get("language", ""))
    if language and not DIGEST_LANGUAGE.fullmatch(language):
        bad("language", f"{language!r} is not a language code like ru or en")
        language = ""
    return DigestSettings(every, at, tuple(to), language)


LEARNING_KEYS = ("min_confidence", "min_examples")


def parse_learning(report: Report, node: Any, line: int) -> LearningSettings | None:
    """`learning:` → when the learned model may decide; None when the section is absent.

    `min_confidence` is a probability (0.5 to 1: below one half the model would decide on a
    guess), `min_examples` a whole number of lessons, at least 2."""
    if node is None:
        return None
    m = expect_map(report, node, line, "learning")
    if m is None:
        return None
    check_keys(report, m, LEARNING_KEYS, "learning")
    values: dict[str, Any] = {}
    conf = m.get("min_confidence", LearningSettings.min_confidence)
    if isinstance(conf, bool) or not isinstance(conf, (int, float)) or not 0.5 <= conf <= 1:
        report.add(
            m.line_of("min_confidence"),
            f"learning.min_confidence: '{conf}' must be a probability from 0.5 to 1, e.g. 0.75",
        )
    else:
        values["min_confidence"] = float(conf)
    least = m.get("min_examples", LearningSettings.min_examples)
    if isinstance(least, bool) or not isinstance(least, int) or least < 2:
        report.add(
            m.line_of("min_examples"),
            f"learning.min_examples: '{least}' must be a whole number, 2 or more, e.g. 30",
        )
    else:
        values["min_examples"] = least
    return LearningSettings(**values)
