"""Times and days in the store's meta table, on the file store and its in-memory twin alike:
typed values inside, the same strings on disk as the callers wrote by hand before."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from daemon.adapters.storage.store import Store

MSK = timezone(timedelta(hours=3))
AT = datetime(2026, 3, 2, 1, 0, 5, 123456, tzinfo=MSK)


@pytest.fixture(params=["file", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    return Store(tmp_path / "store.json" if request.param == "file" else None)


def test_a_time_round_trips_as_an_aware_instant_to_the_second(store: Store) -> None:
    store.set_meta_time("alert:polls", AT)
    got = store.meta_time("alert:polls")
    assert got == AT.replace(microsecond=0)
    assert got is not None and got.utcoffset() == timedelta(hours=3)  # the offset is kept
    assert store.meta("alert:polls") == "2026-03-02T01:00:05+03:00"  # the string of old


def test_an_unset_or_empty_time_is_none_and_the_two_stay_apart(store: Store) -> None:
    assert store.meta_time("backfill_before") is None
    store.set_meta_time("backfill_before", None)
    assert store.meta_time("backfill_before") is None
    assert store.meta("backfill_before") == ""  # decided: no horizon (not "never decided")


def test_a_naive_time_is_refused_where_it_enters(store: Store) -> None:
    with pytest.raises(ValueError, match="offset"):
        store.set_meta_time("last_mail_at", datetime(2026, 3, 2, 10, 0))
    assert store.meta("last_mail_at") is None


def test_times_written_by_earlier_versions_read_back(store: Store) -> None:
    """The callers wrote isoformat() by hand: with seconds, and (the backfill horizon) with
    microseconds. Both read as the instant, to the second, as every time in the store."""
    store.set_meta("last_mail_at", "2026-03-01T22:00:05+00:00")
    store.set_meta("backfill_before", "2026-02-23T10:00:00.250000+00:00")
    assert store.meta_time("last_mail_at") == datetime(2026, 3, 2, 1, 0, 5, tzinfo=MSK)
    assert store.meta_time("backfill_before") == datetime(2026, 2, 23, 10, 0, tzinfo=UTC)


def test_a_stored_text_that_is_not_a_time_says_which_key(store: Store) -> None:
    store.set_meta("alert:gap", "yesterday")
    with pytest.raises(ValueError, match="meta alert:gap"):
        store.meta_time("alert:gap")


def test_a_day_round_trips(store: Store) -> None:
    assert store.meta_day("archived_on") is None
    store.set_meta_day("archived_on", date(2026, 3, 2))
    assert store.meta_day("archived_on") == date(2026, 3, 2)
    assert store.meta("archived_on") == "2026-03-02"
    with pytest.raises(ValueError, match="date"):
        store.set_meta_day("archived_on", AT)  # a datetime is a date to Python, not to us


def test_meta_times_are_durable_in_the_old_on_disk_form(tmp_path: Path) -> None:
    db = tmp_path / "store.json"
    store = Store(db)
    store.set_meta_time("alert:auth", AT.astimezone(UTC))
    store.set_meta_day("archived_on", date(2026, 3, 2))
    store.commit()
    store.snapshot()
    meta = json.loads(db.read_text())["meta"]
    assert sorted((d["key"], d["value"]) for d in meta.values()) == [
        ("alert:auth", "2026-03-01T22:00:05+00:00"),
        ("archived_on", "2026-03-02"),
    ]
    again = Store(db)
    assert again.meta_time("alert:auth") == AT.replace(microsecond=0)
    assert again.meta_day("archived_on") == date(2026, 3, 2)
