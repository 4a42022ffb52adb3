"""When owed mail is tried again: by the instant of `next_try`, whatever offset wrote it.

The retry times of one outbox come from different clocks (a daemon's UTC, an `once --now` in
the admin's zone); compared as text, a retry written in +03:00 looked hours later than it was,
and one read against a +14:00 clock looked due hours early.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from daemon.adapters.storage.store import Store
from daemon.core.records import OutMail, OutState
from daemon.service.outbox import due_mail, next_due

MSK = timezone(timedelta(hours=3))
KIRITIMATI = timezone(timedelta(hours=14))
NOW = datetime(2026, 5, 12, 22, 30, tzinfo=UTC)


def owed(mail_id: str, next_try: datetime, state: OutState = OutState.QUEUED) -> OutMail:
    return OutMail(mail_id, None, "ack", "fb@x", ("a@x",), "raw", state, next_try=next_try)


@pytest.fixture
def store() -> Store:
    s = Store(None)
    # 20:59:59Z: 1.5 h before NOW, though its text reads later than "22:30:00+00:00"
    s.put_outmail(owed("<overdue@x>", datetime(2026, 5, 12, 23, 59, 59, tzinfo=MSK)))
    # 03:00Z tomorrow: the earliest retry still ahead, though "06:00+03:00" sorts after "05:00Z"
    s.put_outmail(owed("<early@x>", datetime(2026, 5, 13, 6, 0, tzinfo=MSK), OutState.SENDING))
    s.put_outmail(owed("<late@x>", datetime(2026, 5, 13, 5, 0, tzinfo=UTC)))
    s.put_outmail(owed("<done@x>", datetime(2026, 5, 12, 9, 0, tzinfo=UTC), OutState.SENT))
    return s


@pytest.mark.parametrize("clock", [UTC, MSK, KIRITIMATI], ids=["utc", "+03:00", "+14:00"])
def test_due_mail_is_what_is_due_at_this_instant(store: Store, clock) -> None:
    assert [m.id for m in due_mail(store, NOW.astimezone(clock))] == ["<overdue@x>"]
    tomorrow = datetime(2026, 5, 13, 4, 0, tzinfo=UTC).astimezone(clock)
    assert sorted(m.id for m in due_mail(store, tomorrow)) == ["<early@x>", "<overdue@x>"]


def test_next_due_is_the_earliest_instant(store: Store) -> None:
    store.update_outmail(store.outmail("<overdue@x>"), state=OutState.SENT)
    assert next_due(store) == datetime(2026, 5, 13, 3, 0, tzinfo=UTC)


def test_a_mail_without_a_retry_time_is_due_at_once_and_sets_no_wake_up() -> None:
    s = Store(None)
    s.put_outmail(OutMail("<x@x>", None, "ack", "fb@x", ("a@x",), "raw"))
    assert [m.id for m in due_mail(s, NOW)] == ["<x@x>"]
    assert next_due(s) is None
