"""The intake marker: which message the daemon was taking in when it died, and how often.

A message that kills the process (out of memory, the watchdog's SIGABRT, a crash in C code)
leaves no trace in the store: its batch was never committed, so the restart takes it again,
and under systemd that is a crash loop on one mail. So before a message is decided, its
`uidvalidity:uid` is written to a small file beside the store (`<store>.taking`) with the number
of attempts that did not finish; finishing removes it. A message found there twice is
quarantined instead of being taken a third time.

The file is written with an atomic rename but without fsync, on purpose: it guards against the
process dying, not the machine, and the page cache outlives the process. A power cut that loses
the marker only means one more attempt. `Store(None)` (the twin) and a read-only preview keep
the marker in memory.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
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
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        except OSError as exc:
            raise self._unwritable(exc) from exc
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:  # 0600, from mkstemp
                json.dump(self._attempts, f)
            os.replace(tmp, self.path)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            if isinstance(exc, OSError):
                raise self._unwritable(exc) from exc
            raise

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
