"""How the daemon is doing, for `feedbackd status`, systemd's STATUS= and monitoring.

The running daemon writes a small status file beside the store after every poll (atomically,
so a reader never sees half of it); it is kept out of the store so that a quiet poll changes no
case data. `assess` turns it plus the store's facts into a monitoring verdict: 0 ok, 1 warning,
2 critical — the exit codes monitoring plugins use.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from daemon.adapters.store import Store
from daemon.core.cases import OPEN, is_overdue
from daemon.core.records import PENDING, OutState

OK, WARNING, CRITICAL = 0, 1, 2
STALE_POLL = timedelta(minutes=10)  # no successful poll for this long is critical
FAILURES_CRITICAL = 3


@dataclass
class PollState:
    last_attempt: str = ""
    last_success: str = ""
    consecutive_failures: int = 0
    last_error: str = ""
    backlog: int = 0  # INBOX messages not yet processed, at the last poll
    quarantined: int = 0  # messages in the Quarantine folder, at the last poll
    pid: int = 0


@dataclass
class Health:
    level: int
    poll: PollState
    open_cases: int
    overdue_cases: int
    outbox_pending: int
    outbox_failed: int
    quarantined: int
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(
            {**asdict(self), "state": ("ok", "warning", "critical")[self.level]}, ensure_ascii=False
        )


def status_path(db: Path) -> Path:
    return Path(f"{db}.status")


def write_poll_state(db: Path, state: PollState) -> None:
    path = status_path(db)
    tmp = Path(f"{path}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(asdict(state), f)
    os.replace(tmp, path)


def read_poll_state(db: Path) -> PollState:
    try:
        return PollState(**json.loads(status_path(db).read_text()))
    except (OSError, ValueError, TypeError):
        return PollState()


def assess(store: Store, poll: PollState, now: datetime) -> Health:
    open_cases = store.cases(OPEN)
    overdue = [c for c in open_cases if is_overdue(c, now)]
    pending = store.outbox(*PENDING)
    failed = store.outbox(OutState.FAILED)
    quarantined = poll.quarantined
    problems: list[str] = []
    level = OK
    if not poll.last_success:
        problems.append("no successful poll recorded yet")
        level = CRITICAL
    elif datetime.fromisoformat(poll.last_success) < now - STALE_POLL:
        problems.append(f"last successful poll at {poll.last_success}")
        level = CRITICAL
    if poll.consecutive_failures >= FAILURES_CRITICAL:
        problems.append(f"{poll.consecutive_failures} failed polls in a row: {poll.last_error}")
        level = CRITICAL
    if failed:
        problems.append(f"{len(failed)} mails failed permanently")
        level = max(level, WARNING)
    if quarantined:
        problems.append(f"{quarantined} messages in quarantine (see `feedbackd reprocess`)")
        level = max(level, WARNING)
    if overdue:
        problems.append(f"{len(overdue)} cases overdue")
        level = max(level, WARNING)
    return Health(
        level, poll, len(open_cases), len(overdue), len(pending), len(failed), quarantined, problems
    )


def render_text(h: Health) -> str:
    state = ("OK", "WARNING", "CRITICAL")[h.level]
    lines = [
        f"feedbackd {state}",
        f"  last successful poll  {h.poll.last_success or 'never'}",
        f"  failed polls in a row {h.poll.consecutive_failures}",
        f"  mailbox backlog       {h.poll.backlog}",
        f"  open cases            {h.open_cases} ({h.overdue_cases} overdue)",
        f"  outbox                {h.outbox_pending} pending, {h.outbox_failed} failed",
        f"  quarantined           {h.quarantined}",
    ]
    lines += [f"  ! {p}" for p in h.problems]
    return "\n".join(lines)
