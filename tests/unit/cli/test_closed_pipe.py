"""`feedbackd … | head`: when the reader goes away the command ends quietly with 141.

141 is what a shell reports for a command its closed pipe killed (128 + SIGPIPE), so a script
under `set -o pipefail` still learns the output was cut short, and nobody sees a traceback.
The reader is gone before the command writes a byte: the read end of its stdout is closed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from support import REPO

from daemon import cli
from daemon.adapters.storage.store import Store
from daemon.cli import cases
from daemon.core.cases import open_case

CASE_ID = "FB-2026-000001"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    db = tmp_path_factory.mktemp("pipe") / "store.json"
    store = Store(db)
    received = datetime(2026, 11, 17, 10, 0, tzinfo=UTC)
    for n in range(300):  # more than a pipe's buffer of lines
        store.put_case(
            open_case(
                store.next_case_id(2026),
                category="complaint",
                owner="support",
                received=received,
                due=received + timedelta(days=3),
                sender=f"c{n}@x.test",
                sender_name="C",
                subject=f"subject {n}",
                message_id=f"<{n}@x.test>",
                language="en",
                rule="r",
            )
        )
    store.commit()
    out = dict(os.environ, FEEDBACKD_DB=str(db))
    out.pop("FEEDBACKD_RULES", None)
    return out


def run_into_closed_pipe(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    read_end, write_end = os.pipe()
    os.close(read_end)  # `head` has read its lines and gone
    try:
        return subprocess.run(
            [sys.executable, "-m", "daemon", *args],
            stdout=write_end,
            stderr=subprocess.PIPE,
            env=env,
            cwd=REPO,
            text=True,
            timeout=60,
        )
    finally:
        os.close(write_end)


@pytest.mark.parametrize(
    "args",
    [
        ["cases", "list"],
        ["cases", "list", "--format", "json"],
        ["cases", "show", CASE_ID],
        ["digest", "--now", "2026-11-23T09:00", "--dry-run", "--html"],
        ["report", "--from", "2026-11-16", "--to", "2026-11-22", "--now", "2026-11-23T09:00"],
        ["--version"],
        ["--help"],
    ],
    ids=" ".join,
)
def test_a_closed_pipe_ends_the_command_quietly_with_141(
    args: list[str], env: dict[str, str]
) -> None:
    done = run_into_closed_pipe(args, env)
    for noise in ("Traceback", "BrokenPipeError", "Exception ignored"):
        assert noise not in done.stderr
    assert done.stderr == "" or args[0] == "digest"  # its subject and recipients go to stderr
    assert done.returncode == cli.EXIT_PIPE_CLOSED == 141


def test_an_open_pipe_still_gets_everything(env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "daemon", "cases", "list", "--format", "json"],
        capture_output=True,
        env=env,
        cwd=REPO,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and len(done.stdout.splitlines()) == 300


def test_a_broken_pipe_that_is_not_stdout_is_a_bug_with_its_traceback(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def handler(_args: object) -> int:
        raise BrokenPipeError(32, "Broken pipe")  # as a socket's send would

    monkeypatch.setattr(cases, "list_command", handler)
    monkeypatch.setenv("FEEDBACKD_DB", env["FEEDBACKD_DB"])
    with pytest.raises(BrokenPipeError):
        cli.main(["cases", "list"])
