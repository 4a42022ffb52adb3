"""The service loop's retry clause: which failures it rides out with backoff, which end it.

The cycle itself runs on the lab's servers (tests/lab/test_loops.py, test_service.py); here it
is replaced by a script of outcomes, so only the loop's own decision is under test.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import REPO

from daemon.adapters.settings import Secret, Server, Settings
from daemon.errors import AuthRefused, ConfigError, TransientError
from daemon.service.loop import Service


def service(tmp_path: Path, outcomes: list[Exception | None]) -> tuple[Service, list[float]]:
    """A Service whose cycles raise (or succeed) as `outcomes` says; returns its sleeps."""
    nobody = Server("127.0.0.1", 1, "u", Secret("p"), "plain", None)
    settings = Settings(
        imap=nobody,
        smtp=nobody,
        address="feedback@example.test",
        db=tmp_path / "store.json",
        rules=REPO / "rules.yaml",
        templates=REPO / "templates",
    )
    svc = Service(settings)
    script: Iterator[Exception | None] = iter(outcomes)
    sleeps: list[float] = []

    def cycle() -> None:
        outcome = next(script)
        if outcome is not None:
            raise outcome

    svc.cycle = cycle  # type: ignore[method-assign,assignment]
    svc._install_signals = lambda: None  # type: ignore[method-assign]
    svc._wait_for_mail = lambda timeout: None  # type: ignore[method-assign]
    svc._sleep = sleeps.append  # type: ignore[method-assign,assignment]
    svc._next_wait = lambda: 0.0  # type: ignore[method-assign]
    return svc, sleeps


@pytest.mark.parametrize(
    "failure",
    [
        AuthRefused("IMAP login as u refused by 127.0.0.1: check the password"),
        TransientError("IMAP 127.0.0.1:1 unreachable: connection refused"),
        OSError(28, "No space left on device"),
    ],
    ids=["auth-refused", "transient", "os-error"],
)
def test_the_loop_backs_off_and_retries(tmp_path: Path, failure: Exception) -> None:
    svc, sleeps = service(tmp_path, [failure, failure, None])
    svc.run(max_cycles=1)
    assert sleeps == [1.0, 2.0]


def test_a_config_error_ends_the_loop(tmp_path: Path) -> None:
    """A broken setting will not mend itself: exit (78) instead of retrying for ever."""
    svc, sleeps = service(tmp_path, [ConfigError("FEEDBACKD_X is wrong"), None])
    with pytest.raises(ConfigError):
        svc.run(max_cycles=1)
    assert sleeps == []


def test_without_idle_the_loop_waits_the_configured_poll_interval(tmp_path: Path) -> None:
    """FEEDBACKD_POLL_INTERVAL, not a constant: the wait between cycles on a server without
    IDLE (no mailbox connected counts as no IDLE), when no owed mail is due sooner."""
    nobody = Server("127.0.0.1", 1, "u", Secret("p"), "plain", None)
    settings = Settings(nobody, nobody, "feedback@example.test", tmp_path / "store.json",
                        REPO / "rules.yaml", REPO / "templates", poll_interval=7.0)  # fmt: skip
    svc = Service(settings)
    svc.open()
    try:
        assert svc._next_wait() == 7.0
    finally:
        svc.close()


def test_a_refused_smtp_login_is_logged_once_and_kept_until_a_login_works(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    svc, _ = service(tmp_path, [])
    svc.open()
    sender = type("SaidSender", (), {"login_refused": None, "close": lambda self: None})()
    svc.sender = sender  # type: ignore[assignment]
    try:
        with caplog.at_level(logging.INFO, logger="feedbackd"):
            svc._note_smtp_login()  # no login tried yet: nothing known, nothing said
            sender.login_refused = "SMTP login as u refused by h:587 (535 5.7.8 no)"
            svc._note_smtp_login()
            svc._note_smtp_login()  # the next cycle's retry, refused the same way
            assert svc.poll.smtp_refused == sender.login_refused
            sender.login_refused = ""
            svc._note_smtp_login()
    finally:
        svc.close()
    said = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert said == [
        ("ERROR", "SMTP login as u refused by h:587 (535 5.7.8 no); 0 mails wait in the outbox "
         "and go out once it works"),
        ("INFO", "the SMTP server accepts our login again; the waiting mail goes out"),
    ]  # fmt: skip
    assert svc.poll.smtp_refused == ""
