"""The error tree: what each kind of failure makes the caller do, and the exit status it means."""

from __future__ import annotations

import pytest

from daemon.errors import (
    EX_CONFIG,
    EX_TEMPFAIL,
    AlreadyRunning,
    AuthRefused,
    BadMessage,
    ConfigError,
    FeedbackdError,
    PermanentSendError,
    Problem,
    TransientError,
)


def test_every_error_carries_its_exit_status() -> None:
    assert FeedbackdError("bug of ours").exit_code == 1
    assert ConfigError("FEEDBACKD_X is not set").exit_code == EX_CONFIG == 78
    assert AuthRefused("IMAP login as x refused").exit_code == EX_CONFIG
    assert AlreadyRunning("another feedbackd").exit_code == EX_TEMPFAIL == 75
    assert TransientError("down").exit_code == 1
    assert PermanentSendError(550, "no such user").exit_code == 1
    assert BadMessage("unreadable").exit_code == 1


def test_connection_failures_are_connection_errors() -> None:
    """The retry loop catches them with any other OSError: one clause, one meaning."""
    for exc in (TransientError("IMAP connection lost"), AuthRefused("login refused")):
        assert isinstance(exc, ConnectionError) and isinstance(exc, OSError)
        assert isinstance(exc, FeedbackdError)
    assert not isinstance(ConfigError("x"), OSError)
    assert not isinstance(AlreadyRunning("x"), OSError)


def test_a_transient_error_reads_as_its_message() -> None:
    """Being an OSError must not turn the message into an errno tuple."""
    exc = TransientError("SMTP mail.example:587: timed out", maybe_sent=True)
    assert str(exc) == "SMTP mail.example:587: timed out"
    assert exc.maybe_sent and exc.args == ("SMTP mail.example:587: timed out",)
    with pytest.raises(OSError, match="timed out"):
        raise exc


def test_a_refused_login_is_a_config_error_with_one_problem() -> None:
    exc = AuthRefused("IMAP login as bob refused by mail.example: check the password")
    assert isinstance(exc, ConfigError)
    assert [str(p) for p in exc.problems] == [
        "settings: IMAP login as bob refused by mail.example: check the password"
    ]


def test_a_config_error_is_located_in_its_source() -> None:
    assert str(ConfigError("bad")) == "settings: bad"
    assert str(ConfigError("bad", "rules")) == "rules: bad"
    two = ConfigError([Problem("rules.yaml", 3, "a"), Problem("rules.yaml", None, "b")])
    assert str(two) == "rules.yaml:3: a\nrules.yaml: b"
