"""The store contract, run on the durable file store and on its in-memory twin alike."""

from __future__ import annotations

import errno
import json
import os
import stat
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from daemon.adapters.storage.store import Store, StoreWriteError
from daemon.adapters.storage.store_disk import StoreDamaged
from daemon.core.cases import CLOSED, OPEN, IllegalTransition, apply, open_case
from daemon.core.records import LedgerEntry, OutMail, OutState, outmail

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
    store.update_outmail(mail, state=OutState.SENT)
    assert [m.id for m in store.outbox(OutState.SENT)] == ["<ack1@x>"]
    assert store.outbox(OutState.QUEUED) == []


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


# -- one write path for case changes ---------------------------------------------------------


def test_update_case_reads_applies_a_pure_change_and_buffers_it(store: Store) -> None:
    case = a_case(store)
    store.put_case(case)
    store.commit()
    later = NOW + timedelta(hours=2)
    new = store.update_case(case.id, lambda c: apply(c, "closed", later, who="anna"))
    assert new.status == CLOSED and new.events[-1].at == later
    assert store.case(case.id) == new
    assert store.pending  # buffered: durable at the next commit, with the rest of the batch
    assert store.cases(OPEN) == [] and store.cases(CLOSED) == [new]


def test_update_case_that_raises_changes_nothing(store: Store) -> None:
    case = a_case(store)
    store.put_case(case)
    store.commit()
    with pytest.raises(IllegalTransition):
        store.update_case(case.id, lambda c: apply(c, "reopened", NOW))
    assert store.case(case.id) == case and not store.pending
    with pytest.raises(KeyError, match="FB-2026-000099"):
        store.update_case("FB-2026-000099", lambda c: c)


def test_update_case_refuses_a_change_that_swaps_the_case(store: Store) -> None:
    first, second = a_case(store), a_case(store, "<m2@x>")
    store.put_case(first)
    with pytest.raises(ValueError, match="returned the case"):
        store.update_case(first.id, lambda c: second)


def test_update_case_is_durable_after_commit(tmp_path: Path) -> None:
    path = tmp_path / "store.json"
    s = Store(path)
    case = a_case(s)
    s.put_case(case)
    s.commit()
    s.update_case(case.id, lambda c: apply(c, "note", NOW, who="anna", text="called"))
    s.commit()
    assert Store(path).case(case.id).events[-1].data == {"text": "called"}


# -- times and the on-disk format --------------------------------------------------------------

MSK = timezone(timedelta(hours=3))

#: A store file as the daemon wrote it before the record types carried datetimes (one
#: document per table, the snapshot's exact encoding).
OLD_SNAPSHOT = (
    '{"cases":{"1":{"id":"FB-2026-000001","category":"complaint","owner":"support",'
    '"status":"open","received":"2026-05-11T09:00:00+03:00","due":"2026-05-12T23:59:59+03:00",'
    '"sender":"a@x.test","sender_name":"A","subject":"s","message_id":"<m1@x>",'
    '"language":"en","rule":"r","tags":[],"thread":["<m1@x>","<ack1@x>"],"events":[{"at":'
    '"2026-05-11T09:00:00+03:00","who":"feedbackd","what":"opened","data":{"category":'
    '"complaint","owner":"support","rule":"r","due":"2026-05-12T23:59:59+03:00"}},{"at":'
    '"2026-05-11T06:00:00+00:00","who":"feedbackd","what":"ack_sent","data":{"message_id":'
    '"<ack1@x>"}}]}},"ledger":{"1":{"uidvalidity":7,"uid":1,"message_id":"<m1@x>",'
    '"outcome":"case","folder":"F","filed":true,"case_id":"FB-2026-000001","reason":"",'
    '"at":"2026-05-11T06:00:00+00:00"}},"outbox":{"1":{"id":"<ack1@x>","case_id":'
    '"FB-2026-000001","kind":"ack","sender":"fb@x","recipients":["a@x.test","fb@x"],'
    '"raw":"r","state":"sent","attempts":1,"next_try":"2026-05-11T06:00:00+00:00","error":"",'
    '"created":"2026-05-11T06:00:00+00:00","sent_at":"2026-05-11T09:00:05+03:00",'
    '"attempted_at":"2026-05-11T09:00:04+03:00"}},"meta":{"1":{"key":"case_seq:2026",'
    '"value":1}}}'
)


def test_an_existing_store_loads_and_is_rewritten_byte_for_byte(tmp_path: Path) -> None:
    path = tmp_path / "store.json"
    path.write_text(OLD_SNAPSHOT, encoding="utf-8")
    s = Store(path)
    case = s.case("FB-2026-000001")
    assert case.due == datetime(2026, 5, 12, 23, 59, 59, tzinfo=MSK)
    assert s.outmail("<ack1@x>").sent_at == datetime(2026, 5, 11, 6, 0, 5, tzinfo=UTC)
    assert s.ledger(7, 1).at == datetime(2026, 5, 11, 6, tzinfo=UTC)
    assert s.ack_times("a@x.test") == [datetime(2026, 5, 11, 6, tzinfo=UTC)]
    s.put_case(case)
    s.put_ledger(s.ledger(7, 1))
    s.put_outmail(s.outmail("<ack1@x>"))
    s.commit()
    journal = [json.loads(line)["d"] for line in (tmp_path / "store.json.journal").open()]
    old = json.loads(OLD_SNAPSHOT)
    assert sorted(journal, key=lambda d: sorted(d)) == sorted(
        (old["cases"]["1"], old["ledger"]["1"], old["outbox"]["1"]), key=lambda d: sorted(d)
    )
    s.snapshot()
    assert path.read_text(encoding="utf-8") == OLD_SNAPSHOT


def test_records_written_now_use_the_old_strings(tmp_path: Path) -> None:
    path = tmp_path / "store.json"
    s = Store(path)
    case = a_case(s)
    s.put_case(case)
    s.put_outmail(
        outmail(
            mail_id="<ack1@x>",
            kind="ack",
            sender="fb@x",
            to=("a@x.test",),
            raw="r",
            now=datetime(2026, 3, 2, 13, 0, 0, 500, tzinfo=MSK),
            case_id=case.id,
        )
    )
    s.commit()
    doc = json.loads(path.read_text())
    assert doc["cases"]["1"]["received"] == "2026-03-02T10:00:00+00:00"
    assert doc["cases"]["1"]["status"] == "open"
    mail = doc["outbox"]["1"]
    assert (mail["created"], mail["next_try"], mail["sent_at"], mail["state"]) == (
        "2026-03-02T13:00:00+03:00",
        "2026-03-02T13:00:00+03:00",
        "",
        "queued",
    )


# -- a damaged store is refused with one line, never taken for a smaller one (issue #14) ------


def committed_store(path: Path, cases: int) -> list[str]:
    """A file store with `cases` cases, one commit each (the first one is the snapshot)."""
    s = Store(path)
    ids = []
    for i in range(cases):
        case = a_case(s, f"<m{i}@x>")
        s.put_case(case)
        s.commit()
        ids.append(case.id)
    return ids


@pytest.mark.parametrize(
    "content, what",
    [
        (OLD_SNAPSHOT[: len(OLD_SNAPSHOT) // 2], "truncated"),
        ("<html>not a store</html>", "not JSON"),
        ("", "empty"),
        ("\n", "empty"),
    ],
)
def test_a_truncated_non_json_or_empty_snapshot_is_refused(
    tmp_path: Path, content: str, what: str
) -> None:
    path = tmp_path / "store.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(StoreDamaged) as refused:
        Store(path)
    assert refused.value.exit_code == 78
    [line] = str(refused.value).splitlines()
    assert line.startswith(f"{path}") and what in line
    assert "backup" in line  # what to do
    assert path.read_text(encoding="utf-8") == content  # left as it was


def test_a_bad_line_inside_the_journal_stops_and_loses_no_later_commit(tmp_path: Path) -> None:
    path = tmp_path / "store.json"
    ids = committed_store(path, 4)  # a snapshot of 1 case, 3 commits in the journal
    journal = tmp_path / "store.json.journal"
    lines = journal.read_bytes().splitlines(keepends=True)
    assert len(lines) == 6  # each commit: its case and the case numbering
    lines[1] = b'{"t":"cases","k":\x00\x00\x00 garbage\n'  # damage in the middle
    journal.write_bytes(b"".join(lines))
    damaged = journal.read_bytes()
    with pytest.raises(StoreDamaged) as refused:
        Store(path)
    assert refused.value.exit_code == 78
    [line] = str(refused.value).splitlines()
    assert line.startswith(f"{journal}:2:") and "feedbackd store repair" in line
    assert journal.read_bytes() == damaged  # kept as it is: nothing truncated behind it
    with pytest.raises(StoreDamaged):  # a dry run too
        Store.preview(path)
    assert len(ids) == 4  # `feedbackd store repair` keeps them (tests/unit/cli/test_store_cmd.py)


def test_only_the_torn_tail_is_cut_and_only_when_it_is_the_tail(tmp_path: Path) -> None:
    path = tmp_path / "store.json"
    committed_store(path, 3)
    journal = tmp_path / "store.json.journal"
    with open(journal, "ab") as f:
        f.write(b'{"t":"cases","k":"FB-2026-00')  # the last append, torn by a crash
    s = Store(path)
    assert len(s.cases()) == 3
    s.put_case(a_case(s, "<m9@x>"))
    s.commit()
    assert len(Store(path).cases()) == 4
    assert all(json.loads(line) for line in journal.read_bytes().splitlines())


# -- the disk fills up during a commit (issue #14 item 11) ------------------------------------


def test_a_commit_on_a_full_disk_keeps_nothing_half_and_recovers_when_space_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "store.json"
    committed_store(path, 2)
    journal = tmp_path / "store.json.journal"
    before = journal.read_bytes()
    s = Store(path)
    s.put_case(a_case(s, "<full@x>"))
    s.put_ledger(LedgerEntry(7, 1, "<full@x>", "case", "F", False, "FB-2026-000003"))

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(StoreWriteError) as refused:
        s.commit()
    assert refused.value.exit_code == 75 and isinstance(refused.value, OSError)
    assert "make room" in str(refused.value) and str(tmp_path) in str(refused.value)
    assert journal.read_bytes() == before  # no half commit for the next one to append behind
    # In memory the store is again what is on disk: nothing unstored can be sent or filed.
    assert len(s.cases()) == 2 and s.ledger(7, 1) is None and not s.pending
    monkeypatch.undo()  # space returns: the same mail is taken again and commits
    s.put_case(a_case(s, "<full@x>"))
    s.put_ledger(LedgerEntry(7, 1, "<full@x>", "case", "F", False, "FB-2026-000003"))
    s.commit()
    again = Store(path)
    assert [c.id for c in again.cases()][-1] == "FB-2026-000003" and again.ledger(7, 1)


def test_a_first_commit_on_a_full_disk_leaves_no_store_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "store.json"
    s = Store(path)
    s.put_case(a_case(s))

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(StoreWriteError):
        s.commit()
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    monkeypatch.undo()
    s.put_case(a_case(s))
    s.commit()
    assert [c.id for c in Store(path).cases()] == ["FB-2026-000001"]


# -- the store's path (issue #14 item 10) -----------------------------------------------------


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_a_store_path_linking_to_someone_elses_file_is_refused(tmp_path: Path) -> None:
    theirs = tmp_path / "theirs.json"
    committed_store(theirs, 1)
    os.chown(theirs, 4242, 4242)
    link = tmp_path / "store.json"
    link.symlink_to(theirs)
    with pytest.raises(StoreDamaged, match="owned by uid 4242"):
        Store(link)


def test_a_store_path_linking_to_nothing_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "store.json"
    link.symlink_to(tmp_path / "gone.json")
    with pytest.raises(StoreDamaged, match="does not exist"):
        Store(link)


def test_an_own_symlinked_store_is_rewritten_where_it_lies(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    real = tmp_path / "real" / "store.json"
    committed_store(real, 1)
    link = tmp_path / "store.json"
    link.symlink_to(real)
    s = Store(link)
    s.put_case(a_case(s, "<m2@x>"))
    s.commit()
    s.snapshot()
    assert link.is_symlink() and len(json.loads(real.read_text())["cases"]) == 2
    assert [p.name for p in real.parent.iterdir()] == ["store.json"]  # no temp file left
    assert (tmp_path / "store.json.journal").exists()  # the sidecars stay beside the path
