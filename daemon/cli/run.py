"""`feedbackd once` and `feedbackd run`: the daemon itself, one cycle or as a service.

These are the only commands that talk to both mail servers and hold the store for long, so they
are the ones that set up logging from the settings and teach the log redactor the passwords.
"""

from __future__ import annotations

import argparse
import logging
from datetime import datetime

from daemon import __version__
from daemon.adapters.sd_notify import Notifier
from daemon.adapters.settings import load_settings
from daemon.adapters.storage.reload_state import daemon_pid, request_reload
from daemon.cli.common import logged_settings
from daemon.errors import EX_CONFIG
from daemon.service.loop import Service

log = logging.getLogger("feedbackd")


def parse_when(text: str) -> datetime:
    """ISO 8601; a naive time stays naive and is read in the rules' timezone by its user."""
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 date-time, e.g. 2026-05-12T10:00"
        ) from None


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `once` and `run` to the CLI's subcommands."""
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
    once.set_defaults(handler=once_command)
    run = sub.add_parser("run", help="run as a service: IDLE/poll, reconnect, reload on SIGHUP")
    run.set_defaults(handler=run_command)
    reload = sub.add_parser(
        "reload",
        help="make the running daemon reload rules and templates; exit when it has "
        "(0, or 78 if it refused them)",
    )
    reload.add_argument("--pid", type=int, help="the daemon's pid (default: from the store lock)")
    reload.set_defaults(handler=reload_command)


def once_command(args: argparse.Namespace) -> int:
    service = Service(logged_settings(args))
    if args.dry_run:
        for line in service.preview(args.now):
            print(line)
        return 0
    report = service.once(args.now)
    print(report.summary())
    # A refused SMTP login was logged as one line; the mail waits in the outbox. Not 0: a
    # person must fix the password (as for a refused IMAP login).
    return EX_CONFIG if report.login_refused else 0


def run_command(args: argparse.Namespace) -> int:
    settings = logged_settings(args)
    for warning in settings.warnings:  # a FEEDBACKD_IMAP_PROT in the unit's env file
        log.warning("%s", warning)
    Service(settings, notifier=Notifier.from_env()).run(version=__version__)
    return 0


def reload_command(args: argparse.Namespace) -> int:
    """The unit's ExecReload=: signal the daemon, wait for its outcome; no procps needed."""
    db = load_settings(need_servers=False).db
    request_reload(db, args.pid or daemon_pid(db))
    print(f"reloaded rules and templates (store {db})")
    return 0
