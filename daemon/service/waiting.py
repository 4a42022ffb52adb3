"""How the service waits between cycles: in IMAP IDLE when the server has it (acting about a
second after new mail), else asleep until the next poll, and woken early by SIGTERM or SIGHUP,
by the clock's duties, or by owed mail due for another try; case changes asked for from the
command line are served while it waits.

A part of `daemon.service.loop.Service`, kept apart so the loop's waiting can be read, and
changed, without the connections and the cycle around it.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import schedule

from daemon.adapters.mail.imap import Mailbox
from daemon.adapters.settings import Settings
from daemon.adapters.storage.store import Store
from daemon.service.outbox import next_due

DUTY_TICK = 60  # seconds between looks at the clock's duties while idling
IDLE_STRETCH = 25 * 60.0  # re-issue IDLE within RFC 2177's 29 minutes


class Waiting:
    """The waiting half of `Service`: what it reads of the service is declared here."""

    settings: Settings
    notifier: Any
    clock: Callable[[], datetime]
    store: Store | None
    mailbox: Mailbox | None
    stopping: bool
    reload_requested: bool
    scheduler: schedule.Scheduler
    duties_due: bool

    def _serve_requests(self) -> None:
        """Case changes from the command line; `Service` serves them."""

    def _next_wait(self) -> float:
        """Until the next poll, or sooner when owed mail is due for another try."""
        assert self.store is not None
        due = next_due(self.store)
        idle = self.mailbox is not None and self.mailbox.has_idle
        longest = IDLE_STRETCH if idle else self.settings.poll_interval
        renewal = self.mailbox.seconds_until_renewal() if self.mailbox else None
        if renewal is not None:  # wake to log in with a fresh OAuth2 token
            longest = max(0.5, min(longest, renewal))
        if due is None:
            return longest
        return max(0.5, min(longest, (due - self.clock()).total_seconds()))

    def _wait_for_mail(self, timeout: float) -> None:
        """Return when the mailbox changed, the timeout passed, or a signal asked for action."""
        assert self.mailbox is not None
        deadline = time.monotonic() + timeout
        if not self.mailbox.has_idle:
            self._sleep(timeout)
            return
        # Mail that arrived after the cycle's last look and before IDLE starts is not reported
        # by IDLE: look once more, and go straight back to work if there is some.
        assert self.store is not None
        if self.store.unseen(self.mailbox.uidvalidity(), self.mailbox.inbox_uids()):
            return
        self.mailbox.idle_start()
        try:
            while not (self.stopping or self.reload_requested) and time.monotonic() < deadline:
                self._notify("watchdog")
                self._serve_requests()
                self.scheduler.run_pending()
                if self.duties_due:
                    return  # reminders, digest and archive run in the cycle
                responses = self.mailbox.idle_poll(timeout=1.0)
                if any(b"EXISTS" in r or b"RECENT" in r for r in responses):
                    return
        finally:
            if self.mailbox.is_connected:
                self.mailbox.idle_stop()

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not (self.stopping or self.reload_requested) and time.monotonic() < deadline:
            self._notify("watchdog")
            self._serve_requests()
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))

    def _duties_tick(self) -> None:
        self.duties_due = True

    def _install_signals(self) -> None:
        def stop(signum: int, frame: object) -> None:
            self.stopping = True

        def hup(signum: int, frame: object) -> None:
            self.reload_requested = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGHUP, hup)

    def _notify(self, what: str, *args: str) -> None:
        if self.notifier is not None:
            getattr(self.notifier, what)(*args)
