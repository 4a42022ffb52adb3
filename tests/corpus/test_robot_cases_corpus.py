"""Robots open no case: the real-world corpus's automatic mail through intake, on the twins.

Every message of the corpus that its MANIFEST tags automatic (bounces, delivery reports, lists,
bulk, auto-replies; not the hand-forwarded bounces in PERSONS) is taken in by the daemon's own
intake: none may open a case, queue a mail or be counted as a complaint. They used to: a bounce
of someone else's mail was "a new message" like any other, and its words ("failed", "error",
"could not be delivered") made it a complaint with an owner notice.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime

import pytest
from corpus_manifest import PERSONS, is_automatic
from support import CORPUS, REPO

from daemon.adapters.config import load_rulebook, load_templates
from daemon.adapters.mail.imap import Fetched
from daemon.adapters.storage.store import Store
from daemon.core.triage import AUTOMATIC_FOLDER
from daemon.service.intake import Desk, intake

pytestmark = pytest.mark.corpus

FB = "feedback@company.example"
NOW = datetime(2025, 1, 1, tzinfo=UTC)
#: Bounces whose From holds no address, only a mail system's name (`MAILER-DAEMON <>`): they
#: were taken for a person without a sender and opened complaint cases with owner notices.
NAMELESS_BOUNCES = (
    "flufl.bounce/simple_35.txt",
    "sisimai-set-of-emails/bsd/lhost-dragonfly-01.eml",
    "sisimai-set-of-emails/bsd/lhost-dragonfly-29.eml",
)


def automatic_rows() -> list[dict[str, str]]:
    path = CORPUS / "eml" / "MANIFEST.csv"
    if not path.exists():
        pytest.skip(f"corpus not found at {CORPUS} (set FEEDBACKD_CORPUS)")
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [
        r for r in rows if is_automatic(frozenset(r["tags"].split())) and r["path"] not in PERSONS
    ]


def test_no_automatic_corpus_message_opens_a_case_or_sends_anything() -> None:
    rows = automatic_rows()
    assert len(rows) > 800
    book, templates = load_rulebook(REPO / "rules.yaml"), load_templates(REPO / "templates")
    desk = Desk(Store(None), book, templates, FB)
    outcomes: dict[str, str] = {}
    for uid, row in enumerate(rows, 1):
        raw = (CORPUS / "eml" / row["path"]).read_bytes()
        plan = intake(desk, 1, Fetched(uid, raw, len(raw), NOW), NOW)
        outcomes[row["path"]] = plan.outcome.value
        assert plan.outcome.value in ("automatic", "duplicate", "quarantined"), (
            row["path"],
            plan.outcome,
            plan.reason,
        )
    assert desk.store.cases() == []
    assert desk.store.outbox() == []
    assert sum(v == "automatic" for v in outcomes.values()) > 700  # the rest: duplicates
    meta = {d["key"]: d["value"] for d in desk.store.docs("meta")}
    counted = sum(v for k, v in meta.items() if k.startswith("automatic:"))
    assert counted == sum(v == "automatic" for v in outcomes.values())
    for path in NAMELESS_BOUNCES:
        assert outcomes[path] == "automatic", path
    filed = {e.folder for e in desk.store.ledger_entries() if e.outcome == "automatic"}
    assert filed == {AUTOMATIC_FOLDER}
