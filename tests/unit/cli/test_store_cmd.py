"""`feedbackd store check|repair`, and what every command says of a damaged store (issue #14
items 8 and 9): one line naming the file and what to do, exit 78, no traceback; repair keeps
every readable record, keeps the damaged journal and writes a report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support import REPO

from daemon import cli
from daemon.adapters.storage.files import StoreLock
from daemon.adapters.storage.store import Store
from daemon.core.cases import open_case

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "store.json"
    monkeypatch.setenv("FEEDBACKD_DB", str(path))
    monkeypatch.setenv("FEEDBACKD_RULES", str(REPO / "rules.yaml"))
    return path


def four_cases(db: Path) -> Path:
    """A store of four cases, one commit each: a snapshot and three commits in the journal."""
    store = Store(db)
    store.set_meta("command_secret", "s3cret")
    for i in range(4):
        received = NOW + timedelta(hours=i)
        store.put_case(
            open_case(
                store.next_case_id(2026),
                category="complaint",
                owner="support",
                received=received,
                due=received + timedelta(days=2),
                sender=f"c{i}@x.test",
                sender_name="C",
                subject="s",
                message_id=f"<m{i}@x>",
                language="en",
                rule="r",
            )
        )
        store.commit()
    return Path(f"{db}.journal")


def damage_line(journal: Path, index: int) -> None:
    lines = journal.read_bytes().splitlines(keepends=True)
    lines[index] = lines[index][: len(lines[index]) // 2] + b"\n"  # cut short, a newline after
    journal.write_bytes(b"".join(lines))


def err_lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return capsys.readouterr().err.splitlines()


@pytest.mark.parametrize("content", [b"", b'{"cases":{"1":{"id":"FB-2026-0', b"\x00" * 64])
def test_a_command_on_an_empty_truncated_or_binary_store_says_so_in_one_line(
    db: Path, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    db.write_bytes(content)
    assert cli.main(["status"]) == 78
    [line] = err_lines(capsys)
    assert line.startswith(f"feedbackd: {db}: the store is ")
    assert "restore it from a backup" in line
    assert db.read_bytes() == content


def test_check_of_a_sound_store_exits_0(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    four_cases(db)
    assert cli.main(["store", "check"]) == 0
    out = capsys.readouterr().out
    assert "a snapshot of 1 cases" in out and "6 readable record(s) in 6 line(s)" in out


def test_a_bad_middle_line_stops_the_store_and_repair_keeps_every_readable_record(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = four_cases(db)
    # Line 2 is the case numbering of the 2nd commit: the 3rd and 4th commits follow it.
    damage_line(journal, 1)
    damaged = journal.read_bytes()
    assert cli.main(["cases", "list", "--format", "json"]) == 78
    [line] = err_lines(capsys)
    assert line.startswith(f"feedbackd: {journal}:2: the journal is damaged")
    assert "feedbackd store check" in line and "feedbackd store repair" in line
    assert journal.read_bytes() == damaged  # nothing cut: the later commits are still there

    assert cli.main(["store", "check"]) == 78
    out = capsys.readouterr().out
    assert f"{journal}:2: not JSON" in out and "5 readable record(s) in 6 line(s)" in out

    assert cli.main(["store", "repair"]) == 0
    out = capsys.readouterr().out
    assert "kept 5 readable record(s)" in out and "dropped line 2" in out
    [kept] = db.parent.glob("store.json.journal.damaged-*")
    assert kept.read_bytes() == damaged
    [report] = db.parent.glob("store.json.repair-*.txt")
    assert "dropped line 2" in report.read_text(encoding="utf-8")
    assert oct(report.stat().st_mode & 0o777) == "0o600"

    store = Store(db)  # every commit kept: four cases, the numbering, the secret
    assert [c.id for c in store.cases()] == [f"FB-2026-00000{i}" for i in range(1, 5)]
    assert store.next_case_id(2026) == "FB-2026-000005"
    assert store.meta("command_secret") == "s3cret"
    assert cli.main(["store", "check"]) == 0


def test_an_empty_store_is_started_anew_only_when_told(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db.write_bytes(b"")
    assert cli.main(["store", "repair"]) == 78
    assert "--new-store" in err_lines(capsys)[0]
    assert db.exists() and db.read_bytes() == b""
    assert cli.main(["store", "repair", "--new-store"]) == 0
    assert "starts anew" in capsys.readouterr().out
    assert not db.exists() and list(db.parent.glob("store.json.empty-*"))
    assert Store(db).cases() == []


def test_repair_is_refused_while_the_daemon_holds_the_store(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    damage_line(four_cases(db), 1)
    lock = StoreLock(db)
    lock.acquire()
    try:
        assert cli.main(["store", "repair"]) == 75
    finally:
        lock.release()
    assert "stop it first" in err_lines(capsys)[0]
    assert not list(db.parent.glob("store.json.repair-*"))
