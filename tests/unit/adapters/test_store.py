"""The store contract, run on the durable file store and on its in-memory twin alike."""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from daemon.adapters.store import LedgerEntry, OutMail, Store
from daemon.core.cases import open_case

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture(params=["file", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    return Store(tmp_path / "store.json" if request.param == "file" else None)


def a_case(store: Store, mid: str = "<m1@x>"):
    return open_case(
        store.next_case_id(NOW.year),
        category="complaint",
        owner="support",
        received=NOW,
        due=NOW,
        sender="a@x.test",
        sender_name="A",
        subject="s",
        message_id=mid,
        language="en",
        rule="r",
    )


def test_case_ids_are_sequential_per_year(store: Store) -> None:
    assert store.next_case_id(2026) == "FB-2026-000001"
    assert store.next_case_id(2026) == "FB-2026-000002"
    assert store.next_case_id(2027) == "FB-2027-000001"


def test_ledger_by_uid_and_by_message_id(store: Store) -> None:
    store.put_ledger(LedgerEntry(7, 1, "<m1@x>", "case", "F", False, "FB-2026-000001"))
    store.put_ledger(LedgerEntry(7, 2, "", "quarantined", "Quarantine", False, reason="bad"))
    assert store.ledger(7, 1).case_id == "FB-2026-000001"
    assert store.ledger(8, 1) is None
    assert store.ledger_by_message_id("<m1@x>").uid == 1
    assert store.ledger_by_message_id("") is None
    assert store.known_uids(7) == {1, 2}
    assert {e.uid for e in store.unfiled(7)} == {1, 2}


def test_cases_thread_and_outbox(store: Store) -> None:
    case = a_case(store)
    store.put_case(case)
    mail = OutMail("<ack1@x>", case.id, "ack", "fb@x", ("a@x.test",), "raw")
    store.put_outmail(mail)
    assert store.case(case.id) == case
    assert store.case_for_message_id("<m1@x>").id == case.id
    assert store.case_for_message_id("<ack1@x>").id == case.id
    store.update_outmail(mail, state="sent")
    assert [m.id for m in store.outbox("sent")] == ["<ack1@x>"]
    assert store.outbox("queued") == []


def test_commit_survives_reopen_only_for_the_file_store(tmp_path: Path) -> None:
    path = tmp_path / "store.json"
    s = Store(path)
    case = a_case(s)
    s.put_case(case)
    s.put_ledger(LedgerEntry(7, 1, "<m1@x>", "case", "F", False, case.id))
    s.commit()
    s.put_ledger(LedgerEntry(7, 1, "<m1@x>", "case", "F", True, case.id))  # update in place
    s.commit()
    s.put_ledger(LedgerEntry(7, 2, "<m2@x>", "case", "F", False))  # never committed
    again = Store(path)
    assert again.case(case.id) == case
    assert again.ledger(7, 1).filed is True
    assert again.ledger(7, 2) is None
    assert again.next_case_id(2026) == "FB-2026-000002"


def test_file_is_private_and_always_whole_json(tmp_path: Path) -> None:
    path = tmp_path / "store.json"
    s = Store(path)
    for i in range(50):
        s.put_ledger(LedgerEntry(1, i, f"<{i}@x>", "case", "F", False))
        s.commit()
        json.loads(path.read_text())  # never a half-written file
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / "store.json.journal").st_mode) == 0o600
    assert not (tmp_path / "store.json.tmp").exists()


def test_journal_replay_snapshot_and_torn_tail(tmp_path: Path) -> None:
    path = tmp_path / "store.json"
    s = Store(path)
    s.put_ledger(LedgerEntry(1, 1, "<1@x>", "case", "F", False))
    s.commit()  # first commit: the snapshot itself
    s.put_ledger(LedgerEntry(1, 1, "<1@x>", "case", "F", True))
    s.put_ledger(LedgerEntry(1, 2, "<2@x>", "case", "F", False))
    s.commit()  # journaled
    s.remove("ledger", ["1:2"])
    s.commit()
    journal = tmp_path / "store.json.journal"
    with open(journal, "a") as f:
        f.write('{"t":"ledger","k":"1:3","d":{"uidva')  # a commit torn by a crash
    again = Store(path)
    assert again.ledger(1, 1).filed is True
    assert again.ledger(1, 2) is None and again.ledger(1, 3) is None
    again.put_ledger(LedgerEntry(1, 4, "<4@x>", "case", "F", False))
    again.commit()  # after the torn tail is cut off, not behind it
    assert Store(path).ledger(1, 4) is not None
    again.snapshot()
    assert journal.read_text() == ""
    third = Store(path)
    assert third.known_uids(1) == {1, 4} and third.ledger(1, 1).filed is True


def test_uncommitted_writes_are_lost_on_crash_committed_ones_are_not(tmp_path: Path) -> None:
    path = tmp_path / "store.json"
    s = Store(path)
    s.put_ledger(LedgerEntry(1, 1, "<1@x>", "case", "F", False))
    s.commit()
    before = path.read_bytes()
    s.put_ledger(LedgerEntry(1, 2, "<2@x>", "case", "F", False))
    assert path.read_bytes() == before  # nothing reaches the disk before commit
