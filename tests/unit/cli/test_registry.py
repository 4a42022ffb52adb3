"""The command line as one registry: every subcommand, its options, its handler, its exit code.

The table below is the CLI as it was before the commands were split into modules; it must stay
so (scripts, units and monitoring call these), and every leaf command must name its handler.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from support import REPO

import daemon
from daemon.cli import admin, build_parser, main
from daemon.errors import AlreadyRunning, AuthRefused, ConfigError, FeedbackdError, Problem

COMMANDS = {
    "once": ["--now", "--dry-run"],
    "run": [],
    "reload": ["--pid"],
    "cases list": ["--status", "--overdue", "--category", "--owner", "--format"],
    "cases show": ["id", "--format"],
    "cases close": [
        "id",
        "--all",
        "--before",
        "--category",
        "--verdict",
        "--cause",
        "--remedy",
        "--employee",
        "--complexity",
        "--by",
    ],
    "cases reopen": ["id", "--by"],
    "cases answer": ["id", "--by"],
    "cases reassign": ["id", "owner", "--by"],
    "cases note": ["id", "text", "--by"],
    "cases reclassify": ["id", "category", "--by"],
    "cases explain": ["id", "--employee", "--by"],
    "cases credit": ["id", "--employee", "--by"],
    "status": ["--format"],
    "reprocess": ["message_ids"],
    "purge": ["--before"],
    "import": ["--before", "--dry-run"],
    "report": ["--from", "--to", "--by", "--format", "--now", "--rules"],
    "digest": ["--now", "--every", "--dry-run", "--html", "--rules", "--templates"],
    "deadline": ["--received", "--category", "--rules", "--explain"],
    "check": ["--rules", "--templates"],
    "classify": ["files", "--rules", "--format"],
    "learn": ["files", "--category", "--evaluate", "--folds", "--rules"],
    "doctor": ["--send-test", "--create-folders"],
    "init": ["folder"],
    "store check": [],
    "store repair": ["--new-store"],
    "oauth2 authorize": ["--device-url", "--browser", "--auth-url"],
}


def leaves(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> dict[str, argparse.ArgumentParser]:
    """Every command that runs something, by its words: `cases show`, `status`, ..."""
    found: dict[str, argparse.ArgumentParser] = {}
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        return {" ".join(path): parser}
    for action in subs:
        for name, sub in action.choices.items():
            found.update(leaves(sub, (*path, name)))
    return found


def options(parser: argparse.ArgumentParser) -> list[str]:
    return [
        "/".join(a.option_strings) or a.dest
        for a in parser._actions
        if not isinstance(a, argparse._HelpAction)
    ]


def test_the_commands_and_their_options_are_unchanged() -> None:
    found = leaves(build_parser())
    assert list(found) == list(COMMANDS)  # also the order `feedbackd --help` lists them in
    assert {name: options(p) for name, p in found.items()} == COMMANDS
    top = build_parser()
    assert [o for o in options(top) if o.startswith("--")] == [
        "--version",
        "--log-level",
        "--config",
        "--instance",
    ]


@pytest.mark.parametrize("words", [w.split() for w in COMMANDS])
def test_every_command_names_its_handler(words: list[str]) -> None:
    args = {
        "cases show": ["FB-1"],
        "cases close": ["FB-1"],
        "cases reopen": ["FB-1"],
        "cases answer": ["FB-1"],
        "cases reassign": ["FB-1", "legal"],
        "cases note": ["FB-1", "called"],
        "cases reclassify": ["FB-1", "complaint"],
        "cases explain": ["FB-1", "--employee", "olga@x.test"],
        "cases credit": ["FB-1", "--employee", "olga@x.test"],
        "purge": ["--before", "2026-01-01"],
        "import": ["--before", "2026-01-01"],
        "report": ["--from", "2026-01-01", "--to", "2026-01-31"],
        "deadline": ["--received", "2026-01-01T10:00", "--category", "complaint"],
        "classify": ["a.eml"],
        "init": ["/etc/feedbackd"],
    }.get(" ".join(words), [])
    parsed = build_parser().parse_args([*words, *args])
    assert callable(parsed.handler)
    assert parsed.handler.__module__.startswith("daemon.cli.")


def test_version_prints_the_one_version_string(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out == f"feedbackd {daemon.__version__}\n"


def test_the_version_is_written_once() -> None:
    """pyproject reads it from daemon/__init__.py; no other file spells it out."""
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert 'dynamic = ["version"]' in pyproject
    assert 'version = { attr = "daemon.__version__" }' in pyproject
    assert re.fullmatch(r"\d+\.\d+\.\d+", daemon.__version__)
    spelled = [
        p.relative_to(REPO)
        for p in (REPO / "daemon").rglob("*.py")
        if "__version__ =" in p.read_text(encoding="utf-8")
    ]
    assert spelled == [Path("daemon/__init__.py")]


def test_python_m_daemon_has_the_version_too() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "daemon", "--version"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stdout) == (0, f"feedbackd {daemon.__version__}\n")


def raising(exc: Exception) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        raise exc

    return handler


@pytest.mark.parametrize(
    "exc, code, lines",
    [
        (AlreadyRunning("another feedbackd (pid 7) is using the store"), 75, 1),
        (AuthRefused("IMAP login as u refused by h: check the password"), 78, 1),
        (ConfigError([Problem("rules.yaml", 3, "a"), Problem("rules.yaml", 9, "b")]), 78, 2),
        (FeedbackdError("a failure without a kind of its own"), 1, 1),
    ],
)
def test_main_exits_with_the_code_the_error_carries(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    exc: Exception,
    code: int,
    lines: int,
) -> None:
    monkeypatch.setattr(admin, "status_command", raising(exc))
    assert main(["status"]) == code
    err = capsys.readouterr().err.splitlines()
    assert len(err) == lines and all(line.startswith("feedbackd: ") for line in err)


def test_a_bug_is_a_traceback_not_a_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(admin, "status_command", raising(KeyError("bug")))
    with pytest.raises(KeyError):
        main(["status"])
