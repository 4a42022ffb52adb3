"""`feedbackd cases list|show|close|reopen|answer|reassign|note|explain|credit|reclassify`:
the cases for people.

Reading is done straight from the store file; `show` prints a card and `list` a table that
fits the terminal (`cli/case_views`), both on the admin's clock, or the store's own documents
with `--format json`. A change goes through the same `apply_request`
the daemon applies: directly when no daemon holds the store, else handed to the running daemon
through the request spool, so the command is safe beside it and the change is in the audit
trail either way.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from datetime import UTC, date, datetime
from typing import Any

from daemon.adapters.config import load_rulebook, load_templates
from daemon.adapters.settings import Settings, load_settings
from daemon.adapters.storage.files import StoreLock
from daemon.adapters.storage.spool import submit
from daemon.adapters.storage.store import Store
from daemon.cli.case_views import case_card, case_table
from daemon.core.cases import is_overdue
from daemon.core.mail.staff import NoticeDesk
from daemon.errors import AlreadyRunning, ConfigError
from daemon.service.case_changes import CLOSE_ALL, RECLASSIFY, apply_request
from daemon.service.casework import command_secret

#: The changes, each with the one argument it needs besides the case id.
CHANGES = (
    ("close", None),
    ("reopen", None),
    ("answer", None),
    ("reassign", "owner"),
    ("note", "text"),
    ("reclassify", "category"),
    ("explain", None),
    ("credit", None),
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `cases` and its actions to the CLI's subcommands."""
    cases = sub.add_parser("cases", help="list and show cases")
    csub = cases.add_subparsers(dest="action", required=True)
    lst = csub.add_parser("list", help="list cases")
    lst.add_argument("--status", choices=("open", "answered", "closed"))
    lst.add_argument("--overdue", action="store_true", help="only open cases past their due time")
    lst.add_argument("--category")
    lst.add_argument("--owner")
    lst.add_argument("--format", choices=("table", "json"), default="table")
    lst.set_defaults(handler=list_command)
    show = csub.add_parser("show", help="show one case with its events")
    show.add_argument("id")
    show.add_argument("--format", choices=("text", "json"), default="text")
    show.set_defaults(handler=show_command)
    for action, extra in CHANGES:
        change = csub.add_parser(action, help=f"{action} a case (safe beside a running daemon)")
        change.add_argument("id", nargs="?" if action == "close" else None)
        if action == "close":
            _bulk_arguments(change)
            _outcome_arguments(change)
        if action in ("explain", "credit"):
            whom = "whom to ask" if action == "explain" else "whom the thanks is for"
            change.add_argument(
                "--employee", required=True, metavar="ADDRESS", help=f"{whom}, by address"
            )
        if extra:
            change.add_argument(extra)
        change.add_argument(
            "--by",
            default=os.environ.get("USER", "cli"),
            help="who does it, for the audit trail (default: $USER)",
        )
        change.set_defaults(handler=close_command if action == "close" else change_command)


def _bulk_arguments(close: argparse.ArgumentParser) -> None:
    """`cases close --all --before DATE [--category C]`: many cases, one commit."""
    close.add_argument(
        "--all", action="store_true", help="every case not yet closed received before --before"
    )
    close.add_argument(
        "--before", type=date.fromisoformat, metavar="DATE", help="with --all: YYYY-MM-DD"
    )
    close.add_argument("--category", help="with --all: only cases of this category")


def _outcome_arguments(close: argparse.ArgumentParser) -> None:
    """The outcome of a complaint or official letter (rules.yaml causes:, remedies:)."""
    close.add_argument("--verdict", choices=("justified", "unjustified"))
    close.add_argument("--cause", help="a cause from rules.yaml causes:")
    close.add_argument("--remedy", help="a remedy from rules.yaml remedies:")
    close.add_argument(
        "--employee",
        action="append",
        default=[],
        metavar="ADDRESS",
        help="an employee involved (repeat for several)",
    )
    close.add_argument("--complexity", help="the case's complexity level, if not its default")


def close_command(args: argparse.Namespace) -> int:
    """One case by id, or with --all every case received before a day, in one commit."""
    if not args.all:
        if args.id is None or args.before or args.category:
            return _usage("cases close: give a case id, or --all --before YYYY-MM-DD")
        return change_command(args)
    if args.verdict or args.cause or args.remedy or args.employee or args.complexity:
        return _usage("cases close --all closes without an outcome: close cases one by one")
    if args.id is not None or args.before is None:
        return _usage("cases close --all: give --before YYYY-MM-DD and no case id")
    req = {
        "action": CLOSE_ALL,
        "before": args.before.isoformat(),
        "category": args.category,
        "who": f"cli:{args.by}",
    }
    return _submit(_settings(), req)


def _usage(sentence: str) -> int:
    print(f"feedbackd: {sentence}", file=sys.stderr)
    return 2


def _settings() -> Settings:
    settings = load_settings(need_servers=False)
    if not settings.db.exists():
        raise ConfigError(f"no store at {settings.db}: set FEEDBACKD_DB to the daemon's store")
    return settings


def show_command(args: argparse.Namespace) -> int:
    settings = _settings()
    store = Store(settings.db)
    case = store.case(args.id)
    if case is None:
        print(f"feedbackd: no case {args.id}", file=sys.stderr)
        return 1
    if args.format == "json":
        print(json.dumps(case.to_doc(), ensure_ascii=False, indent=2))
        return 0
    book = load_rulebook(settings.rules)
    owners = {key: owner.name for key, owner in book.owners.items()}
    sys.stdout.write(case_card(case, book.timezone, datetime.now(UTC), owners))
    return 0


def list_command(args: argparse.Namespace) -> int:
    settings = _settings()
    store = Store(settings.db)
    now = datetime.now(UTC)
    rows = [
        c
        for c in store.cases()
        if (not args.status or c.status == args.status)
        and (not args.category or c.category == args.category)
        and (not args.owner or c.owner == args.owner)
        and (not args.overdue or is_overdue(c, now))
    ]
    rows.sort(key=lambda c: c.id)
    if args.format == "json":
        for c in rows:
            print(json.dumps(c.to_doc(), ensure_ascii=False))
        return 0
    zone = load_rulebook(settings.rules).timezone
    width = shutil.get_terminal_size((120, 24)).columns  # COLUMNS, the terminal, else 120
    sys.stdout.write(case_table(rows, zone, width))
    return 0


def change_command(args: argparse.Namespace) -> int:
    """Apply the change under the store's lock, or, when a daemon holds it, hand it over and
    wait for the daemon's answer."""
    settings = _settings()
    req = {
        "case": args.id,
        "action": args.action,
        "who": f"cli:{args.by}",
        "owner": getattr(args, "owner", None),
        "text": getattr(args, "text", None),
        "category": getattr(args, "category", None),
    }
    if args.action == "close":
        req |= {
            "verdict": args.verdict,
            "cause": args.cause,
            "remedy": args.remedy,
            "employees": list(args.employee),
            "complexity": args.complexity,
        }
    if args.action in ("explain", "credit"):
        req["employee"] = args.employee
    return _submit(settings, req)


def _submit(settings: Settings, req: dict[str, Any]) -> int:
    lock = StoreLock(settings.db)
    try:
        lock.acquire()
    except AlreadyRunning:
        outcome = submit(settings.db, req)
        if outcome is None:
            print(
                "feedbackd: the running daemon did not take the request within 30 s; it "
                "stays queued and is applied when the daemon next looks",
                file=sys.stderr,
            )
            return 1
    else:
        try:
            store = Store(settings.db)
            book = load_rulebook(settings.rules)
            notices = None
            if req.get("action") == RECLASSIFY:
                if "@" not in settings.address:
                    raise ConfigError(
                        "FEEDBACKD_ADDRESS is not set: reclassify writes the customer from it"
                    )
                templates = load_templates(settings.templates)
                notices = NoticeDesk(templates, book, settings.address, command_secret(store))
            outcome = apply_request(store, book, req, datetime.now(UTC), notices)
            store.commit()
        finally:
            lock.release()
    print(outcome.message, file=sys.stdout if outcome.ok else sys.stderr)
    return 0 if outcome.ok else 1
