"""The shared file primitives: one atomic write with every guarantee, one set of store paths,
one store lock."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from daemon.adapters.storage import files
from daemon.adapters.storage.files import AlreadyRunning, StoreLock, StorePaths, atomic_write


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(
    "data", ["Привет, world\n", "Привет, world\n".encode(), ["Привет", ", ", "world\n"]]
)
def test_atomic_write_writes_text_bytes_or_chunks(
    tmp_path: Path, data: str | bytes | list[str]
) -> None:
    target = tmp_path / "f.json"
    target.write_text("old")
    atomic_write(target, data)
    assert target.read_text(encoding="utf-8") == "Привет, world\n"
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]


def test_atomic_write_gives_exactly_the_mode_whatever_the_umask_or_a_stale_temp(
    tmp_path: Path,
) -> None:
    target = tmp_path / "f"
    stale = tmp_path / "f.tmp"  # left by a crash, with looser permissions
    stale.write_text("half")
    stale.chmod(0o644)
    old = os.umask(0)
    try:
        atomic_write(target, "x")
    finally:
        os.umask(old)
    assert mode_of(target) == 0o600
    assert not stale.exists()
    atomic_write(target, "y", mode=0o640)
    assert mode_of(target) == 0o640


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "f"
    target.write_text("old")

    def chunks() -> Iterator[str]:
        yield "new, half"
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, chunks())
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f"]


def test_a_failed_rename_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "a-folder"
    target.mkdir()
    (target / "inside").write_text("keep")
    with pytest.raises(OSError):
        atomic_write(target, "cannot replace a non-empty folder")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-folder"]


def test_atomic_write_fsyncs_the_file_and_then_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[str] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        synced.append("folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real(fd)

    monkeypatch.setattr(files.os, "fsync", fsync)
    atomic_write(tmp_path / "f", "x")
    assert synced == ["file", "folder"]


def test_store_paths_name_every_part_beside_the_store(tmp_path: Path) -> None:
    p = StorePaths(tmp_path / "store.json")
    assert p.lock == tmp_path / "store.json.lock"
    assert p.status == tmp_path / "store.json.status"
    assert p.journal == tmp_path / "store.json.journal"
    assert p.archive == tmp_path / "store.json.archive"
    assert p.requests == tmp_path / "store.json.requests"


def test_the_store_lock_admits_one_holder_and_names_it(tmp_path: Path) -> None:
    db = tmp_path / "sub" / "store.json"
    first, second = StoreLock(db), StoreLock(db)
    first.acquire()
    try:
        with pytest.raises(AlreadyRunning, match=f"pid {os.getpid()}") as caught:
            second.acquire()
        assert caught.value.exit_code == 75
        assert mode_of(StorePaths(db).lock) == 0o600
    finally:
        first.release()
    second.acquire()  # free again once released
    second.release()


def test_a_symlink_planted_at_the_temp_name_is_never_written_through(tmp_path: Path) -> None:
    """Issue #14 item 10: `store.json.tmp -> victim` must not receive the store's content."""
    victim = tmp_path / "victim"
    victim.write_text("precious")
    victim.chmod(0o644)
    target = tmp_path / "store.json"
    (tmp_path / "store.json.tmp").symlink_to(victim)
    atomic_write(target, '{"meta":{"1":{"key":"command_secret","value":"s3cret"}}}')
    assert victim.read_text() == "precious" and mode_of(victim) == 0o644
    assert "s3cret" in target.read_text() and not target.is_symlink()
    assert mode_of(target) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store.json", "victim"]


def test_a_dangling_symlink_at_the_temp_name_creates_nothing_where_it_points(
    tmp_path: Path,
) -> None:
    elsewhere = tmp_path / "elsewhere"
    (tmp_path / "f.tmp").symlink_to(elsewhere)
    atomic_write(tmp_path / "f", "x")
    assert not elsewhere.exists() and (tmp_path / "f").read_text() == "x"
