"""`feedbackd report` and `feedbackd digest`: the thin adapter between the store and the
pure report, render and digest functions.

This is the only reporting code that reads the clock, the environment or files; everything it
prints comes from `build_report` and the renderers, the same code the daemon's scheduler runs.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from daemon.adapters.config import load_rulebook, load_templates
from daemon.adapters.settings import Settings
from daemon.adapters.storage.archive import all_cases
from daemon.adapters.storage.store import Store
from daemon.cli.common import logged_settings
from daemon.core.automatic import automatic_counts
from daemon.core.cases import Case
from daemon.core.report import BREAKDOWNS, FORMATS, build_report, render
from daemon.core.report.digest import (
    compose_digest,
    digest_period,
    digest_recipients,
    digest_settings,
    employee_teams,
    owner_names,
    previous_period,
)
from daemon.core.rules import RuleBook
from daemon.errors import ConfigError
from daemon.service.progress import LONG, reporter


def _now(given: datetime | None, tz: str) -> datetime:
    """`--now` without an offset is a wall-clock time in the rules' timezone, like the
    period's days; no `--now` is the current moment."""
    if given is None:
        return datetime.now(UTC)
    return given if given.tzinfo else given.replace(tzinfo=ZoneInfo(tz))


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `report` and `digest` subcommands to the CLI's subparsers."""
    rep = sub.add_parser(
        "report",
        help="period review: counts, on-time rate, response times, "
        "open and overdue cases, thanks, complaint topics",
    )
    rep.add_argument(
        "--from",
        dest="start",
        required=True,
        type=date.fromisoformat,
        help="first day, YYYY-MM-DD (received date in the rules' timezone)",
    )
    rep.add_argument(
        "--to", dest="end", required=True, type=date.fromisoformat, help="last day, inclusive"
    )
    rep.add_argument(
        "--by", choices=BREAKDOWNS, default="category", help="the breakdown shown first"
    )
    rep.add_argument("--format", choices=FORMATS, default="table")
    rep.add_argument(
        "--now",
        type=datetime.fromisoformat,
        help="report as of this moment, ISO 8601 (no offset: the rules' timezone; default: now)",
    )
    rep.add_argument("--rules", help="rules file (default: FEEDBACKD_RULES or rules.yaml)")
    rep.set_defaults(handler=report_subcommand)

    dig = sub.add_parser(
        "digest",
        help="compose the digest mail for the previous day/week; "
        "prints it (sending is done by the daemon's scheduler)",
    )
    dig.add_argument(
        "--now",
        type=datetime.fromisoformat,
        help="as if run at this moment, ISO 8601 (no offset: the rules' timezone; default: now)",
    )
    dig.add_argument(
        "--every",
        choices=("daily", "weekly"),
        help="period (default: rules.yaml digest.every, else weekly)",
    )
    dig.add_argument(
        "--dry-run",
        action="store_true",
        help="print the text part and the recipients; never send (this command "
        "only prints for now, with or without --dry-run)",
    )
    dig.add_argument(
        "--html",
        action="store_true",
        help="print only the HTML part (the subject and recipients go to stderr)",
    )
    dig.add_argument("--rules", help="rules file (default: FEEDBACKD_RULES or rules.yaml)")
    dig.add_argument(
        "--templates",
        help="templates folder, with the digest's words digest.LANG.yaml "
        "(default: FEEDBACKD_TEMPLATES, else the configuration's templates/)",
    )
    dig.set_defaults(handler=digest_subcommand)


def _load(args: argparse.Namespace) -> tuple[Settings, RuleBook, list[Case]]:
    """The settings, the rule book and every case, live and archived."""
    settings = logged_settings(args, need_servers=False)
    book = load_rulebook(args.rules or settings.rules)
    if not settings.db.exists():
        raise ConfigError(f"no store at {settings.db}: set FEEDBACKD_DB to the daemon's store")
    return settings, book, all_cases(Store(settings.db), settings.db, reporter(least=LONG))


def _automatic(settings: Settings) -> dict[date, int]:
    """Automatic mail per day, from the store's meta (it opened no case to count)."""
    store = Store.preview(settings.db)
    return automatic_counts({d["key"]: d["value"] for d in store.docs("meta")})


def report_subcommand(args: argparse.Namespace) -> int:
    if args.end < args.start:
        raise ConfigError(f"--to {args.end} is before --from {args.start}")
    settings, book, cases = _load(args)
    now, teams = _now(args.now, book.timezone), employee_teams(book)
    report = build_report(
        cases,
        args.start,
        args.end,
        now,
        book.timezone,
        forward_of(book),
        teams=teams,
        automatic=_automatic(settings),
    )
    sys.stdout.write(render(report, args.format, args.by, owner_names(book), teams))
    return 0


def forward_of(book: RuleBook) -> dict[str, tuple[str, ...]]:
    return {name: cat.forward_to for name, cat in book.categories.items()}


def digest_subcommand(args: argparse.Namespace) -> int:
    settings, book, cases = _load(args)
    now = _now(args.now, book.timezone)
    conf = digest_settings(book)
    every = args.every or (conf.every if conf else "weekly")
    start, end = digest_period(now, every, book.timezone)
    teams, automatic = employee_teams(book), _automatic(settings)
    fwd = forward_of(book)
    tz = book.timezone
    report = build_report(cases, start, end, now, tz, fwd, teams=teams, automatic=automatic)
    before = previous_period(start, end)
    previous = build_report(cases, *before, now, tz, fwd, teams=teams, automatic=automatic)
    recipients = digest_recipients(conf.to if conf else (book.center,), book)
    sender = settings.address or "feedback@localhost"
    words = load_templates(args.templates or settings.templates).digest
    msg = compose_digest(report, book, now, sender, recipients, previous=previous, words=words)
    part = msg.get_body(("html",) if args.html else ("plain",))
    envelope = [
        f"Subject: {msg['Subject']}",
        f"Would go to {len(recipients)} recipient(s): {', '.join(recipients)}"
        + ("" if args.dry_run else " (not sent: the daemon's scheduler sends digests)"),
    ]
    if args.html:  # stdout is the document alone, to open or save; the envelope goes aside
        print("\n".join(envelope), file=sys.stderr)
    else:
        print("\n".join(envelope), end="\n\n")
    # a part in UTF-8 comes back with the wire's CRLF; a terminal or a file wants LF
    text = part.get_content().replace("\r\n", "\n") if part is not None else ""
    sys.stdout.write(text)
    return 0
