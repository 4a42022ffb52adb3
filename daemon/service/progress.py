"""Progress on long work (first run, `import`, `reprocess`, `purge`, `report`), for people.

A first run on a mailbox with years of mail takes minutes; silence for that long looks like a
hang, and a log line per message buries the journal. So long work reports progress in one of two
ways, chosen by where stderr goes: on a terminal, tqdm's bar (counts, rate, time left, redrawn in
place); anywhere else (journald, a pipe, a file) a plain log line every `every` items or every
`interval` seconds, whichever comes first, and one line at the end. The core decides one
message at a time and never reports; the loops (the service's, and the adapters' over the
archive and the quarantine) call `advance` on the types in core/progress.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from typing import TextIO

from daemon.core.progress import Progress, Reporter, Silent

log = logging.getLogger("feedbackd.progress")

EVERY = 500  # items between plain log lines ...
INTERVAL = 10.0  # ... or seconds, whichever comes first
LONG = 1000  # items from which a command shows progress: less is over before it would matter


class Bar:
    """tqdm's bar on a terminal: counts, percentage, rate and time left, drawn in place."""

    def __init__(self, total: int, what: str, stream: TextIO, unit: str = "msg"):
        from tqdm import tqdm  # only a terminal draws a bar: no import for any other run

        self.bar = tqdm(total=total, desc=what, unit=f" {unit}", file=stream, dynamic_ncols=True)

    def advance(self, n: int = 1) -> None:
        self.bar.update(n)

    def close(self) -> None:
        self.bar.close()


class Lines:
    """A log line every `every` items or `interval` seconds, and one at the end (journald)."""

    def __init__(
        self,
        total: int,
        what: str,
        every: int = EVERY,
        interval: float = INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.total, self.what, self.every, self.interval, self.clock = (
            total,
            what,
            every,
            interval,
            clock,
        )
        self.done = self.said = 0
        self.started = self.last = clock()

    def advance(self, n: int = 1) -> None:
        self.done += n
        now = self.clock()
        if self.done - self.said >= self.every or now - self.last >= self.interval:
            self._say(now)

    def close(self) -> None:
        elapsed = self.clock() - self.started
        log.info(
            "%s: %d of %d done in %.0f s (%s)",
            self.what,
            self.done,
            self.total,
            elapsed,
            _rate(self.done, elapsed),
        )

    def _say(self, now: float) -> None:
        self.said, self.last = self.done, now
        pct = 100 * self.done / self.total if self.total else 100.0
        elapsed = now - self.started
        log.info(
            "%s: %d of %d (%.0f%%), %s",
            self.what,
            self.done,
            self.total,
            pct,
            _rate(self.done, elapsed),
        )


def _rate(done: int, elapsed: float) -> str:
    return f"{done / elapsed:.1f}/s" if elapsed > 0 else "-/s"


def reporter(stream: TextIO | None = None, least: int = 1) -> Reporter:
    """Progress for work of at least `least` items: a bar when `stream` (default stderr) is a
    terminal, log lines otherwise; less work than that reports nothing."""

    def start(total: int, what: str, unit: str = "msg") -> Progress:
        out = stream if stream is not None else sys.stderr
        if total < least:
            return Silent()
        if out.isatty():
            return Bar(total, what, out, unit)
        return Lines(total, what)

    return start
