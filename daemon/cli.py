"""The `feedbackd` command: a thin layer over the same functions the daemon runs.

User errors (settings, rules, a second daemon) print one clear line and exit with their code
(78 for configuration, so systemd does not restart-loop); bugs print a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import datetime, timezone
from typing import Sequence

from .errors import ConfigError, FeedbackdError
from .settings import REPO, load_settings

log = logging.getLogger("feedbackd")


def parse_when(text: str) -> datetime:
    """ISO 8601; a naive time is taken as UTC."""
    dt = datetime.fromisoformat(text)
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="feedbackd", description=__doc__.splitlines()[0])
    p.add_argument("--log-level", default=None,
                   help="DEBUG, INFO, WARNING or ERROR (default: FEEDBACKD_LOG_LEVEL or INFO)")
    sub = p.add_subparsers(dest="command", required=True)

    once = sub.add_parser("once", help="run one cycle and exit")
    once.add_argument("--now", type=parse_when, help="run as if at this moment (ISO 8601)")
    sub.add_parser("run", help="run as a service: IDLE/poll, reconnect, reload on SIGHUP")

    cases = sub.add_parser("cases", help="list and show cases")
    csub = cases.add_subparsers(dest="action", required=True)
    lst = csub.add_parser("list", help="list cases")
    lst.add_argument("--status")
    lst.add_argument("--category")
    lst.add_argument("--owner")
    lst.add_argument("--format", choices=("table", "json"), default="table")
    show = csub.add_parser("show", help="show one case with its events")
    show.add_argument("id")
    show.add_argument("--format", choices=("text", "json"), default="text")

    # -- further subcommands register below this line ---------------------------------------
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
    from .logs import setup_logging

    setup_logging(level or settings_level)


def dispatch(args: argparse.Namespace) -> int:
    if args.command in ("once", "run"):
        from .service import Service

        settings = load_settings()
        _setup_logging(args.log_level, settings.log_level)
        from .logs import register_secret

        for secret in settings.secrets:
            register_secret(secret)
        if args.command == "once":
            report = Service(settings).once(args.now)
            print(report.summary())
            return 0
        from .notify import Notifier

        Service(settings, notifier=Notifier.from_env()).run()
        return 0
    if args.command == "cases":
        return cases_command(args)
    handler = getattr(args, "handler", None)
    if handler is not None:
        return int(handler(args))
    raise SystemExit(f"unknown command {args.command}")


def cases_command(args: argparse.Namespace) -> int:
    from .store import Store

    settings = load_settings(need_servers=False)
    if not settings.db.exists():
        raise ConfigError(f"no store at {settings.db}: set FEEDBACKD_DB to the daemon's store")
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
                print(f"  {e.at}  {e.who:12} {e.what} {json.dumps(e.data, ensure_ascii=False)}")
        return 0
    rows = [c for c in store.cases()
            if (not args.status or c.status == args.status)
            and (not args.category or c.category == args.category)
            and (not args.owner or c.owner == args.owner)]
    rows.sort(key=lambda c: c.id)
    if args.format == "json":
        for c in rows:
            print(json.dumps(c.to_doc(), ensure_ascii=False))
        return 0
    print(f"{'ID':16} {'CATEGORY':13} {'OWNER':10} {'STATUS':9} {'DUE':20} FROM")
    for c in rows:
        print(f"{c.id:16} {c.category:13} {c.owner:10} {c.status:9} {c.due[:19]:20} {c.sender}")
    return 0


__all__ = ["main", "build_parser", "REPO"]
