"""The store's indexes answer what a scan of its documents answers, whatever happened before:
writes, removals, a reopen (snapshot + journal), a failed commit."""

from __future__ import annotations

import errno
import json
import os
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from daemon.adapters.storage.store import Store, StoreWriteError
from daemon.core.cases import CLOSED, OPEN, CaseStatus, apply, open_case
from daemon.core.records import PENDING, LedgerEntry, OutState, outmail

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
STATES = (OutState.QUEUED, OutState.SENDING, OutState.SENT, OutState.FAILED)


@pytest.fixture(params=["file", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    return Store(tmp_path / "store.json" if request.param == "file" else None)


def scanned(store: Store) -> dict[str, object]:
    """The answers, read from the raw documents (no index), in document order."""
    ledger, outbox, cases = store.docs("ledger"), store.docs("outbox"), store.docs("cases")
    out: dict[str, object] = {}
    for uv in (1, 2):
        out[f"uids {uv}"] = {d["uid"] for d in ledger if d["uidvalidity"] == uv}
        out[f"unfiled {uv}"] = [
            d["uid"] for d in ledger if d["uidvalidity"] == uv and not d["filed"]
        ]
    for states in ((OutState.QUEUED,), PENDING, (OutState.SENT, OutState.FAILED), STATES):
        out[f"outbox {states}"] = [d["id"] for d in outbox if d["state"] in states]
    for statuses in ((OPEN,), (CLOSED,), (OPEN, CLOSED)):
        out[f"cases {statuses}"] = [d["id"] for d in cases if d["status"] in statuses]
    return out


def indexed(store: Store) -> dict[str, object]:
    """The same answers, through the store's public reads (the indexes)."""
    out: dict[str, object] = {}
    for uv in (1, 2):
        out[f"uids {uv}"] = store.known_uids(uv)
        out[f"unfiled {uv}"] = [e.uid for e in store.unfiled(uv)]
    for states in ((OutState.QUEUED,), PENDING, (OutState.SENT, OutState.FAILED), STATES):
        out[f"outbox {states}"] = [m.id for m in store.outbox(*states)]
    for statuses in ((OPEN,), (CLOSED,), (OPEN, CLOSED)):
        out[f"cases {statuses}"] = [c.id for c in store.cases(*statuses)]
    return out


def as_sets(answers: dict[str, object]) -> dict[str, set[object]]:
    return {k: set(v) for k, v in answers.items()}  # type: ignore[call-overload]


def a_case(store: Store, n: int):  # type: ignore[no-untyped-def]
    return open_case(
        store.next_case_id(NOW.year),
        category="complaint",
        owner="support",
        received=NOW,
        due=NOW + timedelta(days=1),
        sender=f"c{n}@x.test",
        sender_name="C",
        subject="s",
        message_id=f"<c{n}@x>",
        language="en",
        rule="r",
    )


def churn(store: Store, rng: random.Random, steps: int) -> None:
    """Random writes, rewrites and removals over the three indexed tables."""
    for n in range(steps):
        pick = rng.random()
        if pick < 0.3:
            uv, uid = rng.choice((1, 2)), rng.randrange(1, 40)
            store.put_ledger(
                LedgerEntry(uv, uid, f"<{uv}.{uid}@x>", "case", "F", rng.random() < 0.5)
            )
        elif pick < 0.55:
            mid = f"<m{rng.randrange(30)}@x>"
            old = store.outmail(mid)
            if old is None:
                store.put_outmail(
                    outmail(mail_id=mid, kind="ack", sender="fb@x", to=["a@x"], raw="r", now=NOW)
                )
            else:
                store.update_outmail(old, state=rng.choice(STATES))
        elif pick < 0.7:
            store.put_case(a_case(store, n))
        elif pick < 0.8 and store.cases(OPEN):
            case = rng.choice(store.cases(OPEN))
            store.update_case(case.id, lambda c: apply(c, "closed", NOW))
        else:
            table = rng.choice(("ledger", "outbox", "cases"))
            docs = store.docs(table)
            if docs:
                doc = rng.choice(docs)
                key = f"{doc['uidvalidity']}:{doc['uid']}" if table == "ledger" else doc["id"]
                store.remove(table, [key])
        if rng.random() < 0.2:
            store.commit()


def test_the_indexes_answer_as_a_scan_after_any_writes_and_removals(store: Store) -> None:
    rng = random.Random(19)
    for _ in range(20):
        churn(store, rng, 25)
        assert indexed(store) == scanned(store)


def test_a_reopened_store_rebuilds_the_same_indexes_from_snapshot_and_journal(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.json"
    s = Store(path)
    rng = random.Random(7)
    for round_ in range(6):
        churn(s, rng, 40)
        s.commit()
        if round_ == 2:
            s.snapshot()  # some changes in the snapshot, the later ones in the journal only
        before = indexed(s)
        again = Store(path)
        assert indexed(again) == scanned(again)
        # The same answers; the order of what one commit wrote is the journal's, on both sides.
        assert as_sets(indexed(again)) == as_sets(before)


def test_a_state_written_only_in_the_journal_is_what_the_outbox_index_says(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.json"
    s = Store(path)
    first = outmail(mail_id="<1@x>", kind="ack", sender="fb@x", to=["a@x"], raw="r", now=NOW)
    second = outmail(mail_id="<2@x>", kind="ack", sender="fb@x", to=["b@x"], raw="r", now=NOW)
    s.put_outmail(first)
    s.put_outmail(second)
    s.commit()  # the snapshot: both queued
    s.update_outmail(first, state=OutState.SENDING, attempted_at=NOW)
    s.update_outmail(second, state=OutState.SENT, sent_at=NOW)
    s.put_ledger(LedgerEntry(1, 5, "<5@x>", "case", "F", False))
    s.commit()  # the journal: one sending, one sent, a new unfiled message
    assert (tmp_path / "store.json.journal").stat().st_size > 0
    again = Store(path)  # a restart after a crash
    assert [(m.id, m.state) for m in again.outbox(*PENDING)] == [("<1@x>", OutState.SENDING)]
    assert [m.id for m in again.outbox(OutState.SENT)] == ["<2@x>"]
    assert again.unseen(1, [4, 5, 6]) == [4, 6]
    assert [e.uid for e in again.unfiled(1)] == [5]


def test_a_failed_commit_leaves_indexes_of_what_is_on_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "store.json"
    s = Store(path)
    s.put_ledger(LedgerEntry(1, 1, "<1@x>", "case", "F", False))
    s.commit()
    s.put_ledger(LedgerEntry(1, 2, "<2@x>", "case", "F", False))
    s.put_ledger(LedgerEntry(1, 1, "<1@x>", "case", "F", True))
    s.put_outmail(outmail(mail_id="<o@x>", kind="ack", sender="fb@x", to=["a@x"], raw="r", now=NOW))
    assert s.known_uids(1) == {1, 2} and s.unfiled(1)[0].uid == 2

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(StoreWriteError):
        s.commit()
    # Nothing of the refused batch is known: its messages are taken again, its mail not sent.
    assert s.known_uids(1) == {1} and s.unseen(1, [1, 2]) == [2]
    assert [e.uid for e in s.unfiled(1)] == [1] and s.outbox(*PENDING) == []
    assert indexed(s) == scanned(s)


def test_unseen_keeps_the_mailbox_order_and_counts_uidvalidity(store: Store) -> None:
    store.put_ledger(LedgerEntry(1, 3, "<3@x>", "case", "F", True))
    store.put_ledger(LedgerEntry(2, 4, "<4@x>", "case", "F", True))
    assert store.unseen(1, [5, 3, 4, 1]) == [5, 4, 1]
    assert store.unseen(2, [5, 3, 4, 1]) == [5, 3, 1]
    assert store.unseen(3, [2, 1]) == [2, 1]


def test_a_case_reopened_moves_between_status_answers(store: Store) -> None:
    case = a_case(store, 1)
    store.put_case(case)
    store.update_case(case.id, lambda c: apply(c, "closed", NOW))
    assert store.cases(OPEN) == [] and [c.id for c in store.cases(CLOSED)] == [case.id]
    store.update_case(case.id, lambda c: apply(c, "reopened", NOW))
    assert [c.status for c in store.cases(OPEN)] == [CaseStatus.OPEN]
    store.remove("cases", [case.id])
    assert store.cases(OPEN) == [] and store.cases(CLOSED) == []


def test_the_streamed_snapshot_is_the_file_tinydb_wrote_and_reads(tmp_path: Path) -> None:
    """Folding writes document by document; the file is what one json.dumps of TinyDB's
    tables gave (empty tables left out), and TinyDB itself reads it back."""
    from tinydb import TinyDB

    from daemon.adapters.storage.store_disk import CHUNK

    path = tmp_path / "store.json"
    s = Store(path)
    for uid in range(1, 1000):  # several chunks of text, Cyrillic included
        s.put_ledger(LedgerEntry(1, uid, f"<{uid}@x>", "case", "Обратная связь/" + "ж" * 200, True))
    s.put_outmail(
        outmail(mail_id="<o@x>", kind="ack", sender="fb@x", to=["a@x"], raw="Тема", now=NOW)
    )
    s.commit()
    s.snapshot()
    text = path.read_text(encoding="utf-8")
    assert len(text) > 3 * CHUNK
    tables = {
        "ledger": {str(i): d for i, d in enumerate(s.docs("ledger"), 1)},
        "outbox": {"1": s.docs("outbox")[0]},
        "meta": {str(i): d for i, d in enumerate(s.docs("meta"), 1)},
    }
    tables = {k: v for k, v in tables.items() if v}  # "cases" is empty: not written
    assert text == json.dumps(tables, ensure_ascii=False, separators=(",", ":"))
    plain = TinyDB(str(path))
    assert len(plain.table("ledger")) == 999 and plain.table("outbox").all()[0]["raw"] == "Тема"
    plain.close()
    assert indexed(Store(path)) == indexed(s)
