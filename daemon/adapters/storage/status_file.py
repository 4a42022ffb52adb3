"""STORE.status: the daemon's last poll, written after every poll, read by `feedbackd status`.

Kept out of the store so that a quiet poll changes no case data (and costs no journal line),
and written atomically so a reader beside the running daemon never sees half of it. A missing
or unreadable file reads as "no poll recorded yet", which `assess` reports as critical.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from daemon.adapters.storage.files import StorePaths, atomic_write


@dataclass
class PollState:
    last_attempt: str = ""
    last_success: str = ""
    consecutive_failures: int = 0
    last_error: str = ""
    backlog: int = 0  # INBOX messages not yet processed, at the last poll
    quarantined: int = 0  # messages in the Quarantine folder, at the last poll
    pid: int = 0
    smtp_refused: str = ""  # the SMTP server's refusal of our login, until a login works


def write_poll_state(db: Path, state: PollState) -> None:
    atomic_write(StorePaths(db).status, json.dumps(asdict(state)))


def read_poll_state(db: Path) -> PollState:
    try:
        return PollState(**json.loads(StorePaths(db).status.read_text()))
    except (OSError, ValueError, TypeError):
        return PollState()
