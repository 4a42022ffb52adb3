"""The file primitives every adapter shares: one atomic write, the store's sidecar paths, its lock.

Why one of each: a file that must survive a crash whole (the snapshot, an archive rewrite, the
status file, a request handed to the daemon) needs the same four steps — a temp file in the same
folder, fsync, `os.replace`, fsync of the folder so the rename itself is durable — and owner-only
permissions, since every one of them holds personal data or the daemon's state. Written once
here, no caller can forget a step. Likewise the files beside the store (`STORE.lock`,
`.status`, `.journal`, `.archive/`, `.requests/`, `.oauth2`) are named in one place, so no
module can disagree about where another one keeps its part.
"""

from __future__ import annotations

import errno
import fcntl
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from daemon.errors import AlreadyRunning


def atomic_write(path: str | Path, data: str | bytes | Iterable[str], mode: int = 0o600) -> None:
    """Replace `path` with `data` so that a crash at any instant leaves the old file or the new
    one, never a mixture, and the new one is on disk when this returns.

    `data` may be chunks of text, so a large file (the store's snapshot) is written without
    building it as one string first. Text is UTF-8. The file gets exactly `mode`, whatever the
    umask or an earlier temp file left behind.

    The temp file `NAME.tmp`, beside the target, is created new (O_EXCL|O_NOFOLLOW): a stale
    one from a crash is unlinked first (unlink removes a symlink, never what it points to), and
    a symlink planted there is never written through."""
    target = Path(path)
    tmp = target.with_name(f"{target.name}.tmp")
    fd = _create_new(tmp, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), mode)
            if isinstance(data, bytes):
                f.write(data)
            elif isinstance(data, str):
                f.write(data.encode("utf-8"))
            else:
                for chunk in data:
                    f.write(chunk.encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_folder(target.parent)


def _create_new(tmp: Path, mode: int) -> int:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        return os.open(tmp, flags, mode)
    except FileExistsError:
        tmp.unlink(missing_ok=True)  # left by a crash (or planted): the entry goes, not its target
    try:
        return os.open(tmp, flags, mode)
    except FileExistsError:
        raise OSError(
            errno.EEXIST, f"{tmp} came back as it was removed: is another process writing here?"
        ) from None


def fsync_folder(folder: Path) -> None:
    """Make a rename or a new file in `folder` durable: the entry lives in the folder's data."""
    dfd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


@dataclass(frozen=True)
class StorePaths:
    """Where the store keeps each of its parts, beside the TinyDB file `db` itself."""

    db: Path

    @property
    def lock(self) -> Path:
        """Held by the one process that writes the store (see StoreLock)."""
        return Path(f"{self.db}.lock")

    @property
    def status(self) -> Path:
        """The daemon's last poll, for `feedbackd status` (see status_file)."""
        return Path(f"{self.db}.status")

    @property
    def journal(self) -> Path:
        """Commits since the last snapshot, replayed on open."""
        return Path(f"{self.db}.journal")

    @property
    def archive(self) -> Path:
        """Folder of the append-only history (see archive)."""
        return Path(f"{self.db}.archive")

    @property
    def learned(self) -> Path:
        """What the center's corrections taught the fallback model (see learned)."""
        return Path(f"{self.db}.learned.json")

    @property
    def oauth2(self) -> Path:
        """The refresh token the OAuth2 endpoint rotated to (see adapters/oauth2): 0600."""
        return Path(f"{self.db}.oauth2")

    @property
    def requests(self) -> Path:
        """Folder of case changes handed from the command line to the daemon (see spool)."""
        return Path(f"{self.db}.requests")


class StoreLock:
    """One writer per store: an exclusive flock on STORE.lock, held for the process's life.

    The lock file holds the holder's pid, so the refusal can say whom to stop."""

    def __init__(self, db: Path):
        self.path = StorePaths(db).lock
        self.fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise AlreadyRunning(
                f"another feedbackd (pid {holder}) is using the store "
                f"{self.path.with_suffix('')}: stop it first"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self.fd = fd

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
