"""What long work tells about itself, as types only.

Long loops live in the service (a first run, `import`) and in the adapters (`purge` rewriting
the archive, `report` reading it, `reprocess` moving a quarantine back). They all report through
these two types, so the adapters need not know whether a person watches a bar on a terminal or
journald gets a line every few seconds: that choice is the service's (service/progress). Pure.
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """What a loop over long work tells: one more item done, and the end."""

    def advance(self, n: int = 1) -> None: ...

    def close(self) -> None: ...


class Reporter(Protocol):
    """How a loop starts a report of `total` items of `what` ("cases purged"), counted in
    `unit` ("msg", "case")."""

    def __call__(self, total: int, what: str, unit: str = "msg") -> Progress: ...


class Silent:
    """No report at all: short work, and the callers that want none (tests, dry runs)."""

    def advance(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def silent(total: int, what: str, unit: str = "msg") -> Progress:
    """The Reporter of callers that want no progress shown."""
    return Silent()
