"""The orchestrator: owns the connections, the loop, the signals and the last good rules.

`once()` is one cycle; `run()` loops — IMAP IDLE when the server has it (acting about a second
after new mail), polling every FEEDBACKD_POLL_INTERVAL seconds otherwise — and survives server
outages by reconnecting with capped exponential backoff instead of exiting (an exit would make
systemd restart-loop). It tells systemd READY=1 as soon as settings, rules, templates and the
store are loaded — a mail server that is away at boot is an outage reported through STATUS=,
`feedbackd status` and alerts, not a failed start. Rules and templates are reloaded on SIGHUP
(RELOADING=1 ... READY=1, and the outcome in STORE.reload for `feedbackd reload`); a broken
file is reported and the last good ones stay.
"""

from __future__ import annotations

import contextlib
import email
import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import schedule

from daemon.adapters.config import load_rulebook, load_templates
from daemon.adapters.mail.imap import Mailbox
from daemon.adapters.mail.smtp import Sender
from daemon.adapters.mail.smtp_process import ProcessSender
from daemon.adapters.settings import Settings
from daemon.adapters.storage.files import StoreLock
from daemon.adapters.storage.reload_state import ReloadOutcome, monotonic_usec, write_outcome
from daemon.adapters.storage.spool import waiting
from daemon.adapters.storage.status_file import PollState, read_poll_state, write_poll_state
from daemon.adapters.storage.store import Store, StoreWriteError
from daemon.core.mail.message import decode_header
from daemon.core.records import PENDING
from daemon.errors import ConfigError, Problem
from daemon.service.alerts import due_alerts, queue_alert
from daemon.service.case_changes import serve
from daemon.service.cycle import CycleReport, run_cycle
from daemon.service.health import assess
from daemon.service.intake import Desk
from daemon.service.outbox import deliver
from daemon.service.pacing import Pacer
from daemon.service.ports import CycleHooks
from daemon.service.waiting import DUTY_TICK, Waiting

log = logging.getLogger("feedbackd")

BACKOFF_FIRST = 1.0
BACKOFF_MAX = 300.0


def now_utc() -> datetime:
    return datetime.now(UTC)


class Service(Waiting):
    def __init__(
        self, settings: Settings, notifier: Any = None, clock: Callable[[], datetime] = now_utc
    ):
        self.settings = settings
        self.notifier = notifier
        self.clock = clock
        self.book = load_rulebook(settings.rules)
        self.templates = load_templates(settings.templates)
        self.store: Store | None = None
        self.pacer = Pacer()  # FEEDBACKD_SMTP_RATE's windows, rebuilt from the store in open()
        self.mailbox: Mailbox | None = None
        self.sender: Sender | ProcessSender | None = None
        self.lock = StoreLock(settings.db)
        self.stopping = False
        self.reload_requested = False
        self.refused_reload = ""  # while set, the status line says the last good rules run
        # `schedule` only ticks the loop: the duties themselves take `now` and are keyed per
        # period in the store, so a tick early, late or twice changes nothing.
        self.scheduler = schedule.Scheduler()
        self.duties_due = False
        self.scheduler.every(DUTY_TICK).seconds.do(self._duties_tick)
        self.last_report: CycleReport | None = None
        self.poll = PollState(pid=os.getpid())
        self._told_refusal = ""  # the SMTP login refusal this process has logged

    # -- setup ---------------------------------------------------------------------------------

    def open(self) -> None:
        self.lock.acquire()
        self.store = Store(self.settings.db)
        self.pacer = Pacer.from_store(self.store, self.settings.smtp_rate, self.clock)
        # A refused SMTP login stays told (status, alert) until a login works, also across
        # `once` runs and restarts: the next send tries the login and settles it.
        self.poll.smtp_refused = read_poll_state(self.settings.db).smtp_refused

    def close(self) -> None:
        self._disconnect()
        if self.store is not None:
            self.store.close()
            self.store = None
        self.lock.release()

    def desk(self) -> Desk:
        assert self.store is not None
        return Desk(self.store, self.book, self.templates, self.settings.address)

    def reload(self) -> list[Problem]:
        """Load rules and templates anew; keep the running ones if anything is wrong.

        Returns the problems that made it refuse the new files: none when it switched."""
        try:
            book = load_rulebook(self.settings.rules)
            templates = load_templates(self.settings.templates)
        except ConfigError as exc:
            log.error("reload refused, keeping the last good rules: %s", exc)
            return exc.problems
        self.book, self.templates = book, templates
        log.info("reloaded rules from %s", self.settings.rules)
        return []

    def _reload_for_manager(self) -> None:
        """A SIGHUP: RELOADING=1, the reload, its outcome for `feedbackd reload`, READY=1.

        The outcome is written before READY=1, so whoever waits on either sees the same end."""
        self.reload_requested = False
        began = monotonic_usec()
        self._notify("reloading")
        problems = self.reload()
        write_outcome(self.settings.db, ReloadOutcome(os.getpid(), began, not problems, problems))
        self.refused_reload = (
            f"reload refused ({problems[0]}), the last good rules run; " if problems else ""
        )
        if self.notifier is not None:
            self._notify("ready", self.status_line())

    def _connect(self) -> tuple[Mailbox, Sender | ProcessSender]:
        renewal = self.mailbox.seconds_until_renewal() if self.mailbox is not None else None
        if self.mailbox is not None and renewal is not None and renewal <= 0:
            # An OAuth2 login is due for a fresh token: log in anew before the server (Exchange
            # Online) ends the session in the middle of a move.
            self.mailbox.close()
        if self.mailbox is None or not self.mailbox.is_connected:
            self.mailbox = Mailbox(self.settings.imap).connect()
        return self.mailbox, self._sender()

    def _sender(self) -> Sender | ProcessSender:
        """The one sender of this service, made on first need with the configured connections:
        in a child process for a password login (adapters/mail/smtp_process), in this one for
        OAuth2, whose tokens the IMAP login shares."""
        if self.sender is None:
            smtp = self.settings.smtp
            kind = ProcessSender if smtp.auth == "password" else Sender
            self.sender = kind(smtp, connections=self.settings.smtp_connections)
        return self.sender

    def _disconnect(self) -> None:
        if self.mailbox is not None:
            self.mailbox.close()
            self.mailbox = None
        if self.sender is not None:
            self.sender.close()
            self.sender = None

    # -- running -------------------------------------------------------------------------------

    def local(self, when: datetime | None) -> datetime | None:
        """A naive --now is meant in the admin's timezone (rules.yaml settings.timezone)."""
        if when is None or when.tzinfo is not None:
            return when
        return when.replace(tzinfo=ZoneInfo(self.book.timezone))

    def preview(self, now: datetime | None = None) -> list[str]:
        """`once --dry-run`: the real cycle on a copy of the store, with no sender and no
        moves, then the mail it would send. Takes no lock: a daemon may be running."""
        moment = self.local(now) or self.clock()
        store = Store.preview(self.settings.db)
        mailbox = Mailbox(self.settings.imap).connect()
        try:
            report = run_cycle(
                Desk(store, self.book, self.templates, self.settings.address),
                mailbox,
                None,
                moment,
                db=self.settings.db,
            )
        finally:
            mailbox.close()
        lines = [f"dry run as of {moment.isoformat(timespec='seconds')}: {report.summary()}"]
        lines += [f"would do: {duty}" for duty in report.duties]
        for mail in store.outbox(*PENDING):
            subject = decode_header(email.message_from_string(mail.raw).get("Subject", ""))
            lines.append(f"would send {mail.kind} to {mail.recipients[0]}: {subject}")
        for entry in store.ledger_entries():
            if not entry.filed:
                lines.append(f"would move INBOX uid {entry.uid} to {entry.folder}")
        return lines

    def cycle(self, now: datetime | None = None) -> CycleReport:
        now = self.local(now)
        self.poll.last_attempt = self.clock().isoformat(timespec="seconds")
        self.duties_due = False
        try:
            mailbox, sender = self._connect()
            report = run_cycle(
                self.desk(),
                mailbox,
                sender,
                now or self.clock(),
                _Hooks(self),
                self.settings.db,
                pacer=self.pacer,
            )
        except Exception as exc:
            self.poll.consecutive_failures += 1
            self.poll.last_error = str(exc)[:300]
            with contextlib.suppress(OSError):  # a full disk must not hide the failure itself
                write_poll_state(self.settings.db, self.poll)
            self._alert(now or self.clock(), None, exc)
            raise
        self.last_report = report
        self._note_smtp_login()
        self.poll.last_success = self.poll.last_attempt
        self.poll.consecutive_failures = 0
        self.poll.last_error = ""
        self.poll.backlog = report.remaining
        self.poll.quarantined = report.quarantine
        write_poll_state(self.settings.db, self.poll)
        self._alert(now or self.clock(), report.gap)  # not our copies still on their way
        if report.new or report.sent or report.filed:
            log.info("cycle: %s", report.summary())
        return report

    def _note_smtp_login(self) -> None:
        """What the SMTP server said to our last login, kept for `status` and the alert until
        a login works. A refusal is logged once per process as one line with what to fix
        (not at every retry), and the login working again once."""
        said = self.sender.login_refused if self.sender is not None else None
        if said is None:
            return  # no login tried (nothing was due): what was known stays
        if said and said != self._told_refusal:
            assert self.store is not None
            waiting = len(self.store.outbox(*PENDING))
            log.error("%s; %d mails wait in the outbox and go out once it works", said, waiting)
        elif not said and self.poll.smtp_refused:
            log.info("the SMTP server accepts our login again; the waiting mail goes out")
        self._told_refusal = said
        self.poll.smtp_refused = said

    def once(self, now: datetime | None = None) -> CycleReport:
        self.open()
        try:
            return self.cycle(now)
        finally:
            self.close()

    def run(self, max_cycles: int | None = None, version: str = "") -> None:
        """The service: `version` (the CLI's, one string in daemon/__init__) opens its log."""
        self._install_signals()
        self.open()
        log.info("%s", self.start_line(version))
        # Ready means settings, rules, templates and the store are loaded: a mail server that
        # is away at boot is an outage to report (STATUS=, `feedbackd status`, an alert), not a
        # start that times out and ends, after a few tries, in a unit failed for good.
        self._notify("ready", "started; connecting to the mail server")
        delay = BACKOFF_FIRST
        cycles = 0
        try:
            while not self.stopping and (max_cycles is None or cycles < max_cycles):
                if self.reload_requested:
                    self._reload_for_manager()
                try:
                    self.cycle()
                    cycles += 1
                    delay = BACKOFF_FIRST
                    if self.notifier is not None:  # the status line reads every case
                        self._notify("status", self.status_line())
                    self._wait_for_mail(self._next_wait())
                except StoreWriteError as exc:  # the disk is full: the store kept what it had
                    log.error("%s; retrying in %.0fs", exc, delay)
                    self._notify("status", f"retrying in {delay:.0f}s: {exc}")
                    self._sleep(delay)
                    delay = min(BACKOFF_MAX, delay * 2)
                except OSError as exc:  # TransientError and AuthRefused are ConnectionErrors
                    log.warning("mail server trouble, retrying in %.0fs: %s", delay, exc)
                    self._disconnect()
                    self._notify("status", self.outage_line(delay))
                    self._sleep(delay)
                    delay = min(BACKOFF_MAX, delay * 2)
        finally:
            self._notify("stopping")
            self.close()
            log.info("stopped")

    def start_line(self, version: str = "") -> str:
        """The one line `run` logs first: what runs, on which mailbox, with which rules, and
        whether it waits with IDLE or polls (known once connected; an outage says so)."""
        imap = self.settings.imap
        try:
            mailbox, _ = self._connect()
            waits = (
                "IMAP IDLE"
                if mailbox.has_idle
                else f"polling every {self.settings.poll_interval:g} s (no IDLE)"
            )
        except OSError as exc:  # the loop retries with backoff; the line still goes out
            waits = f"IDLE or polling once connected (not yet: {exc})"
        return (
            f"feedbackd {version or '?'} started: mailbox {self.settings.address} on "
            f"{imap.host}:{imap.port}, rules {self.settings.rules} ({len(self.book.rules)} "
            f"rules, {len(self.book.categories)} categories), {waits}"
        )

    def status_line(self) -> str:
        assert self.store is not None
        h = assess(self.store, self.poll, self.clock())
        return self.refused_reload + (
            f"last poll {self.poll.last_success or 'never'}; {h.open_cases} open, "
            f"{h.overdue_cases} overdue; outbox {h.outbox_pending} pending"
        )

    def outage_line(self, retry_in: float) -> str:
        """STATUS= while the mail server cannot be reached: since when, why, what next."""
        p = self.poll
        return (
            f"mail server unreachable, {p.consecutive_failures} failed poll(s) in a row, "
            f"retrying in {retry_in:.0f}s: {p.last_error}; "
            f"last good poll {p.last_success or 'never'}"
        )

    def _alert(self, now: datetime, backlog: int | None, failure: Exception | None = None) -> None:
        """Tell the feedback center by mail when the daemon cannot do its job."""
        if self.store is None or self.store.read_only:
            return
        alerts = due_alerts(self.store, self.poll, self.book, now, backlog, failure)
        for kind, sentence in alerts:
            log.error("alert to the feedback center: %s", sentence)
            queue_alert(self.store, self.book, self.settings.address, kind, sentence, now)
        self.store.commit()
        if alerts:
            try:
                deliver(
                    self.store,
                    self.mailbox if self.mailbox and self.mailbox.is_connected else None,
                    self._sender(),
                    now,
                    self.book.policy,
                    self.pacer,
                )
            except Exception as exc:  # noqa: BLE001 - the outbox keeps it; the next cycle retries
                log.warning("alert not sent yet: %s", exc)

    def _serve_requests(self) -> None:
        """Case changes asked for by `feedbackd cases ...` while we hold the store."""
        if self.store is not None and waiting(self.settings.db):
            notices = self.desk().notices
            n = serve(self.store, self.book, self.settings.db, self.clock(), notices)
            log.info("applied %d case change(s) from the command line", n)


class _Hooks(CycleHooks):
    def __init__(self, service: Service):
        self.service = service

    def after_commit(self) -> None:
        self.service._notify("watchdog")

    def stop_requested(self) -> bool:
        return self.service.stopping
