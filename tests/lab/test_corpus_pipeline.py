"""Issue #5: the whole pipeline over 1,357 real-world messages on the lab.

Every corpus message is appended to a fresh feedback mailbox and one cycle runs over all of
them: no crash; every message ends as a case (or joins one as a duplicate), is filed as
automatic mail with no case (bounces not of ours, lists, auto-replies, reports), or is
quarantined with its reason; nothing stays in INBOX; no bounce, list or auto-reply is
acknowledged or opens a case.
"""

from __future__ import annotations

import csv
import json

import pytest
from corpus_manifest import PERSONS, is_automatic
from support import CORPUS, Desk

from daemon.adapters.storage.store import Store

pytestmark = pytest.mark.corpus


def manifest() -> list[dict[str, str]]:
    path = CORPUS / "eml" / "MANIFEST.csv"
    if not path.exists():
        pytest.skip(f"corpus not found at {CORPUS} (set FEEDBACKD_CORPUS)")
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_every_corpus_message_becomes_a_case_or_a_quarantined_item(desk: Desk) -> None:
    rows = manifest()
    appended: dict[int, dict[str, str]] = {}
    with desk.lab.mailbox(desk.address) as mb:
        for row in rows:
            raw = (CORPUS / "eml" / row["path"]).read_bytes()
            before = mb.folder.status("INBOX", ["UIDNEXT"])["UIDNEXT"]
            try:
                mb.append(raw, "INBOX")
            except Exception:  # the server refused it (e.g. NUL bytes): nothing to test
                continue
            appended[int(before)] = row
    assert len(appended) > 1300

    run = desk.feedbackd("once", timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Traceback" not in run.stderr

    store = Store(desk.db)
    # One mailbox, one UIDVALIDITY: looked up once (per message, it read the whole ledger
    # 1,300 times over: 10 s of the test).
    [uidvalidity] = {e.uidvalidity for e in store.ledger_entries()}
    outcomes: dict[str, int] = {}
    for uid, row in appended.items():
        entry = store.ledger(uidvalidity, uid)
        assert entry is not None, f"{row['path']} was never recorded"
        outcomes[entry.outcome] = outcomes.get(entry.outcome, 0) + 1
        if entry.outcome == "quarantined":
            assert entry.reason, row["path"]
            continue
        assert entry.outcome in ("case", "joined", "duplicate", "bounce", "automatic"), (
            row["path"],
            entry.outcome,
        )
        robot = is_automatic(frozenset(row["tags"].split())) and row["path"] not in PERSONS
        assert not (robot and entry.outcome == "case"), f"a robot opened a case: {row['path']}"
        if entry.outcome == "automatic":
            assert entry.case_id is None and entry.folder == "Feedback/Automatic", row["path"]
            continue
        if entry.outcome == "duplicate" and entry.case_id is None:
            continue  # the same automatic mail again: no case either
        case = store.case(entry.case_id or "")
        assert case is not None, row["path"]
        acked = any(e.what == "ack_sent" for e in case.events)
        if (
            entry.outcome == "case"
            and is_automatic(frozenset(row["tags"].split()))
            and row["path"] not in PERSONS
        ):
            assert not acked, f"acknowledged automatic mail {row['path']}"
    print("outcomes:", json.dumps(outcomes))
    assert desk.folders()["INBOX"] == 0
    assert outcomes.get("quarantined", 0) <= 5

    status = desk.feedbackd("status", "--format", "json")
    health = json.loads(status.stdout)
    assert health["quarantined"] == outcomes.get("quarantined", 0)

    if outcomes.get("quarantined"):
        again = desk.feedbackd("reprocess")
        assert again.returncode == 0, again.stderr
        assert again.stdout.startswith(f"{outcomes['quarantined']} message")
        assert desk.feedbackd("once").returncode == 0
        folders = desk.folders()
        assert folders["INBOX"] == 0
        assert folders["Quarantine"] == outcomes["quarantined"]  # still broken, still kept
