"""`feedbackd run` opens its log with one line: version, mailbox, server, rules, how it waits."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from support import REPO

from daemon.adapters.settings import Secret, Server, Settings
from daemon.service.loop import Service


def test_run_logs_one_start_line_even_when_the_server_is_not_there_yet(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    nobody = Server("127.0.0.1", 1, "u", Secret("p"), "plain", None)  # port 1: refused
    settings = Settings(nobody, nobody, "feedback@example.test", tmp_path / "s.json",
                        REPO / "rules.yaml", REPO / "templates")  # fmt: skip
    svc = Service(settings)
    svc._install_signals = lambda: None  # type: ignore[method-assign]
    with caplog.at_level(logging.INFO, logger="feedbackd"):
        svc.run(max_cycles=0, version="9.9.9")
    [line] = [r.getMessage() for r in caplog.records if "started" in r.getMessage()]
    assert line.startswith("feedbackd 9.9.9 started: mailbox feedback@example.test on 127.0.0.1:1")
    assert f"rules {REPO / 'rules.yaml'} ({len(svc.book.rules)} rules" in line
    assert "IDLE or polling once connected" in line
