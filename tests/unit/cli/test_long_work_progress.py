"""`purge` and `report` over an archive of thousands of cases show their progress like the
first run does: tqdm's bar on a terminal (a real pseudo-terminal here), plain log lines on
stderr anywhere else (journald), and nothing at all for a small archive."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import struct
import subprocess
import sys
import termios
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support import REPO

from daemon.adapters.storage.archive import archive, archived_cases
from daemon.adapters.storage.store import Store
from daemon.core import cases as lifecycle
from daemon.service.progress import LONG

T0 = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)


def archived(db: Path, n: int) -> None:
    store = Store(db)
    for i in range(n):
        received = T0 + timedelta(minutes=i)
        case = lifecycle.open_case(
            store.next_case_id(2025),
            category="complaint",
            owner="support",
            received=received,
            due=received + timedelta(days=2),
            sender=f"c{i}@x.test",
            sender_name=f"Client {i}",
            subject=f"broken {i}",
            message_id=f"<m{i}@x>",
            language="en",
            rule="complaint",
        )
        store.put_case(lifecycle.apply(case, "closed", received + timedelta(hours=1)))
    store.commit()
    assert archive(store, db, T0 + timedelta(days=400)) == n


def feedbackd(db: Path, *args: str, stderr: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "daemon", *args],
        env={"FEEDBACKD_DB": str(db), "PATH": "/usr/bin:/bin", "COLUMNS": "100"},
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        timeout=120,
    )


def on_a_terminal(db: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], str]:
    """Run a command with its stderr on a pseudo-terminal; return it and what it drew."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 100 columns
    try:
        done = feedbackd(db, *args, stderr=slave)
    finally:
        os.close(slave)
    drawn = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the terminal's other side is closed and everything was read
            break
        if not chunk:
            break
        drawn.append(chunk)
    os.close(master)
    return done, b"".join(drawn).decode(errors="replace")


@pytest.fixture(scope="module")
def big_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("archive") / "store.json"
    archived(db, LONG + 200)
    return db


def test_purge_draws_a_bar_on_a_terminal_and_still_purges_every_case(big_archive: Path) -> None:
    n = LONG + 200
    done, drawn = on_a_terminal(big_archive, "purge", "--before", "2025-03-03")
    assert done.returncode == 0, drawn
    assert "archived cases looked at" in drawn
    assert f"{n}/{n}" in drawn and "100%" in drawn and "case/s" in drawn
    assert "\r" in drawn  # redrawn in place, not a line per case
    assert done.stdout.startswith("0 archived case")  # nothing was received before that day
    done, drawn = on_a_terminal(big_archive, "purge", "--before", "2026-01-01")
    assert done.stdout.startswith(f"{n} archived case")
    assert all(c.sender == "(purged)" for c in archived_cases(big_archive))


def test_report_over_a_large_archive_logs_progress_lines_without_a_terminal(
    big_archive: Path,
) -> None:
    n = LONG + 200
    done = feedbackd(
        big_archive,
        "report",
        "--from",
        "2025-01-01",
        "--to",
        "2025-12-31",
        "--format",
        "json",
        stderr=subprocess.PIPE,
    )
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if "archived cases read" in line]
    assert lines, done.stderr
    assert f"archived cases read: {n} of {n} done in" in lines[-1]
    assert "\r" not in done.stderr  # no bar drawn into a log
    assert json.loads(done.stdout)["total"] == n  # stdout holds the report alone, and whole


def test_a_small_archive_shows_no_progress(tmp_path: Path) -> None:
    db = tmp_path / "store.json"
    archived(db, 20)
    done, drawn = on_a_terminal(db, "purge", "--before", "2026-01-01")
    assert done.returncode == 0
    assert "archived cases" not in drawn and "%" not in drawn
