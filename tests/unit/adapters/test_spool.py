"""The STORE.requests/ hand-off between the command line and a running daemon."""

from __future__ import annotations

import json
import stat
import threading
from pathlib import Path
from typing import Any

from daemon.adapters.storage.files import StorePaths
from daemon.adapters.storage.spool import Outcome, serve, submit, waiting


def test_a_submitted_request_is_answered_by_the_serving_side(tmp_path: Path) -> None:
    db = tmp_path / "store.json"
    seen: list[dict[str, Any]] = []
    stop = threading.Event()

    def daemon() -> None:
        while not stop.is_set():
            serve(db, lambda req: seen.append(req) or Outcome(True, "done"), lambda: None)
            stop.wait(0.02)

    worker = threading.Thread(target=daemon)
    worker.start()
    try:
        outcome = submit(db, {"case": "FB-1", "action": "close"}, wait=10)
    finally:
        stop.set()
        worker.join()
    assert outcome == Outcome(True, "done")
    assert seen == [{"case": "FB-1", "action": "close"}]
    assert list(StorePaths(db).requests.iterdir()) == []  # request and answer both taken away


def test_submit_gives_up_when_no_daemon_answers_and_leaves_the_request(tmp_path: Path) -> None:
    db = tmp_path / "store.json"
    assert submit(db, {"case": "FB-1"}, wait=0.2) is None
    [queued] = waiting(db)
    assert json.loads(queued.read_text()) == {"case": "FB-1"}
    assert stat.S_IMODE(queued.stat().st_mode) == 0o600
    assert stat.S_IMODE(StorePaths(db).requests.stat().st_mode) == 0o700


def test_serve_commits_before_it_answers_and_answers_an_unreadable_request(
    tmp_path: Path,
) -> None:
    db = tmp_path / "store.json"
    folder = StorePaths(db).requests
    folder.mkdir()
    (folder / "a.json").write_text("{not json")
    (folder / "b.json").write_text(json.dumps({"case": "FB-2"}))
    answered_at_commit: list[list[str]] = []

    def commit() -> None:
        answered_at_commit.append(sorted(p.name for p in folder.glob("*.result")))

    assert serve(db, lambda req: Outcome(True, f"ok {req['case']}"), commit) == 2
    assert answered_at_commit == [[], ["a.result"]]
    a = json.loads((folder / "a.result").read_text())
    assert a["ok"] is False and a["message"].startswith("unreadable request:")
    assert json.loads((folder / "b.result").read_text()) == {"ok": True, "message": "ok FB-2"}
    assert waiting(db) == []


def test_nothing_waits_when_no_spool_exists(tmp_path: Path) -> None:
    assert waiting(tmp_path / "store.json") == []
