"""Case changes asked for from the command line: close, reopen, reassign, note, answer.

One write path either way: when no daemon runs, `feedbackd cases ...` takes the store lock and
calls `apply_request` itself; when one runs, the request travels through the spool
(adapters/spool.py) and the daemon calls the same `apply_request` in `serve`. So a change means
the same thing, is checked the same way and is refused with the same sentence in both cases.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from daemon.adapters import spool
from daemon.adapters.spool import Outcome
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


def serve(store: Store, book: RuleBook, db: Path, now: datetime) -> int:
    """Apply every request waiting in the spool (the daemon's side); returns how many."""
    return spool.serve(db, lambda req: apply_request(store, book, req, now), store.commit)
