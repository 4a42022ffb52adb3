"""How `feedbackd cases show` and `cases list` read on a terminal: a card and a table.

The store's document (`--format json`) is for scripts; these views are for the admin at a
shell. Every time is on the admin's clock (rules.yaml `settings.timezone`) and names its zone,
the same clock the mail uses, so "due 11.12.2026 23:59 МСК" in a reminder and "due 2026-12-11
23:59 MSK" here are one moment. The table fits the terminal's width: the sender and the subject
give way, every other column is shown whole. Pure: the caller passes the zone, `now`, the
owners' names and the width.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from daemon.core.cases import OPEN, Case, Event
from daemon.core.mail.wording import format_duration, in_zone, zone_label

#: The widest the sender column gets: at most half of what the whole columns leave, and the
#: subject takes the rest of the line.
SENDER_WIDTH = 30
#: The narrowest the subject column gets, however narrow the terminal.
SUBJECT_MIN = 12
LIST_HEADER = ("ID", "CATEGORY", "OWNER", "STATUS", "DUE", "FROM", "SUBJECT")


def when(moment: datetime, zone: str) -> str:
    """`2026-12-11 23:59 MSK`: a moment on the admin's clock, labelled."""
    local = in_zone(moment, zone)
    return f"{local:%Y-%m-%d %H:%M} {zone_label(local, 'en')}"


def case_card(case: Case, zone: str, now: datetime, owners: Mapping[str, str]) -> str:
    """The case as labelled lines, then its event trail, one event a line, oldest first."""
    owner = owners.get(case.owner, "")
    sender = f"{case.sender_name} <{case.sender}>" if case.sender_name else case.sender
    fields = [
        ("Subject", _one_line(case.subject) or "(no subject)"),
        ("Status", _status(case, now)),
        ("Category", f"{case.category} (rule {case.rule or '-'})"),
        ("Owner", f"{case.owner} ({owner})" if owner and owner != case.owner else case.owner),
        ("From", sender or "-"),
        ("Received", when(case.received, zone)),
        ("Due", when(case.due, zone)),
        ("Language", case.language or "-"),
        ("Tags", ", ".join(case.tags) or "-"),
        ("Message-ID", case.message_id or "-"),
        ("Thread", f"{len(case.thread)} message(s)"),
    ]
    lines = [f"Case {case.id}", ""]
    lines += [f"  {label + ':':12} {value}" for label, value in fields]
    lines += [f"  {'':12} {mid}" for mid in case.thread]
    lines += ["", f"Events ({len(case.events)})"]
    lines += [_event_line(e, zone) for e in case.events] or ["  (none)"]
    return "\n".join(lines) + "\n"


def case_table(cases: Sequence[Case], zone: str, width: int) -> str:
    """One line a case, with its sender and subject cut (with "…") to fit `width` columns.
    The due times name their zone in the header when they share it (MSK all year), else each
    its own (CET and CEST in one list)."""
    labels = {zone_label(in_zone(c.due, zone), "en") for c in cases}
    shared = labels.pop() if len(labels) == 1 else ""
    header = (*LIST_HEADER[:4], f"DUE ({shared})" if shared else "DUE", *LIST_HEADER[5:])
    rows = [
        (
            c.id,
            c.category,
            c.owner,
            c.status.value,
            when(c.due, zone).removesuffix(f" {shared}") if shared else when(c.due, zone),
            _one_line(c.sender),
            _one_line(c.subject),
        )
        for c in cases
    ]
    fixed = [max([_width(h)] + [_width(r[i]) for r in rows]) for i, h in enumerate(header)]
    left = width - sum(fixed[:5]) - 2 * 6  # after five whole columns and the six gaps
    fixed[5] = min(fixed[5], SENDER_WIDTH, max(len("FROM"), left // 2))
    subject = max(SUBJECT_MIN, left - fixed[5])
    widths = [*fixed[:6], subject]
    lines = []
    for row in (header, *rows):
        cells = [_pad(_fit(cell, w), w) for cell, w in zip(row, widths, strict=True)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"


def _status(case: Case, now: datetime) -> str:
    if case.status != OPEN:
        return case.status.value
    left = case.due - now
    if left < timedelta(0):
        return f"open, overdue by {format_duration(-left, 'en')}"
    return f"open, {format_duration(left, 'en')} left"


def _event_line(event: Event, zone: str) -> str:
    details = ", ".join(f"{k}={_value(v, zone)}" for k, v in event.data.items())
    return f"  {when(event.at, zone)}  {event.who:14} {event.what:15} {details}".rstrip()


def _value(value: Any, zone: str) -> str:
    """An event's datum for people: a time on the admin's clock, a list as a list, text as
    itself (quoted when it has spaces)."""
    if isinstance(value, str):
        moment = _moment(value)
        if moment is not None:
            return when(moment, zone)
        text = _one_line(value)
        return json.dumps(text, ensure_ascii=False) if " " in text or not text else text
    if isinstance(value, list | tuple):
        return ",".join(_value(v, zone) for v in value) or "-"
    return json.dumps(value, ensure_ascii=False)


def _moment(text: str) -> datetime | None:
    """An aware ISO 8601 time stored as event data, else None (dates and plain text stay)."""
    if len(text) < 16 or text[4:5] != "-" or "T" not in text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.utcoffset() is not None else None


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _width(text: str) -> int:
    """Terminal columns: East Asian wide and full-width characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _fit(text: str, width: int) -> str:
    if _width(text) <= width:
        return text
    out, used = "", 0
    for ch in text:
        w = _width(ch)
        if used + w > width - 1:
            break
        out, used = out + ch, used + w
    return out + "…"


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))
