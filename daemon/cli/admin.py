"""`feedbackd status`, `reprocess` and `purge`: the operator's commands beside the daemon.

Each is safe while the daemon runs: `status` only reads, `reprocess` works over IMAP only (the
daemon picks the messages up from INBOX in its next cycle), and `purge` takes the archive's
own lock.
"""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime

from daemon.adapters.config import load_rulebook
from daemon.adapters.mail.imap import Mailbox
from daemon.adapters.settings import load_settings
from daemon.adapters.storage.archive import purge
from daemon.adapters.storage.status_file import read_poll_state
from daemon.adapters.storage.store import Store
from daemon.cli.common import logged_settings
from daemon.service.health import assess, render_text
from daemon.service.intake import QUARANTINE
from daemon.service.progress import LONG, reporter


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `status`, `reprocess` and `purge` to the CLI's subcommands."""
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

    old = sub.add_parser("purge", help="remove personal data from archived cases")
    old.add_argument(
        "--before",
        required=True,
        type=date.fromisoformat,
        metavar="DATE",
        help="cases received before this day (YYYY-MM-DD)",
    )
    old.set_defaults(handler=purge_command)


def status_command(args: argparse.Namespace) -> int:
    """Exit 0, 1 or 2 (ok, warning, critical), as monitoring plugins do."""
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


def reprocess_command(args: argparse.Namespace) -> int:
    """Works over IMAP only, so it is safe beside a running daemon, which picks the messages
    up from INBOX in its next cycle (the quarantine record stays as history)."""
    settings = logged_settings(args)
    mailbox = Mailbox(settings.imap).connect()
    try:
        moved = mailbox.take_back(QUARANTINE, list(args.message_ids) or None, reporter(least=LONG))
    finally:
        mailbox.close()
    print(f"{moved} message(s) moved from {QUARANTINE} back to INBOX")
    return 0


def purge_command(args: argparse.Namespace) -> int:
    settings = logged_settings(args, need_servers=False)
    tz = load_rulebook(settings.rules).timezone
    n = purge(settings.db, args.before, tz, reporter(least=LONG))
    print(
        f"{n} archived case(s) received before {args.before} purged of names, addresses "
        "and texts; their counts remain"
    )
    return 0
