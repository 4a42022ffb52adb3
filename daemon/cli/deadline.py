"""`feedbackd deadline`: when a case received at a moment is due, and why.

A thin layer over `due_at` and the reminder `ladder`, the same calls the daemon makes, so an
owner who doubts a date sees the daemon's own reasoning. It lives here, not beside `due_at`,
because it reads the rules file and prints: the core only computes.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timedelta
from typing import TextIO

from daemon.adapters.config import load_rulebook
from daemon.adapters.settings import rules_file
from daemon.core.deadlines import due_at, fmt
from daemon.core.reminders import CaseClock, ladder
from daemon.core.workdays import WorkCalendar, calendar_for
from daemon.errors import RULE_BOOK, ConfigError, Problem

BAD_ARGUMENT = 2  # as argparse exits for a bad argument
#: Overdue repeats never end; the first one and a horizon past any sane escalation suffice.
LADDER_HORIZON = timedelta(days=90)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `deadline` to the CLI's subcommands."""
    dl = sub.add_parser("deadline", help="when a case received at a moment is due")
    dl.add_argument(
        "--received",
        required=True,
        help="ISO 8601, e.g. 2025-04-28T10:00 (no offset: the rules' timezone)",
    )
    dl.add_argument("--category", required=True)
    dl.add_argument("--rules", help="rules file (default: FEEDBACKD_RULES or rules.yaml)")
    dl.add_argument("--explain", action="store_true", help="print every step of the computation")
    dl.set_defaults(handler=deadline_subcommand)


def deadline_subcommand(args: argparse.Namespace) -> int:
    return deadline_command(
        args.received, args.category, rules_file(args.rules), args.explain, sys.stdout
    )


def parse_received(text: str, cal: WorkCalendar) -> datetime:
    """ISO 8601 date-time, with or without an offset (naive = the admin's timezone)."""
    return cal.local(datetime.fromisoformat(text.strip()))


def located(exc: ConfigError, rules_path: str, context: str = "") -> ConfigError:
    """The problems of `exc`, those found where a rule-book value was used said to be in the
    rules file (the core that found them does not know which file it came from)."""
    return ConfigError(
        [
            Problem(rules_path, None, context + p.message) if p.file == RULE_BOOK else p
            for p in exc.problems
        ]
    )


def deadline_command(
    received: str,
    category: str,
    rules_path: str,
    explain: bool,
    out: TextIO,
    *,
    err: TextIO | None = None,
) -> int:
    """Print when a case of `category` received at `received` is due; exit status back.

    0 on success, 2 for a bad argument, 78 (EX_CONFIG) when the rules cannot be used.
    With `explain`, every step of the computation and the reminder ladder follow.
    """
    err = err if err is not None else sys.stderr
    try:
        book = load_rulebook(rules_path)
        cal = calendar_for(book)
    except ConfigError as exc:
        print(located(exc, rules_path), file=err)
        return exc.exit_code
    cat = book.categories.get(category)
    if cat is None:
        known = ", ".join(sorted(book.categories))
        print(f"feedbackd: unknown category {category!r}; the rules define: {known}", file=err)
        return BAD_ARGUMENT
    try:
        when = parse_received(received, cal)
    except ValueError:
        print(
            f"feedbackd: --received {received!r} is not an ISO 8601 date-time "
            f"(e.g. 2025-04-28T10:00 or 2025-04-28T10:00+03:00)",
            file=err,
        )
        return BAD_ARGUMENT
    try:
        due = due_at(when, cat.deadline, cal)
    except ConfigError as exc:
        print(located(exc, rules_path, f"category {category}: "), file=err)
        return exc.exit_code
    print(f"{category}: due {fmt(due.at)}", file=out)
    if not explain:
        return 0
    for step in due.steps:
        print(f"  - {step}", file=out)
    case = CaseClock(due.received, due.at, cat.owner)
    rungs = ladder(case, cat, book, cal, until=due.at + LADDER_HORIZON)
    overdue = [r for r in rungs if r.kind == "overdue"]
    shown = [r for r in rungs if r.kind != "overdue"] + overdue[:1]
    if shown:
        print("  reminders:", file=out)
    for r in sorted(shown, key=lambda r: r.deliver_at):
        more = " (then repeated while open)" if r.kind == "overdue" and len(overdue) > 1 else ""
        print(
            f"  - {r.key} at {fmt(r.deliver_at)} to {', '.join(r.recipients)}: {r.note}{more}",
            file=out,
        )
    return 0
