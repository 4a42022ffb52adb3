"""The guard around deciding one message (issue #14, item 7): one mail never stops a mailbox.

A message whose deciding runs over the time budget is interrupted and quarantined, and the
next message is taken as usual. A message that killed the process twice while it was being
decided is quarantined on the next start instead of being taken a third time: the test kills
real child processes (`os._exit`, as the OOM killer or the watchdog would) on a real store file.
"""

from __future__ import annotations

import os
import signal
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from twins import incoming

from daemon.adapters.mail.imap import Fetched
from daemon.adapters.storage.store import Store
from daemon.core.mail.compose import Templates
from daemon.core.rules import RuleBook
from daemon.service import intake as intake_module
from daemon.service.intake import Desk, Intake, intake

FB = "feedback@example.test"
NOW = datetime(2026, 3, 3, 5, 0, tzinfo=UTC)
COMPLAINT = ("Жалоба", "Курьер нагрубил и опоздал на пять часов, прошу разобраться.")
real_classify = intake_module.classify


def take(desk: Desk, uid: int, raw: bytes) -> Intake:
    return intake(desk, 7, Fetched(uid, raw, len(raw), NOW, False), NOW)


def test_a_message_over_the_time_budget_is_quarantined_and_the_next_is_taken(
    book: RuleBook, templates: Templates, monkeypatch: pytest.MonkeyPatch
) -> None:
    def slow_on_bombs(message: object, rules: RuleBook) -> object:
        if "bomb" in getattr(message, "subject", ""):
            started = time.monotonic()
            while time.monotonic() - started < 5:  # a runaway matcher (bounded: no hang)
                pass
        return real_classify(message, rules)  # type: ignore[arg-type]

    monkeypatch.setattr(intake_module, "classify", slow_on_bombs)
    desk = Desk(Store(None), book, templates, FB, time_budget=0.3)
    before = signal.getsignal(signal.SIGALRM)
    started = time.monotonic()
    bomb = take(desk, 1, incoming("mallory@evil.test", "bomb", "x"))
    assert time.monotonic() - started < 3
    assert bomb.outcome == "quarantined" and "0.3 s budget" in bomb.reason
    entry = desk.store.ledger(7, 1)
    assert entry is not None and entry.folder == "Quarantine"
    assert take(desk, 2, incoming("anna@customer.test", *COMPLAINT)).outcome == "case"
    assert signal.getsignal(signal.SIGALRM) == before
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def die_taking(path: Path, book: RuleBook, templates: Templates, uid: int, raw: bytes) -> int:
    """Take the message in a child process that dies while deciding it; its exit status."""
    pid = os.fork()
    if pid == 0:  # the child: a daemon that is killed in the middle of the message
        try:
            take(Desk(Store(path), book, templates, FB), uid, raw)
        finally:
            os._exit(3)  # not reached when the kill came first
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def test_a_message_that_killed_the_daemon_twice_is_quarantined_on_the_next_start(
    tmp_path: Path, book: RuleBook, templates: Templates, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "store.json"
    bomb = incoming("mallory@evil.test", "bomb", "x")

    def killed_on_bombs(message: object, rules: RuleBook) -> object:
        if "bomb" in getattr(message, "subject", ""):
            os._exit(137)  # what the OOM killer leaves: no finally, no commit
        return real_classify(message, rules)  # type: ignore[arg-type]

    monkeypatch.setattr(intake_module, "classify", killed_on_bombs)
    assert die_taking(path, book, templates, 1, bomb) == 137
    assert die_taking(path, book, templates, 1, bomb) == 137

    def never(message: object, rules: RuleBook) -> object:
        raise RuntimeError("taken a third time")

    monkeypatch.setattr(intake_module, "classify", never)
    desk = Desk(Store(path), book, templates, FB)  # the third start
    plan = take(desk, 1, bomb)
    assert plan.outcome == "quarantined" and "stopped the daemon 2 times" in plan.reason
    desk.store.commit()
    monkeypatch.setattr(intake_module, "classify", real_classify)
    assert take(desk, 2, incoming("anna@customer.test", *COMPLAINT)).outcome == "case"


def test_one_crash_is_forgiven_and_a_finished_message_leaves_no_count(
    tmp_path: Path, book: RuleBook, templates: Templates, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "store.json"
    complaint = incoming("anna@customer.test", *COMPLAINT)
    crashed: list[bool] = []

    def killed_once(message: object, rules: RuleBook) -> object:
        if not crashed:
            os._exit(137)
        return real_classify(message, rules)  # type: ignore[arg-type]

    monkeypatch.setattr(intake_module, "classify", killed_once)
    assert die_taking(path, book, templates, 1, complaint) == 137
    crashed.append(True)  # the machine was not the message's fault: the restart takes it in
    desk = Desk(Store(path), book, templates, FB)
    assert desk.marker.unfinished(7, 1) == 1
    assert take(desk, 1, complaint).outcome == "case"
    assert Desk(Store(path), book, templates, FB).marker.unfinished(7, 1) == 0  # finished
