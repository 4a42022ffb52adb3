"""Retention: old records leave the live store for the archive; reports still count them;
purge removes personal data and keeps the numbers."""

from __future__ import annotations

import errno
import json
import os
import stat
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from support import REPO

from daemon.adapters.storage.archive import (
    Retention,
    all_cases,
    archive,
    archived_cases,
    purge,
    sent_mail,
    shed_sent_text,
)
from daemon.adapters.storage.files import StorePaths
from daemon.adapters.storage.store import Store
from daemon.core import cases as lifecycle
from daemon.core.records import LedgerEntry, OutMail
from daemon.core.report.figures import build_report

T0 = datetime(2026, 1, 10, 10, 0, tzinfo=UTC)
MSK = timezone(timedelta(hours=3))


def fill(store: Store) -> None:
    for i, (closed, age) in enumerate([(True, 200), (True, 10), (False, 200)]):
        received = T0 - timedelta(days=age)
        case = lifecycle.open_case(
            store.next_case_id(2026),
            category="complaint",
            owner="support",
            received=received,
            due=received + timedelta(days=2),
            sender=f"c{i}@x.test",
            sender_name=f"Client {i}",
            subject=f"broken {i}",
            message_id=f"<m{i}@x>",
            language="en",
            rule="complaint",
        )
        if closed:
            case = lifecycle.apply(case, "closed", received + timedelta(days=1))
        store.put_case(case)
        store.put_ledger(LedgerEntry(1, i, f"<m{i}@x>", "case", "F", True, case.id, at=received))
        store.put_outmail(
            OutMail(
                f"<ack{i}@x>",
                case.id,
                "ack",
                "fb@x",
                (f"c{i}@x.test",),
                "r",
                state="sent",
                created=received,
                sent_at=received,
            )
        )
    store.commit()


def test_archive_moves_only_what_is_old_and_reports_still_see_it(tmp_path: Path) -> None:
    db = tmp_path / "store.json"
    store = Store(db)
    fill(store)
    before = sorted(c.id for c in store.cases())
    moved = archive(
        store, db, T0, Retention(timedelta(days=90), timedelta(days=30), timedelta(days=30))
    )
    assert moved == 1 + 2 + 2  # one old closed case; two old sent mails and ledger entries
    live = Store(db)
    assert sorted(c.id for c in live.cases()) == ["FB-2026-000002", "FB-2026-000003"]
    assert [c.id for c in archived_cases(db)] == ["FB-2026-000001"]
    assert sorted(c.id for c in all_cases(live, db)) == before
    assert live.ledger(1, 0) is None and live.outmail("<ack0@x>") is None
    assert live.case_for_message_id("<m0@x>") is None
    assert archive(live, db, T0) == 0  # nothing twice


def closed_case(store: Store, received: datetime, closed: datetime) -> lifecycle.Case:
    case = lifecycle.open_case(
        store.next_case_id(2026),
        category="complaint",
        owner="support",
        received=received,
        due=received + timedelta(days=2),
        sender="c@x.test",
        sender_name="Client",
        subject="broken",
        message_id=f"<{received.isoformat()}@x>",
        language="en",
        rule="complaint",
    )
    case = lifecycle.apply(case, "closed", closed)
    store.put_case(case)
    return case


#: The cut-off of the tests below: 22:30Z, i.e. 01:30 the next day in +03:00.
CUT = datetime(2026, 1, 9, 22, 30, tzinfo=UTC)
#: One moment before the cut-off and one after, each written in the offset that makes its text
#: sort the other way from its instant against a cut-off written in the other offset.
BEFORE_MSK = datetime(2026, 1, 10, 1, 0, tzinfo=MSK)  # 22:00Z: before, text "2026-01-10T01"
AFTER_UTC = datetime(2026, 1, 9, 23, 0, tzinfo=UTC)  # 01:00+03:00 on the 10th: after


@pytest.mark.parametrize("now_zone", [UTC, MSK], ids=["now-utc", "now-msk"])
def test_archive_compares_instants_across_utc_offsets(tmp_path: Path, now_zone: timezone) -> None:
    """A case closed at 01:00+03:00 closed at 22:00Z the day before: as text, against a cut-off
    written in UTC, it looked newer than it is (and one closed at 23:00Z older, against a
    cut-off in +03:00). The same for sent mail and filed ledger entries."""
    db = tmp_path / "store.json"
    store = Store(db)
    keep = Retention(timedelta(days=90), timedelta(days=30), timedelta(days=30))
    old = closed_case(store, BEFORE_MSK - timedelta(days=100), BEFORE_MSK - keep.closed_cases)
    closed_case(store, AFTER_UTC - timedelta(days=100), AFTER_UTC - keep.closed_cases)
    for i, at in enumerate((BEFORE_MSK - keep.sent_mail, AFTER_UTC - keep.sent_mail)):
        store.put_outmail(
            OutMail(f"<ack{i}@x>", None, "ack", "fb@x", ("c@x.test",), "r", "sent", sent_at=at)
        )
    for i, at in enumerate((BEFORE_MSK - keep.ledger, AFTER_UTC - keep.ledger)):
        store.put_ledger(LedgerEntry(1, i, f"<m{i}@x>", "case", "F", True, at=at))
    store.commit()

    assert archive(store, db, CUT.astimezone(now_zone), keep) == 3
    assert [c.id for c in archived_cases(db)] == [old.id]
    assert [m.id for m in store.outbox()] == ["<ack1@x>"]
    assert [e.uid for e in store.ledger_entries()] == [1]


def test_archive_keeps_what_is_exactly_at_the_cut_off(tmp_path: Path) -> None:
    """Older than the retention period means before the cut-off, the same instant in any offset."""
    db = tmp_path / "store.json"
    store = Store(db)
    closed_case(store, CUT - timedelta(days=100), (CUT - timedelta(days=90)).astimezone(MSK))
    store.commit()
    assert archive(store, db, CUT) == 0
    assert archive(store, db, CUT + timedelta(seconds=1)) == 1


def archived_received(db: Path, *received: datetime) -> None:
    store = Store(db)
    for at in received:
        closed_case(store, at, at + timedelta(hours=1))
    store.commit()
    archive(store, db, T0 + timedelta(days=365))


def test_purge_date_is_a_day_in_the_rules_timezone(tmp_path: Path) -> None:
    """`--before 2026-01-01` purges the cases a report puts before that day, whatever offset
    their stamps were written in: the day is the rules' timezone's (Moscow here)."""
    db = tmp_path / "store.json"
    archived_received(
        db,
        datetime(2025, 12, 31, 20, 59, 59, tzinfo=UTC),  # 23:59:59 in Moscow: Dec 31
        datetime(2025, 12, 31, 21, 0, tzinfo=UTC),  # 00:00 in Moscow: Jan 1 (text said Dec 31)
        datetime(2026, 1, 1, 0, 30, tzinfo=MSK),  # Jan 1 as written (and 21:30Z on Dec 31)
        datetime(2025, 12, 31, 23, 0, tzinfo=MSK),  # Dec 31 as written and in Moscow
    )
    assert purge(db, date(2026, 1, 1), "Europe/Moscow") == 2
    purged = {c.received: c.sender == "(purged)" for c in archived_cases(db)}
    assert [purged[t] for t in sorted(purged)] == [True, True, False, False]


def test_purge_date_in_utc_is_the_utc_day(tmp_path: Path) -> None:
    db = tmp_path / "store.json"
    archived_received(
        db,
        datetime(2026, 1, 1, 0, 30, tzinfo=MSK),  # 21:30Z on Dec 31
        datetime(2026, 1, 1, 0, 0, tzinfo=UTC),
    )
    assert purge(db, date(2026, 1, 1), UTC) == 1
    [first, second] = sorted(archived_cases(db), key=lambda c: c.received)
    assert (first.sender, second.sender) == ("(purged)", "c@x.test")


def test_purge_command_counts_days_in_the_rules_timezone(tmp_path: Path) -> None:
    """rules.yaml says Europe/Moscow: 21:30Z on Dec 31 is Jan 1 there, and is kept."""
    db = tmp_path / "store.json"
    archived_received(db, datetime(2025, 12, 31, 21, 30, tzinfo=UTC))
    out = subprocess.run(
        [sys.executable, "-m", "daemon", "purge", "--before", "2026-01-01"],
        env={"FEEDBACKD_DB": str(db), "PATH": "/usr/bin:/bin"},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("0 archived case")
    [case] = archived_cases(db)
    assert case.sender == "c@x.test"


def test_purge_blanks_personal_data_and_keeps_counts(tmp_path: Path) -> None:
    db = tmp_path / "store.json"
    store = Store(db)
    fill(store)
    archive(store, db, T0)
    start, end = date(2025, 1, 1), date(2026, 12, 31)
    counted = build_report(all_cases(Store(db), db), start, end, T0, "Europe/Moscow").total
    out = subprocess.run(
        [sys.executable, "-m", "daemon", "purge", "--before", "2026-01-01"],
        env={"FEEDBACKD_DB": str(db), "PATH": "/usr/bin:/bin"},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("1 archived case")
    [case] = archived_cases(db)
    assert (case.sender, case.sender_name, case.subject) == ("(purged)",) * 3
    assert "c0@x.test" not in (db.parent / "store.json.archive" / "cases-2026.jsonl").read_text()
    assert build_report(all_cases(Store(db), db), start, end, T0, "Europe/Moscow").total == counted
    assert purge(db, date(2026, 1, 1), "Europe/Moscow") == 0


def test_purge_rewrites_the_archive_owner_only_and_leaves_no_temp(tmp_path: Path) -> None:
    """The purged file still holds personal data of later cases: never world-readable."""
    db = tmp_path / "store.json"
    store = Store(db)
    fill(store)
    archive(store, db, T0)
    cases_file = db.parent / "store.json.archive" / "cases-2026.jsonl"
    cases_file.chmod(0o644)  # as an older version, or a copy restored by hand, may have left it
    old = os.umask(0o022)
    try:
        assert purge(db, date(2026, 1, 1), "Europe/Moscow") == 1
    finally:
        os.umask(old)
    assert stat.S_IMODE(cases_file.stat().st_mode) == 0o600
    assert sorted(p.name for p in cases_file.parent.iterdir()) == [
        ".lock",
        "cases-2026.jsonl",
        "ledger-2026.jsonl",
        "outbox-2026.jsonl",
    ]


def test_an_archived_case_takes_no_words_with_it_and_leaves_none_behind(tmp_path: Path) -> None:
    """The words kept for a lesson are dropped with the case: `purge` could not blank them."""
    db = tmp_path / "store.json"
    store = Store(db)
    old = closed_case(store, CUT - timedelta(days=100), CUT - timedelta(days=95))
    live = closed_case(store, CUT - timedelta(days=2), CUT - timedelta(days=1))
    for case in (old, live):
        store.set_meta(f"words:{case.id}", {"words": ["сломан"]})
    store.commit()
    assert archive(store, db, CUT) == 1
    assert store.meta(f"words:{old.id}") is None
    assert store.meta(f"words:{live.id}") == {"words": ["сломан"]}
    assert "сломан" not in "".join(
        p.read_text(encoding="utf-8") for p in (tmp_path / "store.json.archive").iterdir()
    )


def archived_mail(db: Path) -> list[dict[str, object]]:
    return [
        json.loads(line)
        for path in sorted(StorePaths(db).archive.glob("outbox-*.jsonl"))
        for line in path.read_text().splitlines()
    ]


def test_sent_mail_text_moves_to_the_archive_once_and_the_mail_is_archived_once(
    tmp_path: Path,
) -> None:
    db = tmp_path / "store.json"
    store = Store(db)
    fill(store)
    queued = OutMail("<q@x>", None, "ack", "fb@x", ("q@x.test",), "still owed", created=T0)
    store.put_outmail(queued)
    store.commit()
    assert shed_sent_text(store, db, T0) == 3
    assert [(d["id"], d["raw"]) for d in archived_mail(db)] == [
        ("<ack0@x>", "r"),
        ("<ack1@x>", "r"),
        ("<ack2@x>", "r"),
    ]
    again = Store(db)  # durable: the live store keeps the sent mail without its text
    assert {m.id: m.raw for m in again.outbox()} == {
        "<ack0@x>": "",
        "<ack1@x>": "",
        "<ack2@x>": "",
        "<q@x>": "still owed",
    }
    assert again.sent_with_text() == [] and shed_sent_text(again, db, T0) == 0
    # A reader of an old mail's text (an explanation request attaching the complaint) still
    # finds it, in the archive; the mail still owed is read from the live store.
    found = sent_mail(again, db, "<ack1@x>")
    assert found is not None and found.raw == "r"
    assert sent_mail(again, db, "<q@x>") == queued
    assert sent_mail(again, db, "<nowhere@x>") is None
    # Later the mail itself is archived: its whole line is there already, no second one.
    assert archive(again, db, T0 + timedelta(days=365), Retention()) > 0
    assert [m.id for m in again.outbox()] == ["<q@x>"]
    assert sorted(d["id"] for d in archived_mail(db)) == ["<ack0@x>", "<ack1@x>", "<ack2@x>"]


def test_a_preview_sheds_nothing(tmp_path: Path) -> None:
    db = tmp_path / "store.json"
    store = Store(db)
    fill(store)
    preview = Store.preview(db)
    assert shed_sent_text(preview, db, T0) == 0
    assert not StorePaths(db).archive.exists() and Store(db).sent_with_text()


def test_an_archive_that_cannot_be_written_keeps_the_text_live_for_the_next_try(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "store.json"
    store = Store(db)
    fill(store)

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(os, "fsync", full)
        assert shed_sent_text(store, db, T0) == 0
    assert [m.raw for m in Store(db).outbox()] == ["r", "r", "r"]
    assert shed_sent_text(store, db, T0) == 3  # space again: the text moves
    assert [m.raw for m in Store(db).outbox()] == ["", "", ""]
