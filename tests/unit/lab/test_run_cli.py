"""`support.run_cli`, the in-process `feedbackd` of the lab tests: it gives what a child process
would (exit code, stdout, stderr, the given environment only) and leaves the test's process as
it found it, so one test's command cannot change what the next one sees."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import pytest
from support import REPO, run_cli

from daemon import __version__


def test_exit_code_and_output_as_a_process_gives_them() -> None:
    done = run_cli(("--version",), {})
    assert (done.returncode, done.stdout.strip()) == (0, f"feedbackd {__version__}")
    bad = run_cli(("no-such-command",), {})
    assert bad.returncode == 2 and "invalid choice" in bad.stderr


def test_the_command_sees_only_its_environment_and_the_test_gets_its_own_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FEEDBACKD_DB", str(tmp_path / "not-this.json"))
    monkeypatch.chdir(tmp_path)
    before = dict(os.environ)
    root = logging.getLogger()
    handlers, level, hook = root.handlers[:], root.level, sys.excepthook
    db = tmp_path / "store.json"
    env = {"FEEDBACKD_DB": str(db), "FEEDBACKD_RULES": str(REPO / "rules.yaml")}
    done = run_cli(("--log-level", "DEBUG", "status", "--format", "json"), env)
    assert done.returncode == 2 and f"no store at {db}:" in done.stdout, done.stderr
    assert dict(os.environ) == before and Path.cwd() == tmp_path
    assert (root.handlers, root.level, sys.excepthook) == (handlers, level, hook)
