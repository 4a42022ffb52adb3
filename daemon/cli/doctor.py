"""`feedbackd doctor`: test the connection to both mail servers before going live.

Only its place on the command line and its printing are here; the walk is service/doctor.py.
The settings are read by the daemon's own reader (a bad one is 78 at once, every problem
named; the passwords also from the credential files the unit loads), the passwords are taught
to the log redactor first, and the exit status is 0 when all is well and 78 (EX_CONFIG) when
the admin has something to fix.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from daemon.cli.common import logged_settings
from daemon.service.doctor import diagnose


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `doctor` to the CLI's subcommands."""
    doc = sub.add_parser(
        "doctor",
        help="test IMAP and SMTP as the daemon will use them: TLS, login, folders, IDLE, our "
        "From (exit 0, or 78 with one line per problem); changes nothing on the servers",
    )
    doc.add_argument(
        "--send-test",
        metavar="ADDRESS",
        help="also send a real test mail to ADDRESS (otherwise nothing is sent)",
    )
    doc.add_argument(
        "--create-folders",
        action="store_true",
        help="create the folders rules.yaml needs that are missing (otherwise none is made)",
    )
    doc.set_defaults(handler=doctor_command)


def doctor_command(args: argparse.Namespace) -> int:
    # Also the unit's credential files (adapters/settings); the adapters' warnings, redacted.
    settings = logged_settings(args, level="WARNING")
    print(f"feedbackd doctor: {settings.address}")
    found = diagnose(settings, datetime.now(UTC), args.send_test, args.create_folders)
    for finding in found.findings:
        print(finding)
    print(found.verdict())
    sys.stdout.flush()
    return found.exit_code
