"""`feedbackd init DIR`: a starting configuration to edit, for an admin with only a wheel.

It writes rules.yaml (placeholder addresses marked), templates/ and feedbackd.env (every
setting, commented) from the packaged defaults, and never overwrites: if any of them exists,
it says which, writes nothing and exits 73 (EX_CANTCREAT). It ends by saying what to edit and
where the packaged systemd units and documentation are.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from daemon import __version__
from daemon.adapters.configdir import SYSTEM_DIR
from daemon.adapters.packaged import PLACEHOLDER, defaults_dir, write_starting_config

EX_CANTCREAT = 73  # sysexits.h: an output file cannot be created


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `init` to the CLI's subcommands."""
    init = sub.add_parser(
        "init", help="write a starting configuration (rules, templates, settings) to edit"
    )
    init.add_argument(
        "folder",
        metavar="DIR",
        type=Path,
        help=f"where to write it ({SYSTEM_DIR} is found without --config); created if missing",
    )
    init.set_defaults(handler=init_command)


def init_command(args: argparse.Namespace) -> int:
    folder: Path = args.folder
    try:
        written = write_starting_config(folder, __version__)
    except FileExistsError as exc:
        print(
            f"feedbackd: {exc} already exist(s); nothing was written. Move them aside or "
            "choose another folder.",
            file=sys.stderr,
        )
        return EX_CANTCREAT
    except OSError as exc:
        print(f"feedbackd: cannot write to {folder}: {exc.strerror or exc}", file=sys.stderr)
        return EX_CANTCREAT
    templates = sum(1 for p in written if p.parent.name == "templates")
    option = "" if folder.resolve() == SYSTEM_DIR else f" --config {folder}"
    shipped = defaults_dir()
    print(f"wrote {folder / 'rules.yaml'}, {folder / 'feedbackd.env'} and {templates} templates")
    print("next:")
    print(f"  1. set the servers and the address in {folder / 'feedbackd.env'}")
    print(f"  2. replace the lines marked {PLACEHOLDER} in {folder / 'rules.yaml'}")
    print(f"  3. feedbackd{option} check")
    print(f"systemd units: {shipped / 'systemd'}; the guide: {shipped / 'docs' / 'service.md'}")
    return 0
