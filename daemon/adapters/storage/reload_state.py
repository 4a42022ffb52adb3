"""STORE.reload: the outcome of the daemon's last SIGHUP reload, so that a reload can be waited on.

`systemctl reload` returns when the unit's ExecReload= command exits, and fails when that
command fails. A bare `kill -HUP` exits at once, before the daemon has even read the new rules,
and it needs procps, which minimal systems and containers lack. So ExecReload= runs
`feedbackd reload`, which signals the daemon and waits here: the daemon writes one small record
after every reload — when it began, whether the new rules were taken, and the problems if not.

A reload is matched to its request by CLOCK_MONOTONIC, which every process of the host shares:
the record answers a request only if the daemon began reading the files after the request was
sent, so an earlier reload that was still running cannot be taken for ours.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from daemon.adapters.storage.files import StorePaths, atomic_write
from daemon.errors import ConfigError, FeedbackdError, Problem, TransientError

WAIT = 80.0  # seconds; below the unit's TimeoutStartSec=90s, which bounds ExecReload= too


@dataclass(frozen=True)
class ReloadOutcome:
    """What one reload did. `began_usec` is CLOCK_MONOTONIC in microseconds."""

    pid: int
    began_usec: int
    ok: bool
    problems: list[Problem] = field(default_factory=list)


def monotonic_usec() -> int:
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000


def outcome_path(db: Path) -> Path:
    return Path(f"{db}.reload")


def write_outcome(db: Path, outcome: ReloadOutcome) -> None:
    atomic_write(outcome_path(db), json.dumps(asdict(outcome), ensure_ascii=False))


def read_outcome(db: Path) -> ReloadOutcome | None:
    """The last reload's record, or None when there is none (or it cannot be read)."""
    try:
        raw = json.loads(outcome_path(db).read_text(encoding="utf-8"))
        problems = [Problem(**p) for p in raw.pop("problems", [])]
        return ReloadOutcome(**raw, problems=problems)
    except (OSError, ValueError, TypeError, AttributeError):
        return None


def daemon_pid(db: Path) -> int:
    """The pid of the daemon holding the store, from STORE.lock (see files.StoreLock)."""
    lock = StorePaths(db).lock
    try:
        text = lock.read_text(encoding="utf-8").strip()
    except OSError:
        text = ""
    if not text.isdigit():
        raise FeedbackdError(
            f"no running feedbackd found for the store {db} ({lock} names none): "
            "start it with `systemctl start feedbackd`, or pass --pid"
        )
    return int(text)


def request_reload(
    db: Path,
    pid: int,
    wait: float = WAIT,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> ReloadOutcome:
    """Ask daemon `pid` to reload its rules and templates; return once it has.

    Raises ConfigError (exit 78) when the daemon refused the new files and kept the last good
    ones, with the problems it found; TransientError when it did not answer within `wait`.
    """
    sent = monotonic_usec()
    try:
        os.kill(pid, signal.SIGHUP)
    except ProcessLookupError:
        raise FeedbackdError(f"no process {pid}: is feedbackd running?") from None
    except PermissionError:
        raise FeedbackdError(
            f"not allowed to signal process {pid}: run this as the service's user or root"
        ) from None
    deadline = time.monotonic() + wait
    while True:
        outcome = read_outcome(db)
        if outcome is not None and outcome.pid == pid and outcome.began_usec >= sent:
            break
        if time.monotonic() >= deadline:
            raise TransientError(
                f"feedbackd (pid {pid}) did not finish the reload within {wait:.0f}s; "
                f"it may be in a long cycle: see `journalctl -u feedbackd`"
            )
        sleep(0.1)
    if not outcome.ok:
        refused = Problem(
            f"feedbackd (pid {pid})",
            None,
            "reload refused: the last good rules and templates still run; "
            "fix the problems below, check with `feedbackd check`, then reload again",
        )
        raise ConfigError([refused, *outcome.problems])
    return outcome
