"""The intake marker, rewritten in place: always one readable JSON document, never a link."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from daemon.adapters.storage.store import StoreWriteError
from daemon.adapters.storage.taking import IntakeMarker


def test_the_marker_shrinks_in_place_and_reads_back_after_each_write(tmp_path: Path) -> None:
    path = tmp_path / "store.json.taking"
    marker = IntakeMarker(path)
    for uid in range(1, 30):
        marker.begin(1, uid)  # 29 unfinished attempts: a long file
    assert IntakeMarker(path).unfinished(1, 29) == 1
    for uid in range(1, 30):
        marker.end(1, uid)
        assert json.loads(path.read_text()) == {f"1:{u}": 1 for u in range(uid + 1, 30)}
    assert IntakeMarker(path).unfinished(1, 5) == 0
    marker.begin(1, 5)
    marker.begin(1, 5)
    assert IntakeMarker(path).unfinished(1, 5) == 2


def test_a_marker_of_the_previous_version_is_read(tmp_path: Path) -> None:
    path = tmp_path / "store.json.taking"
    path.write_text('{"1:7": 2}')
    marker = IntakeMarker(path)
    assert marker.unfinished(1, 7) == 2
    marker.end(1, 7)
    assert json.loads(path.read_text()) == {}


def test_a_marker_that_is_a_symlink_is_replaced_not_written_through(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("keep")
    path = tmp_path / "store.json.taking"
    path.symlink_to(target)
    IntakeMarker(path).begin(1, 1)
    assert target.read_text() == "keep"
    assert not path.is_symlink() and IntakeMarker(path).unfinished(1, 1) == 1
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_marker_on_a_full_disk_is_a_store_that_cannot_be_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(fd: int, data: bytes, offset: int) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "pwrite", full)
    with pytest.raises(StoreWriteError, match="make room"):
        IntakeMarker(tmp_path / "store.json.taking").begin(1, 1)
