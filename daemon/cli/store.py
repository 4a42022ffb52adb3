"""`feedbackd store check|repair`: what to do when the store refuses to open.

The daemon never guesses at a damaged store: an empty or non-JSON snapshot, or a journal with a
bad line before its end, stops it with exit 78 and one line pointing here. `check` only reads
(safe while the daemon runs); `repair` takes the store's lock, keeps every readable record, keeps
the damaged journal beside the new one and writes a report of what it dropped.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from daemon.adapters.settings import load_settings
from daemon.adapters.storage.files import StoreLock
from daemon.adapters.storage.store_disk import check, repair
from daemon.errors import EX_CONFIG


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `store check` and `store repair` to the CLI's subcommands."""
    store = sub.add_parser("store", help="check or repair the store's files")
    words = store.add_subparsers(dest="store_command", required=True)
    look = words.add_parser(
        "check", help="tell whether the store opens as it is and what is damaged (exit 0 or 78)"
    )
    look.set_defaults(handler=check_command)
    mend = words.add_parser(
        "repair",
        help="keep every readable record of a damaged journal, drop the rest, write a report "
        "(stop the daemon first)",
    )
    mend.add_argument(
        "--new-store",
        action="store_true",
        help="an empty (0-byte) store file is set aside and the store starts anew: case "
        "numbering restarts and a new command secret is made",
    )
    mend.set_defaults(handler=repair_command)


def check_command(args: argparse.Namespace) -> int:
    ok, lines = check(load_settings(need_servers=False).db)
    for line in lines:
        print(line)
    return 0 if ok else EX_CONFIG


def repair_command(args: argparse.Namespace) -> int:
    db = load_settings(need_servers=False).db
    lock = StoreLock(db)
    lock.acquire()  # a running daemon holds the store: refused with its pid
    try:
        for line in repair(db, datetime.now(UTC), new_store=args.new_store):
            print(line)
    finally:
        lock.release()
    return 0
