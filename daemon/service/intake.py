"""Intake: one fetched message becomes a ledger entry, and a case with its acknowledgment.

The deciding is daemon.core.triage's: it returns a `Plan`. This module applies it, and `apply`
is the one write path for new mail: the ledger entry, the cases, the queued mail (each with its
Message-ID fixed in advance) and the meta go into the store's buffer together, and only then is
anything logged. The commit stays the cycle's, once per batch, so the whole outcome is durable
before any mail is sent or moved. A message whose triage raises is quarantined with a plan of its
own (nothing else decided for it is written); a ConfigError is raised and writes nothing, so the
message waits in INBOX until the rules or templates are fixed.

One mail must never stop a mailbox, so deciding has a guard: a message whose deciding takes
longer than `TIME_BUDGET` is interrupted and quarantined with that reason, and a message that
killed the process twice while being decided (out of memory, the watchdog) is quarantined on the
next start without being decided a third time (daemon.adapters.storage.taking keeps the count).
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from types import FrameType

from daemon.adapters.mail.imap import Fetched
from daemon.adapters.storage.store import Store
from daemon.adapters.storage.taking import IntakeMarker
from daemon.core.followups import Level
from daemon.core.frame import Classifier
from daemon.core.learning import Model, fallback
from daemon.core.mail.compose import Templates, new_message_id
from daemon.core.mail.staff import NoticeDesk
from daemon.core.rules import RuleBook, classify
from daemon.core.triage import QUARANTINE, Arrival, Frame, Outcome, Plan, quarantined, triage
from daemon.core.workdays import WorkCalendar, calendar_for
from daemon.errors import ConfigError
from daemon.service.casework import command_secret
from daemon.service.learning import learn_from_cases, learned_model

__all__ = ["QUARANTINE", "Desk", "Intake", "apply", "intake"]

log = logging.getLogger("feedbackd.intake")
_LEVELS = {Level.INFO: logging.INFO, Level.WARNING: logging.WARNING}

#: What `intake` returns: the plan it applied (outcome, case_id, reason, and the rest).
Intake = Plan

#: Seconds one message may take to be decided; an ordinary one takes milliseconds. Well under
#: systemd's WatchdogSec=60, so the guard quarantines the message before the watchdog kills us.
TIME_BUDGET = 20.0
#: Unfinished attempts after which a message is quarantined instead of being taken again.
CRASH_LIMIT = 2


@dataclass
class Desk:
    """What intake needs to decide; built once per cycle (and again after a reload)."""

    store: Store
    book: RuleBook
    templates: Templates
    address: str
    backfill_before: datetime | None = None  # first run: older mail is recorded, not answered
    time_budget: float = TIME_BUDGET  # seconds to decide one message (0: no limit)

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]

    @cached_property
    def calendar(self) -> WorkCalendar:
        return calendar_for(self.book)

    @cached_property
    def marker(self) -> IntakeMarker:
        return IntakeMarker.beside(self.store.path, self.store.read_only)

    @cached_property
    def notices(self) -> NoticeDesk:
        return NoticeDesk(self.templates, self.book, self.address, command_secret(self.store))

    def new_message_id(self) -> str:
        return new_message_id(self.domain)

    @cached_property
    def learned(self) -> Model:
        """The model learned beside the store, read once per desk (so once a cycle: a
        `feedbackd learn` is seen from the next cycle on)."""
        return learned_model(Path(self.store.path) if self.store.path else None)

    def classifier(self) -> Classifier:
        """The rules, then the learned model where no rule decided."""
        return fallback(self.learned, classify) if self.learned.examples else classify

    def frame(self) -> Frame:
        """Triage's arguments as they stand now (the cycle sets the backfill horizon)."""
        decide = self.classifier()
        return Frame(self.notices, self.calendar, self.new_message_id, self.backfill_before, decide)


def intake(desk: Desk, uidvalidity: int, fetched: Fetched, now: datetime) -> Plan:
    """Decide one message, then record the decision. A message that trips a bug, runs over the
    time budget or killed the daemon twice is quarantined, not allowed to stop the mailbox:
    `feedbackd reprocess` takes it again once the bug is fixed."""
    arrival = Arrival(
        uidvalidity, fetched.uid, fetched.raw, fetched.internaldate, fetched.truncated
    )
    marker = desk.marker
    crashes = marker.unfinished(uidvalidity, fetched.uid)
    if crashes >= CRASH_LIMIT:
        log.error("uid %s quarantined: it stopped the daemon %s times", fetched.uid, crashes)
        why = (
            f"taking it in stopped the daemon {crashes} times (killed: out of memory, the"
            " watchdog or a crash); not taken again"
        )
        plan = quarantined(arrival, why, now)
        apply(desk.store, plan)
        return plan  # its marker stays: the ledger now knows the message
    marker.begin(uidvalidity, fetched.uid)
    try:
        plan = _decide(desk, arrival, now)
        apply(desk.store, plan)
    finally:
        marker.end(uidvalidity, fetched.uid)  # any exception ends the attempt; only death does not
    return plan


def _decide(desk: Desk, arrival: Arrival, now: datetime) -> Plan:
    try:
        with _time_budget(desk.time_budget):
            return triage(arrival, desk.frame(), desk.store, now)
    except ConfigError:
        raise  # a template or rule problem: the message stays in INBOX until it is fixed
    except _Overtime:
        log.error("uid %s quarantined: over the %g s budget", arrival.uid, desk.time_budget)
        why = f"deciding it took longer than the {desk.time_budget:g} s budget; interrupted"
        return quarantined(arrival, why, now)
    except Exception as exc:
        log.exception("uid %s quarantined after an internal error", arrival.uid)
        return quarantined(arrival, f"internal error: {type(exc).__name__}: {exc}"[:300], now)


class _Overtime(BaseException):
    """The time budget ran out. A BaseException, so that no `except Exception` on the way
    (a parser's fallback, say) can swallow it and carry on."""


@contextmanager
def _time_budget(seconds: float) -> Iterator[None]:
    """Raise `_Overtime` in the block after `seconds` (SIGALRM; the main thread only, where
    the daemon decides; elsewhere, e.g. under a test runner's thread, there is no limit)."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: FrameType | None) -> None:
        raise _Overtime

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        try:
            signal.setitimer(signal.ITIMER_REAL, 0)
        finally:
            signal.signal(signal.SIGALRM, previous)


def apply(store: Store, plan: Plan) -> None:
    """The one write path of intake: the whole plan into the store's buffer, then its log."""
    store.put_ledger(plan.ledger)
    for case in plan.cases:
        store.put_case(case)
    for mail in plan.mail:
        store.put_outmail(mail)
    for key, value in plan.meta.items():
        if isinstance(value, datetime):
            store.set_meta_time(key, value)
        else:
            store.set_meta(key, value)
    if plan.outcome is Outcome.COMMAND and plan.cases:
        learn_from_cases(store, plan.cases)  # a person closed or reclassified it by mail
    for line in plan.log:
        extra = {"case": line.case_id} if line.case_id else None
        logging.getLogger(line.topic).log(_LEVELS[line.level], "%s", line.text, extra=extra)
