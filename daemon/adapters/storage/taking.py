"""The intake marker: which message the daemon was taking in when it died, and how often.

A message that kills the process (out of memory, the watchdog's SIGABRT, a crash in C code)
leaves no trace in the store: its batch was never committed, so the restart takes it again,
and under systemd that is a crash loop on one mail. So before a message is decided, its
`uidvalidity:uid` is written to a small file beside the store (`<store>.taking`) with the number
of attempts that did not finish; finishing removes it. A message found there twice is
quarantined instead of being taken a third time.

The file is written without fsync, on purpose: it guards against the process dying, not the
machine, and the page cache outlives the process. A power cut that loses the marker only means
one more attempt. It is rewritten in place, by one `pwrite` at offset 0 padded with spaces to
the file's length (JSON allows them): a process that dies has written all of it or none, and a
message costs two small writes instead of two temp files and renames (it was 6 % of a
backlog's wall time). `Store(None)` (the twin) and a read-only preview keep
the marker in memory.
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

from daemon.adapters.storage.store import StoreWriteError

#: Entries kept at most; older ones (messages long since quarantined) are dropped.
_KEEP = 100


class IntakeMarker:
    """Attempts of intake that did not finish, by message, durable across a crash."""

    def __init__(self, path: Path | None):
        self.path = path
        self._attempts: dict[str, int] = _read(path) if path else {}

    @classmethod
    def beside(cls, store_path: str | None, read_only: bool = False) -> IntakeMarker:
        """The marker of the store at `store_path` (in memory for the twin and a preview)."""
        if not store_path or read_only:
            return cls(None)
        return cls(Path(f"{store_path}.taking"))

    def unfinished(self, uidvalidity: int, uid: int) -> int:
        """How many times taking this message in began and never ended."""
        return self._attempts.get(_key(uidvalidity, uid), 0)

    def begin(self, uidvalidity: int, uid: int) -> None:
        key = _key(uidvalidity, uid)
        self._attempts[key] = self._attempts.pop(key, 0) + 1  # now the newest entry
        while len(self._attempts) > _KEEP:
            del self._attempts[next(iter(self._attempts))]
        self._write()

    def end(self, uidvalidity: int, uid: int) -> None:
        if self._attempts.pop(_key(uidvalidity, uid), None) is not None:
            self._write()

    def _write(self) -> None:
        """A marker that cannot be written (the disk is full) is a store that cannot be
        written: the same error, so the loop says so and waits, not "mail server trouble"."""
        if self.path is None:
            return
        data = json.dumps(self._attempts).encode("utf-8")
        try:
            fd = self._open()
            try:
                data += b" " * max(0, os.fstat(fd).st_size - len(data))
                if os.pwrite(fd, data, 0) != len(data):
                    raise OSError(errno.ENOSPC, "short write")
            finally:
                os.close(fd)
        except OSError as exc:
            raise self._unwritable(exc) from exc

    def _open(self) -> int:
        """The marker file, never through a link: one planted in the store's folder is
        replaced by our own file (as the rename of earlier versions replaced it)."""
        assert self.path is not None
        flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            return os.open(self.path, flags, 0o600)
        except OSError as exc:
            if exc.errno != errno.ELOOP:
                raise
            os.unlink(self.path)
            return os.open(self.path, flags | os.O_EXCL, 0o600)

    def _unwritable(self, exc: OSError) -> StoreWriteError:
        assert self.path is not None
        return StoreWriteError(
            f"the store's intake marker {self.path} could not be written "
            f"({exc.strerror or exc}): nothing was taken in; make room in {self.path.parent}, "
            "the mail is taken again by itself"
        )


def _read(path: Path) -> dict[str, int]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # absent, or torn: we lose a count, never a message
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): v for k, v in data.items() if isinstance(v, int) and v > 0}


def _key(uidvalidity: int, uid: int) -> str:
    return f"{uidvalidity}:{uid}"
