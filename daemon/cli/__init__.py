"""The `feedbackd` command: a thin layer over the same functions the daemon runs.

One registry: each command module adds its subcommands with `register(subparsers)` and names
its handler with `set_defaults(handler=...)`; `main` calls that handler and nothing else
dispatches. A new command is a new module (or a new parser in one) and a line in COMMANDS.

User errors (settings, rules, a second daemon) print one clear line and exit with the code
their error carries (78 for configuration, so systemd does not restart-loop; 75 for a second
daemon); bugs print a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from daemon import __version__
from daemon.cli import admin, cases, deadline, history, report, rules, run
from daemon.errors import ConfigError, FeedbackdError

#: The command modules, in the order `feedbackd --help` lists their subcommands.
COMMANDS = (run, cases, admin, history, report, deadline, rules)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="feedbackd", description=__doc__.splitlines()[0])
    p.add_argument("--version", action="version", version=f"feedbackd {__version__}")
    p.add_argument(
        "--log-level",
        default=None,
        help="DEBUG, INFO, WARNING or ERROR (default: FEEDBACKD_LOG_LEVEL or INFO)",
    )
    sub = p.add_subparsers(dest="command", required=True)
    for module in COMMANDS:
        module.register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"feedbackd: {problem}", file=sys.stderr)
        return exc.exit_code
    except FeedbackdError as exc:
        print(f"feedbackd: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


__all__ = ["build_parser", "main"]
