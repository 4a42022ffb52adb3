"""`feedbackd check` and `feedbackd classify`: the admin's commands on a rules file.

Only their place on the command line is here; what they do is in `check.py`. The files they
read default the way the daemon's own do (`--rules`, else FEEDBACKD_RULES, else the shipped
file), so `check` checks the files the daemon will load; and the settings, with the reader
the daemon starts with.
"""

from __future__ import annotations

import argparse
import sys

from daemon.adapters.settings import check_settings, rules_file, templates_dir
from daemon.cli.check import check_command, classify_command

RULES_HELP = "rules file (default: FEEDBACKD_RULES or rules.yaml)"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `check` and `classify` to the CLI's subcommands."""
    chk = sub.add_parser(
        "check",
        help="validate the settings, rules.yaml, templates and examples (exit 78 on any problem)",
    )
    chk.add_argument("--rules", help=RULES_HELP)
    chk.add_argument(
        "--templates", help="templates folder (default: FEEDBACKD_TEMPLATES or templates/)"
    )
    chk.set_defaults(handler=check_subcommand)
    cls = sub.add_parser("classify", help="classify saved .eml files and say why")
    cls.add_argument("files", nargs="+", metavar="FILE.eml")
    cls.add_argument("--rules", help=RULES_HELP)
    cls.add_argument("--format", choices=("text", "json"), default="text")
    cls.set_defaults(handler=classify_subcommand)


def check_subcommand(args: argparse.Namespace) -> int:
    return check_command(
        rules_file(args.rules), templates_dir(args.templates), sys.stdout, check_settings()
    )


def classify_subcommand(args: argparse.Namespace) -> int:
    return classify_command(args.files, rules_file(args.rules), args.format, sys.stdout)
