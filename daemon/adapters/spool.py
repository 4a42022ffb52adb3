"""Case changes asked for from the command line, safe beside a running daemon.

Only one process may write the store (the daemon holds its lock for life). So `feedbackd cases
close|reassign|note|reopen` applies the change itself when no daemon runs, and otherwise drops a
request file into STORE.requests/ that the daemon applies within a second, through the same
`apply_request` — one write path either way — and answers in a result file.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from daemon.adapters.store import Store
from daemon.core import cases as lifecycle
from daemon.core.rules import RuleBook

ACTIONS: dict[str, lifecycle.EventKind] = {
    "close": "closed",
    "reopen": "reopened",
    "reassign": "reassigned",
    "note": "note",
    "answer": "answered",
}


@dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str


def spool(db: Path) -> Path:
    return Path(f"{db}.requests")


def apply_request(store: Store, book: RuleBook, req: dict[str, Any], now: datetime) -> Outcome:
    """Validate and apply one request; the caller commits."""
    case = store.case(str(req.get("case", "")))
    if case is None:
        return Outcome(False, f"no case {req.get('case')}")
    action = str(req.get("action", ""))
    if action not in ACTIONS:
        return Outcome(False, f"unknown action {action!r}: use one of {', '.join(ACTIONS)}")
    data: dict[str, Any] = {}
    if action == "reassign":
        owner = str(req.get("owner", ""))
        if owner not in book.owners:
            return Outcome(
                False, f"unknown owner {owner!r}: use one of {', '.join(sorted(book.owners))}"
            )
        data["owner"] = owner
    if action == "note":
        data["text"] = str(req.get("text", ""))[:2000]
    if action == "answer":
        data["answered_at"] = now.isoformat(timespec="seconds")
    try:
        new = lifecycle.apply(case, ACTIONS[action], now, who=str(req.get("who", "cli")), **data)
    except lifecycle.IllegalTransition as exc:
        return Outcome(False, str(exc))
    store.put_case(new)
    return Outcome(True, f"{case.id}: {ACTIONS[action]} (now {new.status}, owner {new.owner})")


def submit(db: Path, req: dict[str, Any], wait: float = 30.0) -> Outcome | None:
    """Hand a request to the running daemon; its outcome, or None if it did not answer."""
    folder = spool(db)
    folder.mkdir(mode=0o700, exist_ok=True)
    name = uuid.uuid4().hex
    tmp = folder / f".{name}.tmp"
    tmp.write_text(json.dumps(req))
    os.replace(tmp, folder / f"{name}.json")
    result = folder / f"{name}.result"
    for _ in range(int(wait * 10)):
        if result.exists():
            doc = json.loads(result.read_text())
            result.unlink()
            return Outcome(bool(doc["ok"]), str(doc["message"]))
        time.sleep(0.1)
    return None


def waiting(db: Path) -> list[Path]:
    folder = spool(db)
    if not folder.is_dir():
        return []
    return sorted(folder.glob("*.json"))


def serve(store: Store, book: RuleBook, db: Path, now: datetime) -> int:
    """Apply every waiting request (the daemon's side); returns how many were handled."""
    handled = 0
    for path in waiting(db):
        try:
            req = json.loads(path.read_text())
            outcome = apply_request(store, book, req, now)
        except (OSError, ValueError) as exc:
            outcome = Outcome(False, f"unreadable request: {exc}")
        store.commit()  # durable before the requester is told
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"ok": outcome.ok, "message": outcome.message}))
        os.replace(tmp, path.with_suffix(".result"))
        path.unlink(missing_ok=True)
        handled += 1
    return handled
