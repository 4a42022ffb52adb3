"""Progress on long work: tqdm's bar on a terminal (a real pseudo-terminal here), plain log
lines every N items or every 10 s elsewhere (journald), and nothing for short work."""

from __future__ import annotations

import fcntl
import io
import logging
import os
import pty
import struct
import termios
from datetime import UTC, datetime, timedelta

import pytest
from twins import MemoryMailbox, RecordingSender, incoming

from daemon.adapters.storage.store import Store
from daemon.core.mail.compose import Templates
from daemon.core.progress import Silent
from daemon.core.rules import RuleBook
from daemon.service.cycle import BATCH, run_cycle
from daemon.service.intake import Desk
from daemon.service.progress import Bar, Lines, reporter

FB = "feedback@example.test"
NOW = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)


def terminal_pair() -> tuple[int, int]:
    """A pseudo-terminal 100 columns wide, as a person's terminal would be."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    return master, slave


def read_all(fd: int) -> str:
    chunks = []
    os.set_blocking(fd, False)
    while True:
        try:
            chunk = os.read(fd, 65536)
        except (BlockingIOError, OSError):
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode(errors="replace")


def test_a_first_run_backlog_draws_a_bar_with_counts_and_rate_on_a_terminal(
    book: RuleBook, templates: Templates
) -> None:
    n = BATCH + 50
    mailbox = MemoryMailbox()
    for i in range(n):
        mailbox.deliver(incoming(f"c{i}@customer.test", "Жалоба", "Разбито."), NOW - timedelta(30))
    master, slave = terminal_pair()
    with os.fdopen(slave, "w", closefd=True) as terminal:
        assert terminal.isatty()
        desk = Desk(Store(None), book, templates, FB)
        run_cycle(desk, mailbox, RecordingSender({FB: mailbox}), NOW, progress=reporter(terminal))
        terminal.flush()
        drawn = read_all(master)
    os.close(master)
    assert "messages taken in" in drawn
    assert f"{n}/{n}" in drawn and "100%" in drawn
    assert "msg/s" in drawn  # the rate
    assert "\r" in drawn  # redrawn in place, not a line per message


def test_without_a_terminal_progress_is_a_log_line_every_n_items_and_one_at_the_end(
    caplog: pytest.LogCaptureFixture,
) -> None:
    start = reporter(io.StringIO())
    assert isinstance(start(3, "x"), Lines)  # a pipe or journald: lines, never a bar
    ticks = iter(float(t) for t in range(10_000))
    lines = Lines(1200, "messages imported", every=500, interval=1e9, clock=lambda: next(ticks))
    with caplog.at_level(logging.INFO, logger="feedbackd.progress"):
        for _ in range(1200):
            lines.advance()
        lines.close()
    said = [r.getMessage() for r in caplog.records]
    assert said[:2] == [
        "messages imported: 500 of 1200 (42%), 1.0/s",
        "messages imported: 1000 of 1200 (83%), 1.0/s",
    ]
    assert said[2].startswith("messages imported: 1200 of 1200 done in 1201 s")
    assert len(said) == 3


def test_without_a_terminal_a_slow_job_says_something_every_ten_seconds(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ticks = iter([0.0, 4.0, 11.0, 12.0, 25.0])
    lines = Lines(1000, "cases purged", clock=lambda: next(ticks))
    with caplog.at_level(logging.INFO, logger="feedbackd.progress"):
        for _ in range(4):
            lines.advance()
    assert [r.getMessage().split(",")[0] for r in caplog.records] == [
        "cases purged: 2 of 1000 (0%)",
        "cases purged: 4 of 1000 (0%)",
    ]


def test_short_work_reports_nothing_and_a_terminal_gets_a_bar() -> None:
    assert isinstance(reporter(io.StringIO(), least=BATCH)(5, "x"), Silent)
    master, slave = terminal_pair()
    with os.fdopen(slave, "w") as terminal:
        bar = reporter(terminal)(2, "x")
        assert isinstance(bar, Bar)
        bar.close()
    os.close(master)
