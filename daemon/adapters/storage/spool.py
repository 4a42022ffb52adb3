"""The STORE.requests/ hand-off: how the command line asks a running daemon for a case change.

Only one process may write the store (the daemon holds its lock for life), so `feedbackd cases
close|reassign|note|reopen` beside a running daemon drops a request file here; the daemon picks
it up within a second, applies it (service/case_changes.py decides what the request means) and
answers in a result file the requester is waiting for. Both files are written atomically, so
neither side ever reads half of one.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from daemon.adapters.storage.files import StorePaths, atomic_write


@dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str


def submit(db: Path, req: dict[str, Any], wait: float = 30.0) -> Outcome | None:
    """Hand a request to the running daemon; its outcome, or None if it did not answer."""
    folder = StorePaths(db).requests
    folder.mkdir(mode=0o700, exist_ok=True)
    name = uuid.uuid4().hex
    atomic_write(folder / f"{name}.json", json.dumps(req))
    result = folder / f"{name}.result"
    for _ in range(int(wait * 10)):
        if result.exists():
            doc = json.loads(result.read_text())
            result.unlink()
            return Outcome(bool(doc["ok"]), str(doc["message"]))
        time.sleep(0.1)
    return None


def waiting(db: Path) -> list[Path]:
    folder = StorePaths(db).requests
    if not folder.is_dir():
        return []
    return sorted(folder.glob("*.json"))


def serve(db: Path, handle: Callable[[dict[str, Any]], Outcome], commit: Callable[[], None]) -> int:
    """Answer every waiting request (the daemon's side); returns how many were handled.

    `handle` applies one request; `commit` makes it durable, and runs before the requester is
    told, so an answer "done" is never lost to a crash."""
    handled = 0
    for path in waiting(db):
        try:
            outcome = handle(json.loads(path.read_text()))
        except (OSError, ValueError) as exc:
            outcome = Outcome(False, f"unreadable request: {exc}")
        commit()
        answer = json.dumps({"ok": outcome.ok, "message": outcome.message})
        atomic_write(path.with_suffix(".result"), answer)
        path.unlink(missing_ok=True)
        handled += 1
    return handled
