"""The times the service keeps in the store's meta table (alerts, the last mail, the digest,
the daily archive, the backfill horizon): instants compared as instants, written as before."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

from daemon.adapters.storage.status_file import PollState
from daemon.adapters.storage.store import Store
from daemon.core.mail.compose import Templates
from daemon.core.records import LedgerEntry
from daemon.core.rules import RuleBook
from daemon.service.alerts import ALERT_EVERY, due_alerts, queue_alert
from daemon.service.cycle import backfill_horizon
from daemon.service.duties import archive_daily
from daemon.service.intake import Desk

FB = "feedback@example.test"
MSK = timezone(timedelta(hours=3))
NOW = datetime(2026, 3, 3, 5, 0, tzinfo=UTC)
FAILING = PollState(consecutive_failures=3, last_error="connection refused")


def test_an_alert_is_not_repeated_within_its_period_across_offsets(book: RuleBook) -> None:
    store = Store(None)
    [(kind, sentence)] = due_alerts(store, FAILING, book, NOW)
    queue_alert(store, book, FB, kind, sentence, NOW.astimezone(MSK))
    assert store.meta("alert:polls") == "2026-03-03T08:00:00+03:00"  # the string of old
    assert due_alerts(store, FAILING, book, NOW + ALERT_EVERY - timedelta(seconds=1)) == []
    assert [k for k, _ in due_alerts(store, FAILING, book, NOW + ALERT_EVERY)] == ["polls"]


def test_silence_is_measured_from_the_last_mail_as_an_instant(book: RuleBook) -> None:
    store = Store(None)
    last = NOW - book.policy.alert_silence
    store.set_meta_time("last_mail_at", last.astimezone(MSK))
    assert due_alerts(store, PollState(), book, NOW) == []  # exactly the silence: not yet
    [(kind, sentence)] = due_alerts(store, PollState(), book, NOW + timedelta(seconds=1))
    assert kind == "silence since 2026-02-28T08:00:00+03:00"  # names the mail as stored
    assert "since 2026-02-28T08:00:00+03:00:" in sentence
    queue_alert(store, book, FB, kind, sentence, NOW)
    assert due_alerts(store, PollState(), book, NOW + timedelta(days=30)) == []  # said once


def test_the_daily_archive_runs_once_a_day(
    book: RuleBook, templates: Templates, tmp_path: Path
) -> None:
    db = tmp_path / "store.json"
    desk = Desk(Store(db), book, templates, FB)
    archive_daily(desk, db, NOW)
    assert desk.store.meta_day("archived_on") == date(2026, 3, 3)
    assert desk.store.meta("archived_on") == "2026-03-03"
    desk.store.put_ledger(LedgerEntry(1, 1, "<m@x>", "case", "F", True, at=NOW - timedelta(99)))
    assert archive_daily(desk, db, NOW + timedelta(hours=1)) is None  # done today already
    assert archive_daily(desk, db, NOW + timedelta(days=1)) == "archive: 1 records moved"


def test_the_backfill_horizon_is_fixed_by_the_first_cycle(
    book: RuleBook, templates: Templates
) -> None:
    desk = Desk(Store(None), book, templates, FB)
    horizon = backfill_horizon(desk, NOW.replace(microsecond=500000))
    assert horizon == NOW - book.policy.backfill_older_than
    assert desk.store.meta("backfill_before") == horizon.isoformat(timespec="seconds")
    assert backfill_horizon(desk, NOW + timedelta(days=1)) == horizon  # fixed for good


def test_a_mailbox_seen_before_has_no_backfill_horizon(
    book: RuleBook, templates: Templates
) -> None:
    desk = Desk(Store(None), book, templates, FB)
    desk.store.put_ledger(LedgerEntry(1, 1, "<m@x>", "case", "F", True, at=NOW))
    assert backfill_horizon(desk, NOW) is None
    assert desk.store.meta("backfill_before") == ""  # decided, as earlier versions wrote it
    desk.store.remove("ledger", ["1:1"])
    assert backfill_horizon(desk, NOW) is None  # and not decided again
