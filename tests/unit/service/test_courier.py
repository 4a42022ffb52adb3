"""The courier's worker thread ends with the courier, whatever recording the last batch did."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from twins import RecordingSender, incoming

from daemon.adapters.mail.imap import Fetched
from daemon.adapters.storage.store import Store
from daemon.core.mail.compose import Templates
from daemon.core.rules import RuleBook
from daemon.service.intake import Desk, intake
from daemon.service.outbox import Courier

NOW = datetime(2026, 3, 3, 5, 0, tzinfo=UTC)


def test_a_courier_that_cannot_record_the_last_batch_still_stops_its_thread(
    book: RuleBook, templates: Templates
) -> None:
    store = Store(None)
    raw = incoming("anna@customer.test", "Жалоба", "Курьер нагрубил, прошу разобраться.")
    intake(
        Desk(store, book, templates, "feedback@example.test"),
        1,
        Fetched(1, raw, len(raw), NOW),
        NOW,
    )
    store.commit()
    before = set(threading.enumerate())
    courier = Courier(store, RecordingSender(), book.policy)
    courier.dispatch(None, NOW)  # the batch is in flight on the worker

    def disk_full() -> None:
        raise OSError(28, "No space left on device")

    store.commit = disk_full  # type: ignore[method-assign]
    with pytest.raises(OSError):
        courier.close()  # recording what the server said fails
    assert [t for t in threading.enumerate() if t not in before and t.is_alive()] == []
