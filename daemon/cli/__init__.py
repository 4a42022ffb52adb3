"""The `feedbackd` command: a thin layer over the same functions the daemon runs.

One registry: each command module adds its subcommands with `register(subparsers)` and names
its handler with `set_defaults(handler=...)`; `main` calls that handler and nothing else
dispatches. A new command is a new module (or a new parser in one) and a line in COMMANDS.

User errors (settings, rules, a second daemon) print one clear line and exit with the code
their error carries (78 for configuration, so systemd does not restart-loop; 75 for a second
daemon); bugs print a traceback. A reader that goes away (`feedbackd cases list | head`)
ends the command quietly with 141, the status a shell gives a command its closed pipe killed
(128 + SIGPIPE), so `set -o pipefail` scripts still see that the output was cut short.
"""

from __future__ import annotations

import argparse
import os
import select
import sys
from collections.abc import Sequence

from daemon import __version__
from daemon.adapters.configdir import use_config_option
from daemon.cli import (
    admin,
    cases,
    deadline,
    doctor,
    history,
    init,
    learn,
    oauth2,
    report,
    rules,
    run,
    store,
)
from daemon.errors import ConfigError, FeedbackdError

#: The command modules, in the order `feedbackd --help` lists their subcommands.
COMMANDS = (run, cases, admin, history, report, deadline, rules, learn, doctor, init, store, oauth2)
#: The exit status for "stdout was closed under us": 128 + SIGPIPE, as a shell reports it.
EXIT_PIPE_CLOSED = 141
CONFIG_HELP = (
    "configuration folder: rules.yaml, templates/ and feedbackd.env (default: "
    "FEEDBACKD_CONFIG_DIR, else /etc/feedbackd if it exists, else the packaged defaults)"
)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="feedbackd", description=__doc__.splitlines()[0])
    p.add_argument("--version", action="version", version=f"feedbackd {__version__}")
    p.add_argument(
        "--log-level",
        default=None,
        help="DEBUG, INFO, WARNING or ERROR (default: FEEDBACKD_LOG_LEVEL or INFO)",
    )
    p.add_argument("--config", metavar="DIR", help=CONFIG_HELP)
    p.add_argument(
        "--instance",
        metavar="NAME",
        help="work on feedbackd@NAME: its NAME.env, its store in /var/lib/feedbackd-NAME",
    )
    sub = p.add_subparsers(dest="command", required=True)
    for module in COMMANDS:
        module.register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    try:
        code = _dispatch(argv)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's last flush
        return code
    except BrokenPipeError:
        if not _stdout_closed():
            raise  # a socket or a child's pipe: a bug or an outage to see, not a reader gone
        _discard_stdout()
        return EXIT_PIPE_CLOSED


def _dispatch(argv: Sequence[str] | None) -> int:
    """Run the command; a user error becomes its one line and its exit code."""
    try:
        args = _parse(argv)
        use_config_option(args.config, args.instance)  # for every setting read from here
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


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """The arguments; `--version`, `--help` and usage errors exit from here. argparse drops
    the error of writing `--help` into a closed pipe, so it is asked for here, to be met like
    any other command's."""
    try:
        return build_parser().parse_args(argv)
    except SystemExit as done:
        sys.stdout.flush()
        if done.code in (0, None) and _stdout_closed():
            raise BrokenPipeError("stdout closed under --help or --version") from None
        raise


def _stdout_closed() -> bool:
    """Whether the reader of our stdout went away (its pipe reports an error to a writer)."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return False
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    return any(events & select.POLLERR for _, events in poller.poll(0))


def _discard_stdout() -> None:
    """Point stdout at /dev/null, so what is still buffered goes nowhere at exit instead of
    raising a second BrokenPipeError there."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


__all__ = ["build_parser", "main"]
