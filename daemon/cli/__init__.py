"""The `feedbackd` command: a thin layer over the same functions the daemon runs.

User errors (settings, rules, a second daemon) print one clear line and exit with their code
(78 for configuration, so systemd does not restart-loop); bugs print a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime

from daemon.adapters.settings import REPO, Settings, load_settings
from daemon.core.cases import is_overdue
from daemon.core.records import stamp
from daemon.errors import ConfigError, FeedbackdError

log = logging.getLogger("feedbackd")


def parse_when(text: str) -> datetime:
    """ISO 8601; a naive time stays naive and is read in the rules' timezone by its user."""
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 date-time, e.g. 2026-05-12T10:00"
        ) from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="feedbackd", description=__doc__.splitlines()[0])
    p.add_argument(
        "--log-level",
        default=None,
        help="DEBUG, INFO, WARNING or ERROR (default: FEEDBACKD_LOG_LEVEL or INFO)",
    )
    sub = p.add_subparsers(dest="command", required=True)

    once = sub.add_parser("once", help="run one cycle and exit")
    once.add_argument(
        "--now",
        type=parse_when,
        help="run as if at this moment (ISO 8601; no offset: the rules' timezone)",
    )
    once.add_argument(
        "--dry-run",
        action="store_true",
        help="show what would be sent; send, move and store nothing",
    )
    sub.add_parser("run", help="run as a service: IDLE/poll, reconnect, reload on SIGHUP")

    cases = sub.add_parser("cases", help="list and show cases")
    csub = cases.add_subparsers(dest="action", required=True)
    lst = csub.add_parser("list", help="list cases")
    lst.add_argument("--status", choices=("open", "answered", "closed"))
    lst.add_argument("--overdue", action="store_true", help="only open cases past their due time")
    lst.add_argument("--category")
    lst.add_argument("--owner")
    lst.add_argument("--format", choices=("table", "json"), default="table")
    show = csub.add_parser("show", help="show one case with its events")
    show.add_argument("id")
    show.add_argument("--format", choices=("text", "json"), default="text")
    for action, extra in (
        ("close", None),
        ("reopen", None),
        ("answer", None),
        ("reassign", "owner"),
        ("note", "text"),
    ):
        change = csub.add_parser(action, help=f"{action} a case (safe beside a running daemon)")
        change.add_argument("id")
        if extra:
            change.add_argument(extra)
        change.add_argument(
            "--by",
            default=os.environ.get("USER", "cli"),
            help="who does it, for the audit trail (default: $USER)",
        )

    status = sub.add_parser("status", help="health for people and monitoring (exit 0/1/2)")
    status.add_argument("--format", choices=("text", "json"), default="text")
    status.set_defaults(handler=status_command)

    again = sub.add_parser("reprocess", help="take quarantined messages again (next cycle)")
    again.add_argument(
        "message_ids",
        nargs="*",
        metavar="MESSAGE-ID",
        help="only these (default: everything in the Quarantine folder)",
    )
    again.set_defaults(handler=reprocess_command)

    purge = sub.add_parser("purge", help="remove personal data from archived cases")
    purge.add_argument(
        "--before",
        required=True,
        type=date.fromisoformat,
        metavar="DATE",
        help="cases received before this day (YYYY-MM-DD)",
    )
    purge.set_defaults(handler=purge_command)

    # -- further subcommands register below this line ---------------------------------------
    from daemon.cli.report import register as register_reports  # report, digest

    register_reports(sub)
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

    chk = sub.add_parser(
        "check", help="validate rules.yaml, templates and examples (exit 78 on any problem)"
    )
    chk.add_argument("--rules", help="rules file (default: FEEDBACKD_RULES or rules.yaml)")
    chk.add_argument(
        "--templates", help="templates folder (default: FEEDBACKD_TEMPLATES or templates/)"
    )
    chk.set_defaults(handler=check_subcommand)
    cls = sub.add_parser("classify", help="classify saved .eml files and say why")
    cls.add_argument("files", nargs="+", metavar="FILE.eml")
    cls.add_argument("--rules", help="rules file (default: FEEDBACKD_RULES or rules.yaml)")
    cls.add_argument("--format", choices=("text", "json"), default="text")
    cls.set_defaults(handler=classify_subcommand)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return dispatch(args)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"feedbackd: {problem}", file=sys.stderr)
        return exc.exit_code
    except FeedbackdError as exc:
        print(f"feedbackd: {exc}", file=sys.stderr)
        return int(getattr(exc, "exit_code", 1))
    except KeyboardInterrupt:
        return 130


def _setup_logging(level: str | None, settings_level: str = "INFO") -> None:
    from daemon.adapters.logs import setup_logging

    setup_logging(level or settings_level)


def dispatch(args: argparse.Namespace) -> int:
    if args.command in ("once", "run"):
        from daemon.service.loop import Service

        settings = load_settings()
        _setup_logging(args.log_level, settings.log_level)
        from daemon.adapters.logs import register_secret

        for secret in settings.secrets:
            register_secret(secret)
        if args.command == "once":
            service = Service(settings)
            if args.dry_run:
                for line in service.preview(args.now):
                    print(line)
                return 0
            report = service.once(args.now)
            print(report.summary())
            return 0
        from daemon.adapters.sd_notify import Notifier

        Service(settings, notifier=Notifier.from_env()).run()
        return 0
    if args.command == "cases":
        return cases_command(args)
    handler = getattr(args, "handler", None)
    if handler is not None:
        return int(handler(args))
    raise SystemExit(f"unknown command {args.command}")


def cases_command(args: argparse.Namespace) -> int:
    from daemon.adapters.store import Store

    settings = load_settings(need_servers=False)
    if not settings.db.exists():
        raise ConfigError(f"no store at {settings.db}: set FEEDBACKD_DB to the daemon's store")
    if args.action not in ("list", "show"):
        return change_case(args, settings)
    store = Store(settings.db)
    if args.action == "show":
        case = store.case(args.id)
        if case is None:
            print(f"feedbackd: no case {args.id}", file=sys.stderr)
            return 1
        if args.format == "json":
            print(json.dumps(case.to_doc(), ensure_ascii=False, indent=2))
        else:
            for k, v in case.to_doc().items():
                if k != "events":
                    print(f"{k:12} {v}")
            for e in case.events:
                print(
                    f"  {stamp(e.at)}  {e.who:12} {e.what} {json.dumps(e.data, ensure_ascii=False)}"
                )
        return 0
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
    print(f"{'ID':16} {'CATEGORY':13} {'OWNER':10} {'STATUS':9} {'DUE':20} FROM")
    for c in rows:
        print(
            f"{c.id:16} {c.category:13} {c.owner:10} {c.status:9} {stamp(c.due)[:19]:20} {c.sender}"
        )
    return 0


def deadline_subcommand(args: argparse.Namespace) -> int:
    import os

    from daemon.adapters.config import load_rulebook
    from daemon.core.deadlines import deadline_command

    rules = args.rules or os.environ.get("FEEDBACKD_RULES") or str(REPO / "rules.yaml")
    return deadline_command(
        args.received, args.category, rules, args.explain, sys.stdout, load_rules=load_rulebook
    )


def check_subcommand(args: argparse.Namespace) -> int:
    import os

    from daemon.cli.check import check_command

    rules = args.rules or os.environ.get("FEEDBACKD_RULES") or str(REPO / "rules.yaml")
    templates = args.templates or os.environ.get("FEEDBACKD_TEMPLATES") or str(REPO / "templates")
    return check_command(rules, templates, sys.stdout)


def classify_subcommand(args: argparse.Namespace) -> int:
    import os

    from daemon.cli.check import classify_command

    rules = args.rules or os.environ.get("FEEDBACKD_RULES") or str(REPO / "rules.yaml")
    return classify_command(args.files, rules, args.format, sys.stdout)


def change_case(args: argparse.Namespace, settings: Settings) -> int:
    from daemon.adapters.config import load_rulebook
    from daemon.adapters.files import AlreadyRunning, StoreLock
    from daemon.adapters.spool import submit
    from daemon.adapters.store import Store
    from daemon.service.case_changes import apply_request

    req = {
        "case": args.id,
        "action": args.action,
        "who": f"cli:{args.by}",
        "owner": getattr(args, "owner", None),
        "text": getattr(args, "text", None),
    }
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
            outcome = apply_request(store, load_rulebook(settings.rules), req, datetime.now(UTC))
            store.commit()
        finally:
            lock.release()
    print(outcome.message, file=sys.stdout if outcome.ok else sys.stderr)
    return 0 if outcome.ok else 1


def purge_command(args: argparse.Namespace) -> int:
    from daemon.adapters.archive import purge
    from daemon.adapters.config import load_rulebook

    settings = load_settings(need_servers=False)
    n = purge(settings.db, args.before, load_rulebook(settings.rules).timezone)
    print(
        f"{n} archived case(s) received before {args.before} purged of names, addresses "
        "and texts; their counts remain"
    )
    return 0


def reprocess_command(args: argparse.Namespace) -> int:
    """Works over IMAP only, so it is safe beside a running daemon, which picks the messages
    up from INBOX in its next cycle (the quarantine record stays as history)."""
    from daemon.adapters.imap import Mailbox
    from daemon.service.intake import QUARANTINE

    settings = load_settings()
    mailbox = Mailbox(settings.imap).connect()
    try:
        moved = mailbox.take_back(QUARANTINE, list(args.message_ids) or None)
    finally:
        mailbox.close()
    print(f"{moved} message(s) moved from {QUARANTINE} back to INBOX")
    return 0


def status_command(args: argparse.Namespace) -> int:
    from daemon.adapters.status_file import read_poll_state
    from daemon.adapters.store import Store
    from daemon.service.health import assess, render_text

    settings = load_settings(need_servers=False)
    if not settings.db.exists():
        print(
            f"feedbackd CRITICAL: no store at {settings.db}: the daemon has not run yet, or "
            "FEEDBACKD_DB points elsewhere"
        )
        return 2
    health = assess(Store(settings.db), read_poll_state(settings.db), datetime.now(UTC))
    print(health.to_json() if args.format == "json" else render_text(health))
    return health.level


__all__ = ["REPO", "build_parser", "main"]
