"""Health alerts: which problem deserves a mail to the feedback center, and when."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from support import REPO

from daemon.adapters.config import load_rulebook
from daemon.adapters.storage.status_file import PollState
from daemon.adapters.storage.store import Store
from daemon.core.rules import RuleBook
from daemon.errors import AuthRefused, TransientError
from daemon.service.alerts import FAILED_POLLS, due_alerts

NOW = datetime(2026, 5, 12, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def book() -> RuleBook:
    return load_rulebook(REPO / "rules.yaml")


def failed(error: Exception, times: int = FAILED_POLLS) -> PollState:
    return PollState(consecutive_failures=times, last_error=str(error)[:300])


def kinds(found: list[tuple[str, str]]) -> list[str]:
    return [kind for kind, _ in found]


def test_a_refused_login_is_told_by_its_type_not_its_words(book: RuleBook) -> None:
    refused = AuthRefused("IMAP server mail.example: authentication failed for bob")
    found = due_alerts(Store(None), failed(refused), book, NOW, None, refused)
    assert kinds(found) == ["auth"]
    assert "refuses our login" in found[0][1] and "authentication failed" in found[0][1]


def test_a_server_message_that_says_login_refused_is_not_an_auth_alert(book: RuleBook) -> None:
    down = TransientError("IMAP connection lost during login: peer refused the connection")
    found = due_alerts(Store(None), failed(down), book, NOW, None, down)
    assert kinds(found) == ["polls"]


def test_fewer_failures_alert_nobody(book: RuleBook) -> None:
    refused = AuthRefused("login refused")
    poll = failed(refused, FAILED_POLLS - 1)
    assert due_alerts(Store(None), poll, book, NOW, None, refused) == []


def test_an_alert_is_not_repeated_within_six_hours(book: RuleBook) -> None:
    store = Store(None)
    store.set_meta("alert:auth", NOW.isoformat(timespec="seconds"))
    refused = AuthRefused("login refused")
    assert due_alerts(store, failed(refused), book, NOW, None, refused) == []
