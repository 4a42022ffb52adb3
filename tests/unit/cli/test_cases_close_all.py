"""`feedbackd cases close --all --before DATE [--category C]`: many cases, one commit, an event
each, through the same request the daemon applies; and the usage it refuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support import REPO

from daemon import cli
from daemon.adapters.storage.store import Store
from daemon.core.cases import open_case

DAY = datetime(2026, 2, 10, 10, 0, tzinfo=UTC)


def put(store: Store, received: datetime, category: str) -> str:
    case = open_case(
        store.next_case_id(received.year),
        category=category,
        owner="support",
        received=received,
        due=received + timedelta(days=2),
        sender="a@x.test",
        sender_name="A",
        subject="s",
        message_id=f"<{received.isoformat()}{category}>",
        language="en",
        rule="r",
    )
    store.put_case(case)
    return case.id


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "store.json"
    monkeypatch.setenv("FEEDBACKD_DB", str(path))
    monkeypatch.setenv("FEEDBACKD_RULES", str(REPO / "rules.yaml"))
    return path


def test_close_all_before_a_day_of_a_category(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = Store(db)
    old = [put(store, DAY - timedelta(days=d), "complaint") for d in (1, 5, 9)]
    other = put(store, DAY - timedelta(days=3), "thanks")
    new = put(store, DAY + timedelta(days=1), "complaint")
    store.commit()
    argv = ["cases", "close", "--all", "--before", "2026-02-10", "--category", "complaint"]
    assert cli.main([*argv, "--by", "ann"]) == 0
    assert "closed 3 case(s) of category complaint" in capsys.readouterr().out
    after = Store(db)
    for cid in old:
        case = after.case(cid)
        assert case is not None and case.status == "closed"
        assert (case.events[-1].what, case.events[-1].who) == ("closed", "cli:ann")
    assert [after.case(c).status for c in (other, new)] == ["open", "open"]  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "argv",
    [
        ["cases", "close", "--all"],
        ["cases", "close", "FB-2026-000001", "--all", "--before", "2026-02-10"],
        ["cases", "close"],
        ["cases", "close", "FB-2026-000001", "--before", "2026-02-10"],
    ],
)
def test_close_says_what_to_give(
    db: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    Store(db).commit()
    assert cli.main(argv) == 2
    assert "--before YYYY-MM-DD" in capsys.readouterr().err
