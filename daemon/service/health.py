"""How the daemon is doing, for `feedbackd status`, systemd's STATUS= and monitoring.

The running daemon records its last poll beside the store (adapters/status_file.py). `assess`
turns that plus the store's facts into a monitoring verdict: 0 ok, 1 warning, 2 critical — the
exit codes monitoring plugins use. Critical is what needs a person now: no recent poll, polls
failing, or an SMTP server that refuses our login (the mail waits, nobody is answered).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from daemon.adapters.storage.status_file import PollState
from daemon.adapters.storage.store import Store
from daemon.core.cases import OPEN, is_overdue
from daemon.core.explanations import outstanding
from daemon.core.records import PENDING, OutState

OK, WARNING, CRITICAL = 0, 1, 2
STALE_POLL = timedelta(minutes=10)  # no successful poll for this long is critical
FAILURES_CRITICAL = 3


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
    explanations_outstanding: int = 0  # employees' written explanations asked, not given
    explanations_overdue: int = 0

    def to_json(self) -> str:
        return json.dumps(
            {**asdict(self), "state": ("ok", "warning", "critical")[self.level]}, ensure_ascii=False
        )


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
    if poll.smtp_refused:  # nothing goes out: every acknowledgment waits in the outbox
        problems.append(f"{poll.smtp_refused}; {len(pending)} mails wait in the outbox")
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
    waiting = [a for case in store.cases_with("explanation_asked") for a in outstanding(case)]
    return Health(
        level,
        poll,
        len(open_cases),
        len(overdue),
        len(pending),
        len(failed),
        quarantined,
        problems,
        len(waiting),
        sum(a.overdue(now) for a in waiting),
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
        f"  explanations waiting  {h.explanations_outstanding} ({h.explanations_overdue} overdue)",
    ]
    lines += [f"  ! {p}" for p in h.problems]
    return "\n".join(lines)
