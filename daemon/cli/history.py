"""`feedbackd import --before DATE`: take old INBOX mail in as history, nobody mailed.

The same path a first run takes with `first_run: history` (service/backfill): each message
received before DATE is classified and recorded as a closed history case, counted in reports,
and filed; newer mail stays for the daemon. It holds the store's lock, so it runs while the
daemon is stopped; a bar (on a terminal) or periodic log lines show how far it is.
"""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from daemon.adapters.config import load_rulebook, load_templates
from daemon.adapters.mail.imap import Mailbox
from daemon.adapters.storage.files import StoreLock
from daemon.adapters.storage.store import Store
from daemon.cli.common import logged_settings
from daemon.errors import AlreadyRunning
from daemon.service.backfill import as_history, import_history
from daemon.service.intake import Desk
from daemon.service.progress import reporter


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `import` to the CLI's subcommands."""
    old = sub.add_parser(
        "import", help="take INBOX mail received before a day in as history (nobody is mailed)"
    )
    old.add_argument(
        "--before",
        required=True,
        type=date.fromisoformat,
        metavar="DATE",
        help="mail received before this day (YYYY-MM-DD, in the rules' timezone)",
    )
    old.add_argument(
        "--dry-run", action="store_true", help="count what would be taken; store and move nothing"
    )
    old.set_defaults(handler=import_command)


def import_command(args: argparse.Namespace) -> int:
    settings = logged_settings(args)
    book = as_history(load_rulebook(settings.rules))
    before = datetime.combine(args.before, time(0, 0), ZoneInfo(book.timezone))
    lock = StoreLock(settings.db)
    if not args.dry_run:
        try:
            lock.acquire()
        except AlreadyRunning as exc:
            raise AlreadyRunning(
                f"{exc}; `feedbackd import` writes the store: stop the daemon "
                "(systemctl stop feedbackd), import, then start it again"
            ) from None
    try:
        store = Store.preview(settings.db) if args.dry_run else Store(settings.db)
        desk = Desk(store, book, load_templates(settings.templates), settings.address)
        mailbox = Mailbox(settings.imap).connect()
        try:
            report = import_history(
                desk, mailbox, before, datetime.now(UTC), reporter(), move=not args.dry_run
            )
        finally:
            mailbox.close()
            store.close()
    finally:
        if not args.dry_run:
            lock.release()
    print(("dry run: " if args.dry_run else "") + report.summary())
    return 0
