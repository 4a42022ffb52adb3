"""Retention: old records leave the live store for the archive; reports still count them;
purge removes personal data and keeps the numbers."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from support import REPO

from daemon.adapters.archive import Retention, all_cases, archive, archived_cases, purge
from daemon.adapters.store import Store
from daemon.core import cases as lifecycle
from daemon.core.records import LedgerEntry, OutMail
from daemon.core.report.figures import build_report

T0 = datetime(2026, 1, 10, 10, 0, tzinfo=UTC)


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
    assert purge(db, date(2026, 1, 1)) == 0


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
        assert purge(db, date(2026, 1, 1)) == 1
    finally:
        os.umask(old)
    assert stat.S_IMODE(cases_file.stat().st_mode) == 0o600
    assert sorted(p.name for p in cases_file.parent.iterdir()) == [
        ".lock",
        "cases-2026.jsonl",
        "ledger-2026.jsonl",
        "outbox-2026.jsonl",
    ]
