"""STORE.status: the daemon's last poll, beside the store, for `feedbackd status`."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from daemon.adapters.storage.files import StorePaths
from daemon.adapters.storage.status_file import PollState, read_poll_state, write_poll_state


def test_the_poll_state_round_trips_owner_only(tmp_path: Path) -> None:
    db = tmp_path / "store.json"
    state = PollState(
        last_attempt="2026-03-02T10:00:00+00:00",
        last_success="2026-03-02T10:00:00+00:00",
        consecutive_failures=0,
        backlog=4,
        quarantined=1,
        pid=4242,
    )
    write_poll_state(db, state)
    assert read_poll_state(db) == state
    assert stat.S_IMODE(StorePaths(db).status.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store.json.status"]


@pytest.mark.parametrize("text", [None, "", "{half", '{"no_such_field": 1}', "[1, 2]"])
def test_a_missing_or_unreadable_file_reads_as_no_poll_yet(
    tmp_path: Path, text: str | None
) -> None:
    db = tmp_path / "store.json"
    if text is not None:
        StorePaths(db).status.write_text(text)
    assert read_poll_state(db) == PollState()
