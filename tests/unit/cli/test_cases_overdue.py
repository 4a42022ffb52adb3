"""`feedbackd cases list --overdue` lists a case by the instant it fell due, not by its text.

The command reads the real clock (UTC), so the cases are placed around it: one fell due 1.5 h
ago but was written in +03:00 (its text reads 1.5 h *ahead* of the clock's, and the old string
comparison left it out), one falls due in 1.5 h written in -05:00 (its text reads 3.5 h behind,
and the old comparison listed it).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from daemon import cli
from daemon.adapters.storage.store import Store
from daemon.core.cases import apply, open_case

MSK = timezone(timedelta(hours=3))
NEW_YORK = timezone(timedelta(hours=-5))


def put_case(store: Store, due: datetime, sender: str) -> str:
    case = open_case(
        store.next_case_id(due.year),
        category="complaint",
        owner="support",
        received=due - timedelta(days=2),
        due=due,
        sender=sender,
        sender_name="A",
        subject="s",
        message_id=f"<{sender}>",
        language="en",
        rule="r",
    )
    store.put_case(case)
    return case.id


def test_overdue_listing_compares_instants(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "store.json"
    store = Store(db)
    now = datetime.now(UTC)
    overdue = put_case(store, (now - timedelta(hours=1.5)).astimezone(MSK), "late@x.test")
    put_case(store, (now + timedelta(hours=1.5)).astimezone(NEW_YORK), "ahead@x.test")
    answered = put_case(store, (now - timedelta(days=1)).astimezone(MSK), "done@x.test")
    store.update_case(answered, lambda c: apply(c, "answered", now - timedelta(days=2)))
    store.close()
    monkeypatch.setenv("FEEDBACKD_DB", str(db))
    monkeypatch.setenv("COLUMNS", "160")
    monkeypatch.delenv("FEEDBACKD_RULES", raising=False)

    assert cli.main(["cases", "list", "--overdue"]) == 0
    rows = capsys.readouterr().out.splitlines()[1:]
    assert [row.split()[0] for row in rows] == [overdue]
    due_text = f"{(now - timedelta(hours=1.5)).astimezone(MSK):%Y-%m-%d %H:%M}"  # Moscow rules
    assert " ".join(rows[0].split()[4:6]) == due_text and rows[0].split()[6] == "late@x.test"

    assert cli.main(["cases", "list"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 4  # the header and every case
